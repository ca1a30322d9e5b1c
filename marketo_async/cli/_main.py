"""The ``marketo-async`` command line: bulk loads into Marketo with a per-row report."""

from __future__ import annotations

import contextlib
import functools
import logging
import signal
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar, cast

import anyio
import click
from rich import box
from rich.console import Console
from rich.table import Table

from .. import __version__
from .._batch import MAX_BATCH_SIZE, NOT_APPLIED_STATUSES, STATUSES
from .._client import MarketoClient
from .._errors import DailyQuotaExceeded, MarketoError
from ..resources.leads import SyncAction
from ._connect import CliState, ConnectOptions, open_client, resolve
from ._input import InputRow, estimate_rows, format_of, read_ids, read_rows
from ._progress import ProgressDisplay
from ._report import ReportWriter, load_applied
from ._run import BulkRun, Prepare, Send, Stopper, beside, watch_signals
from ._settings import VARIABLES

__all__ = ["cli", "main"]

F = TypeVar("F", bound=Callable[..., Any])

EXIT_NOT_APPLIED = 1
EXIT_INTERRUPTED = 130
ACTIONS = ("createOrUpdate", "createOnly", "updateOnly", "createDuplicate")
FORMATS = click.Choice(["csv", "jsonl"], case_sensitive=False)


def _stderr() -> Console:
    return Console(file=sys.stderr, highlight=False, soft_wrap=True)


def _stdout() -> Console:
    return Console(file=sys.stdout, highlight=False, soft_wrap=True)


# --------------------------------------------------------------------------- shared options


class _StderrHandler(logging.Handler):
    """Writes to whatever ``sys.stderr`` is now (a progress bar redirects it above itself)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)


@contextlib.contextmanager
def cli_logging(verbosity: int) -> Iterator[None]:
    """The client logs each retry as a warning: shown with -v (their effect is in the report).

    Scoped to one command, so running the CLI in-process leaves the logger as it was.
    """
    logger = logging.getLogger("marketo_async")
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(
        logging.ERROR if verbosity <= 0 else logging.WARNING if verbosity == 1 else logging.DEBUG
    )
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


_CONNECT_KEYS = (
    "base_url",
    "munchkin_id",
    "client_id",
    "env_file",
    "sandbox",
    "sandbox_limits",
    "sandbox_latency",
    "sandbox_seed",
    "concurrency",
    "rate_limit",
)


def connection_options(function: F) -> F:
    """Where to connect. The secret has no flag: MARKETO_CLIENT_SECRET (env or dotenv) only."""
    options = [
        click.option(
            "--base-url",
            metavar="URL",
            help="Instance REST URL, e.g. https://123-ABC-456.mktorest.com "
            "[env MARKETO_BASE_URL]; http://127.0.0.1:PORT for `sandbox serve`.",
        ),
        click.option(
            "--munchkin-id", metavar="ID", help="Instead of --base-url [env MARKETO_MUNCHKIN_ID]."
        ),
        click.option("--client-id", metavar="ID", help="[env MARKETO_CLIENT_ID]"),
        click.option(
            "--env-file",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="Dotenv file with MARKETO_* settings (default: ./.env when present).",
        ),
        click.option(
            "--sandbox",
            is_flag=True,
            help="Run against an in-process Marketo emulator (FakeMarketo), not a real instance.",
        ),
        click.option(
            "--sandbox-limits/--no-sandbox-limits",
            default=True,
            show_default=True,
            help="Give the sandbox Marketo's limits: 100 calls/20 s, 10 in flight, 50,000 a day.",
        ),
        click.option(
            "--sandbox-latency",
            type=click.FloatRange(min=0.0),
            default=0.0,
            show_default=True,
            metavar="SECONDS",
            help="Server time per sandbox call (Marketo takes 0.3-2 s for 300 leads).",
        ),
        click.option(
            "--sandbox-seed",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="Seed the sandbox: a FakeMarketo JSON seed file, or a CSV/JSONL of leads.",
        ),
        click.option(
            "--concurrency",
            type=click.IntRange(1, 100),
            help="Calls in flight at once [default: 10, Marketo's limit].",
        ),
        click.option(
            "--rate-limit",
            metavar="CALLS/SECONDS",
            help="Call budget to keep within [default: 100/20, Marketo's]; 'none' for no limit.",
        ),
    ]

    options.append(
        click.option(
            "-v",
            "--verbose",
            count=True,
            help="-v shows retries and other warnings of the client; -vv each call.",
        )
    )

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        verbosity = kwargs.pop("verbose")
        values = {name: kwargs.pop(name) for name in _CONNECT_KEYS}
        kwargs["connect"] = ConnectOptions(**values)
        with cli_logging(verbosity):
            return function(*args, **kwargs)

    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper  # type: ignore[return-value]


def run_options(function: F) -> F:
    """The per-row report, resuming, progress."""
    options = [
        click.option(
            "--report",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Write one JSON line per input row (row, key, status, id, reasons) as "
            "results arrive.",
        ),
        click.option(
            "--resume",
            type=click.Path(dir_okay=False, path_type=Path),
            multiple=True,
            help="Skip rows this earlier report shows as applied; the report is appended to "
            "unless --report names another file. Repeatable.",
        ),
        click.option(
            "--progress",
            "progress_mode",
            type=click.Choice(["auto", "bar", "lines", "off"]),
            default="auto",
            show_default=True,
            help="A bar on a terminal, plain lines otherwise.",
        ),
        click.option(
            "--progress-interval",
            type=click.FloatRange(min=0.01),
            default=10.0,
            show_default=True,
            metavar="SECONDS",
            help="Seconds between plain progress lines.",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def format_option(function: F) -> F:
    return click.option(
        "--format",
        "input_format",
        type=FORMATS,
        help="Input format [default: from the file suffix; .jsonl/.ndjson are JSONL].",
    )(function)


def batch_size_option(function: F) -> F:
    return click.option(
        "--batch-size",
        type=click.IntRange(1, MAX_BATCH_SIZE),
        default=MAX_BATCH_SIZE,
        show_default=True,
        help="Records per API call (lower it for very wide records).",
    )(function)


def id_column_option(function: F) -> F:
    return click.option(
        "--id-column",
        metavar="NAME",
        help="CSV/JSONL column holding lead ids [default: id, else leadId]. A .txt file "
        "holds one id a line.",
    )(function)


def _state(ctx: click.Context) -> CliState:
    state = ctx.find_object(CliState)
    return state if state is not None else CliState()


# --------------------------------------------------------------------------- bulk runs


def _print_summary(title: str, run: BulkRun, report: Path | None) -> None:
    out = _stdout()
    table = Table(title=title, box=box.SIMPLE, title_justify="left")
    table.add_column("status")
    table.add_column("rows", justify="right")
    for status in STATUSES:
        count = run.counts.get(status, 0)
        if count:
            style = "red" if status in NOT_APPLIED_STATUSES else "green"
            table.add_row(f"[{style}]{status}[/]", f"{count:,}")
    if run.resumed:
        table.add_row("already applied (resumed)", f"{run.resumed:,}")
    table.add_section()
    table.add_row("[bold]total[/]", f"[bold]{run.done:,}[/]")
    out.print(table)
    notes: list[str] = []
    for why, count in run.why_not.most_common(5):
        short = why if len(why) <= 300 else why[:297] + "..."
        notes.append(f"{count:,} {'row' if count == 1 else 'rows'}: {short}")
    stopped = run.batch_report.stopped if run.batch_report is not None else None
    if isinstance(stopped, DailyQuotaExceeded):
        notes.append(
            "Stopped early: Marketo's daily API quota ran out (607). It resets at midnight "
            "US Central time; then send the rest with --resume."
        )
    elif stopped is not None:
        notes.append(f"Stopped early: {stopped}")
    if run.stopped_by_error:
        notes.append(
            f"Stopped early, as every later call would fail the same way: {run.stopped_by_error}"
        )
    if run.counts.get("unknown"):
        notes.append(
            f"{run.counts['unknown']:,} rows may or may not have been applied (status unknown)."
        )
    if run.error is not None:
        notes.append(f"The run failed: {run.error}")
    if run.interrupted:
        how = "cancelled" if run.cancelled else "stopped"
        notes.append(f"Interrupted ({run.stopper.signal_name or 'stop'}): {how} early.")
    if report is not None:
        notes.append(f"Report: {report}")
        if not run.ok:
            notes.append(
                f"Send the rows that did not apply again with: --resume {report} "
                "(rows already applied are skipped)."
            )
    elif not run.ok:
        notes.append("Use --report FILE to see which rows did not apply, and why.")
    for note in notes:
        out.print(note, markup=False)


def _bulk(
    ctx: click.Context,
    *,
    title: str,
    path: Path,
    rows: Iterator[InputRow],
    prepare: Prepare,
    send: Callable[[MarketoClient], Send],
    connect: ConnectOptions,
    report: Path | None,
    resume: tuple[Path, ...],
    progress_mode: str,
    progress_interval: float,
) -> None:
    """Run one bulk command end to end and exit with its status."""
    err = _stderr()
    for earlier in resume:
        if not earlier.exists():
            err.print(f"note: {earlier} does not exist yet: nothing to skip.", markup=False)
    applied = load_applied(*resume) if resume else None
    report_path = report if report is not None else (resume[0] if resume else None)
    append = report_path is not None and report_path.resolve() in {r.resolve() for r in resume}
    if applied is not None and len(applied):
        err.print(f"Resuming: {len(applied):,} rows already applied are skipped.", markup=False)
    if applied is not None and applied.unknown:
        err.print(
            f"Note: {applied.unknown:,} rows were left 'unknown' (their call may have applied) "
            "and are sent again: harmless for upserts by lookup field, list and program "
            "changes; with createDuplicate, check Marketo for them first.",
            markup=False,
        )

    async def go(writer: ReportWriter) -> BulkRun:
        async with open_client(connect, _state(ctx)) as client:
            run = BulkRun(
                rows,
                send(client),
                prepare=prepare,
                report=writer,
                applied=applied,
                stopper=Stopper(),
            )
            display = ProgressDisplay(
                title,
                lambda: run.done,
                total=estimate_rows(path),
                mode=progress_mode,
                interval=progress_interval,
            )
            await beside(
                run.run,
                display.run,
                functools.partial(
                    watch_signals, run.stopper, lambda text: err.print(text, markup=False)
                ),
            )
            return run

    try:
        writer = ReportWriter(report_path, append=append)
    except OSError as exc:
        raise click.FileError(str(report_path), hint=exc.strerror or str(exc)) from None
    try:
        with writer:
            run = anyio.run(go, writer)
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()
    _print_summary(title, run, report_path)
    if run.error is not None and not isinstance(run.error, (MarketoError, ValueError, OSError)):
        raise run.error  # a bug: show its traceback
    if run.interrupted:
        # 128 + the signal's number, as shells report a process a signal ended: 130 for
        # SIGINT (Ctrl-C), 143 for SIGTERM.
        signum = getattr(signal, run.stopper.signal_name or "", None)
        ctx.exit(128 + int(signum) if signum is not None else EXIT_INTERRUPTED)
    ctx.exit(0 if run.ok else EXIT_NOT_APPLIED)


def _prepare_id(record: Mapping[str, Any]) -> tuple[Any, Any]:
    lead_id = record["id"]
    return lead_id, lead_id


# --------------------------------------------------------------------------- the commands


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="marketo-async")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Bulk loads into Marketo Engage, within its limits, with a per-row report.

    Connection settings come from flags, MARKETO_* environment variables, or a dotenv file
    (./.env, or --env-file): MARKETO_BASE_URL or MARKETO_MUNCHKIN_ID, MARKETO_CLIENT_ID and
    MARKETO_CLIENT_SECRET (the secret is read from the environment or dotenv file only).
    Add --sandbox to any command to try it against a local emulator.

    Exit status: 0 when every row applied, 1 when some did not, 130 (143) when stopped by
    SIGINT (SIGTERM).
    """
    ctx.ensure_object(CliState)


@cli.group()
def leads() -> None:
    """Upsert, delete and export leads."""


@leads.command("upsert")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--action", type=click.Choice(ACTIONS), default="createOrUpdate", show_default=True)
@click.option(
    "--lookup-field", default="email", show_default=True, help="Field that finds existing leads."
)
@click.option("--partition", metavar="NAME", help="Lead partition for new leads.")
@click.option(
    "--coalesce/--no-coalesce",
    default=False,
    show_default=True,
    help="Merge consecutive rows with the same lookup key into one record (later values win).",
)
@batch_size_option
@format_option
@run_options
@connection_options
@click.pass_context
def leads_upsert(
    ctx: click.Context,
    /,
    file: Path,
    action: str,
    lookup_field: str,
    partition: str | None,
    coalesce: bool,
    batch_size: int,
    input_format: str | None,
    **options: Any,
) -> None:
    """Create or update the leads of FILE (CSV with a header row, or JSONL), streamed.

    Empty CSV cells are left out, so they never blank a field in Marketo.
    """

    if partition is not None and action not in ("createOnly", "createOrUpdate"):
        raise click.UsageError("--partition applies only to --action createOnly or createOrUpdate")
    if coalesce and action == "createDuplicate":
        raise click.UsageError("--coalesce needs a lookup key; createDuplicate has none")

    def prepare(record: Mapping[str, Any]) -> tuple[Any, Any]:
        return record, record.get(lookup_field)

    def send(client: MarketoClient) -> Send:
        return lambda records, **hooks: client.leads.sync(
            records,
            action=cast(SyncAction, action),
            lookup_field=lookup_field,
            partition_name=partition,
            coalesce=coalesce,
            batch_size=batch_size,
            **hooks,
        )

    _bulk(
        ctx,
        title=f"leads upsert {file.name}",
        path=file,
        rows=read_rows(file, format=input_format),
        prepare=prepare,
        send=send,
        **options,
    )


@leads.command("delete")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@id_column_option
@batch_size_option
@format_option
@run_options
@connection_options
@click.pass_context
def leads_delete(
    ctx: click.Context,
    /,
    file: Path,
    id_column: str | None,
    batch_size: int,
    input_format: str | None,
    **options: Any,
) -> None:
    """Delete the leads whose ids FILE lists."""

    def send(client: MarketoClient) -> Send:
        return lambda ids, **hooks: client.leads.delete(ids, batch_size=batch_size, **hooks)

    _bulk(
        ctx,
        title=f"leads delete {file.name}",
        path=file,
        rows=read_ids(file, column=id_column, format=input_format),
        prepare=_prepare_id,
        send=send,
        **options,
    )


@leads.command("export")
@click.option("--filter-type", metavar="FIELD", help="Search field, e.g. email (with --values).")
@click.option(
    "--values",
    "values_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File of values for --filter-type: one a line, or a CSV/JSONL column of that name.",
)
@click.option("--list", "list_id", type=int, metavar="ID", help="Members of a static list.")
@click.option("--program", "program_id", type=int, metavar="ID", help="Members of a program.")
@click.option(
    "--fields",
    multiple=True,
    metavar="A,B,...",
    help="Fields to read (comma-separated, repeatable) [default: Marketo's default fields].",
)
@click.option(
    "--out", default="-", show_default=True, metavar="FILE", help="Output file; - is stdout."
)
@click.option("--format", "output_format", type=FORMATS, help="[default: from --out suffix]")
@click.option(
    "--progress",
    "progress_mode",
    type=click.Choice(["auto", "bar", "lines", "off"]),
    default="auto",
    show_default=True,
)
@click.option(
    "--progress-interval", type=click.FloatRange(min=0.01), default=10.0, metavar="SECONDS"
)
@connection_options
@click.pass_context
def leads_export(
    ctx: click.Context,
    filter_type: str | None,
    values_file: Path | None,
    list_id: int | None,
    program_id: int | None,
    fields: tuple[str, ...],
    out: str,
    output_format: str | None,
    progress_mode: str,
    progress_interval: float,
    connect: ConnectOptions,
) -> None:
    """Write leads found by a filter, a static list or a program, as CSV or JSONL."""
    from ._commands import export_leads

    chosen = [
        filter_type is not None or values_file is not None,
        list_id is not None,
        program_id is not None,
    ]
    if sum(chosen) != 1:
        raise click.UsageError("give exactly one of --filter-type/--values, --list, --program")
    if (filter_type is None) != (values_file is None):
        raise click.UsageError("--filter-type and --values go together")
    field_names = [name.strip() for group in fields for name in group.split(",") if name.strip()]
    if output_format is None:
        output_format = "jsonl" if out == "-" else format_of(Path(out))
    export_leads(
        ctx,
        connect=connect,
        filter_type=filter_type,
        values_file=values_file,
        list_id=list_id,
        program_id=program_id,
        fields=field_names,
        out=out,
        output_format=output_format.lower(),
        progress_mode=progress_mode,
        progress_interval=progress_interval,
    )


@cli.group("lists")
def static_lists() -> None:
    """Add leads to, or remove them from, static lists."""


def _list_command(name: str, verb: str) -> None:
    @static_lists.command(name)
    @click.argument("list_id", type=int)
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @id_column_option
    @format_option
    @run_options
    @connection_options
    @click.pass_context
    def command(
        ctx: click.Context,
        /,
        list_id: int,
        file: Path,
        id_column: str | None,
        input_format: str | None,
        **options: Any,
    ) -> None:
        def send(client: MarketoClient) -> Send:
            method = getattr(client.static_lists, f"{name}_leads")
            return lambda ids, **hooks: method(list_id, ids, **hooks)

        _bulk(
            ctx,
            title=f"lists {name} {list_id} {file.name}",
            path=file,
            rows=read_ids(file, column=id_column, format=input_format),
            prepare=_prepare_id,
            send=send,
            **options,
        )

    command.help = f"{verb} the leads whose ids FILE lists."


_list_command("add", "Add to static list LIST_ID")
_list_command("remove", "Remove from static list LIST_ID")


@cli.group("program-members")
def program_members() -> None:
    """Set program statuses and member data."""


@program_members.command("status")
@click.argument("program_id", type=int)
@click.argument("status")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@id_column_option
@format_option
@run_options
@connection_options
@click.pass_context
def program_members_status(
    ctx: click.Context,
    /,
    program_id: int,
    status: str,
    file: Path,
    id_column: str | None,
    input_format: str | None,
    **options: Any,
) -> None:
    """Set the program status of the leads whose ids FILE lists (making them members)."""

    def send(client: MarketoClient) -> Send:
        return lambda ids, **hooks: client.program_members.set_status(
            program_id, status, ids, **hooks
        )

    _bulk(
        ctx,
        title=f"program-members status {program_id} {file.name}",
        path=file,
        rows=read_ids(file, column=id_column, format=input_format),
        prepare=_prepare_id,
        send=send,
        **options,
    )


def _prepare_member(record: Mapping[str, Any]) -> tuple[Any, Any]:
    value = record.get("leadId")
    if isinstance(value, bool) or value is None or not str(value).strip().isdigit():
        raise ValueError(f"leadId must be a lead id (a positive integer), not {value!r}")
    lead_id = int(str(value).strip())
    if lead_id <= 0:
        raise ValueError(f"leadId must be a positive integer, not {lead_id}")
    if len(record) < 2:
        raise ValueError("no member field to update besides leadId")
    return {**record, "leadId": lead_id}, lead_id


@program_members.command("update")
@click.argument("program_id", type=int)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@format_option
@run_options
@connection_options
@click.pass_context
def program_members_update(
    ctx: click.Context,
    /,
    program_id: int,
    file: Path,
    input_format: str | None,
    **options: Any,
) -> None:
    """Update program member fields from FILE: a leadId column plus the member fields."""

    def send(client: MarketoClient) -> Send:
        return lambda records, **hooks: client.program_members.update_data(
            program_id, records, **hooks
        )

    _bulk(
        ctx,
        title=f"program-members update {program_id} {file.name}",
        path=file,
        rows=read_rows(file, format=input_format),
        prepare=_prepare_member,
        send=send,
        **options,
    )


@cli.command("describe")
@click.option("--json", "as_json", is_flag=True, help="Print Marketo's field list as JSON.")
@connection_options
@click.pass_context
def describe(ctx: click.Context, as_json: bool, connect: ConnectOptions) -> None:
    """List the lead fields: REST name, display name, type, length, read-only."""
    from ._commands import describe_leads

    describe_leads(ctx, connect=connect, as_json=as_json)


@cli.group()
def config() -> None:
    """Inspect the connection settings."""


@config.command("show")
@connection_options
def config_show(connect: ConnectOptions) -> None:
    """Show the settings in effect and where each comes from; the secret is masked."""
    settings = resolve(connect)
    table = Table(box=box.SIMPLE)
    table.add_column("setting")
    table.add_column("value")
    table.add_column("from")
    for name, value in settings.masked().items():
        table.add_row(VARIABLES[name], value or "(not set)", settings.sources.get(name, ""))
    out = _stdout()
    out.print(table)
    missing = settings.missing()
    if missing:
        out.print("Missing: " + "; ".join(missing), markup=False)


@cli.group()
def sandbox() -> None:
    """A local Marketo emulator (FakeMarketo) to try commands against."""


@sandbox.command("serve")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8080,
    show_default=True,
    help="0 picks a free port (printed).",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--seed",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A FakeMarketo JSON seed file (leads, lists, programs ...).",
)
@click.option(
    "--leads",
    "leads_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Seed leads from a CSV/JSONL file.",
)
@click.option(
    "--limits/--no-limits",
    default=True,
    show_default=True,
    help="Enforce Marketo's limits: 100 calls/20 s, 10 in flight, 50,000 a day.",
)
@click.option(
    "--latency",
    type=click.FloatRange(min=0.0),
    default=0.0,
    show_default=True,
    metavar="SECONDS",
    help="Server time per call.",
)
@click.option(
    "--dump",
    type=click.Path(dir_okay=False, path_type=Path),
    help="On exit, write the leads, duplicates, lists and programs as JSON here.",
)
def sandbox_serve(
    port: int,
    host: str,
    seed: Path | None,
    leads_file: Path | None,
    limits: bool,
    latency: float,
    dump: Path | None,
) -> None:
    """Serve a persistent emulator on loopback HTTP until Ctrl-C.

    Other commands target it with --base-url http://127.0.0.1:PORT; they use the emulator's
    credentials unless MARKETO_CLIENT_ID/MARKETO_CLIENT_SECRET are set.
    """
    from ._commands import serve_sandbox

    serve_sandbox(
        port=port,
        host=host,
        seed=seed,
        leads_file=leads_file,
        limits=limits,
        latency=latency,
        dump=dump,
    )


def main(argv: list[str] | None = None) -> None:
    """The ``marketo-async`` entry point."""
    cli.main(args=argv, prog_name="marketo-async")
