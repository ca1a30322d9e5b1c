"""Lead endpoints: describe, reads, sync/push/submitForm (with the duplicate race), delete, merge,
associate, partitions, and a lead's list, program and smart-campaign memberships.

The race: an upsert looks its keys up when the call arrives and writes when it completes, so two
overlapping calls carrying the same new key both create a lead (Marketo documents this).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import attrs

from ..models._field_values import typed_value
from ._call import MAX_RECORDS, Call, Router
from ._store import Form, Partition, Program, Store, iso
from ._wire import ApiError

__all__ = ["DEFAULT_LEAD_FIELDS", "lead_view", "register", "requested_fields"]

DEFAULT_LEAD_FIELDS = ("id", "firstName", "lastName", "email", "updatedAt", "createdAt")
SYNC_ACTIONS = frozenset({"createOrUpdate", "createOnly", "updateOnly", "createDuplicate"})
# Marketo: more than 25 losing leads in one merge gives 1080 (from 2026-03-31).
MAX_MERGE_LEADS = 25
# Marketo's munchkin cookie: id:<munchkin id>&token:_mch-<domain>-<digits>-<digits>
_COOKIE = re.compile(r"^id:\d{3}-[A-Z]{3}-\d{3}&token:_mch-[\w.-]+-\d+-\d+$")


def requested_fields(
    call: Call, store: Store, default: Iterable[str], extra: Iterable[str] = ()
) -> list[str]:
    """The ``fields`` parameter (comma list), or the default set; 1006 for an unknown field."""
    names = call.values("fields")
    if not names:
        return list(default)
    allowed = set(extra) | {"ecids"}
    for name in names:
        if name not in store.lead_fields and name not in allowed:
            raise ApiError("1006", f"Field '{name}' not found")
    return names


def lead_view(lead: dict[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """A lead with the asked fields; null values are left out (Marketo: absent means null)."""
    view: dict[str, Any] = {"id": lead["id"]}
    for name in fields:
        value = lead.get(name)
        if value is not None:
            view[name] = value
    return view


def _lead_or_error(store: Store, lead_id: int) -> dict[str, Any]:
    lead = store.leads.get(lead_id)
    if lead is None:
        raise ApiError("1004", f"Lead '{lead_id}' not found")
    return lead


# ---- describe ----------------------------------------------------------------------------


async def describe(call: Call) -> dict[str, Any]:
    return call.ok([f.describe_view() for f in call.store.lead_fields.values()])


def searchable_lead_fields(store: Store) -> list[str]:
    return [f.name for f in store.lead_fields.values() if f.searchable or f.searchable_custom]


async def describe2(call: Call) -> dict[str, Any]:
    store = call.store
    return call.ok(
        [
            {
                "name": "API Lead",
                "searchableFields": [[name] for name in searchable_lead_fields(store)],
                "fields": [f.describe2_view() for f in store.lead_fields.values()],
            }
        ]
    )


# ---- reads -------------------------------------------------------------------------------


async def get_by_id(call: Call) -> dict[str, Any]:
    fields = requested_fields(call, call.store, DEFAULT_LEAD_FIELDS)
    lead = call.store.leads.get(call.path_int("id"))
    return call.ok([] if lead is None else [lead_view(lead, fields)])


async def get_by_filter(call: Call) -> dict[str, Any]:
    store = call.store
    filter_type = call.required("filterType")
    values = call.filter_values(filter_type, store.lead_fields, searchable_lead_fields(store))
    fields = requested_fields(call, store, DEFAULT_LEAD_FIELDS)
    matched: set[int] = set()
    for value in values:
        matched.update(store.find_leads(filter_type, value))
    if len(matched) > call.limits.lead_filter_matches:
        raise ApiError("1003", "Too many results match the filter")
    leads = [store.leads[i] for i in matched]
    return call.page(
        "leads", leads, lambda lead: int(lead["id"]), lambda lead: lead_view(lead, fields)
    )


# ---- upserts (sync, push, submitForm) -----------------------------------------------------


@attrs.define
class _Plan:
    """What one input record will do, decided when the call arrives."""

    values: dict[str, Any]
    key: str | None = None
    target: int | None = None  # the lead found by the lookup
    skip: dict[str, Any] | None = None
    cookie: str | None = None
    member_fields: dict[str, Any] = attrs.Factory(dict)


def _unknown_field(store: Store, record: dict[str, Any]) -> str | None:
    return next((name for name in record if name not in store.lead_fields), None)


def typed_lead_values(store: Store, record: dict[str, Any]) -> dict[str, Any]:
    """``record`` with each value as its field's type stores it (``"68"`` -> 68 for an
    integer); ``ValueError`` with Marketo's 1001 message for the first value that does not fit.
    Every name must be a lead field."""
    return {name: typed_value(store.lead_fields[name].data_type, v) for name, v in record.items()}


def _plan_upserts(
    call: Call, plans: list[_Plan], *, action: str, lookup_field: str, partition: Partition | None
) -> None:
    """Look every key up now, at arrival (the first half of Marketo's race)."""
    store = call.store
    for plan in plans:
        if plan.skip is not None:
            continue
        if action == "createDuplicate":
            continue
        plan.key = store.key_of(lookup_field, plan.values.get(lookup_field))
        matches = store.find_leads(lookup_field, plan.values[lookup_field]) if plan.key else []
        if action == "createOnly":
            if matches:
                plan.skip = call.skipped("1005", "Lead already exists")
            continue
        if len(matches) > 1:
            plan.skip = call.skipped("1007", "Multiple lead match lookup criteria")
        elif matches:
            found = store.leads[matches[0]]
            if partition is not None and found.get("leadPartitionId") != partition.id:
                plan.skip = call.skipped(
                    "1010", f"Partition update not allowed, lead is not in '{partition.name}'"
                )
            else:
                plan.target = matches[0]
        elif action == "updateOnly":
            plan.skip = call.skipped("1004", "Lead not found")


def _apply_upserts(
    call: Call, plans: list[_Plan], *, action: str, partition: Partition | None
) -> list[dict[str, Any]]:
    """Write every record now, at completion (the second half of the race)."""
    store = call.store
    results: list[dict[str, Any]] = []
    created_here: dict[str, int] = {}
    partition_id = partition.id if partition is not None else 1
    for plan in plans:
        if plan.skip is not None:
            results.append(plan.skip)
            continue
        values = {k: v for k, v in plan.values.items() if k != "id"}
        target = plan.target
        if target is not None and target not in store.leads:
            target = None  # deleted while this call was in flight
            if action == "updateOnly":
                results.append(call.skipped("1004", "Lead not found"))
                continue
        if target is None and plan.key is not None and plan.key in created_here:
            # The same new key twice in one call: the later record updates the first.
            if action == "createOnly":
                results.append(call.skipped("1005", "Lead already exists"))
                continue
            target = created_here[plan.key]
        if target is None:
            lead_id = store.create_lead(values, partition_id=partition_id)
            if plan.key is not None:
                created_here[plan.key] = lead_id
            status = "created"
        else:
            lead_id = target
            store.update_lead(lead_id, values)
            status = "updated"
        if plan.cookie is not None:
            store.cookies[plan.cookie] = lead_id
            store.set_lead_system_field(lead_id, "cookies", plan.cookie)
        results.append({"id": lead_id, "status": status})
    return results


def _lookup_field(call: Call, body: dict[str, Any], default: str = "email") -> str:
    lookup_field = body.get("lookupField") or default
    store = call.store
    if lookup_field not in store.lead_fields:
        raise ApiError("1006", f"Field '{lookup_field}' not found")
    if lookup_field not in searchable_lead_fields(store) or lookup_field == "leadPartitionId":
        raise ApiError("1011", f"Field '{lookup_field}' not supported for lookupField")
    return str(lookup_field)


def _partition(call: Call, body: dict[str, Any], action: str) -> Partition | None:
    name = body.get("partitionName")
    if not name or action not in {"createOnly", "createOrUpdate"}:
        return None  # Marketo: partitionName only applies to createOnly and createOrUpdate
    partition = call.store.partition_named(str(name))
    if partition is None:
        raise ApiError("1008", f"Access denied to partition '{name}'")
    return partition


def _plans_from_records(call: Call, records: list[Any], *, action: str) -> list[_Plan]:
    plans: list[_Plan] = []
    for record in records:
        if not isinstance(record, dict):
            plans.append(_Plan({}, skip=call.skipped("1003", "Invalid data")))
            continue
        unknown = _unknown_field(call.store, record)
        if unknown is not None:
            plans.append(_Plan({}, skip=call.skipped("1006", f"Field '{unknown}' not found")))
        elif "id" in record and action != "updateOnly":
            plans.append(
                _Plan(
                    {},
                    skip=call.skipped("1003", f"Field 'id' is not allowed with action '{action}'"),
                )
            )
        else:
            try:
                plans.append(_Plan(typed_lead_values(call.store, record)))
            except ValueError as exc:  # Marketo: a value of the wrong type skips the record
                plans.append(_Plan({}, skip=call.skipped("1001", str(exc))))
    return plans


async def sync(call: Call) -> dict[str, Any]:
    body = call.json()
    action = body.get("action") or "createOrUpdate"
    if action not in SYNC_ACTIONS:
        raise ApiError("1003", f"Invalid action '{action}'")
    records = call.input(body)
    lookup_field = _lookup_field(call, body)
    partition = _partition(call, body, action)
    plans = _plans_from_records(call, records, action=action)
    _plan_upserts(call, plans, action=action, lookup_field=lookup_field, partition=partition)
    await call.delay(len(records))
    return call.ok(_apply_upserts(call, plans, action=action, partition=partition))


async def push(call: Call) -> dict[str, Any]:
    body = call.json()
    program_name = call.body_value(body, "programName")
    program = call.store.program_named(str(program_name))
    if program is None:
        raise ApiError("1013", f"Program '{program_name}' not found")
    status = body.get("programStatus")
    if status is not None and status not in program.statuses:
        raise ApiError("1025", f"Program status '{status}' not found")
    records = call.input(body)
    lookup_field = _lookup_field(call, body)
    partition = _partition(call, body, "createOrUpdate")
    plans = _plans_from_records(call, records, action="createOrUpdate")
    _plan_upserts(
        call, plans, action="createOrUpdate", lookup_field=lookup_field, partition=partition
    )
    await call.delay(len(records))
    results = _apply_upserts(call, plans, action="createOrUpdate", partition=partition)
    if status is not None:
        for result in results:
            if "id" in result:
                call.store.set_member_status(program, int(result["id"]), str(status))
    return call.ok(results, warnings=[])


async def submit_form(call: Call) -> dict[str, Any]:
    store = call.store
    body = call.json()
    form_id = body.get("formId")
    if form_id is None:
        raise ApiError("701", "formId cannot be blank")
    form = store.forms.get(int(form_id))
    if form is None:
        raise ApiError("1013", f"Form '{form_id}' not found")
    program: Program | None = None
    if body.get("programId") is not None:
        program = store.programs.get(int(body["programId"]))
        if program is None:
            raise ApiError("1013", f"Program '{body['programId']}' not found")
    records = call.input(body)
    plans = [_form_plan(call, form, record) for record in records]
    _plan_upserts(call, plans, action="createOrUpdate", lookup_field="email", partition=None)
    await call.delay(len(records))
    results = _apply_upserts(call, plans, action="createOrUpdate", partition=None)
    for plan, result in zip(plans, results, strict=True):
        if program is not None and "id" in result:
            lead_id = int(result["id"])
            status = (
                "Filled-out Form" if "Filled-out Form" in program.statuses else program.statuses[0]
            )
            store.set_member_status(program, lead_id, status)
            program.members[lead_id].fields.update(plan.member_fields)
    return call.ok(results)


def _form_plan(call: Call, form: Form, record: Any) -> _Plan:
    """What one submitted form record does: its lead and member values, or a skip."""
    store = call.store
    fields = record.get("leadFormFields") if isinstance(record, dict) else None
    if not isinstance(fields, dict) or not fields.get("email"):
        return _Plan({}, skip=call.skipped("1002", "Missing value for required parameter 'email'"))
    unknown = next(
        (k for k in fields if k not in store.lead_fields and k not in store.member_fields), None
    )
    outside = next((k for k in fields if form.fields and k not in form.fields), None)
    if unknown is not None or outside is not None:
        name = unknown or outside
        return _Plan({}, skip=call.skipped("1006", f"Field '{name}' not found"))
    cookie = record.get("cookie")
    return _Plan(
        {k: v for k, v in fields.items() if k in store.lead_fields},
        member_fields={
            k: v
            for k, v in fields.items()
            if k not in store.lead_fields and k in store.member_fields
        },
        cookie=str(cookie) if cookie and _COOKIE.match(str(cookie)) else None,
    )


# ---- delete, merge, associate ---------------------------------------------------------------


async def delete(call: Call) -> dict[str, Any]:
    body = call.json_or_none()
    raw: list[Any] = list(call.values("id"))
    if body:
        raw = [r.get("id") if isinstance(r, dict) else r for r in call.input(body)]
    if not raw:
        raise ApiError("701", "input cannot be blank")
    if len(raw) > MAX_RECORDS:
        raise ApiError("1003", f"Too many records in input: {len(raw)}, the limit is 300")
    await call.delay(len(raw))
    results: list[dict[str, Any]] = []
    for value in raw:
        try:
            lead_id = int(value)
        except (TypeError, ValueError):
            results.append(call.skipped("1003", "Invalid data"))
            continue
        if lead_id in call.store.leads:
            call.store.delete_lead(lead_id)
            results.append({"id": lead_id, "status": "deleted"})
        else:
            results.append(call.skipped("1004", "Lead not found", id=lead_id))
    return call.ok(results)


async def merge(call: Call) -> dict[str, Any]:
    store = call.store
    winner = call.path_int("id")
    losers_raw = call.values("leadIds") or call.values("leadId")
    if not losers_raw:
        raise ApiError("701", "leadId cannot be blank")
    if len(losers_raw) > MAX_MERGE_LEADS:
        raise ApiError("1080", "Merge is limited to 25 leadIds; the call was skipped")
    try:
        losers = [int(value) for value in losers_raw]
    except ValueError as exc:
        raise ApiError("1003", "Invalid data") from exc
    for lead_id in (winner, *losers):
        _lead_or_error(store, lead_id)
    if winner in losers:
        raise ApiError("1003", "The winning lead cannot also be a losing lead")
    await call.delay(len(losers) + 1)
    for lead_id in (winner, *losers):
        _lead_or_error(store, lead_id)  # a lead may have gone while we waited
    store.merge_leads(winner, losers)
    return call.ok()


async def associate(call: Call) -> dict[str, Any]:
    store = call.store
    lead_id = call.path_int("id")
    cookie = call.required("cookie")
    if not _COOKIE.match(cookie):
        raise ApiError("1012", f"Invalid cookie value '{cookie}'")
    _lead_or_error(store, lead_id)
    await call.delay(1)
    _lead_or_error(store, lead_id)
    store.cookies[cookie] = lead_id
    store.set_lead_system_field(lead_id, "cookies", cookie)
    return call.ok()


# ---- partitions -------------------------------------------------------------------------------


async def get_partitions(call: Call) -> dict[str, Any]:
    return call.ok([p.view() for p in call.store.partitions.values()])


async def update_partitions(call: Call) -> dict[str, Any]:
    store = call.store
    records = call.input(call.json())
    await call.delay(len(records))
    results: list[dict[str, Any]] = []
    for record in records:
        lead_id = record.get("id") if isinstance(record, dict) else None
        name = record.get("partitionName") if isinstance(record, dict) else None
        if not isinstance(lead_id, int) or lead_id not in store.leads:
            results.append(call.skipped("1004", "Lead not found", id=lead_id))
        elif not name:
            results.append(call.skipped("1009", "Partition name must be specified", id=lead_id))
        elif (partition := store.partition_named(str(name))) is None:
            results.append(call.skipped("1008", f"Access denied to partition '{name}'", id=lead_id))
        else:
            store.set_lead_system_field(lead_id, "leadPartitionId", partition.id)
            results.append({"id": lead_id, "status": "updated"})
    return call.ok(results)


# ---- a lead's memberships -----------------------------------------------------------------


def _updated_between(call: Call, moment: datetime) -> bool:
    earliest = call.date_param("earliestUpdatedAt")
    latest = call.date_param("latestUpdatedAt")
    return (earliest is None or moment >= earliest) and (latest is None or moment <= latest)


async def list_membership(call: Call) -> dict[str, Any]:
    lead_id = call.path_int("id")
    _lead_or_error(call.store, lead_id)
    found = [
        (static_list.id, static_list.members[lead_id])
        for static_list in call.store.lists.values()
        if lead_id in static_list.members
    ]
    return call.page(
        "lists-of",
        found,
        lambda item: item[0],
        lambda item: {"listId": item[0], "createdAt": iso(item[1]), "updatedAt": iso(item[1])},
    )


async def program_membership(call: Call) -> dict[str, Any]:
    lead_id = call.path_int("id")
    _lead_or_error(call.store, lead_id)
    wanted: set[int] | None = None
    filter_type = call.param("filterType")
    if filter_type:
        if filter_type != "programId":
            raise ApiError("1011", f"Field '{filter_type}' not supported for filterType")
        wanted = {int(v) for v in call.values("filterValues") if v.isdigit()}
    found = [
        program
        for program in call.store.programs.values()
        if lead_id in program.members
        and (wanted is None or program.id in wanted)
        and _updated_between(call, program.members[lead_id].updated_at)
    ]

    return call.page(
        "programs-of", found, lambda program: program.id, lambda p: _membership(p, lead_id)
    )


def _membership(program: Program, lead_id: int, **extra: Any) -> dict[str, Any]:
    """A lead's membership of a program, as Get Lead Program Membership and Get Leads by
    Program (``membership``) show it."""
    member = program.members[lead_id]
    item: dict[str, Any] = {
        "id": program.id,
        "progressionStatus": member.status,
        **extra,
        "isExhausted": member.is_exhausted,
        "acquiredBy": member.acquired_by,
        "reachedSuccess": member.reached_success,
        "membershipDate": iso(member.created_at),
        "updatedAt": iso(member.updated_at),
    }
    if program.engagement:
        item.update(stream=member.stream, nurtureCadence=member.nurture_cadence)
    return item


async def smart_campaign_membership(call: Call) -> dict[str, Any]:
    lead_id = call.path_int("id")
    _lead_or_error(call.store, lead_id)
    found = [
        (campaign.id, *campaign.members[lead_id])
        for campaign in call.store.smart_campaigns.values()
        if lead_id in campaign.members and _updated_between(call, campaign.members[lead_id][1])
    ]
    return call.page(
        "campaigns-of",
        found,
        lambda item: item[0],
        lambda item: {
            "smartCampaignId": item[0],
            "createdAt": iso(item[1]),
            "updatedAt": iso(item[2]),
        },
    )


async def leads_by_program(call: Call) -> dict[str, Any]:
    store = call.store
    program = call.path_item("id", store.programs, "1013", "Program")
    fields = requested_fields(
        call, store, (*DEFAULT_LEAD_FIELDS, "membership"), extra=("membership",)
    )

    def view(lead_id: int) -> dict[str, Any]:
        item = lead_view(store.leads[lead_id], [f for f in fields if f != "membership"])
        if "membership" in fields:
            status = program.members[lead_id].status
            item["membership"] = _membership(program, lead_id, progressionStatusType=status)
        return item

    members = [lead_id for lead_id in program.members if lead_id in store.leads]
    return call.page("leads-of-program", members, lambda lead_id: lead_id, view)


def register(router: Router) -> None:
    router.add("GET", r"/rest/v1/leads/describe\.json", describe)
    router.add("GET", r"/rest/v1/leads/describe2\.json", describe2)
    router.add("GET", r"/rest/v1/lead/(?P<id>\d+)\.json", get_by_id)
    router.add("GET", r"/rest/v1/leads\.json", get_by_filter)
    router.add("POST", r"/rest/v1/leads\.json", sync)
    router.add("POST", r"/rest/v1/leads/push\.json", push)
    router.add("POST", r"/rest/v1/leads/submitForm\.json", submit_form)
    router.add("POST", r"/rest/v1/leads/delete\.json", delete)
    router.add("POST", r"/rest/v1/leads/(?P<id>\d+)/merge\.json", merge)
    router.add("POST", r"/rest/v1/leads/(?P<id>\d+)/associate\.json", associate)
    router.add("GET", r"/rest/v1/leads/partitions\.json", get_partitions)
    router.add("POST", r"/rest/v1/leads/partitions\.json", update_partitions)
    router.add("GET", r"/rest/v1/leads/(?P<id>\d+)/listMembership\.json", list_membership)
    router.add("GET", r"/rest/v1/leads/(?P<id>\d+)/programMembership\.json", program_membership)
    router.add(
        "GET",
        r"/rest/v1/leads/(?P<id>\d+)/smartCampaignMembership\.json",
        smart_campaign_membership,
    )
    router.add("GET", r"/rest/v1/leads/programs/(?P<id>\d+)\.json", leads_by_program)
