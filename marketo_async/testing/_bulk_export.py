"""Bulk Extract of leads, program members and activities in the emulator.

Create, enqueue (one queue of 10 shared by every export type: 1029 when full, when the job is
already queued, or when the day's 500 MB is spent), status (changing at most once a minute),
file (with ``Range``; empty cells are ``null``), cancel and the job listing. Date filters span at
most 31 days and are inclusive at both ends, to the second; their timestamps have no fraction.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from ..models.activities import ACTIVITY_FIELDS
from ._activity_log import LoggedActivity
from ._bulk import (
    Bulk,
    Job,
    cell,
    checksum,
    delimiter_of,
    job_handler,
    not_ready,
    write_rows,
)
from ._call import Call, Handler, Router, parse_date
from ._store import Store, iso
from ._wire import ApiError, FakeReply

__all__ = [
    "ACTIVITY_FIELDS",
    "create_export",
    "register",
    "register_export",
]

# Marketo: a date filter spans at most 31 days.
MAX_FILTER_SPAN = timedelta(days=31)
# Marketo: programIds takes up to 10 programs.
MAX_PROGRAM_IDS = 10
_LEAD_FILTERS = ("createdAt", "updatedAt", "staticListId", "staticListName")
_UNSUPPORTED_FILTERS = ("smartListId", "smartListName")
_KINDS = {"leads": "leads", "program/members": "program members", "activities": "activities"}

Rows = Callable[[Store, Bulk], tuple[list[str], Iterator[list[str]]]]


def _date_range(value: Any, name: str) -> tuple[datetime, datetime]:
    if not isinstance(value, dict) or "startAt" not in value or "endAt" not in value:
        raise ApiError("1003", f"{name} filter needs startAt and endAt")
    start, end = parse_date(str(value["startAt"])), parse_date(str(value["endAt"]))
    if end < start:
        raise ApiError("1003", f"{name}.endAt is before startAt")
    if end - start > MAX_FILTER_SPAN:
        raise ApiError("1003", f"{name} date range exceeds 31 days")
    return start, end


def _within(stamp: Any, window: tuple[datetime, datetime]) -> bool:
    if stamp is None:
        return False
    moment = stamp if isinstance(stamp, datetime) else parse_date(str(stamp))
    return window[0] <= moment <= window[1]


def _fields(body: dict[str, Any], known: Callable[[str], bool]) -> list[str]:
    fields = body.get("fields")
    if not isinstance(fields, list) or not fields:
        raise ApiError("701", "fields cannot be blank")
    for name in fields:
        if not isinstance(name, str) or not known(name):
            raise ApiError("1003", f"Invalid field '{name}'")
    return fields


def _header(fields: Sequence[str], body: dict[str, Any]) -> list[str]:
    names = body.get("columnHeaderNames") or {}
    return [str(names.get(name, name)) for name in fields]


# ------------------------------------------------------------------------------------ leads


def _lead_rows(body: dict[str, Any], store: Store) -> Rows:
    fields = _fields(body, lambda name: name in store.lead_fields)
    where = body.get("filter")
    if not isinstance(where, dict) or not where:
        raise ApiError("701", "filter cannot be blank")
    if any(name in where for name in _UNSUPPORTED_FILTERS):
        raise ApiError("1035", "Unsupported filter type for target subscription")
    chosen = [name for name in _LEAD_FILTERS if name in where]
    if len(chosen) != 1 or len(where) != 1:
        raise ApiError("1003", "Exactly one filter type is required")
    (name,) = chosen
    if name in ("createdAt", "updatedAt"):
        window = _date_range(where[name], name)

        def matches(lead: dict[str, Any]) -> bool:
            return _within(lead.get(name), window)
    else:
        static_list = (
            store.lists.get(int(where[name]))
            if name == "staticListId"
            else store.list_named(str(where[name]))
        )
        if static_list is None:
            raise ApiError("1003", f"Static list '{where[name]}' not found")
        list_id = static_list.id

        def matches(lead: dict[str, Any]) -> bool:
            return int(lead["id"]) in store.lists[list_id].members

    def rows(store: Store, bulk: Bulk) -> tuple[list[str], Iterator[list[str]]]:
        chosen_leads = [store.leads[i] for i in sorted(store.leads) if matches(store.leads[i])]
        return _header(fields, body), (
            [cell(lead.get(field)) for field in fields] for lead in chosen_leads
        )

    return rows


# -------------------------------------------------------------------------- program members


def _program_ids(where: dict[str, Any], store: Store) -> list[int]:
    if ("programId" in where) == ("programIds" in where):
        raise ApiError("1003", "Give exactly one of programId or programIds")
    raw = where.get("programIds") if "programIds" in where else [where.get("programId")]
    if not isinstance(raw, list) or not raw or len(raw) > MAX_PROGRAM_IDS:
        raise ApiError("1003", "programIds takes 1 to 10 program ids")
    ids = [int(value) for value in raw]
    for program_id in ids:
        if program_id not in store.programs:
            raise ApiError("1003", f"Program '{program_id}' not found")
    return ids


def _member_rows(body: dict[str, Any], store: Store) -> Rows:
    fields = _fields(body, lambda name: name in store.lead_fields or name in store.member_fields)
    where = body.get("filter")
    if not isinstance(where, dict):
        raise ApiError("701", "filter cannot be blank")
    program_ids = _program_ids(where, store)
    statuses = where.get("statusNames")
    if statuses is not None:
        known = {status for pid in program_ids for status in store.programs[pid].statuses}
        unknown = [status for status in statuses if status not in known]
        if unknown:
            raise ApiError("1003", f"Invalid status name '{unknown[0]}'")
    window = _date_range(where["updatedAt"], "updatedAt") if "updatedAt" in where else None
    columns = ["programId", *fields] if "programIds" in where else list(fields)

    def rows(store: Store, bulk: Bulk) -> tuple[list[str], Iterator[list[str]]]:
        def generate() -> Iterator[list[str]]:
            for program_id in program_ids:
                program = store.programs[program_id]
                for lead_id in sorted(program.members):
                    member = program.members[lead_id]
                    if statuses is not None and member.status not in statuses:
                        continue
                    if window is not None and not _within(member.updated_at, window):
                        continue
                    if "isExhausted" in where and member.is_exhausted != where["isExhausted"]:
                        continue
                    values = {**store.leads.get(lead_id, {}), **member.values(program)}
                    yield [cell(values.get(name)) for name in columns]

        return _header(columns, body), generate()

    return rows


# ------------------------------------------------------------------------------- activities


def _activity_rows(body: dict[str, Any], store: Store) -> Rows:
    if body.get("fields") is None:
        body = {**body, "fields": list(ACTIVITY_FIELDS)}
    fields = _fields(body, lambda name: name in ACTIVITY_FIELDS)
    where = body.get("filter")
    if not isinstance(where, dict) or "createdAt" not in where:
        raise ApiError("1003", "createdAt filter is required")
    window = _date_range(where["createdAt"], "createdAt")
    type_ids = set(where.get("activityTypeIds") or ())

    def view(activity: LoggedActivity, name: str) -> str:
        if name == "attributes":
            return json.dumps(activity["attributes"]) if activity["attributes"] else "null"
        return cell(activity[name])

    def rows(store: Store, bulk: Bulk) -> tuple[list[str], Iterator[list[str]]]:
        chosen = [
            activity
            for activity in bulk.activities
            if _within(activity["activityDate"], window)
            and (not type_ids or activity["activityTypeId"] in type_ids)
        ]
        return _header(fields, body), ([view(a, name) for name in fields] for a in chosen)

    return rows


_BUILDERS: dict[str, Callable[[dict[str, Any], Store], Rows]] = {
    "leads": _lead_rows,
    "program members": _member_rows,
    "activities": _activity_rows,
}


# ------------------------------------------------------------------------------- endpoints


def _view(job: Job, bulk: Bulk, now: float) -> dict[str, Any]:
    """The status Marketo shows: the job's state as of its last once-a-minute update."""
    seen = now
    if job.queued_at is not None and job.status == "Queued":
        interval = bulk.settings.status_interval
        seen = job.queued_at + ((now - job.queued_at) // interval) * interval
    state = job.state(seen)
    if job.queued_at is not None and seen <= job.queued_at and state != "Cancelled":
        state = "Queued"  # the first status update comes a minute after the job was queued
    status = {"Running": "Processing", "Done": "Completed"}.get(state, state)
    view: dict[str, Any] = {
        "exportId": job.id,
        "format": job.format,
        "status": status,
        "createdAt": iso(job.created_wall),
    }
    if job.queued_wall is not None:
        view["queuedAt"] = iso(job.queued_wall)
    if status in {"Processing", "Completed"}:
        view["startedAt"] = iso(job.wall(job.started_at))  # type: ignore[arg-type]
    if status == "Completed":
        view.update(
            finishedAt=iso(job.wall(job.finished_at)),  # type: ignore[arg-type]
            numberOfRecords=job.records,
            fileSize=len(job.file),
            fileChecksum=checksum(job.file),
        )
    return view


def _quota_left(bulk: Bulk) -> None:
    if bulk.export_bytes_used >= bulk.settings.export_quota_bytes:
        raise ApiError("1029", "Export daily quota exceeded")


async def create_export(
    call: Call,
    bulk: Bulk,
    kind: str,
    fmt: str,
    now: float,
    contents: Callable[[], tuple[bytes, int]],
) -> dict[str, Any]:
    """The answer to a create: a new export job whose file and record count ``contents()``
    gives when the job runs."""

    def run(job: Job) -> None:
        job.file, job.records = contents()
        speed = bulk.settings.export_records_per_second
        job.duration = bulk.settings.export_seconds + job.records / speed

    job = bulk.new_job(kind, fmt, run, export=True)
    await call.delay(0)
    return call.ok([_view(job, bulk, now)])


def _create(bulk: Bulk, kind: str) -> Any:
    async def handler(call: Call) -> dict[str, Any]:
        now = bulk.refresh()
        body = call.json()
        fmt, delimiter = delimiter_of(body.get("format"))
        rows = _BUILDERS[kind](body, call.store)
        _quota_left(bulk)
        store = call.store

        def contents() -> tuple[bytes, int]:
            file = write_rows(*rows(store, bulk), delimiter)
            return file, file.count(b"\n") - 1

        return await create_export(call, bulk, kind, fmt, now, contents)

    return handler


def _enqueue(bulk: Bulk, call: Call, job: Job, now: float) -> None:
    if job.state(now) in {"Queued", "Running"}:
        raise ApiError("1029", "Job already queued")
    if job.status != "Created":
        raise ApiError("1003", f"Job '{job.id}' is {job.status}, not Created")
    _quota_left(bulk)
    if bulk.exports.occupancy(now) >= bulk.exports.capacity:
        raise ApiError("1029", "Too many jobs in queue")
    bulk.exports.enqueue(job, now, call.store.now())


def _cancel(bulk: Bulk, call: Call, job: Job, now: float) -> None:
    if job.state(now) != "Done":
        bulk.exports.cancel(job, now)


def _export_job(
    bulk: Bulk, kind: str, act: Callable[[Bulk, Call, Job, float], None] | None = None
) -> Handler:
    """The handler of an endpoint on one export job: status, or ``act`` (enqueue, cancel)."""
    return job_handler(
        bulk,
        kind,
        "export",
        lambda job, now: _view(job, bulk, now),
        None if act is None else lambda call, job, now: act(bulk, call, job, now),
    )


def _file(bulk: Bulk, kind: str) -> Any:
    async def handler(call: Call) -> dict[str, Any] | FakeReply:
        now = bulk.refresh()
        job = bulk.jobs.get(call.match.group("export"))
        await call.delay(0)
        if job is None or job.kind != kind or job.state(now) != "Done":
            return not_ready("Export file")
        return bulk.file_reply(call, job.file)

    return handler


def _list(bulk: Bulk, kind: str) -> Any:
    async def handler(call: Call) -> dict[str, Any]:
        now = bulk.refresh()
        wanted = set(call.values("status"))
        cutoff = call.store.now() - timedelta(days=7)
        jobs = [
            job
            for job in bulk.jobs.values()
            if job.kind == kind
            and job.created_wall >= cutoff
            and (not wanted or _view(job, bulk, now)["status"] in wanted)
        ]
        await call.delay(0)
        return call.page(f"export-{kind}", jobs, lambda job: job.seq, lambda j: _view(j, bulk, now))

    return handler


def register_export(router: Router, bulk: Bulk, base: str, kind: str, create: Handler) -> None:
    """The endpoints of one export type under ``base``: create (``create``), then enqueue,
    status, file, cancel and the job listing, the same for every type."""
    job = rf"{base}/(?P<export>[\w-]+)"
    router.add("POST", rf"{base}/create\.json", create)
    router.add("POST", rf"{job}/enqueue\.json", _export_job(bulk, kind, _enqueue))
    router.add("GET", rf"{job}/status\.json", _export_job(bulk, kind))
    router.add("GET", rf"{job}/file\.json", _file(bulk, kind))
    router.add("POST", rf"{job}/cancel\.json", _export_job(bulk, kind, _cancel))
    router.add("GET", rf"{base}\.json", _list(bulk, kind))


def register(router: Router, bulk: Bulk) -> None:
    for path, kind in _KINDS.items():
        register_export(router, bulk, f"/bulk/v1/{path}/export", kind, _create(bulk, kind))
