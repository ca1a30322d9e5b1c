"""Commands on Marketo's bulk API: ``leads import`` and ``program-members import`` (Bulk
Import), and the Bulk Extract exports (``leads export --updated-since/--created-since``,
``program-members export``, ``activities export``).

They print what the job is doing (queued, importing, processing, downloading, bytes) as it
changes: a bulk job's progress is its state, not rows per second.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import anyio
import attrs
import click
from click.core import ParameterSource

from .._batch import BatchReport
from .._client import MarketoClient
from .._errors import MarketoError
from ..resources.bulk_export import (
    ACTIVITY_FIELDS,
    EXPORT_POLL_INTERVAL_S,
    ExportRows,
    ExportStats,
)
from ..resources.bulk_import import FIRST_POLL_S, BulkImport, ImportJob, ImportProgress
from ._bulk import BulkSpec, Params, Transform, bulk_command, prepare_keyed_by
from ._connect import ConnectOptions, is_loopback_url, open_client
from ._export import ExportTarget, RecordWriter, open_output, to_mapping
from ._input import format_of
from ._options import connection_options, out_options
from ._output import fail, stderr_console
from ._preflight import LeadChecks, check_leads, check_member_import, lead_transform
from ._run import Prepare, Send
from ._state import cli_state

DEFAULT = ParameterSource.DEFAULT

__all__ = [
    "ImportStates",
    "JobLog",
    "after_earlier_jobs",
    "bulk_activities_export",
    "bulk_leads_export",
    "import_poll_option",
    "import_send",
    "leads_import",
    "parse_day",
    "program_members_export",
    "program_members_import",
]


def parse_day(value: str, option: str) -> dt.datetime:
    """``YYYY-MM-DD`` (midnight UTC) or a full ISO-8601 time (UTC when it has no offset)."""
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date (YYYY-MM-DD) or time", param_hint=option
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _say(text: str) -> None:
    stderr_console().print(text, markup=False)


# --------------------------------------------------------------------------- leads import


class ImportStates:
    """Prints the import's state as it changes, and the API calls spent at the end."""

    def __init__(self, client: MarketoClient) -> None:
        self._client = client
        self._last = ""

    def __call__(self, state: ImportProgress) -> None:
        if state.state == self._last:
            return
        self._last = state.state
        if state.state == "done":
            calls = f"{self._client.stats.calls:,} API calls (identity not counted)"
            # No row to upload (an empty file, or every row refused here): no job ran.
            _say(f"import: done; {calls}" if state.files_sent else f"import: no file sent; {calls}")
            return
        _say(
            f"import: {state.state} (files sent {state.files_sent}, done {state.files_done}; "
            f"{state.bytes_sent:,} bytes uploaded; {state.rows_read:,} rows read, "
            f"{state.rows_done:,} answered)"
        )


import_poll_option = click.option(
    "--poll-interval",
    type=click.FloatRange(min=0.0),
    default=FIRST_POLL_S,
    show_default=True,
    help="Fewest seconds between a job's status checks (Marketo suggests 5 to 30); later "
    "checks go where the job should finish.",
)


# The lead fields the preflight read (Describe Lead2), kept in the run's own values: the
# import then takes them instead of asking Describe Lead2 a second time.
_LEAD_FIELDS = "_lead_fields"


async def _preflight_import(
    client: MarketoClient, params: Params, columns: Sequence[str]
) -> Transform | None:
    """Upsert's checks, for Bulk Lead Import: header, lookup field, partition, list, types."""
    checks = LeadChecks(
        columns=list(columns),
        lookup_field=params["lookup_field"],
        partition=params["partition"],
        list_id=params["list_id"],
        bulk=True,
    )
    await check_leads(client, checks)
    cast(dict[str, Any], params)[_LEAD_FIELDS] = frozenset(checks.types)
    # The file keeps the text as written: Marketo reads it, not JSON.
    return lead_transform(checks, convert=False, key_field=params["lookup_field"])


class JobLog:
    """The import jobs of a run, kept beside its report (``REPORT.jobs``, one JSON line per job
    uploaded and per job seen over), so that a resumed run, even after a kill, first waits for
    the jobs the earlier run may have left importing: no row is uploaded while its earlier job
    may still run."""

    def __init__(self, path: Path | None, earlier: Iterable[Path]) -> None:
        self.path = path
        self.earlier = [Path(f"{report}.jobs") for report in earlier]

    @classmethod
    def of_command(cls) -> JobLog:
        """The log of the running command: beside its --report (or the report it resumes)."""
        ctx = click.get_current_context(silent=True)
        params = ctx.params if ctx is not None else {}
        resume: tuple[Path, ...] = tuple(params.get("resume") or ())
        report: Path | None = params.get("report") or (resume[0] if resume else None)
        return cls(Path(f"{report}.jobs") if report is not None else None, resume)

    def write(self, job: ImportJob) -> None:
        if self.path is None:
            return
        line = {"batchId": job.batch_id, "statusPath": job.status_path, "rows": job.rows}
        if job.over:
            line["over"] = True
        with self.path.open("a", encoding="utf-8") as stream:
            stream.write(json.dumps(line) + "\n")
            stream.flush()
            os.fsync(stream.fileno())  # on disk before the run goes on: a kill may follow

    def unfinished(self) -> list[ImportJob]:
        """Jobs the earlier runs uploaded and never saw over."""
        jobs: dict[int, ImportJob] = {}
        for path in self.earlier:
            if not path.exists():
                continue
            for text in path.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(text)
                    job = ImportJob(
                        int(entry["batchId"]), str(entry["statusPath"]), int(entry["rows"])
                    )
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut short by the kill
                if entry.get("over"):
                    jobs.pop(job.batch_id, None)
                else:
                    jobs[job.batch_id] = job
        return list(jobs.values())


async def after_earlier_jobs(client: MarketoClient, log: JobLog) -> None:
    for job in log.unfinished():
        _say(
            f"import: waiting for job {job.batch_id} of the earlier run ({job.rows:,} rows) to "
            "end before sending its rows again"
        )
        await client.bulk_import.wait_for([job])
        log.write(attrs.evolve(job, over=True))


def import_send(
    start: Callable[..., Awaitable[BatchReport]], *names: str, **keywords: str
) -> Callable[[MarketoClient, Params], Send]:
    """The send of a Bulk Import command: ``start`` (a :class:`BulkImport` method) given the
    values of options ``names``, the records, and ``keyword=`` the run's value ``keywords[
    keyword]`` (an option, or one its preflight set; None when there is none); after the jobs
    an earlier run left importing, with the job states printed and every job uploaded logged
    beside the report."""

    def make(client: MarketoClient, params: Params) -> Send:
        client.bulk_import.poll_interval = params["poll_interval"]
        log = JobLog.of_command()
        leading = [params[name] for name in names]

        async def send(records: Any, **hooks: Any) -> BatchReport:
            await after_earlier_jobs(client, log)
            # Read now, after the preflight: it may have added values (the lead fields).
            arguments = {keyword: params.get(option) for keyword, option in keywords.items()}
            return await start(
                client.bulk_import,
                *leading,
                records,
                progress=ImportStates(client),
                on_job=log.write,
                **arguments,
                **hooks,
            )

        return send

    return make


leads_import = bulk_command(
    BulkSpec(
        name="import",
        help="Import the leads of FILE through Bulk Lead Import: 10 MB files, a few calls "
        "each.\n\nRows Marketo rejects (its failures file) are reported failed with its "
        "reason; rows it warned about are imported with the warning as a reason. Use it for "
        "large files; `leads upsert` reports created/updated and ids per row.",
        reads="records",
        send=import_send(
            BulkImport.leads,
            lookup_field="lookup_field",
            list_id="list_id",
            partition_name="partition",
            lead_fields=_LEAD_FIELDS,
        ),
        prepare=prepare_keyed_by("lookup_field"),
        resume_keys=("lookup_field", "list_id", "partition"),
        preflight=_preflight_import,
        options=(
            click.option(
                "--lookup-field", default="email", show_default=True, help="Dedupe field."
            ),
            click.option(
                "--list-id", type=int, metavar="ID", help="Also add the leads to this static list."
            ),
            click.option("--partition", metavar="NAME", help="Lead partition for new leads."),
            import_poll_option,
        ),
    ),
)


async def _preflight_member_import(
    client: MarketoClient, params: Params, columns: Sequence[str]
) -> Transform | None:
    return await check_member_import(
        client, program_id=params["program_id"], status=params["status"], columns=columns
    )


def _prepare_member(params: Params) -> Prepare:
    def prepare(record: Mapping[str, Any]) -> tuple[Any, Any]:
        return record, record.get("email")

    return prepare


program_members_import = bulk_command(
    BulkSpec(
        name="import",
        help="Make the leads of FILE (found or created by email) members of PROGRAM_ID at "
        "STATUS, through Bulk Program Member Import; other columns set lead and member fields.",
        reads="records",
        arguments=(click.argument("program_id", type=int), click.argument("status")),
        send=import_send(BulkImport.program_members, program_id="program_id", status="status"),
        prepare=_prepare_member,
        preflight=_preflight_member_import,
        options=(import_poll_option,),
    ),
)


# --------------------------------------------------------------------------- exports


def _show_state(what: str) -> Callable[[str, ExportStats], None]:
    def show(state: str, stats: ExportStats) -> None:
        _say(f"{what}: {state} ({stats.bytes:,} bytes downloaded so far)")

    return show


# `marketo-async sandbox serve` changes an export's status every second (BulkSettings.brisk).
EMULATOR_POLL_INTERVAL_S = 1.0


def _export_poll_interval(
    client: MarketoClient,
    connect: ConnectOptions,
    poll_interval: float,
    *,
    chosen: ParameterSource | None,
) -> float:
    """--poll-interval when given; else the in-process sandbox's own pace, a second for an
    emulator on loopback (`sandbox serve`), or Marketo's minute."""
    if chosen != DEFAULT:
        return poll_interval
    if connect.sandbox:
        return client.bulk_export.poll_interval
    if is_loopback_url(client.base_url):
        return EMULATOR_POLL_INTERVAL_S
    return poll_interval


def _write_rows(
    ctx: click.Context,
    *,
    connect: ConnectOptions,
    make_rows: Callable[[MarketoClient], ExportRows[Any]],
    fields: list[str],
    out: str,
    output_format: str | None,
    poll_interval: float,
    what: str,
) -> None:
    """Run one bulk export into ``out`` and report what it spent."""
    chosen = output_format or ("csv" if out == "-" else format_of(Path(out)))

    async def go() -> tuple[int, ExportStats, int]:
        async with open_client(connect, cli_state(ctx)) as client:
            client.bulk_export.poll_interval = _export_poll_interval(
                client, connect, poll_interval, chosen=ctx.get_parameter_source("poll_interval")
            )
            rows = make_rows(client)
            with open_output(out) as handle:
                writer = RecordWriter(handle, format=chosen.lower(), fields=fields)
                try:
                    async for item in rows:
                        writer.write(to_mapping(item))
                finally:
                    writer.finish()
            return writer.count, rows.stats, client.stats.calls

    try:
        written, stats, calls = anyio.run(go)
    except MarketoError as error:
        fail(str(error))
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    where = "stdout" if out == "-" else out
    _say(
        f"Exported {written:,} {what} to {where} ({stats.jobs} jobs, {stats.polls} status "
        f"checks, {stats.file_requests} file requests, {stats.partial_answers} answered 206, "
        f"{stats.bytes:,} bytes; {calls:,} API calls in all)."
    )


def _fields(values: tuple[str, ...]) -> list[str]:
    return [name.strip() for group in values for name in group.split(",") if name.strip()]


def _range(since: str | None, until: str | None, option: str) -> tuple[dt.datetime, dt.datetime]:
    if since is None:
        raise click.UsageError(f"{option} needs a date")
    start = parse_day(since, option)
    end = parse_day(until, "--until") if until is not None else dt.datetime.now(dt.timezone.utc)
    if end <= start:
        before = f"--until {until}" if until is not None else "now"
        raise click.UsageError(f"{option} {since} is not before {before}: nothing to export")
    return start, end


DEFAULT_LEAD_FIELDS = ("id", "email", "firstName", "lastName", "createdAt", "updatedAt")


def bulk_leads_export(
    ctx: click.Context,
    target: ExportTarget,
    *,
    connect: ConnectOptions,
    updated_since: str | None,
    created_since: str | None,
    until: str | None,
    list_id: int | None,
    fields: tuple[str, ...],
    poll_interval: float,
) -> None:
    """``leads export`` through Bulk Extract into ``target`` (its --out and --format; a bulk
    job shows its state, not progress), called by the leads group's export command."""
    if sum(x is not None for x in (updated_since, created_since, list_id)) != 1:
        raise click.UsageError("give exactly one of --updated-since, --created-since, --list")
    names = _fields(fields) or list(DEFAULT_LEAD_FIELDS)
    selection: dict[str, Any] = {}
    if updated_since is not None:
        selection["updated_at"] = _range(updated_since, until, "--updated-since")
    elif created_since is not None:
        selection["created_at"] = _range(created_since, until, "--created-since")
    else:
        selection["static_list_id"] = list_id
    _write_rows(
        ctx,
        connect=connect,
        make_rows=lambda client: client.bulk_export.leads(
            names, progress=_show_state("leads export"), **selection
        ),
        fields=names,
        out=target.out,
        output_format=target.output_format,
        poll_interval=poll_interval,
        what="leads",
    )


def _poll_option(function: Any) -> Any:
    return click.option(
        "--poll-interval",
        type=click.FloatRange(min=0.0),
        default=EXPORT_POLL_INTERVAL_S,
        show_default=True,
        help="Seconds between status checks (Marketo updates an export's status once a minute).",
    )(function)


@click.command("export")
@click.argument("program_ids", type=int, nargs=-1, required=True)
@click.option("--fields", multiple=True, required=True, metavar="A,B,...", help="Fields to write.")
@click.option("--status", "statuses", multiple=True, metavar="NAME", help="Only these statuses.")
@click.option("--updated-since", metavar="DATE", help="Members updated on or after DATE.")
@click.option("--until", metavar="DATE", help="... and before DATE [default: now].")
@out_options
@_poll_option
@connection_options
@click.pass_context
def program_members_export(
    ctx: click.Context,
    program_ids: tuple[int, ...],
    fields: tuple[str, ...],
    statuses: tuple[str, ...],
    updated_since: str | None,
    until: str | None,
    out: str,
    output_format: str | None,
    poll_interval: float,
    connect: ConnectOptions,
) -> None:
    """Write the members of up to 10 programs (PROGRAM_IDS) through Bulk Extract."""
    names = _fields(fields)
    updated = _range(updated_since, until, "--updated-since") if updated_since else None
    columns = names if len(program_ids) == 1 else ["programId", *names]
    _write_rows(
        ctx,
        connect=connect,
        make_rows=lambda client: client.bulk_export.program_members(
            list(program_ids),
            names,
            status_names=list(statuses) or None,
            updated_at=updated,
            progress=_show_state("program-members export"),
        ),
        fields=columns,
        out=out,
        output_format=output_format,
        poll_interval=poll_interval,
        what="members",
    )


def bulk_activities_export(
    ctx: click.Context,
    *,
    created_since: str,
    until: str | None,
    type_ids: str | None,
    out: str,
    output_format: str | None,
    poll_interval: float,
    connect: ConnectOptions,
) -> None:
    """``activities export --created-since`` through Bulk Extract (called by the activities
    group's export command, whose incremental REST path lives in ``_activities``)."""
    created = _range(created_since, until, "--created-since")
    try:
        types = [int(part) for part in type_ids.split(",")] if type_ids else None
    except ValueError:
        raise click.BadParameter("comma-separated integers", param_hint="--type-ids") from None
    _write_rows(
        ctx,
        connect=connect,
        make_rows=lambda client: client.bulk_export.activities(
            created_at=created,
            activity_type_ids=types,
            progress=_show_state("activities export"),
        ),
        fields=list(ACTIVITY_FIELDS),
        out=out,
        output_format=output_format,
        poll_interval=poll_interval,
        what="activities",
    )
