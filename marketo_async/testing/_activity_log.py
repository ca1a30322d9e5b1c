"""The emulated instance's activity log: what happened to which lead, when, in recording order.

The store records an activity for what it does (New Lead, Change Data Value per changed field,
Add to / Remove from List, Change Status in Progression, Merge Leads, Delete Lead); tests add
their own with :meth:`ActivityLog.record`. Entries are kept ordered by ``(activityDate, id)``,
which is the order the activity endpoints page in and what their paging tokens point into.
"""

from __future__ import annotations

import base64
import bisect
import random
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

import attrs

from ._wire import ApiError

__all__ = [
    "ADD_TO_LIST",
    "CHANGE_DATA_VALUE",
    "CHANGE_STATUS_IN_PROGRESSION",
    "DELETE_LEAD",
    "MERGE_LEADS",
    "NEW_LEAD",
    "REMOVE_FROM_LIST",
    "STANDARD_TYPES",
    "ActivityLog",
    "CustomType",
    "Position",
    "decode_activity_token",
    "encode_activity_token",
]

NEW_LEAD = 12
CHANGE_DATA_VALUE = 13
ADD_TO_LIST = 24
REMOVE_FROM_LIST = 25
MERGE_LEADS = 32
DELETE_LEAD = 37
CHANGE_STATUS_IN_PROGRESSION = 104
# Marketo numbers custom activity types from 100000 up.
FIRST_CUSTOM_TYPE_ID = 100_001

Position = tuple[datetime, int]  # (activityDate, id): after this entry


def _type(
    type_id: int, name: str, description: str, primary: tuple[str, str] | None, *attributes: str
) -> dict[str, Any]:
    view: dict[str, Any] = {"id": type_id, "name": name, "description": description}
    if primary is not None:
        view["primaryAttribute"] = {"name": primary[0], "dataType": primary[1]}
    view["attributes"] = [
        {"name": attribute.split(":")[0], "dataType": attribute.split(":")[1]}
        for attribute in attributes
    ]
    return view


# A subset of the standard types every instance has (Get Activity Types answers these).
STANDARD_TYPES: tuple[dict[str, Any], ...] = (
    _type(1, "Visit Webpage", "User visits a web page", ("Webpage ID", "integer"),
          "Client IP Address:string", "Query Parameters:string", "Referrer URL:string",
          "User Agent:string", "Webpage URL:string"),
    _type(2, "Fill Out Form", "User fills out and submits form on web page",
          ("Webform ID", "integer"), "Client IP Address:string", "Form Fields:text",
          "Query Parameters:string", "Referrer URL:string", "User Agent:string",
          "Webpage ID:integer"),
    _type(3, "Click Link", "User clicks link on a page", ("Link ID", "integer"),
          "Client IP Address:string", "Query Parameters:string", "Referrer URL:string",
          "User Agent:string", "Webpage ID:integer"),
    _type(6, "Send Email", "Send Marketo Email to a person", ("Mailing ID", "integer"),
          "Campaign Run ID:integer", "Step ID:integer"),
    _type(7, "Email Delivered", "Marketo Email is delivered to a person",
          ("Mailing ID", "integer"), "Campaign Run ID:integer", "Step ID:integer"),
    _type(10, "Open Email", "User opens Marketo Email", ("Mailing ID", "integer"),
          "Device:string", "Is Mobile Device:boolean", "Platform:string", "User Agent:string"),
    _type(11, "Click Email", "User clicks on a link in a Marketo Email",
          ("Mailing ID", "integer"), "Link:string", "Device:string", "User Agent:string"),
    _type(NEW_LEAD, "New Lead", "New person/record is added to the lead database", None,
          "Created Date:date", "Form Name:string", "Lead Source:string", "List Name:string",
          "SFDC Type:string", "Source Type:string"),
    _type(CHANGE_DATA_VALUE, "Change Data Value", "Changed attribute value for a person",
          ("Attribute Name", "integer"), "New Value:string", "Old Value:string",
          "Reason:string", "Source:string"),
    _type(22, "Change Score", "Change a person's score", ("Score Name", "integer"),
          "Change Value:string", "New Value:integer", "Old Value:integer", "Reason:string"),
    _type(ADD_TO_LIST, "Add to List", "Add person to a list", ("List ID", "integer"),
          "Source:string"),
    _type(REMOVE_FROM_LIST, "Remove from List", "Remove person from a list",
          ("List ID", "integer"), "Source:string"),
    _type(MERGE_LEADS, "Merge Leads", "Merge two or more people", ("Lead ID", "integer"),
          "Merge IDs:string", "Merged in Sales:boolean", "Merge Source:string"),
    _type(DELETE_LEAD, "Delete Lead", "Delete a person", ("Lead ID", "integer"),
          "Remove from CRM:boolean"),
    _type(46, "Interesting Moment", "Interesting moment for a person", None,
          "Description:string", "Source:string", "Type:string"),
    _type(CHANGE_STATUS_IN_PROGRESSION, "Change Status in Progression",
          "Change a person's status in a program", ("Program ID", "integer"),
          "New Status ID:integer", "Old Status ID:integer", "New Status:string",
          "Old Status:string", "Reason:string", "Success:boolean"),
    _type(145, "Push Lead to Marketo", "Push a person to Marketo", None,
          "Source:string", "Reason:string"),
)  # fmt: skip


@attrs.define
class CustomType:
    """A custom activity type (approved unless said otherwise)."""

    id: int
    api_name: str
    name: str
    primary_attribute: dict[str, Any]
    attributes: list[dict[str, Any]] = attrs.Factory(list)
    description: str | None = None
    status: str = "approved"
    created_at: datetime = attrs.Factory(lambda: datetime.now(timezone.utc))

    def view(self) -> dict[str, Any]:
        """As Get Custom Activity Types answers it."""
        stamp = self.created_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "id": self.id,
            "apiName": self.api_name,
            "name": self.name,
            "description": self.description,
            "triggerName": self.name,
            "filterName": self.name,
            "status": self.status,
            "primaryAttribute": {**self.primary_attribute, "isPrimary": True},
            "attributes": list(self.attributes),
            "createdAt": stamp,
            "updatedAt": stamp,
        }

    def type_view(self) -> dict[str, Any]:
        """As Get Activity Types lists it."""
        primary = self.primary_attribute
        return {
            "id": self.id,
            "name": self.name,
            "apiName": self.api_name,
            "description": self.description,
            "primaryAttribute": {
                "name": primary.get("name"),
                "apiName": primary.get("apiName"),
                "dataType": primary.get("dataType", "string"),
            },
            "attributes": [
                {"name": a.get("name"), "apiName": a.get("apiName"), "dataType": a.get("dataType")}
                for a in self.attributes
            ],
        }


# Marketo: tokens are opaque text that must be URL-encoded; ours carry "+", "/" and "=" so a
# client that forgets to encode them is noticed.
_TOKEN_HEAD = b"\xfb\xff"


def encode_activity_token(position: Position) -> str:
    moment, activity_id = position
    micros = int(moment.timestamp() * 1_000_000)
    return base64.b64encode(_TOKEN_HEAD + f"{micros}|{activity_id}".encode()).decode()


def decode_activity_token(token: str) -> Position:
    """The position a token points after; 1003 when it is not one of ours."""
    try:
        raw = base64.b64decode(token.encode("ascii"), validate=True)
        if not raw.startswith(_TOKEN_HEAD):
            raise ValueError(token)
        micros, activity_id = raw[len(_TOKEN_HEAD) :].decode().split("|")
        moment = datetime.fromtimestamp(int(micros) / 1_000_000, timezone.utc)
        return moment, int(activity_id)
    except (ValueError, UnicodeError) as exc:
        raise ApiError("1003", f"Invalid nextPageToken '{token}'") from exc


class ActivityLog:
    """Every activity of the instance, ordered by ``(activityDate, id)``.

    ``short_pages(rate)`` makes that share of activity pages come back short (possibly empty)
    with ``moreResult: true``, as Marketo does; ``listeners`` hear of every new activity.
    """

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self.entries: list[dict[str, Any]] = []
        self._keys: list[Position] = []
        self._next_id = 1
        self.custom_types: dict[int, CustomType] = {}
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        self.short_page_rate = 0.0
        self._rng = random.Random()

    # ---- configuration --------------------------------------------------------------------

    def short_pages(self, rate: float, *, seed: int | None = None) -> None:
        """Cut a share ``rate`` of activity pages short (0 to batchSize - 1 items, more to come)."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be within [0, 1]")
        self.short_page_rate = rate
        self._rng = random.Random(seed)

    def page_limit(self, batch_size: int) -> int:
        """How many items this page may hold: ``batch_size``, or fewer when cut short."""
        if self.short_page_rate and self._rng.random() < self.short_page_rate:
            return self._rng.randrange(0, batch_size)
        return batch_size

    # ---- recording -----------------------------------------------------------------------

    def record(
        self,
        lead_id: int,
        activity_type_id: int,
        *,
        activity_date: datetime | None = None,
        primary_attribute_value: str | None = None,
        primary_attribute_value_id: int | None = None,
        campaign_id: int | None = None,
        attributes: Mapping[str, Any] | None = None,
        fields: Iterable[Mapping[str, Any]] = (),
    ) -> dict[str, Any]:
        """Add one activity (now, unless ``activity_date`` back-dates it); returns the entry."""
        activity_id = self._next_id
        self._next_id += 1
        moment = activity_date or self._clock()
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        entry: dict[str, Any] = {
            "id": activity_id,
            "marketoGUID": f"{activity_id:08d}-fake-activity",
            "leadId": lead_id,
            "activityDate": moment,
            "activityTypeId": activity_type_id,
            "campaignId": campaign_id,
            "primaryAttributeValueId": primary_attribute_value_id,
            "primaryAttributeValue": primary_attribute_value,
            "attributes": dict(attributes or {}),
            "fields": [dict(field) for field in fields],
        }
        key = (moment, activity_id)
        at = bisect.bisect_right(self._keys, key)
        self._keys.insert(at, key)
        self.entries.insert(at, entry)
        for listener in self.listeners:
            listener(entry)
        return entry

    # ---- reading -------------------------------------------------------------------------

    def start_of(self, since: datetime) -> Position:
        """The position before every activity at or after ``since``."""
        return since, 0

    def end(self, at_least: Position) -> Position:
        """The position after the last activity (or ``at_least`` when that is later)."""
        if self._keys and self._keys[-1] > at_least:
            return self._keys[-1]
        return at_least

    def page(
        self, after: Position, matches: Callable[[dict[str, Any]], bool], limit: int
    ) -> tuple[list[dict[str, Any]], Position, bool]:
        """Up to ``limit`` matching entries after ``after``; the position after the page, and
        whether matching entries remain beyond it."""
        index = bisect.bisect_right(self._keys, after)
        taken: list[dict[str, Any]] = []
        position = after
        while index < len(self.entries):
            entry = self.entries[index]
            if matches(entry):
                if len(taken) == limit:
                    return taken, position, True
                taken.append(entry)
            position = self._keys[index]
            index += 1
        return taken, self.end(position), False

    # ---- custom types --------------------------------------------------------------------

    def add_custom_type(
        self,
        api_name: str,
        name: str,
        *,
        primary_attribute: Mapping[str, Any],
        attributes: Iterable[Mapping[str, Any]] = (),
        description: str | None = None,
        type_id: int | None = None,
        status: str = "approved",
    ) -> CustomType:
        if type_id is None:
            type_id = max(self.custom_types, default=FIRST_CUSTOM_TYPE_ID - 1) + 1
        custom = CustomType(
            id=type_id,
            api_name=api_name,
            name=name,
            primary_attribute=dict(primary_attribute),
            attributes=[dict(a) for a in attributes],
            description=description,
            status=status,
            created_at=self._clock(),
        )
        self.custom_types[type_id] = custom
        return custom

    def type_views(self) -> list[dict[str, Any]]:
        """Every activity type, standard and custom (approved ones), as Marketo lists them."""
        custom = [t.type_view() for t in self.custom_types.values() if t.status != "draft"]
        return [*(dict(t) for t in STANDARD_TYPES), *custom]
