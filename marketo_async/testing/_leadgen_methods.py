"""FakeLeadGen's API methods: each takes ``params`` and answers ``result`` (and the failing
objects' errors, which the envelope repeats in its top-level ``error`` list)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal

import attrs

from ._leadgen_store import (
    STANDARD_FIELDS,
    LeadGenStore,
    ObjectError,
    as_text,
    check_object,
    page,
    parse_time,
    selected,
)
from ._wire import ApiError

__all__ = ["METHODS", "Answer", "Context", "DateRangePaging"]

MAX_OBJECTS = 500  # Lead Gen & CRM: 500 objects per write
MAX_PAGE = 500  # Lead Gen & CRM: getLeads gives at most 500 leads a call
MAX_MEMBERSHIP_IDS = 100  # getLeadListMemberships: "Maximum of 100 leads per request"

# How getLeadsDateRange pages (disputed, research notes section 5): "offset" honours the
# undocumented limit/offset (500 when no limit), "capped" ignores them and gives the first 500,
# "unlimited" ignores them and gives everything.
DateRangePaging = Literal["offset", "capped", "unlimited"]

Answer = tuple[Any, list[dict[str, Any]]]
EVENT_SOURCES = ("emailOpened", "formSubmit", "emailVisit", "importantPageVisit")


@attrs.define
class Context:
    """What a method may use: the store, the latency to spend, switches and counters."""

    store: LeadGenStore
    delay: Callable[[int], Awaitable[None]]
    date_range_paging: DateRangePaging
    reasons: Any  # Counter of object-level error codes
    records: int = 0


def _objects(params: Mapping[str, Any]) -> list[Any]:
    objects = params.get("objects")
    if objects is None:
        raise ApiError("207", "Missing objects array")
    if not isinstance(objects, list):
        raise ApiError("208", "Object is malformed (expected array, got scalar)")
    if len(objects) > MAX_OBJECTS:
        raise ApiError("205", f"Invalid parameters: at most {MAX_OBJECTS} objects per call")
    return objects


def _where(params: Mapping[str, Any], *, required: bool = True) -> dict[str, Any]:
    where = params.get("where")
    if where is None:
        if required:
            raise ApiError("206", "Missing parameters: where")
        return {}
    if isinstance(where, list) and not where:
        return {}  # PHP clients send an empty hash as []
    if not isinstance(where, dict):
        raise ApiError("205", "Invalid parameters: where must be a hash")
    return where


def _results(ctx: Context, key: str, outcomes: Sequence[dict[str, Any] | ObjectError]) -> Answer:
    entries: list[dict[str, Any]] = []
    failing: list[dict[str, Any]] = []
    for outcome in outcomes:
        if isinstance(outcome, ObjectError):
            error = {"code": int(outcome.code), "message": outcome.message, "data": None}
            entries.append({"success": False, "error": error})
            failing.append(error)
            ctx.reasons[outcome.code] += 1
        else:
            entries.append({"success": True, "error": None, **outcome})
    return {key: entries}, failing


# ---------------------------------------------------------------------------- writes


async def create_leads(ctx: Context, params: Mapping[str, Any]) -> Answer:
    objects = _objects(params)
    ctx.records = len(objects)
    store = ctx.store
    checked: list[dict[str, Any] | ObjectError] = []
    emails: set[str] = set()
    for obj in objects:
        try:
            fields = check_object(store, obj, creating=True)
            email = as_text(fields["emailAddress"]).strip().casefold()
            # Checked on arrival and written after the work: two calls in flight with one new
            # email both pass the check (the duplicate race the client must never start).
            if email in emails or store.ids_with_email(email):
                raise ObjectError("301", "Entry already exists")
            emails.add(email)
            checked.append(fields)
        except ObjectError as error:
            checked.append(error)
    await ctx.delay(len(objects))
    outcomes: list[dict[str, Any] | ObjectError] = [
        item if isinstance(item, ObjectError) else {"id": store.insert(item)} for item in checked
    ]
    return _results(ctx, "creates", outcomes)


def _find(store: LeadGenStore, obj: Mapping[str, Any]) -> int | None:
    raw_id = obj.get("id")
    if raw_id not in (None, ""):
        number = int(raw_id) if str(raw_id).strip().isdigit() else None
        return number if number in store.leads else None
    matches = store.ids_with_email(as_text(obj.get("emailAddress")))
    return min(matches) if matches else None


def _update_one(store: LeadGenStore, obj: object, *, strict: bool) -> dict[str, Any]:
    fields = dict(check_object(store, obj, creating=False))
    number = _find(store, fields)
    if number is None:
        if strict:
            raise ObjectError("404", "Record with that ID does not exist")
        return {}  # updateLeads: success, and nothing happens (RM, "API Bugs" 2)
    email = as_text(fields.get("emailAddress")).strip()
    if email and store.ids_with_email(email) - {number}:
        if strict:
            raise ObjectError("301", "Entry already exists")
        # updateLeads: success, but only updateTimestamp changes.
        store.leads[number]["updateTimestamp"] = store.now()
        return {}
    fields.pop("id", None)
    if not store.change(number, fields):
        raise ObjectError("302", "No table rows affected")
    return {}


async def update_leads(ctx: Context, params: Mapping[str, Any], *, strict: bool) -> Answer:
    objects = _objects(params)
    ctx.records = len(objects)
    await ctx.delay(len(objects))
    outcomes: list[dict[str, Any] | ObjectError] = []
    for obj in objects:
        try:
            outcomes.append(_update_one(ctx.store, obj, strict=strict))
        except ObjectError as error:
            outcomes.append(error)
    return _results(ctx, "updates", outcomes)


async def update_leads_v1(ctx: Context, params: Mapping[str, Any]) -> Answer:
    return await update_leads(ctx, params, strict=False)


async def update_leads_v2(ctx: Context, params: Mapping[str, Any]) -> Answer:
    return await update_leads(ctx, params, strict=True)


async def delete_leads(ctx: Context, params: Mapping[str, Any]) -> Answer:
    objects = _objects(params)
    ctx.records = len(objects)
    await ctx.delay(len(objects))
    outcomes: list[dict[str, Any] | ObjectError] = []
    for obj in objects:
        raw = obj.get("id") if isinstance(obj, dict) else None
        number = int(raw) if raw is not None and str(raw).isdigit() else None
        if number is None or number not in ctx.store.leads:
            outcomes.append(ObjectError("214", "Lead does not exist for this account"))
        else:
            ctx.store.remove(number)
            outcomes.append({})
    return _results(ctx, "deletes", outcomes)


async def log_calls(ctx: Context, params: Mapping[str, Any]) -> Answer:
    objects = _objects(params)
    ctx.records = len(objects)
    for obj in objects:
        if not isinstance(obj, dict):
            raise ApiError("208", "Object is malformed (expected array, got scalar)")
        who = str(obj.get("whoID", obj.get("leadID", "")))
        if not who.isdigit() or int(who) not in ctx.store.leads:
            raise ApiError("220", f"Invalid whoID: {who!r}")
        if "timestamp" in obj:
            parse_time(obj["timestamp"], "timestamp")
    await ctx.delay(len(objects))
    ctx.store.call_logs.extend(dict(obj) for obj in objects)
    return {"success": True}, []


async def subscribe(ctx: Context, params: Mapping[str, Any]) -> Answer:
    url = params.get("url")
    if not isinstance(url, str) or not url:
        raise ApiError("206", "Missing parameters: url")
    await ctx.delay(0)
    ctx.store.subscriptions.append(url)
    return {"success": True}, []


# ----------------------------------------------------------------------------- reads


async def get_lead(ctx: Context, params: Mapping[str, Any]) -> Answer:
    raw = params.get("id")
    if raw is None:
        raise ApiError("206", "Missing parameters: id")
    await ctx.delay(1)
    number = int(raw) if str(raw).isdigit() else None
    lead = ctx.store.leads.get(number) if number is not None else None
    if lead is None:
        # Observed (RM, 2017): a made-up lead with no id instead of an empty list.
        made_up = {name: "" for name in ctx.store.custom_fields}
        made_up["leadStatus"] = "open"
        return {"lead": [made_up]}, []
    return {"lead": [dict(lead)]}, []


def _matches(lead: Mapping[str, str], name: str, wanted: Any) -> bool:
    values = wanted if isinstance(wanted, list) else [wanted]
    have = lead.get(name, "")
    if name == "emailAddress":
        return have.strip().casefold() in {as_text(v).strip().casefold() for v in values}
    return have in {as_text(v) for v in values}


async def get_leads(ctx: Context, params: Mapping[str, Any]) -> Answer:
    where = _where(params)
    for name in where:
        if not ctx.store.known(name):
            raise ApiError("205", f"Invalid parameters: unknown field '{name}' in where")
    rows = [
        lead
        for lead in ctx.store.ordered()
        if all(_matches(lead, name, value) for name, value in where.items())
        # Inactive leads are hidden unless asked for by id or email.
        and (lead.get("active") != "0" or where)
    ]
    found = page(rows, params, MAX_PAGE)
    await ctx.delay(len(found))
    return {"lead": [selected(lead, params.get("fields")) for lead in found]}, []


async def get_leads_date_range(ctx: Context, params: Mapping[str, Any]) -> Answer:
    for name in ("startDate", "endDate", "timestamp"):
        if name not in params:
            raise ApiError("206", f"Missing parameters: {name}")
    start = parse_time(params["startDate"], "startDate")
    end = parse_time(params["endDate"], "endDate")
    kind = params["timestamp"]
    if kind not in ("create", "update"):
        raise ApiError("217", "Incorrect parameter value for 'timestamp': create or update")
    store = ctx.store
    rows = [
        lead
        for lead in store.ordered()
        if lead.get("active") != "0"  # since 2017-07-26 inactive leads are left out
        and start
        <= (store.created_at[int(lead["id"])] if kind == "create" else lead["updateTimestamp"])
        <= end
    ]
    if ctx.date_range_paging == "offset":
        found = page(rows, params, None) if "limit" in params else page(rows, params, MAX_PAGE)
    elif ctx.date_range_paging == "capped":
        found = rows[:MAX_PAGE]
    else:
        found = rows
    await ctx.delay(len(found))
    return {"lead": [selected(lead, params.get("fields")) for lead in found]}, []


async def get_lead_list_memberships(ctx: Context, params: Mapping[str, Any]) -> Answer:
    ids = params.get("memberIDs")
    if not isinstance(ids, list):
        raise ApiError("206", "Missing parameters: memberIDs")
    if len(ids) > MAX_MEMBERSHIP_IDS:
        raise ApiError("222", "You have exceeded the amount of leads to process. A max of 100")
    await ctx.delay(len(ids))
    wanted = {int(i) for i in ids if str(i).isdigit()}
    rows = [
        {"memberID": str(member), "listID": str(list_id)}
        for list_id, members in sorted(ctx.store.lists.items())
        for member in sorted(members & wanted)
    ]
    return {"getWhereIns": rows}, []


async def get_active_lists(ctx: Context, params: Mapping[str, Any]) -> Answer:
    where = _where(params, required=False)
    rows = [
        {
            "id": str(list_id),
            "name": ctx.store.list_names.get(list_id, f"List {list_id}"),
            "memberCount": str(len(members)),
            "description": "",
        }
        for list_id, members in sorted(ctx.store.lists.items())
    ]
    rows = [row for row in rows if all(row.get(k) == as_text(v) for k, v in where.items())]
    found = page(rows, params, MAX_PAGE)
    await ctx.delay(len(found))
    return {"activeList": found}, []


def _events_where(ctx: Context, where: Mapping[str, Any]) -> list[dict[str, str]]:
    events = ctx.store.events
    if "leadID" in where:
        events = [e for e in events if e["leadID"] == as_text(where["leadID"])]
    if "eventSource" in where:
        if where["eventSource"] not in (
            "emailOpened",
            "formSubmit",
            "emailVisit",
            "importantPageVisit",
        ):
            raise ApiError("219", "Bad eventSource")
        events = [e for e in events if e["eventName"] == where["eventSource"]]
    if "createTimestamp" in where:
        after = parse_time(where["createTimestamp"], "createTimestamp")
        events = [e for e in events if e["createTimestamp"] > after]
    return events


async def get_events(ctx: Context, params: Mapping[str, Any]) -> Answer:
    rows = page(_events_where(ctx, _where(params)), params, MAX_PAGE)
    await ctx.delay(len(rows))
    return {"event": [dict(e) for e in rows]}, []


async def get_lead_timeline(ctx: Context, params: Mapping[str, Any]) -> Answer:
    rows = _events_where(ctx, _where(params))
    await ctx.delay(len(rows))
    return {"leadTimeline": [dict(e) for e in rows]}, []


def _field_rows(store: LeadGenStore) -> list[dict[str, str]]:
    rows = []
    for number, (name, data_type) in enumerate(STANDARD_FIELDS.items(), start=1):
        rows.append(_field(number, name, name, data_type, custom=False))
    for number, field in enumerate(store.custom_fields.values(), start=1001):
        rows.append(_field(number, field.system_name, field.label, field.data_type, custom=True))
    return rows


def _field(number: int, name: str, label: str, data_type: str, *, custom: bool) -> dict[str, str]:
    return {
        "id": str(number),
        "relationship": "lead",
        "systemName": name,
        "label": label,
        "source": "custom" if custom else "system",
        "dataType": data_type,
        "dataLength": "255",
        "isRequired": "1" if name == "emailAddress" else "0",
        "isCustom": "1" if custom else "0",
        "isAvailableInContactManager": "1",
        "isEditableInContactManager": "0" if name in ("id", "updateTimestamp") else "1",
        "isAvailableInForms": "1",
        "isActive": "1",
    }


async def get_fields(ctx: Context, params: Mapping[str, Any]) -> Answer:
    where = _where(params)
    rows = [
        row
        for row in _field_rows(ctx.store)
        if all(row.get(name) == as_text(value) for name, value in where.items())
    ]
    found = page(rows, params, MAX_PAGE)
    await ctx.delay(len(found))
    return {"field": found}, []


Method = Callable[[Context, Mapping[str, Any]], Awaitable[Answer]]

METHODS: dict[str, Method] = {
    "createLeads": create_leads,
    "updateLeads": update_leads_v1,
    "updateLeadsV2": update_leads_v2,
    "deleteLeads": delete_leads,
    "getLead": get_lead,
    "getLeads": get_leads,
    "getLeadsDateRange": get_leads_date_range,
    "getLeadListMemberships": get_lead_list_memberships,
    "getActiveLists": get_active_lists,
    "getLeadTimeline": get_lead_timeline,
    "getEvents": get_events,
    "logCalls": log_calls,
    "subscribeToLeadUpdates": subscribe,
    "getFields": get_fields,
}
