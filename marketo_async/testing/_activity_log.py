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
from typing import Any, TypedDict

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
    "ActivityDetails",
    "ActivityLog",
    "Change",
    "CustomType",
    "LoggedActivity",
    "Position",
    "change_text",
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


class ActivityDetails(TypedDict, total=False):
    """What an activity added by a test may carry besides its lead, type and date: the keyword
    arguments ``fake.add_activity`` and ``fake.bulk.add_activity`` hand to
    :meth:`ActivityLog.record` unchanged."""

    primary_attribute_value: str | None
    primary_attribute_value_id: int | None
    campaign_id: int | None
    attributes: Mapping[str, Any] | None


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


Change = tuple[str, "int | None", Any, Any]  # name, field id, new value, old value


@attrs.define(slots=True, eq=False)
class LoggedActivity:
    """One activity in the log, kept compact (an instance may log millions); read it by REST
    name like a mapping: ``entry["leadId"]``, ``entry["fields"]``."""

    id: int
    lead_id: int
    date: datetime
    type_id: int
    campaign_id: int | None = None
    value_id: int | None = None
    value: str | None = None
    attributes: Mapping[str, Any] = attrs.Factory(dict)
    changes: tuple[Change, ...] = ()

    @property
    def key(self) -> Position:
        return self.date, self.id

    def __getitem__(self, name: str) -> Any:
        return _READERS[name](self)

    def get(self, name: str, default: Any = None) -> Any:
        reader = _READERS.get(name)
        return default if reader is None else reader(self)


def change_text(value: Any) -> str | None:
    """A value as lead changes show it (text, or None)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _change_views(entry: LoggedActivity) -> list[dict[str, Any]]:
    return [
        {"id": field_id, "name": name, "newValue": change_text(new), "oldValue": change_text(old)}
        for name, field_id, new, old in entry.changes
    ]


_READERS: dict[str, Callable[[LoggedActivity], Any]] = {
    "id": lambda e: e.id,
    "marketoGUID": lambda e: f"{e.id:08d}-fake-activity",
    "leadId": lambda e: e.lead_id,
    "activityDate": lambda e: e.date,
    "activityTypeId": lambda e: e.type_id,
    "campaignId": lambda e: e.campaign_id,
    "primaryAttributeValueId": lambda e: e.value_id,
    "primaryAttributeValue": lambda e: e.value,
    "attributes": lambda e: e.attributes,
    "fields": _change_views,
}


def _entry_key(entry: LoggedActivity) -> Position:
    return entry.date, entry.id


class ActivityLog:
    """Every activity of the instance, ordered by ``(activityDate, id)``.

    ``short_pages(rate)`` makes that share of activity pages come back short (possibly empty)
    with ``moreResult: true``, as Marketo does; ``listeners`` hear of every new activity.
    """

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self.entries: list[LoggedActivity] = []
        self._next_id = 1
        self.custom_types: dict[int, CustomType] = {}
        self.listeners: list[Callable[[LoggedActivity], None]] = []
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
        changes: Iterable[Change] = (),
    ) -> LoggedActivity:
        """Add one activity (now, unless ``activity_date`` back-dates it); returns the entry.
        ``changes``: the fields it set, as ``(name, field id, new value, old value)``."""
        moment = activity_date or self._clock()
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        entry = LoggedActivity(
            id=self._next_id,
            lead_id=lead_id,
            date=moment,
            type_id=activity_type_id,
            campaign_id=campaign_id,
            value_id=primary_attribute_value_id,
            value=primary_attribute_value,
            attributes=attributes if attributes is not None else {},
            changes=tuple(changes),
        )
        self._next_id += 1
        if not self.entries or self.entries[-1].key <= entry.key:
            self.entries.append(entry)  # the usual case: now is after everything logged
        else:
            at = bisect.bisect_right(self.entries, entry.key, key=_entry_key)
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
        if self.entries and self.entries[-1].key > at_least:
            return self.entries[-1].key
        return at_least

    def page(
        self, after: Position, matches: Callable[[LoggedActivity], bool], limit: int
    ) -> tuple[list[LoggedActivity], Position, bool]:
        """Up to ``limit`` matching entries after ``after``; the position after the page, and
        whether matching entries remain beyond it."""
        index = bisect.bisect_right(self.entries, after, key=_entry_key)
        taken: list[LoggedActivity] = []
        position = after
        while index < len(self.entries):
            entry = self.entries[index]
            if matches(entry):
                if len(taken) == limit:
                    return taken, position, True
                taken.append(entry)
            position = entry.key
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
