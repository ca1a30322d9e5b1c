"""Incremental reads: ``activities export`` (REST, with ``--created-since`` routed to Bulk
Extract), ``leads changes`` and ``leads deleted``.

With ``--state STATE.json`` a run continues where the last one stopped and appends only what
is new; a run killed at any moment, followed by the same command, leaves every activity in
``--out`` exactly once (see ``_sync_state``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import anyio
import attrs
import click

from .._client import MarketoClient
from .._errors import MarketoError
from ..models import format_datetime
from ..models.activities import Activity
from ..resources._activity_stream import ActivityPager
from ._bulk_api import bulk_activities_export, parse_day
from ._connect import ConnectOptions, open_client
from ._entry import exit_if_stopped
from ._options import (
    FORMATS,
    OutputFile,
    connection_options,
    extract_poll_option,
    option_group,
    progress_options,
)
from ._output import fail, stderr_console
from ._preflight import did_you_mean
from ._progress import ProgressDisplay
from ._run import beside
from ._state import cli_state
from ._sync_state import StateError, SyncState, open_at

__all__ = ["activities", "activities_export", "leads_changes", "leads_deleted"]

MAX_ID = 2**31 - 1
# The filters a state keeps, by the option that sets them (the order they are named in).
FILTER_OPTIONS = {
    "typeIds": "--type-ids",
    "fields": "--fields",
    "leadIds": "--lead-ids",
    "listId": "--list-id",
}
SHOWN_IDS = 5

COLUMNS = (
    "id",
    "marketoGUID",
    "leadId",
    "activityDate",
    "activityTypeId",
    "primaryAttributeValue",
    "attributes",
)

MakePager = Callable[[MarketoClient, dt.datetime | None, str | None], ActivityPager[Any]]


@attrs.frozen
class _Read:
    """One incremental read: the filters that define it, how to page it, its columns."""

    filters: dict[str, Any]
    pager: MakePager
    columns: tuple[str, ...] = COLUMNS
    check: Callable[[MarketoClient], Awaitable[None]] | None = None  # before a first run


@attrs.frozen
class _Kind:
    """One kind of incremental read: its name (in messages and in its state), the filter a
    first run must be given (None: it takes none), and its read of given filters."""

    name: str
    required: str | None
    read: Callable[[dict[str, Any]], _Read]


@attrs.frozen
class _Incremental:
    """The options every incremental read takes: where to start and continue, where to write,
    how to show progress."""

    since: str | None
    state_path: Path | None
    out: str | None
    output_format: str | None
    progress_mode: str
    progress_interval: float


def _say(text: str) -> None:
    stderr_console().print(text, markup=False)


def _ids(text: str | None, option: str) -> list[int] | None:
    if text is None:
        return None
    try:
        ids = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter("comma-separated integers", param_hint=option) from None
    if not ids:
        raise click.BadParameter("name at least one id", param_hint=option)
    for value in ids:
        if not 1 <= value <= MAX_ID:
            raise click.BadParameter(
                f"{value} is not an id (ids are 1 to {MAX_ID:,})", param_hint=option
            )
    return sorted(set(ids))


def _given(**filters: Any) -> dict[str, Any]:
    """The filters named on the command line (None: not given)."""
    return {name: value for name, value in filters.items() if value is not None}


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, list):
        shown = ",".join(map(str, value[:SHOWN_IDS]))
        return shown + (f",... ({len(value):,} in all)" if len(value) > SHOWN_IDS else "")
    return str(value)


def filter_difference(saved: dict[str, Any], given: dict[str, Any]) -> str:
    """How ``given`` differs from the filters a state was made with, option by option:
    ``--lead-ids adds 7 and drops 3; --list-id 1042 here, none in the state``."""
    found: list[str] = []
    for name, option in FILTER_OPTIONS.items():
        before, now = saved.get(name), given.get(name)
        if before == now:
            continue
        if isinstance(before, list) and isinstance(now, list):
            found.append(f"{option} {_list_change(before, now)}")
        else:
            found.append(f"{option} {_shown(now)} here, {_shown(before)} in the state")
    return "; ".join(found)


def _list_change(before: list[Any], now: list[Any]) -> str:
    added = [value for value in now if value not in before]
    dropped = [value for value in before if value not in now]
    changes = [f"adds {_shown(added)}"] if added else []
    changes += [f"drops {_shown(dropped)}"] if dropped else []
    return " and ".join(changes) or "in another order"


def _names(values: tuple[str, ...]) -> list[str]:
    return [name.strip() for group in values for name in group.split(",") if name.strip()]


# --------------------------------------------------------------------------- output lines


def _encode(items: Sequence[Activity], fmt: str, columns: Sequence[str]) -> bytes:
    if fmt == "jsonl":
        text = "".join(json.dumps(item.to_json(), ensure_ascii=False) + "\n" for item in items)
        return text.encode("utf-8")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for item in items:
        line = item.to_json()
        writer.writerow([_cell(line.get(name)) for name in columns])
    return buffer.getvalue().encode("utf-8")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _header(fmt: str, columns: Sequence[str]) -> bytes:
    return (",".join(columns) + "\n").encode() if fmt == "csv" else b""


# --------------------------------------------------------------------------- the run


def _resolve_state(
    read: _Read | None, *, kind: str, required: str | None, options: _Incremental
) -> SyncState:
    """The state to run from: the saved one (checked against the options given), or a new
    one (saved by the run once the client is open and a first run's filters are checked,
    before any output, when ``--state`` names a file)."""
    _check_out(options)
    if options.state_path is not None and options.state_path.exists():
        return _saved_state(options.state_path, read, kind=kind, options=options)
    state_path, since, out = options.state_path, options.since, options.out
    if read is None or (required is not None and required not in read.filters):
        raise click.UsageError(f"the first run needs {FILTER_OPTIONS.get(required or '')}")
    if since is None:
        raise click.UsageError("the first run needs --since (and --state to continue later)")
    if state_path is not None and (out is None or out == "-"):
        raise click.UsageError("--state needs --out FILE (a file the state keeps in step)")
    target = out or "-"
    if state_path is not None and Path(target).exists() and not Path(target).is_file():
        raise click.UsageError(f"--state keeps a regular file in step; --out {out} is not one")
    fmt = options.output_format or ("csv" if target.lower().endswith(".csv") else "jsonl")
    state = SyncState(
        kind=kind,
        filters=read.filters,
        out=target if target == "-" else str(Path(target).resolve()),
        format=fmt.lower(),
        since=format_datetime(parse_day(since, "--since")),
    )
    return state


def _check_out(options: _Incremental) -> None:
    """Refuse an --out the run could not keep in step with its state."""
    out, state_path = options.out, options.state_path
    if out is None or out == "-":
        return
    if state_path is not None and state_path.resolve() == Path(out).resolve():
        # Each save would replace the output written so far.
        raise click.UsageError(f"--state and --out name the same file ({out})")
    if out.lower().endswith(".gz"):  # later runs append at a byte offset
        raise click.UsageError(
            f"--out {out}: an incremental export appends to its file, which a .gz cannot "
            "take; name an uncompressed .jsonl or .csv file"
        )


def _saved_state(
    state_path: Path, read: _Read | None, *, kind: str, options: _Incremental
) -> SyncState:
    try:
        state = SyncState.load(state_path)
    except StateError as error:
        fail(str(error))
    if state.kind != kind:
        article = "an" if state.kind[:1] in "aeiou" else "a"
        raise click.UsageError(f"{state_path} is the state of {article} {state.kind} export")
    if read is not None and read.filters != state.filters:
        raise click.UsageError(
            f"{state_path} was made with other filters: "
            f"{filter_difference(state.filters, read.filters)} (give the same, or none)"
        )
    if options.out is not None and str(Path(options.out).resolve()) != state.out:
        raise click.UsageError(f"{state_path} writes to {state.out}, not {options.out}")
    if options.since is not None:
        _say(f"Continuing from {state_path}; --since applies only to the first run.")
    return state


@contextmanager
def _output(state: SyncState) -> Iterator[IO[bytes]]:
    if state.out == "-":
        yield sys.stdout.buffer
        return
    try:
        with open_at(Path(state.out), state.offset) as handle:
            yield handle
    except StateError as error:
        fail(str(error))


class _Copy:
    """Writes each page to the output, then checkpoints the state after it."""

    def __init__(self, state: SyncState, state_path: Path | None, read: _Read) -> None:
        self.state = state
        self.state_path = state_path
        self.read = read
        self.written = 0

    def reached(self) -> str:
        return f"reached {self.state.reached or '-'}"

    def checkpoint(self, handle: IO[bytes], cursor: str | None) -> None:
        handle.flush()
        if self.state_path is None or self.state.out == "-":
            return
        os.fsync(handle.fileno())  # the lines are on disk before the state points past them
        self.state.offset = handle.tell()
        self.state.cursor = cursor
        self.state.save(self.state_path)

    async def run(self, pager: ActivityPager[Any], handle: IO[bytes]) -> None:
        state = self.state
        if state.offset == 0:
            handle.write(_header(state.format, self.read.columns))
        async for page in pager.pages():
            if page.items:
                handle.write(_encode(page.items, state.format, self.read.columns))
                self.written += len(page.items)
                state.count += len(page.items)
                last = page.items[-1].activity_date
                if last is not None:
                    state.reached = format_datetime(last.astimezone(dt.timezone.utc))
            self.checkpoint(handle, pager.cursor)
        self.checkpoint(handle, pager.cursor)


def run_incremental(
    ctx: click.Context,
    reading: _Kind,
    given: dict[str, Any],
    options: _Incremental,
    connect: ConnectOptions,
) -> None:
    """Read from the state's cursor (or ``--since``) to now into ``--out``, checkpointing.

    ``given``: the filters named on the command line (a kind that takes none reads with
    none)."""
    kind, required = reading.name, reading.required
    named = reading.read(given) if given or required is None else None
    state = _resolve_state(named, kind=kind, required=required, options=options)
    state_path = options.state_path
    first_run = state_path is None or not state_path.exists()
    read = reading.read(state.filters)
    copy = _Copy(state, state_path, read)

    async def go() -> int:
        async with open_client(connect, cli_state(ctx)) as client:
            if first_run:
                if read.check is not None:
                    await read.check(client)
                if state_path is not None:
                    state.save(state_path)
            start = None if state.cursor else parse_day(state.since, "--since")
            pager = read.pager(client, start, state.cursor)
            with _output(state) as handle:
                display = ProgressDisplay(
                    f"{kind} export",
                    lambda: copy.written,
                    total=None,
                    mode=_progress_mode(state, options.progress_mode),
                    interval=options.progress_interval,
                    unit=kind,
                    detail=copy.reached,
                )
                await beside(lambda: copy.run(pager, handle), display.run)
            return client.stats.calls

    try:
        calls = anyio.run(go)
    except MarketoError as error:
        fail(f"{error} (the state file still says where to continue)")
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    except BaseException as error:  # SIGINT/SIGTERM, maybe inside a task group
        exit_if_stopped(
            error, f"Stopped after {copy.written:,} {kind}; run the same command to continue."
        )
        raise
    where = "stdout" if state.out == "-" else state.out
    _say(
        f"Exported {copy.written:,} {kind} to {where} ({state.count:,} in all, "
        f"{copy.reached()}; {calls:,} API calls)."
    )
    if state_path is not None:
        _say(f"State saved in {state_path}: run the same command to get what is new.")


def _progress_mode(state: SyncState, asked: str) -> str:
    return "off" if state.out == "-" and asked == "auto" else asked


# --------------------------------------------------------------------------- commands


# The incremental-read options (with progress), handed on as one ``incremental`` value.
_incremental_options = option_group(
    "incremental",
    _Incremental,
    click.option("--since", metavar="DATE", help="First run: from this date or ISO time (UTC)."),
    click.option(
        "--state",
        "state_path",
        type=OutputFile(path_type=Path),
        metavar="STATE.json",
        help="Keep the position here: later runs continue and append only what is new.",
    ),
    click.option(
        "--out",
        type=OutputFile(allow_dash=True),
        metavar="FILE",
        help="Output .jsonl or .csv; - is stdout.",
    ),
    click.option("--format", "output_format", type=FORMATS, help="[default: from --out]"),
    progress_options,
)


@attrs.frozen
class _LeadFilters:
    """``--lead-ids`` and ``--list-id``: whose activities to read."""

    lead_ids: str | None
    list_id: int | None

    def given(self) -> dict[str, Any]:
        """The filters named (checked: ids are 1 to 2**31-1)."""
        return _given(leadIds=_ids(self.lead_ids, "--lead-ids"), listId=self.list_id)


_lead_filter_options = option_group(
    "lead_filters",
    _LeadFilters,
    click.option(
        "--lead-ids", metavar="1,2,...", help="Only the activities of these leads (any number)."
    ),
    click.option(
        "--list-id",
        type=click.IntRange(1, MAX_ID),
        metavar="ID",
        help="Only the activities of this static list's members (under 10,000 members).",
    ),
)


def _activities_read(filters: dict[str, Any]) -> _Read:
    types = list(filters.get("typeIds") or ())
    lead_ids, list_id = filters.get("leadIds"), filters.get("listId")
    return _Read(
        dict(filters),
        lambda client, since, cursor: client.activities.list(
            types, since=since, cursor=cursor, lead_ids=lead_ids, list_id=list_id
        ),
    )


def _changes_read(filters: dict[str, Any]) -> _Read:
    fields = list(filters.get("fields") or ())
    lead_ids, list_id = filters.get("leadIds"), filters.get("listId")

    async def check(client: MarketoClient) -> None:
        known = {field.name for field in (await client.leads.describe2()).fields}
        unknown = [name for name in fields if name not in known]
        if unknown:
            named = "; ".join(f"{name!r}{did_you_mean(name, known)}" for name in unknown)
            raise click.BadParameter(
                f"no lead field Marketo knows: {named} (REST names: `marketo-async describe`)",
                param_hint="--fields",
            )

    return _Read(
        dict(filters),
        lambda client, since, cursor: client.activities.lead_changes(
            fields, since=since, cursor=cursor, lead_ids=lead_ids, list_id=list_id
        ),
        (*COLUMNS, "fields"),
        check,
    )


def _deleted_read(filters: dict[str, Any]) -> _Read:
    return _Read(
        {},
        lambda client, since, cursor: client.activities.deleted_leads(since=since, cursor=cursor),
    )


_ACTIVITIES = _Kind("activities", "typeIds", _activities_read)
_CHANGES = _Kind("lead changes", "fields", _changes_read)
_DELETED = _Kind("deleted leads", None, _deleted_read)


@click.command("export")
@click.option("--type-ids", metavar="1,12,...", help="Activity type ids (any number).")
@_lead_filter_options
@_incremental_options
@click.option(
    "--created-since", metavar="DATE", help="Bulk Extract instead: activities on or after DATE."
)
@click.option("--until", metavar="DATE", help="Bulk Extract: ... and before DATE [default: now].")
@extract_poll_option
@connection_options
@click.pass_context
def activities_export(
    ctx: click.Context,
    type_ids: str | None,
    lead_filters: _LeadFilters,
    incremental: _Incremental,
    created_since: str | None,
    until: str | None,
    poll_interval: float,
    connect: ConnectOptions,
) -> None:
    """Write activities as JSON lines or CSV, incrementally through the REST API.

    First run: --type-ids 1,12 --since DATE --state STATE.json --out FILE.jsonl. Later runs:
    --state STATE.json alone appends only what happened since. Killed at any moment, the same
    command again leaves every activity in FILE exactly once.

    With --created-since (and --until) the activities of that closed range come from Bulk
    Extract instead.
    """
    if created_since is not None:
        if incremental.since is not None or incremental.state_path is not None:
            raise click.UsageError("--created-since (Bulk Extract) takes no --since or --state")
        if lead_filters.lead_ids is not None or lead_filters.list_id is not None:
            raise click.UsageError(
                "--created-since (Bulk Extract) takes no --lead-ids or --list-id"
            )
        bulk_activities_export(
            ctx,
            created_since=created_since,
            until=until,
            type_ids=type_ids,
            out=incremental.out or "-",
            output_format=incremental.output_format,
            poll_interval=poll_interval,
            connect=connect,
        )
        return
    if until is not None:
        raise click.UsageError("--until goes with --created-since (Bulk Extract)")
    given = _given(typeIds=_ids(type_ids, "--type-ids"), **lead_filters.given())
    run_incremental(ctx, _ACTIVITIES, given, incremental, connect)


@click.command("changes")
@click.option("--fields", multiple=True, metavar="A,B,...", help="Lead fields to follow.")
@_lead_filter_options
@_incremental_options
@connection_options
@click.pass_context
def leads_changes(
    ctx: click.Context,
    fields: tuple[str, ...],
    lead_filters: _LeadFilters,
    incremental: _Incremental,
    connect: ConnectOptions,
) -> None:
    """Write changes to lead fields (and new leads), incrementally: each line an activity
    plus "fields" (name, newValue, oldValue). --state as for `activities export`."""
    given = _given(fields=_names(fields) or None, **lead_filters.given())
    run_incremental(ctx, _CHANGES, given, incremental, connect)


@click.command("deleted")
@_incremental_options
@connection_options
@click.pass_context
def leads_deleted(
    ctx: click.Context,
    incremental: _Incremental,
    connect: ConnectOptions,
) -> None:
    """Write the leads deleted since a date, incrementally (Marketo keeps about 14 days).
    --state as for `activities export`."""
    run_incremental(ctx, _DELETED, {}, incremental, connect)


@click.group("activities", commands=[activities_export])
def activities() -> None:
    """Export activities: incrementally through the REST API, or a closed range through
    Bulk Extract."""
