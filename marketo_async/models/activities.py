"""Activities, as Bulk Extract writes them (one row per activity)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import attrs

from ._converter import parse_datetime

__all__ = ["Activity"]


def _int(value: Any) -> int | None:
    return None if value is None or value == "" else int(value)


@attrs.frozen(kw_only=True)
class Activity:
    """One activity of one lead: its type, when, the primary attribute and the rest.

    >>> activity = Activity.from_row({"marketoGUID": "42", "leadId": "7", "activityTypeId": "1"})
    >>> activity.lead_id, activity.activity_type_id
    (7, 1)
    """

    marketo_guid: str | None = attrs.field(default=None, metadata={"wire": "marketoGUID"})
    lead_id: int | None = None
    activity_date: dt.datetime | None = None
    activity_type_id: int | None = None
    campaign_id: int | None = None
    primary_attribute_value_id: int | None = None
    primary_attribute_value: str | None = None
    attributes: dict[str, Any] = attrs.Factory(dict)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Activity:
        """An activity from a Bulk Extract row (REST names; text cells, None for null)."""
        date = row.get("activityDate")
        attributes = row.get("attributes")
        return cls(
            marketo_guid=row.get("marketoGUID"),
            lead_id=_int(row.get("leadId")),
            activity_date=None if date is None else parse_datetime(date),
            activity_type_id=_int(row.get("activityTypeId")),
            campaign_id=_int(row.get("campaignId")),
            primary_attribute_value_id=_int(row.get("primaryAttributeValueId")),
            primary_attribute_value=row.get("primaryAttributeValue"),
            attributes=json.loads(attributes) if attributes else {},
        )
