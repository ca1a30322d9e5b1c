"""Program member endpoints: describe, query, status sync, data sync, delete (+ schema fields)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ._call import Call, Router
from ._fields import register_schema_routes
from ._store import Member, Program
from ._wire import ApiError

__all__ = ["register"]

DEFAULT_MEMBER_FIELDS = ("leadId", "reachedSuccess", "programId", "acquiredBy", "membershipDate")
# Marketo: Get Program Members with filterType=updatedAt takes at most a 7-day range.
MAX_UPDATED_AT_RANGE = timedelta(days=7)
# Marketo: up to 20 program member custom fields per instance.
MAX_CUSTOM_MEMBER_FIELDS = 20
# Marketo: a status change never moves a member back.
_NOT_BACK = "Lead skipped because it is already in or past this status"
_DESCRIBED_AT = "2021-03-20T01:30:05Z"


def _program(call: Call) -> Program:
    return call.path_item("program", call.store.programs, "1013", "Program")


def _searchable(call: Call) -> list[str]:
    fields = call.store.member_fields.values()
    return [
        f.name
        for f in fields
        if f.searchable or (f.is_custom and f.data_type in {"string", "integer"})
    ]


async def describe(call: Call) -> dict[str, Any]:
    fields = call.store.member_fields
    return call.ok(
        [
            {
                "name": "API Program Membership",
                "description": "Map for API program membership fields",
                "createdAt": _DESCRIBED_AT,
                "updatedAt": _DESCRIBED_AT,
                "dedupeFields": ["leadId", "programId"],
                "searchableFields": [[name] for name in sorted(_searchable(call))],
                "fields": [f.describe2_view() for f in fields.values()],
            }
        ]
    )


def _matches(value: Any, wanted: set[str]) -> bool:
    if isinstance(value, bool):
        return ("true" if value else "false") in wanted
    return value is not None and str(value).lower() in wanted


async def query(call: Call) -> dict[str, Any]:
    program = _program(call)
    filter_type = call.required("filterType")
    names = call.values("fields")
    for name in names:
        if name not in call.store.member_fields:
            raise ApiError("1006", f"Field '{name}' not found")
    fields = names or list(DEFAULT_MEMBER_FIELDS)
    members = list(program.members.values())
    limit = call.limits.program_member_query
    if filter_type != "leadId" and len(members) > limit:
        raise ApiError(
            "1003",
            f"Total membership size: {len(members):,} exceeds the limit "
            f"allowed {limit:,} for the filter",
        )
    if filter_type == "updatedAt":
        found = _updated_between(call, members)
    else:
        found = _by_field(call, program, members, filter_type)
    if filter_type != "leadId" and len(found) > limit:
        raise ApiError(
            "1003",
            f"Matching membership size: {len(found):,} exceeds the limit "
            f"allowed ({limit:,}) for this api",
        )
    page = call.page(
        "members", found, lambda m: m.lead_id, lambda m: _member_view(m, program, fields)
    )
    for seq, item in enumerate(page.get("result", [])):
        item["seq"] = seq
        item.update({k: item.pop(k) for k in list(item) if k != "seq"})
    return page


def _updated_between(call: Call, members: list[Member]) -> list[Member]:
    start = call.date_param("startAt")
    end = call.date_param("endAt")
    if start is None or end is None:
        raise ApiError("701", "startAt and endAt cannot be blank with filterType updatedAt")
    if end - start > MAX_UPDATED_AT_RANGE or end < start:
        raise ApiError("1003", "The updatedAt range must be 7 days or fewer")
    return [m for m in members if start <= m.updated_at <= end]


def _by_field(
    call: Call, program: Program, members: list[Member], filter_type: str
) -> list[Member]:
    values = call.filter_values(filter_type, call.store.member_fields, _searchable(call))
    wanted = {value.lower() for value in values}
    return [m for m in members if _matches(m.values(program).get(filter_type), wanted)]


def _member_view(member: Member, program: Program, fields: list[str]) -> dict[str, Any]:
    values = member.values(program)
    return {name: values[name] for name in fields if values.get(name) is not None}


async def sync_status(call: Call) -> dict[str, Any]:
    program = _program(call)
    body = call.json()
    status = call.body_value(body, "statusName")
    records = call.input(body)
    await call.delay(len(records))
    results: list[dict[str, Any]] = []
    for seq, record in enumerate(records):
        lead_id = record.get("leadId") if isinstance(record, dict) else None
        if not isinstance(lead_id, int) or lead_id not in call.store.leads:
            results.append(call.skipped("1004", "Lead not found", seq=seq))
        elif status not in program.statuses:
            results.append(call.skipped("1025", f"Program status '{status}' not found", seq=seq))
        else:
            outcome = call.store.set_member_status(program, lead_id, str(status))
            if outcome == "skipped":
                results.append(call.skipped("1037", _NOT_BACK, seq=seq))
            else:
                results.append({"seq": seq, "status": outcome, "leadId": lead_id})
    return call.ok(results)


async def sync_data(call: Call) -> dict[str, Any]:
    program = _program(call)
    records = call.input(call.json())
    member_fields = call.store.member_fields
    await call.delay(len(records))
    results: list[dict[str, Any]] = []
    for seq, record in enumerate(records):
        record = record if isinstance(record, dict) else {}
        lead_id = record.get("leadId")
        changes = {k: v for k, v in record.items() if k != "leadId"}
        unknown = next((k for k in changes if k not in member_fields), None)
        locked = next(
            (k for k in changes if k in member_fields and not member_fields[k].updateable), None
        )
        member = program.members.get(lead_id) if isinstance(lead_id, int) else None
        if member is None:
            results.append(call.skipped("1013", "Membership not found", seq=seq))
        elif unknown is not None:
            results.append(call.skipped("1006", f"Field '{unknown}' not found", seq=seq))
        elif locked is not None:
            results.append(call.skipped("1003", f"Field '{locked}' is not updateable", seq=seq))
        else:
            member.fields.update(changes)
            member.updated_at = call.store.now()
            results.append({"seq": seq, "status": "updated", "leadId": lead_id})
    return call.ok(results)


async def delete(call: Call) -> dict[str, Any]:
    program = _program(call)
    records = call.input(call.json())
    await call.delay(len(records))
    results: list[dict[str, Any]] = []
    for seq, record in enumerate(records):
        lead_id = record.get("leadId") if isinstance(record, dict) else None
        if isinstance(lead_id, int) and lead_id in program.members:
            del program.members[lead_id]
            results.append({"seq": seq, "status": "deleted", "leadId": lead_id})
        else:
            results.append(call.skipped("1037", "Lead not in program", seq=seq))
    return call.ok(results)


async def change_status_legacy(call: Call) -> dict[str, Any]:
    """The superseded Change Lead Program Status: existing members only; 1025 on a bad status."""
    program = _program(call)
    body = call.json()
    status = call.body_value(body, "status")
    if status not in program.statuses:
        raise ApiError("1025", f"Program status '{status}' not found")
    records = call.input(body)
    await call.delay(len(records))
    results: list[dict[str, Any]] = []
    for record in records:
        lead_id = record.get("id") if isinstance(record, dict) else None
        if not isinstance(lead_id, int) or lead_id not in program.members:
            results.append(call.skipped("1013", "Membership not found", id=lead_id))
        elif call.store.set_member_status(program, lead_id, str(status)) == "skipped":
            results.append(call.skipped("1037", _NOT_BACK, id=lead_id))
        else:
            results.append({"id": lead_id, "status": "updated"})
    return call.ok(results)


def register(router: Router) -> None:
    router.add("GET", r"/rest/v1/programs/members/describe\.json", describe)
    router.add("GET", r"/rest/v1/program/members/describe\.json", describe)  # legacy path
    router.add("GET", r"/rest/v1/programs/(?P<program>\d+)/members\.json", query)
    router.add("POST", r"/rest/v1/programs/(?P<program>\d+)/members\.json", sync_data)
    router.add("POST", r"/rest/v1/programs/(?P<program>\d+)/members/status\.json", sync_status)
    router.add("POST", r"/rest/v1/programs/(?P<program>\d+)/members/delete\.json", delete)
    router.add(
        "POST", r"/rest/v1/leads/programs/(?P<program>\d+)/status\.json", change_status_legacy
    )
    register_schema_routes(
        router,
        "/rest/v1/programs/members",
        lambda store: store.member_fields,
        kind="memberfields",
        max_custom=MAX_CUSTOM_MEMBER_FIELDS,
    )
