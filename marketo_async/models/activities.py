"""Activities (REST reads and Bulk Extract rows), lead changes and activity types."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import attrs

from ._converter import converter, format_datetime, parse_datetime

__all__ = [
    "Activity",
    "ActivityType",
    "ActivityTypeAttribute",
    "CustomActivityType",
    "CustomActivityTypeAttribute",
    "LeadChange",
    "LeadChangeField",
]


# Marketo: the columns an activity export offers (all of them when none are asked for); the
# client asks for them and the emulator writes them.
ACTIVITY_FIELDS = (
    "marketoGUID",
    "leadId",
    "activityDate",
    "activityTypeId",
    "campaignId",
    "primaryAttributeValueId",
    "primaryAttributeValue",
    "attributes",
)


# An activity read converts every item of every page: these helpers take the common case
# (JSON ints, dicts and strings) first, without the slower generic checks.


def _int(value: Any) -> int | None:
    if type(value) is int:
        return value
    return None if value is None or value == "" else int(value)


def _date(value: Any) -> dt.datetime | None:
    return None if value is None or value == "" else parse_datetime(value)


def _attributes(items: Any) -> dict[str, Any]:
    """REST's ``[{"name": ..., "value": ...}]`` as ``{name: value}``."""
    found: dict[str, Any] = {}
    for item in items or ():
        if (type(item) is dict or isinstance(item, Mapping)) and "name" in item:
            name = item["name"]
            found[name if type(name) is str else str(name)] = item.get("value")
    return found


@attrs.frozen(kw_only=True)
class Activity:
    """One activity of one lead: its type, when, the primary attribute and the rest.

    ``id`` is REST's integer id (Bulk Extract rows have none); ``marketo_guid`` is unique.

    >>> activity = Activity.from_row({"marketoGUID": "42", "leadId": "7", "activityTypeId": "1"})
    >>> activity.lead_id, activity.activity_type_id
    (7, 1)
    """

    id: int | None = None
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
        attributes = row.get("attributes")
        return cls(
            marketo_guid=row.get("marketoGUID"),
            lead_id=_int(row.get("leadId")),
            activity_date=_date(row.get("activityDate")),
            activity_type_id=_int(row.get("activityTypeId")),
            campaign_id=_int(row.get("campaignId")),
            primary_attribute_value_id=_int(row.get("primaryAttributeValueId")),
            primary_attribute_value=row.get("primaryAttributeValue"),
            attributes=json.loads(attributes) if attributes else {},
        )

    @classmethod
    def from_json(cls, item: Mapping[str, Any]) -> Activity:
        """An activity as the REST API answers it (``attributes`` as name/value pairs)."""
        return cls(**_rest_values(item))

    def to_json(self) -> dict[str, Any]:
        """The activity as one JSON line of an export: REST names, the date in UTC with Z."""
        return {
            "id": self.id,
            "marketoGUID": self.marketo_guid,
            "leadId": self.lead_id,
            "activityDate": None if self.activity_date is None else _utc(self.activity_date),
            "activityTypeId": self.activity_type_id,
            "primaryAttributeValue": self.primary_attribute_value,
            "attributes": dict(self.attributes),
        }


def _utc(moment: dt.datetime) -> str:
    return format_datetime(moment.astimezone(dt.timezone.utc))


def _rest_values(item: Mapping[str, Any]) -> dict[str, Any]:
    get = item.get
    value = get("primaryAttributeValue")
    return {
        "id": _int(get("id")),
        "marketo_guid": get("marketoGUID"),
        "lead_id": _int(get("leadId")),
        "activity_date": _date(get("activityDate")),
        "activity_type_id": _int(get("activityTypeId")),
        "campaign_id": _int(get("campaignId")),
        "primary_attribute_value_id": _int(get("primaryAttributeValueId")),
        "primary_attribute_value": value if value is None or type(value) is str else str(value),
        "attributes": _attributes(get("attributes")),
    }


@attrs.frozen(kw_only=True)
class LeadChangeField:
    """One field a lead change set: its name, the value after and the value before."""

    name: str
    new_value: str | None = None
    old_value: str | None = None
    id: int | None = None


@attrs.frozen(kw_only=True)
class LeadChange(Activity):
    """A lead change (Change Data Value, New Lead ...): an activity plus the fields it set."""

    fields: tuple[LeadChangeField, ...] = ()

    @classmethod
    def from_json(cls, item: Mapping[str, Any]) -> LeadChange:
        """A lead change as Get Lead Changes answers it."""
        fields = tuple(
            LeadChangeField(
                name=str(entry.get("name")),
                new_value=entry.get("newValue"),
                old_value=entry.get("oldValue"),
                id=_int(entry.get("id")),
            )
            for entry in item.get("fields") or ()
            if isinstance(entry, Mapping)
        )
        return cls(**_rest_values(item), fields=fields)

    def to_json(self) -> dict[str, Any]:
        line = super().to_json()
        line["fields"] = [
            {"name": f.name, "newValue": f.new_value, "oldValue": f.old_value} for f in self.fields
        ]
        return line


@attrs.frozen(kw_only=True)
class ActivityTypeAttribute:
    """One attribute of an activity type: its name and data type."""

    name: str
    data_type: str | None = None
    api_name: str | None = None


@attrs.frozen(kw_only=True)
class ActivityType:
    """An activity type: id, name, description, primary attribute and the other attributes.

    Example::

        names = {t.id: t.name for t in await client.activities.types()}
        names[12], names[13]  # ('New Lead', 'Change Data Value')
    """

    id: int
    name: str
    description: str | None = None
    primary_attribute: ActivityTypeAttribute | None = None
    attributes: tuple[ActivityTypeAttribute, ...] = ()
    api_name: str | None = None

    @classmethod
    def from_json(cls, item: Mapping[str, Any]) -> ActivityType:
        return converter.structure(dict(item), cls)


@attrs.frozen(kw_only=True)
class CustomActivityTypeAttribute:
    """One attribute of a custom activity type."""

    api_name: str
    name: str | None = None
    data_type: str | None = None
    description: str | None = None
    is_primary: bool = False


@attrs.frozen(kw_only=True)
class CustomActivityType:
    """A custom activity type: its API name, status (draft, approved ...) and attributes."""

    id: int
    api_name: str
    name: str | None = None
    description: str | None = None
    trigger_name: str | None = None
    filter_name: str | None = None
    status: str | None = None
    primary_attribute: CustomActivityTypeAttribute | None = None
    attributes: tuple[CustomActivityTypeAttribute, ...] = ()
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None

    @classmethod
    def from_json(cls, item: Mapping[str, Any]) -> CustomActivityType:
        return converter.structure(dict(item), cls)
