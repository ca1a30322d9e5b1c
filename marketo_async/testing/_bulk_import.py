"""Bulk Lead Import and Bulk Program Member Import in the emulator.

A file is checked when it arrives (format, header, size, the queue's room: 1016 beyond 10 held
imports) and applied row by row when its turn in the queue comes. Rows Marketo refuses go to the
failures file with an "Import Failure Reason" column; rows applied with a caveat go to the
warnings file with an "Import Warning Reason" column.

Two imports running at once do not see each other's new leads: a key new to the instance that
both files hold is created twice (Marketo's duplicate race), which is why a client must never
have two imports holding one key at once.

An invalid email address fails the row when email is the lookup field (the row has no usable
key) and is a warning otherwise (the row applies without the email). A value that does not fit
its field's type (``n/a`` for an integer, ``1990-02-31`` for a date) fails the row with
Marketo's 1001 message; the values applied are stored typed (``68`` as a number). The lookup
field must be a standard lookup field or a custom string, email or integer field.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import anyio
import attrs

from ..models._field_values import is_email
from ._bulk import (
    MAX_IMPORT_FILE_BYTES,
    Bulk,
    Job,
    delimiter_of,
    job_handler,
    multipart_file,
    too_large,
)
from ._call import Call, Router
from ._leads import typed_lead_values
from ._store import Program, Store
from ._wire import ApiError, FakeReply

__all__ = ["register"]

FAILURE_COLUMN = "Import Failure Reason"
WARNING_COLUMN = "Import Warning Reason"
INVALID_EMAIL = "Invalid email address"
# Marketo: the lookup fields Bulk Lead Import accepts besides custom string/email/integer ones.
_STANDARD_LOOKUPS = frozenset(
    {
        "id",
        "cookies",
        "email",
        "twitterId",
        "facebookId",
        "linkedInId",
        "sfdcAccountId",
        "sfdcContactId",
        "sfdcLeadId",
        "sfdcLeadOwnerId",
        "sfdcOpptyId",
    }
)


@attrs.define
class _Outcome:
    """What applying one file produced."""

    header: list[str]
    delimiter: str
    processed: int = 0
    failures: list[list[str]] = attrs.Factory(list)
    warnings: list[list[str]] = attrs.Factory(list)


def _read(content: bytes, delimiter: str) -> tuple[list[str], list[list[str]]]:
    text = content.decode("utf-8-sig", "replace")
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:  # the whole file is refused, as an unreadable one would be
        raise ApiError("1003", f"Invalid file: {exc}") from None
    if not rows or not any(rows[0]):
        raise ApiError("1003", "Empty file")
    return [name.strip() for name in rows[0]], rows[1:]


# ------------------------------------------------------------------------------- lead import


def _lead_row(store: Store, job: Job, values: dict[str, str]) -> tuple[str | None, str | None]:
    """Apply one lead row: ``(failure, warning)`` reasons, both None when it applied cleanly."""
    lookup = job.details["lookup_field"]
    warning = None
    email = values.get("email")
    if email is not None and not is_email(email):
        if lookup == "email":
            return INVALID_EMAIL, None
        warning = INVALID_EMAIL
        del values["email"]
    key = values.get(lookup)
    if key is None:
        return f"Missing value for lookup field '{lookup}'", None
    try:
        values = typed_lead_values(store, values)
    except ValueError as exc:
        return str(exc), None
    normalised = store.key_of(lookup, key)
    found = [] if normalised in job.details["racing"] else store.find_leads(lookup, key)
    if found:
        store.update_lead(found[0], values)
        lead_id = found[0]
    elif lookup == "id":
        return "Lead not found", None
    else:
        lead_id = store.create_lead(values, partition_id=job.details["partition_id"])
        job.details["created"].add(normalised)
    list_id = job.details["list_id"]
    if list_id is not None:
        store.add_list_member(store.lists[list_id], lead_id)
    return None, warning


# Applies one row, given its non-empty cells by column: its (failure, warning) reasons.
ApplyRow = Callable[[Store, Job, dict[str, str]], tuple[str | None, str | None]]


def _cells(header: list[str], row: list[str]) -> dict[str, str] | str:
    """The row's non-empty cells by column, or why the row cannot be read as one."""
    if len(row) != len(header):
        return f"Invalid row: {len(row)} values for {len(header)} columns"
    return {name: value for name, value in zip(header, row, strict=True) if value != ""}


def _apply(
    job: Job, store: Store, bulk: Bulk, apply_row: ApplyRow, content: bytes, delimiter: str
) -> None:
    header, rows = _read(content, delimiter)
    outcome = _Outcome(header=header, delimiter=delimiter)
    job.details["created"] = set()
    job.details["racing"] = set().union(
        *(other.details.get("created", ()) for other in bulk.imports.running_beside(job))
    )
    for row in rows:
        if not any(row):
            continue  # a blank line is not a row
        values = _cells(header, row)
        failure, warning = (
            (values, None) if isinstance(values, str) else apply_row(store, job, values)
        )
        if failure is not None:
            outcome.failures.append([*row, failure])
        else:
            outcome.processed += 1
            if warning is not None:
                outcome.warnings.append([*row, warning])
    job.details["outcome"] = outcome
    job.records = outcome.processed
    settings = bulk.settings
    job.duration = settings.import_seconds + len(rows) / settings.import_rows_per_second


async def _queue_import(
    call: Call,
    bulk: Bulk,
    kind: str,
    file: tuple[str, str, bytes],
    apply_row: ApplyRow,
    details: dict[str, Any],
) -> Job:
    """A new import job of ``kind`` for ``file`` (format, delimiter, content) with these
    ``details``, queued: ``apply_row`` applies its rows when its turn comes."""
    fmt, delimiter, content = file
    store = call.store

    def run(job: Job) -> None:
        _apply(job, store, bulk, apply_row, content, delimiter)

    job = bulk.new_job(kind, fmt, run, export=False)
    job.details.update(details)
    bulk.imports.enqueue(job, anyio.current_time(), store.now())
    await call.delay(0)
    return job


def _checked_file(call: Call, bulk: Bulk) -> tuple[str, str, bytes]:
    fmt, delimiter = delimiter_of(call.required("format"))
    content = multipart_file(call)
    if bulk.imports.occupancy(anyio.current_time()) >= bulk.imports.capacity:
        raise ApiError("1016", "Too many imports")
    return fmt, delimiter, content


def _check_columns(header: list[str], known: dict[str, Any]) -> None:
    for name in header:
        if name not in known:
            raise ApiError("1006", f"Field '{name}' not found")


def _submitted(call: Call, job: Job) -> dict[str, Any]:
    return call.ok([{"batchId": int(job.id), "importId": job.id, "status": "Queued"}])


def _lead_settings(call: Call, store: Store) -> dict[str, Any]:
    lookup = call.param("lookupField") or "email"
    field = store.lead_fields.get(lookup)
    if field is None or (lookup not in _STANDARD_LOOKUPS and not field.searchable_custom):
        raise ApiError("1003", f"Invalid lookupField '{lookup}'")
    partition_id = 1
    partition_name = call.param("partitionName")
    if partition_name:
        partition = store.partition_named(partition_name)
        if partition is None:
            raise ApiError("1003", f"Partition '{partition_name}' not found")
        partition_id = partition.id
    list_id = call.param("listId")
    if list_id is not None and (not list_id.isdigit() or int(list_id) not in store.lists):
        raise ApiError("1003", f"Static list '{list_id}' not found")
    return {
        "lookup_field": lookup,
        "partition_id": partition_id,
        "list_id": int(list_id) if list_id is not None else None,
    }


def _import_leads(bulk: Bulk) -> Any:
    async def handler(call: Call) -> dict[str, Any] | FakeReply:
        fmt, delimiter, content = _checked_file(call, bulk)
        if len(content) > MAX_IMPORT_FILE_BYTES:
            return too_large()
        store = call.store
        details = _lead_settings(call, store)
        header, _ = _read(content, delimiter)
        _check_columns(header, store.lead_fields)
        file = (fmt, delimiter, content)
        job = await _queue_import(call, bulk, "lead import", file, _lead_row, details)
        return _submitted(call, job)

    return handler


# ---------------------------------------------------------------------- program member import


def _member_row(store: Store, job: Job, values: dict[str, str]) -> tuple[str | None, str | None]:
    email = values.get("email")
    if email is None:
        return "Missing value for required field 'email'", None
    if not is_email(email):
        return INVALID_EMAIL, None
    program: Program = store.programs[job.details["program_id"]]
    try:
        lead_fields = typed_lead_values(
            store, {k: v for k, v in values.items() if k in store.lead_fields}
        )
    except ValueError as exc:
        return str(exc), None
    member_fields = {k: v for k, v in values.items() if k not in store.lead_fields}
    found = store.find_leads("email", email)
    lead_id = found[0] if found else store.create_lead(lead_fields)
    if found:
        store.update_lead(lead_id, lead_fields)
    change = store.set_member_status(program, lead_id, job.details["status"])
    program.members[lead_id].fields.update(member_fields)
    if change == "skipped":
        return None, "Lead is already at a later status in the program"
    return None, None


def _import_members(bulk: Bulk) -> Any:
    async def handler(call: Call) -> dict[str, Any] | FakeReply:
        fmt, delimiter, content = _checked_file(call, bulk)
        if len(content) > MAX_IMPORT_FILE_BYTES:
            return too_large()
        store = call.store
        program = store.programs.get(call.path_int("program"))
        if program is None:
            raise ApiError("1003", f"Program '{call.path_int('program')}' not found")
        status = call.required("programMemberStatus")
        if status not in program.statuses:
            raise ApiError("1003", f"Invalid program member status '{status}'")
        header, _ = _read(content, delimiter)
        _check_columns(header, {**store.lead_fields, **store.member_fields})
        if "email" not in header:
            raise ApiError("1003", "Column 'email' is required")

        details = {"program_id": program.id, "status": status}
        file = (fmt, delimiter, content)
        job = await _queue_import(call, bulk, "member import", file, _member_row, details)
        return _submitted(call, job)

    return handler


# ----------------------------------------------------------------------- status and files


_STATES = {"Queued": "Queued", "Running": "Importing", "Done": "Complete"}


def _status_view(job: Job, now: float) -> dict[str, Any]:
    state = _STATES.get(job.state(now), job.state(now))
    view: dict[str, Any] = {"batchId": int(job.id), "importId": job.id, "status": state}
    outcome: _Outcome | None = job.details.get("outcome")
    done = state == "Complete" and outcome is not None
    processed = outcome.processed if done and outcome else 0
    if state == "Importing" and outcome is not None and job.started_at is not None:
        # Marketo counts the rows as it goes: here, evenly over the job's run
        share = (now - job.started_at) / job.duration if job.duration > 0 else 1.0
        processed = int(outcome.processed * min(share, 1.0))
    failed = len(outcome.failures) if done and outcome else 0
    warned = len(outcome.warnings) if done and outcome else 0
    view.update(numOfLeadsProcessed=processed, numOfRowsFailed=failed, numOfRowsWithWarning=warned)
    if done:
        message = "Import succeeded" if not failed else "Import completed with errors"
        view["message"] = f"{message}, {processed} records imported, {failed} failed"
    return view


def _file(bulk: Bulk, kind: str, which: str) -> Any:
    async def handler(call: Call) -> dict[str, Any] | FakeReply:
        now = bulk.refresh()
        job = bulk.job(call.match.group("batch"), kind)
        outcome: _Outcome | None = job.details.get("outcome")
        await call.delay(0)
        if outcome is None or job.state(now) != "Done":
            raise ApiError("1003", f"Batch '{job.id}' has not completed")
        column = FAILURE_COLUMN if which == "failures" else WARNING_COLUMN
        rows = outcome.failures if which == "failures" else outcome.warnings
        out = io.StringIO()
        writer = csv.writer(out, delimiter=outcome.delimiter, lineterminator="\n")
        writer.writerow([*outcome.header, column])
        writer.writerows(rows)
        return FakeReply(status=200, body=out.getvalue().encode("utf-8"), content_type="text/csv")

    return handler


def register(router: Router, bulk: Bulk) -> None:
    router.add("POST", r"/bulk/v1/leads\.json", _import_leads(bulk))
    router.add(
        "GET",
        r"/bulk/v1/leads/batch/(?P<batch>\d+)\.json",
        job_handler(bulk, "lead import", "batch", _status_view),
    )
    for which in ("failures", "warnings"):
        router.add(
            "GET",
            rf"/bulk/v1/leads/batch/(?P<batch>\d+)/{which}\.json",
            _file(bulk, "lead import", which),
        )
    router.add(
        "POST", r"/bulk/v1/program/(?P<program>\d+)/members/import\.json", _import_members(bulk)
    )
    base = r"/bulk/v1/program/members/import/(?P<batch>\d+)"
    router.add(
        "GET", rf"{base}/status\.json", job_handler(bulk, "member import", "batch", _status_view)
    )
    for which in ("failures", "warnings"):
        router.add("GET", rf"{base}/{which}\.json", _file(bulk, "member import", which))
