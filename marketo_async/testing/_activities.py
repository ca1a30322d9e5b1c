"""The activity endpoints in the emulator: types, paging tokens, activities, lead changes,
deleted leads, and custom activities.

Paging follows Marketo's rules for date-based tokens: every answer carries a
``nextPageToken`` (the last page's one continues later, with activities recorded since), a
page may come back short, even empty, with ``moreResult: true`` (``log.short_pages(rate)``),
and ``moreResult`` is false only when nothing matching remains.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Container
from typing import Any

from ._activity_log import (
    CHANGE_DATA_VALUE,
    DELETE_LEAD,
    NEW_LEAD,
    ActivityLog,
    LoggedActivity,
    Position,
    decode_activity_token,
    encode_activity_token,
)
from ._call import MAX_BATCH_SIZE, MAX_RECORDS, Call, Router, parse_date
from ._store import iso
from ._wire import ApiError

__all__ = ["register", "rest_view"]

# Marketo: up to 10 activity type ids and 30 lead ids per activities call.
MAX_ACTIVITY_TYPE_IDS = 10
MAX_LEAD_IDS = 30
# Marketo: Get Lead Activities / Lead Changes with listId refuse lists this big (1003).
MAX_LIST_MEMBERS = 10_000
# Marketo: a custom activity's attributes array is at most 65,536 bytes (1049).
MAX_ATTRIBUTE_BYTES = 65_536

Entry = LoggedActivity
Match = Callable[[Entry], bool]


def rest_view(entry: Entry) -> dict[str, Any]:
    """An activity as Get Lead Activities answers it."""
    view: dict[str, Any] = {
        "id": entry["id"],
        "marketoGUID": entry["marketoGUID"],
        "leadId": entry["leadId"],
        "activityDate": iso(entry["activityDate"]),
        "activityTypeId": entry["activityTypeId"],
    }
    for name in ("campaignId", "primaryAttributeValueId", "primaryAttributeValue"):
        if entry.get(name) is not None:
            view[name] = entry[name]
    view["attributes"] = [{"name": k, "value": v} for k, v in entry["attributes"].items()]
    return view


def _int_values(call: Call, name: str, at_most: int) -> list[int]:
    raw = call.values(name)
    try:
        values = [int(value) for value in raw]
    except ValueError as exc:
        raise ApiError("1003", f"Invalid value for {name}: {raw}") from exc
    if len(set(values)) > at_most:
        raise ApiError("1003", f"Too many {name}: at most {at_most} are allowed")
    return values


def _start(call: Call) -> Position:
    return decode_activity_token(call.required("nextPageToken"))


def _batch_size(call: Call) -> int:
    size = call.int_param("batchSize", MAX_BATCH_SIZE)
    if not 1 <= size <= MAX_BATCH_SIZE:
        raise ApiError("1003", f"Invalid batchSize {size}, it must be 1 to 300")
    return size


def _lead_filter(call: Call) -> Container[int] | None:
    """The leads asked for (``leadIds`` or a static list's members), or None for all."""
    lead_ids = _int_values(call, "leadIds", MAX_LEAD_IDS)
    list_id = call.param("listId")
    if list_id:
        static_list = call.store.lists.get(int(list_id))
        if static_list is None:
            raise ApiError("1013", f"Static list '{list_id}' not found")
        if len(static_list.members) >= MAX_LIST_MEMBERS:
            raise ApiError("1003", f"List '{list_id}' has too many members")
        members = set(static_list.members)
        return members & set(lead_ids) if lead_ids else members
    return set(lead_ids) if lead_ids else None


async def _answer(
    call: Call, log: ActivityLog, matches: Match, view: Callable[[Entry], dict[str, Any]]
) -> dict[str, Any]:
    after = _start(call)
    limit = log.page_limit(_batch_size(call))
    items, position, more = log.page(after, matches, limit)
    await call.delay(len(items))
    # Marketo: the token comes back on every answer; "result" is left out when empty.
    extra: dict[str, Any] = {"nextPageToken": encode_activity_token(position), "moreResult": more}
    return call.ok([view(item) for item in items] if items else None, **extra)


async def types(call: Call) -> dict[str, Any]:
    return call.ok(call.store.activities.type_views())


async def paging_token(call: Call) -> dict[str, Any]:
    since = parse_date(call.required("sinceDatetime"))
    token = encode_activity_token(call.store.activities.start_of(since))
    return call.ok(None, nextPageToken=token)


async def activities(call: Call) -> dict[str, Any]:
    type_ids = set(_int_values(call, "activityTypeIds", MAX_ACTIVITY_TYPE_IDS))
    if not type_ids:
        raise ApiError("701", "activityTypeIds cannot be blank")
    asset_ids = set(_int_values(call, "assetIds", MAX_RECORDS))
    leads = _lead_filter(call)

    def matches(entry: Entry) -> bool:
        return (
            entry.type_id in type_ids
            and (leads is None or entry.lead_id in leads)
            and (not asset_ids or entry.value_id in asset_ids)
        )

    return await _answer(call, call.store.activities, matches, rest_view)


async def lead_changes(call: Call) -> dict[str, Any]:
    fields = set(call.values("fields"))
    if not fields:
        raise ApiError("701", "fields cannot be blank")
    leads = _lead_filter(call)

    def matches(entry: Entry) -> bool:
        if leads is not None and entry.lead_id not in leads:
            return False
        if entry.type_id == NEW_LEAD:
            return True
        return entry.type_id == CHANGE_DATA_VALUE and any(
            change[0] in fields for change in entry.changes
        )

    def view(entry: Entry) -> dict[str, Any]:
        shown = rest_view(entry)
        shown.pop("primaryAttributeValue", None)
        shown.pop("primaryAttributeValueId", None)
        shown["fields"] = [
            {**change, "id": change["id"] or _field_id(call, change["name"])}
            for change in entry["fields"]
            if change["name"] in fields
        ]
        return shown

    return await _answer(call, call.store.activities, matches, view)


def _field_id(call: Call, name: str) -> int | None:
    definition = call.store.lead_fields.get(name)
    return definition.id if definition is not None else None


async def deleted_leads(call: Call) -> dict[str, Any]:
    def matches(entry: Entry) -> bool:
        return entry.type_id == DELETE_LEAD

    return await _answer(call, call.store.activities, matches, rest_view)


async def custom_types(call: Call) -> dict[str, Any]:
    return call.ok([t.view() for t in call.store.activities.custom_types.values()])


def _add_one(call: Call, record: Any) -> dict[str, Any]:
    """One custom activity added, or skipped with Marketo's reason."""
    if not isinstance(record, dict):
        return call.skipped("1003", "Invalid activity")
    log = call.store.activities
    try:
        lead_id = int(record.get("leadId"))  # type: ignore[arg-type]
        type_id = int(record.get("activityTypeId"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return call.skipped("1003", "leadId and activityTypeId must be integers")
    if lead_id not in call.store.leads:
        return call.skipped("1004", "Lead not found")
    custom = log.custom_types.get(type_id)
    if custom is None or custom.status == "draft":
        return call.skipped("1013", f"Activity type '{type_id}' not found")
    if not record.get("activityDate") or record.get("primaryAttributeValue") is None:
        return call.skipped("1003", "activityDate and primaryAttributeValue are required")
    attributes = record.get("attributes") or []
    if len(json.dumps(attributes).encode()) > MAX_ATTRIBUTE_BYTES:
        return call.skipped("1049", "Failed to create activity: attributes array too large")
    try:
        moment = parse_date(str(record["activityDate"]))
    except ApiError as error:
        return call.skipped(error.code, error.message)
    entry = log.record(
        lead_id,
        type_id,
        activity_date=moment,
        primary_attribute_value=str(record["primaryAttributeValue"]),
        attributes={
            str(a.get("name") or a.get("apiName")): a.get("value")
            for a in attributes
            if isinstance(a, dict)
        },
    )
    return {"id": entry["id"], "marketoGUID": entry["marketoGUID"], "status": "added"}


async def add_custom(call: Call) -> dict[str, Any]:
    records = call.input(call.json())
    await call.delay(len(records))
    return call.ok([_add_one(call, record) for record in records])


def register(router: Router) -> None:
    router.add("GET", r"/rest/v1/activities/types\.json", types)
    router.add("GET", r"/rest/v1/activities/pagingtoken\.json", paging_token)
    router.add("GET", r"/rest/v1/activities\.json", activities)
    router.add("GET", r"/rest/v1/activities/leadchanges\.json", lead_changes)
    router.add("GET", r"/rest/v1/activities/deletedleads\.json", deleted_leads)
    router.add("POST", r"/rest/v1/activities/external\.json", add_custom)
    router.add("GET", r"/rest/v1/activities/external/types\.json", custom_types)
