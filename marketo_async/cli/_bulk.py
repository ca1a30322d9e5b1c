"""Bulk write commands, declared from one :class:`BulkSpec` and run by one runner.

A bulk command reads FILE row by row, turns each row into a record (``prepare``), streams
the records into one batch write of the client (``send``), writes one report line per row and
prints a summary. Declaring one takes a spec and a call; the command group's module then lists
the command in its group (``@click.group("lists", commands=[lists_add, ...])``)::

    lists_add = bulk_command(BulkSpec(
        name="add",
        help="Add to static list LIST_ID the leads whose ids FILE lists.",
        arguments=(click.argument("list_id", type=int),),
        send=lambda client, params: functools.partial(
            client.static_lists.add_leads, params["list_id"]
        ),
    ))

FILE (``-`` for stdin), ``--format``, ``--delimiter``, ``--encoding``, ``--report``,
``--resume``, progress and connection options are added for every bulk command;
``--id-column`` too when it reads lead ids.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import gc
import re
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import anyio
import attrs
import click
from rich import box
from rich.table import Table

from .._batch import NOT_APPLIED_STATUSES, STATUSES
from .._client import MarketoClient
from .._errors import DailyQuotaExceeded, MarketoError
from .._transport import BACKGROUND, LocalLimiter, lane
from ._connect import ApiClient, Connect, ConnectOptions
from ._input import (
    InputError,
    InputOptions,
    InputRow,
    describe_input,
    estimate_rows,
    read_refs,
    read_rows,
)
from ._options import (
    RUN_OPTION_NAMES,
    connection_options,
    id_column_option,
    input_options,
    run_options,
)
from ._output import ExitCode, fail, stderr_console, stdout_console
from ._preflight import PreflightError
from ._progress import ProgressDisplay
from ._report import (
    AppliedRows,
    NotAReport,
    ReportWriter,
    RunIdentity,
    load_applied,
    read_identity,
)
from ._run import BulkRun, EarlierAttempts, Prepare, Send, beside, systemic_fix, watch_signals
from ._state import cli_state

__all__ = ["BulkSpec", "Params", "bulk_command", "prepare_id", "prepare_keyed_by", "run_bulk"]

# The values of a bulk command's own arguments and options, by parameter name.
Params = Mapping[str, Any]
Transform = Callable[[dict[str, Any]], dict[str, Any]]
Preflight = Callable[[MarketoClient, Params, Sequence[str]], Awaitable[Transform | None]]
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def prepare_id(record: Mapping[str, Any]) -> tuple[Any, Any]:
    """A lead-id row (``{"id": n}``, from :func:`read_refs`): send the id, report it as the key."""
    lead_id = record["id"]
    return lead_id, lead_id


def _ids(params: Params) -> Prepare:
    return prepare_id


def prepare_keyed_by(option: str) -> Callable[[Params], Prepare]:
    """A record row sent as it is, reported by the value of the field the option ``option``
    names (``prepare_keyed_by("lookup_field")``: the lead's lookup field)."""

    def prepare_for(params: Params) -> Prepare:
        field = params[option]

        def prepare(record: Mapping[str, Any]) -> tuple[Any, Any]:
            return record, record.get(field)

        return prepare

    return prepare_for


@attrs.frozen(kw_only=True)
class BulkSpec:
    """One bulk write command.

    ``send(client, params)`` returns the batch write to stream records into, called as
    ``write(records, on_progress=..., on_outcome=..., stop=...)``; ``prepare(params)`` returns
    the row -> ``(record to send, key shown in the report)`` function (``ValueError`` refuses
    a row). ``reads="ids"`` reads lead ids (a ``.txt`` of one id a line, or an id column);
    ``"records"`` reads whole CSV/JSONL records. ``arguments`` come before FILE; ``check``
    refuses option combinations with ``click.UsageError`` before anything is read.
    """

    name: str
    help: str
    send: Callable[[MarketoClient, Params], Send]
    reads: Literal["ids", "records", "leads"] = "ids"
    prepare: Callable[[Params], Prepare] = _ids
    arguments: Sequence[Decorator] = ()
    options: Sequence[Decorator] = ()
    check: Callable[[Params], None] | None = None
    # Options that decide what a row does (besides the arguments): a report made with other
    # values is refused by --resume.
    resume_keys: tuple[str, ...] = ()
    # A destructive command: on a terminal it asks this question first, unless --yes.
    confirm: str | None = None
    # Checks before the first write (one describe ...): given the client, the values and the
    # input's columns, raises PreflightError, or returns a change to make to every record
    # (returning the record, or a new one: never altering the record it is given).
    preflight: Preflight | None = None
    # The client library's own check of a record (for --dry-run): why it would be refused.
    validate: Callable[[Params], Callable[[int, Any], str | None]] | None = None
    # How a resume treats rows an earlier run may have sent (None: they are sent again).
    earlier: Callable[[Params], EarlierAttempts] | None = None


_dry_run_option: Decorator = click.option(
    "--dry-run",
    is_flag=True,
    help="Check every row (and the header, lookup field, partition) and say what would be "
    "sent, without writing anything.",
)


def _with_preflight(
    preflight: Preflight, values: Params, columns: Sequence[str], prepare: Prepare
) -> tuple[Callable[[Any], Awaitable[None]], Prepare]:
    """The check to run once the client is open, and ``prepare`` after its record change."""
    change: list[Transform] = []

    async def before(client: Any) -> None:
        found = await preflight(client, values, columns)
        if found is not None:
            change.append(found)

    def changed(record: Mapping[str, Any]) -> tuple[Any, Any]:
        if not change:
            return prepare(record)
        # A change never alters the record it is given (it returns it, or a new one): the
        # row's own record (a dict) goes in as it is, not copied.
        return prepare(change[0](record if isinstance(record, dict) else dict(record)))

    return before, changed


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


_yes_option: Decorator = click.option(
    "-y", "--yes", is_flag=True, help="Do not ask for confirmation (scripts never are asked)."
)


def bulk_command(spec: BulkSpec) -> click.Command:
    """The click command ``spec`` declares (its group's module lists it in the group)."""
    positional: list[str] = []

    def callback(ctx: click.Context, /, **values: Any) -> None:
        run = {name: values.pop(name) for name in RUN_OPTION_NAMES}
        connect: ConnectOptions = values.pop("connect")
        file: Path = values.pop("file")
        how: InputOptions = values.pop("input_options")
        id_column: str | None = values.pop("id_column", None)
        if spec.check is not None:
            spec.check(values)
        if spec.confirm is not None and not values.pop("yes") and _interactive():
            question = spec.confirm.format(file=describe_input(file), **values)
            click.confirm(question, abort=True, err=True)
        try:
            if spec.reads == "records":
                rows = read_rows(file, options=how)
            else:
                rows = read_refs(file, spec.reads, column=id_column, options=how)
        except InputError as exc:
            fail(str(exc), ExitCode.USAGE)
        title = " ".join([_command_name(ctx), *(str(values[p]) for p in positional)])
        prepare = spec.prepare(values)
        before = None
        if spec.preflight is not None:
            before, prepare = _with_preflight(spec.preflight, values, rows.columns, prepare)
        if values.pop("dry_run"):
            validate = spec.validate(values) if spec.validate is not None else None
            dry_run(ctx, rows, prepare, validate, connect=connect, before=before)
        run_bulk(
            ctx,
            title=f"{title} {'stdin' if str(file) == '-' else file.name}",
            path=file,
            rows=rows,
            prepare=prepare,
            send=lambda client: spec.send(client, values),
            before=before,
            connect=connect,
            settings={name: values[name] for name in (*positional, *spec.resume_keys)},
            earlier=spec.earlier(values) if spec.earlier is not None else None,
            **run,
        )

    function: Callable[..., Any] = connection_options(click.pass_context(callback))
    function = input_options(run_options(function))
    decorators: list[Decorator] = [
        *spec.arguments,
        click.argument(
            "file",
            type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path),
        ),
        *([id_column_option] if spec.reads in ("ids", "leads") else []),
        *spec.options,
        *([_yes_option] if spec.confirm is not None else []),
        _dry_run_option,
    ]
    for decorator in reversed(decorators):
        function = decorator(function)
    command = click.command(spec.name, help=spec.help)(function)
    positional.extend(
        str(param.name)
        for param in command.params
        if isinstance(param, click.Argument) and param.name != "file"
    )
    return command


# --------------------------------------------------------------------------- the runner


def _check_resumable(resume: tuple[Path, ...], identity: RunIdentity) -> None:
    """Refuse a report of another input, command or setting, saying which (exit 2)."""
    for earlier in resume:
        if not earlier.exists() or earlier.stat().st_size == 0:
            continue
        try:
            found = read_identity(earlier)
        except NotAReport as exc:
            fail(f"--resume {earlier}: {exc}", ExitCode.USAGE)
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"--resume {earlier}: cannot be read ({exc})", ExitCode.USAGE)
        if found is None:
            stderr_console().print(
                f"note: {earlier} does not say which input it belongs to (an older report): "
                "rows are skipped only where its row, line and key match this input's.",
                markup=False,
            )
            continue
        why = identity.differs_from(found)
        if why is not None:
            fail(
                f"--resume {earlier} does not belong to this run: {why}. Resume from this "
                f"run's own report, or start afresh with a new --report.",
                ExitCode.USAGE,
            )


# What a resume does with rows left unknown, unless the command says otherwise.
RESENT_NOTE = "they are sent again: harmless for upserts by lookup field, list and program changes"


def _resume_from(
    resume: tuple[Path, ...], earlier: EarlierAttempts | None = None
) -> AppliedRows | None:
    err = stderr_console()
    for path in resume:
        if not path.exists():
            err.print(f"note: {path} does not exist yet: nothing to skip.", markup=False)
    applied = load_applied(*resume) if resume else None
    if applied is not None and len(applied):
        err.print(f"Resuming: {len(applied):,} rows already applied are skipped.", markup=False)
    if applied is not None and applied.unknown:
        note = earlier.note if earlier is not None else RESENT_NOTE
        err.print(
            f"Note: {applied.unknown:,} rows were left 'unknown' (their call may have "
            f"applied): {note}.",
            markup=False,
        )
    return applied


def _open_report(
    report: Path | None,
    resume: tuple[Path, ...],
    identity: RunIdentity,
    *,
    writer: Callable[..., ReportWriter] = ReportWriter,
    sandbox: bool = False,
) -> ReportWriter:
    path = report if report is not None else (resume[0] if resume else None)
    append = path is not None and path.resolve() in {earlier.resolve() for earlier in resume}
    if path is not None and not append and path.exists() and path.stat().st_size > 0:
        if sandbox:  # a new, empty emulator: there is no earlier run in it to continue
            fail(
                f"--report {path} exists (an earlier run's report): name another --report "
                "(each --sandbox run starts from an empty emulator; nothing is overwritten)",
                ExitCode.USAGE,
            )
        fail(
            f"--report {path} exists (an earlier run's report): pass --resume {path} to "
            "continue that run, or name another --report (nothing is overwritten)",
            ExitCode.USAGE,
        )
    try:
        return writer(path, append=append, identity=identity, also_lock=resume)
    except OSError as exc:
        raise click.FileError(str(path), hint=exc.strerror or str(exc)) from None


def _command_name(ctx: click.Context) -> str:
    """``leads upsert`` for ``marketo-async leads upsert``."""
    return ctx.command_path.partition(" ")[2] or ctx.command_path


def _note_sandbox_resume(applied: AppliedRows | None, connect: Connect[ApiClient]) -> None:
    """``--sandbox`` with ``--resume``: the rows skipped were applied to another emulator."""
    if applied is not None and len(applied) and connect is not None and connect.sandbox:
        stderr_console().print(
            f"Note: --sandbox starts an empty emulator each run: the {len(applied):,} rows "
            "skipped as already applied were applied to an earlier run's sandbox, not this "
            "one. To try again from scratch, drop --resume and name a new --report.",
            markup=False,
        )


def run_bulk(
    ctx: click.Context,
    *,
    title: str,
    path: Path,
    rows: Iterator[InputRow],
    prepare: Prepare,
    send: Callable[[Any], Send],
    connect: Connect[ApiClient],
    report: Path | None,
    resume: tuple[Path, ...],
    progress_mode: str,
    progress_interval: float,
    settings: Mapping[str, Any] | None = None,
    before: Callable[[Any], Awaitable[None]] | None = None,
    earlier: EarlierAttempts | None = None,
) -> None:
    """Run one bulk command end to end and exit with its status.

    The client comes from ``connect.open`` (Marketo's or Lead Gen & CRM's options alike).
    ``settings`` are the values that decide what a row does (the lookup field, the list):
    the report records them with the input, and ``--resume`` refuses a report made with
    others.
    """
    identity = RunIdentity.of(_command_name(ctx), settings or {}, path)
    _check_resumable(resume, identity)
    writer = _open_report(
        report, resume, identity, sandbox=bool(getattr(connect, "sandbox", False))
    )
    applied = _resume_from(resume, earlier)
    _note_sandbox_resume(applied, connect)

    async def go(writer: ReportWriter, ahead: ReadAhead | None) -> BulkRun:
        # A bulk command is a load, checks included: a service sharing the budget goes first.
        with lane(BACKGROUND):
            return await run_with(writer, ahead)

    async def run_with(writer: ReportWriter, ahead: ReadAhead | None) -> BulkRun:
        async with connect.open(cli_state(ctx)) as client:
            read: Iterator[InputRow] = rows
            if before is not None:
                read = await _checked(before(client), ahead, rows)  # PreflightError: none sent
            confirm = None
            if earlier is not None and earlier.confirm is not None and applied is not None:
                confirm = earlier.confirm(client)
            run = BulkRun(
                read,
                send(client),
                prepare=prepare,
                report=writer,
                applied=applied,
                earlier=earlier if applied is not None else None,
                confirm=confirm,
                kept_unknown=earlier.note if earlier is not None and not earlier.resend else None,
            )
            display = _display(title, run, client, path, progress_mode, progress_interval)
            await run_beside(run, display)
            return run

    try:
        # Only a file is read ahead: a row of stdin or a pipe may never come, and a reader
        # left waiting for it would hold the command (and Python's exit) up.
        read_ahead = before is not None and str(path) != "-" and path.is_file()
        with writer, _fewer_collections(), _reading_ahead(rows, read_ahead) as ahead:
            run = anyio.run(go, writer, ahead)
    except PreflightError as exc:
        fail(f"nothing was sent:\n{exc}", ExitCode.USAGE)
    except MarketoError as exc:
        # Refused before the first write (bad credentials, no such host ...): one line.
        fix = systemic_fix(exc)
        fail(f"{exc}. Nothing was sent." + (f" Fix: {fix}" if fix else ""))
    print_summary(title, run, writer.path)
    if run.done == 0 and run.error is None:
        stderr_console().print(
            f"Warning: {describe_input(path)} holds no data rows: nothing was sent."
        )
    finish(ctx, run)


# Rows read ahead (in a worker thread) while the command waits for Marketo before its first
# write: an import's first file, at most.
READ_AHEAD_ROWS = 100_000
# Meanwhile the main thread (building the client, woken by an answer) gets the interpreter back
# from the reader within this many seconds, not Python's 5 ms: reading must not hold up the
# calls it overlaps.
READ_AHEAD_SWITCH_S = 0.0002


class ReadAhead:
    """Reads up to ``most`` of ``rows`` in a worker thread, from ``start()`` until ``rows()``
    (or ``stop()``): a command reads its input while Marketo answers the token and the checks
    before the first write. ``rows()`` gives the rows read ahead, in order, then the rest; an
    error reading a row is raised where that row would have been read. Only the worker reads
    ``rows`` until it has stopped.

    It starts once the client is connected, not before: building the client is the main
    thread's own work (importing httpx's network layer, reading the settings), and every
    system call there would wait for the reader to hand the interpreter back (measured: the
    first call went out 0.4 s later, the upload no sooner)."""

    def __init__(self, rows: Iterator[InputRow], most: int = READ_AHEAD_ROWS) -> None:
        self._source = rows
        self._most = most
        self._ahead: list[InputRow] = []
        self._error: list[BaseException] = []
        self._stop = threading.Event()
        self._switch = sys.getswitchinterval()
        self._thread = threading.Thread(target=self._read, name="read-ahead", daemon=True)

    def _read(self) -> None:
        ahead = self._ahead
        try:
            while not self._stop.is_set() and len(ahead) < self._most:
                row = next(self._source, None)
                if row is None:
                    return
                ahead.append(row)
        except BaseException as exc:  # raised again in the reading order
            self._error.append(exc)

    def start(self) -> None:
        self._switch = sys.getswitchinterval()
        sys.setswitchinterval(READ_AHEAD_SWITCH_S)
        self._thread.start()

    def stop(self) -> None:
        """Stop reading (or never start), waiting for the worker to finish the row it reads
        (a file's row: it comes)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        sys.setswitchinterval(self._switch)

    def rows(self) -> Iterator[InputRow]:
        """The rows: the ones read ahead, then the rest (read by the caller)."""
        self.stop()
        return _then(self._ahead, self._error, self._source)


async def _checked(
    checks: Awaitable[None], ahead: ReadAhead | None, rows: Iterator[InputRow]
) -> Iterator[InputRow]:
    """The rows after ``checks`` (Marketo's answers before the first write), read ahead while
    they wait when ``ahead`` is given; reading ahead stops also when the checks fail."""
    if ahead is None:
        await checks
        return rows
    ahead.start()
    try:
        await checks
    finally:
        read = ahead.rows()
    return read


@contextlib.contextmanager
def _reading_ahead(rows: Iterator[InputRow], ahead: bool) -> Iterator[ReadAhead | None]:
    """A :class:`ReadAhead` of ``rows`` to start (None when not ``ahead``), stopped on leaving;
    then ``rows`` is closed (its file)."""
    reader = ReadAhead(rows) if ahead else None
    try:
        yield reader
    finally:
        if reader is not None:
            reader.stop()
        close = getattr(rows, "close", None)
        if close is not None:
            close()


def _then(
    ahead: list[InputRow], read_error: list[BaseException], rows: Iterator[InputRow]
) -> Iterator[InputRow]:
    yield from ahead
    ahead.clear()
    if read_error:
        raise read_error[0]
    yield from rows


# While a run is on, the cyclic garbage collector looks at new objects after this many
# allocations (Python's default: 700) and at the older ones less often.
RUN_GC_THRESHOLD = (50_000, 20, 10)


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """Collect cyclic garbage less often during a run. Its rows are freed by reference counts
    as their outcomes are written, but with the default thresholds the collector walked the
    records read ahead (hundreds of thousands for an import) again and again: about a fifth
    of the CPU of a 100,000-row ``leads import``. What exists before the run (the modules, the
    command's setup) is frozen out of every collection. The settings come back at the end."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*RUN_GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def _display(
    title: str, run: BulkRun, client: ApiClient, path: Path, mode: str, interval: float
) -> ProgressDisplay:
    """The progress of ``run``: rows done of the input's estimate, counts, the rate window."""
    return ProgressDisplay(
        title,
        lambda: run.done,
        total=estimate_rows(path),
        mode=mode,
        interval=interval,
        counts=functools.partial(_display_counts, run),
        waiting=_window_wait(client),
        window=_window_text(client),
        stopped=lambda: run.stopper.requested,
    )


def _display_counts(run: BulkRun) -> dict[str, int]:
    counts: dict[str, int] = {
        status: run.counts[status] for status in STATUSES if run.counts.get(status)
    }
    if run.resumed:
        counts["resumed"] = run.resumed
    return counts


async def run_beside(run: BulkRun, display: ProgressDisplay) -> None:
    """Run ``run`` with its progress display, SIGINT/SIGTERM turned into stop requests."""
    err = stderr_console()
    await beside(
        run.run,
        display.run,
        functools.partial(watch_signals, run.stopper, lambda text: err.print(text, markup=False)),
    )


def _window_wait(client: ApiClient) -> Callable[[], float | None]:
    """Seconds until the client's limiter lets the next call go, while it holds calls."""
    limiter = client.limiter

    def waiting() -> float | None:
        # Only the in-process limiter knows when its window lets the next call go.
        until = limiter.window_wait_until if isinstance(limiter, LocalLimiter) else None
        return None if until is None else max(0.0, until - anyio.current_time())

    return waiting


def _window_text(client: ApiClient) -> str | None:
    limits = client.rate_limits
    if limits.calls >= 1_000_000:  # the limits are off
        return None
    return f"{limits.calls:,} calls per {limits.period:g} s"


def exit_code(run: BulkRun) -> ExitCode:
    if run.interrupted:
        return ExitCode.for_signal(run.stopper.signal_name)
    return ExitCode.OK if run.ok else ExitCode.NOT_APPLIED


def finish(ctx: click.Context, run: BulkRun, *, ok: bool = True) -> None:
    """Exit with the run's status (``ok=False``: some later step failed); a bug's traceback."""
    if run.error is not None and not isinstance(run.error, (MarketoError, ValueError, OSError)):
        raise run.error  # a bug: show its traceback
    code = exit_code(run)
    ctx.exit(ExitCode.NOT_APPLIED if code == ExitCode.OK and not ok else code)


def dry_run(
    ctx: click.Context,
    rows: Iterator[InputRow],
    prepare: Prepare,
    validate: Callable[[int, Any], str | None] | None,
    *,
    connect: ConnectOptions,
    before: Callable[[Any], Awaitable[None]] | None,
) -> None:
    """--dry-run: the checks, then every row read and checked locally; nothing is written."""
    if before is not None:

        async def check() -> None:
            async with connect.open(cli_state(ctx)) as client:
                await before(client)

        try:
            anyio.run(check)
        except PreflightError as exc:
            fail(f"the run would send nothing:\n{exc}", ExitCode.USAGE)
        except MarketoError as exc:
            fail(str(exc))
    checked = _check_rows(rows, prepare, validate)
    out = stdout_console()
    refused = sum(checked.why.values())
    out.print(
        f"Dry run: {_rows(checked.would)} would be sent, {refused:,} refused before sending.",
        markup=False,
    )
    for line in _dry_run_lines(checked, refused):
        out.print(line, markup=False)
    out.print("Nothing was written.")
    ctx.exit(ExitCode.OK if not refused else ExitCode.NOT_APPLIED)


DRY_RUN_ROWS = 20  # refused rows a dry run names by line; the rest are counted by reason
_PLACE = re.compile(r"^(?:\S+ )?line \d+: ")  # "line 7: " or "leads.csv line 7: " before a reason


@attrs.define
class _Checked:
    """A dry run's rows: how many would be sent, the first refused ones by place, and every
    refusal counted by reason."""

    would: int = 0
    first: list[str] = attrs.field(factory=list)
    why: collections.Counter[str] = attrs.field(factory=collections.Counter)

    def refuse(self, item: InputRow, text: str) -> None:
        reason = _PLACE.sub("", text, count=1)  # the row's place is said once, in front
        if len(self.first) < DRY_RUN_ROWS:
            place = f"line {item.line}" if item.line else f"row {item.row}"
            self.first.append(f"{place}: {reason}")
        self.why[reason if len(self.why) < 50 or reason in self.why else "other reasons"] += 1


def _check_rows(
    rows: Iterator[InputRow],
    prepare: Prepare,
    validate: Callable[[int, Any], str | None] | None,
) -> _Checked:
    checked = _Checked()
    try:
        for item in rows:
            try:
                if item.record is None:
                    raise ValueError(item.error or "unreadable")
                payload, _ = prepare(item.record)
                problem = validate(item.row, payload) if validate is not None else None
                if problem is not None:
                    raise ValueError(problem.split(": ", 1)[-1])
            except ValueError as exc:
                checked.refuse(item, str(exc))
                continue
            checked.would += 1
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()
    return checked


def _dry_run_lines(checked: _Checked, refused: int) -> Iterator[str]:
    """Each of the first refused rows with its line, so it can be found and fixed; past
    those, the rest counted by reason (a dry run writes no report to look them up in)."""
    yield from checked.first
    rest = refused - len(checked.first)
    if rest <= 0:
        return
    more = f"{rest:,} more refused {'row' if rest == 1 else 'rows'}"
    yield f"... and {more}; all {refused:,} by reason:"
    yield from reason_lines(checked.why, refused, listed="")


# --------------------------------------------------------------------------- the summary


def _summary_table(title: str, run: BulkRun) -> Table:
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
    return table


SUMMARY_REASONS = 5  # reasons the summary lists; the rest are counted in one line


def _rows(count: int) -> str:
    return f"{count:,} {'row' if count == 1 else 'rows'}"


def reason_lines(
    why: collections.Counter[str], total: int, *, listed: str = " (the report lists every row)"
) -> Iterator[str]:
    """The most common reasons, one line each, then one line counting the rows left out."""
    shown = 0
    for reason, count in why.most_common(SUMMARY_REASONS):
        shown += count
        short = reason if len(reason) <= 300 else reason[:297] + "..."
        yield f"{_rows(count)}: {short}"
    if total > shown:
        others = len(why) - SUMMARY_REASONS
        kinds = f" for {others:,} other reasons" if others > 1 else ""
        yield f"... and {_rows(total - shown)} more{kinds}{listed}"


def _why_notes(run: BulkRun) -> Iterator[str]:
    refused = run.not_applied - run.counts.get("not_attempted", 0)
    yield from reason_lines(run.why_not, max(refused, sum(run.why_not.values())))


def _stop_notes(run: BulkRun) -> Iterator[str]:
    stopped = run.batch_report.stopped if run.batch_report is not None else None
    if isinstance(stopped, DailyQuotaExceeded) and stopped.code not in (None, "607"):
        yield f"Stopped early: the daily API quota ran out ({stopped.code}): {stopped.advice}."
    elif isinstance(stopped, DailyQuotaExceeded):
        yield (
            "Stopped early: Marketo's daily API quota ran out (607). It resets at midnight "
            "US Central time; then send the rest with --resume."
        )
    elif stopped is not None:
        yield f"Stopped early: {stopped}"
    failure = run.report_failure
    if failure is not None:
        yield (
            f"The report could not be written ({failure.strerror or failure}): it is incomplete; "
            "rows sent after its last line are counted above but have no line in it. Free the "
            "space (or name another --report) and check the rows after its last line before "
            "resuming."
        )
    elif run.stopped_by_error:
        yield f"Stopped early, as every later call would fail the same way: {run.stopped_by_error}"
    if run.counts.get("unknown"):
        yield f"{run.counts['unknown']:,} rows may or may not have been applied (status unknown)."
    if run.error is not None:
        yield f"The run failed: {run.error}"
    if run.interrupted:
        how = "cancelled" if run.cancelled else "stopped"
        yield f"Interrupted ({run.stopper.signal_name or 'stop'}): {how} early."


def _next_step_notes(run: BulkRun, report: Path | None) -> Iterator[str]:
    if report is not None:
        yield f"Report: {report}"
        if run.report_failure is not None:
            return
        if run.stopped_by_error:
            yield f"Once that is fixed, send the rest with: --resume {report}"
        elif run.resendable:
            yield (
                f"Send the {_rows(run.resendable)} not sent, cut off or whose call failed "
                f"again with: --resume {report} (rows already applied are skipped)."
            )
        kept = run.counts.get("unknown", 0) if run.kept_unknown is not None else 0
        if kept:
            yield f"--resume does not send the {_rows(kept)} left unknown: {run.kept_unknown}."
        refused = run.not_applied - run.resendable - kept
        if refused > 0 and not run.stopped_by_error:
            its = "its" if refused == 1 else "their"
            yield (
                f"{_rows(refused)} refused for reasons of {its} own (the report says which "
                "and why): sent again unchanged, Marketo would give the same answer."
            )
    elif not run.ok:
        yield "Use --report FILE to see which rows did not apply, and why."


def print_summary(title: str, run: BulkRun, report: Path | None) -> None:
    out = stdout_console()
    out.print(_summary_table(title, run))
    for note in (*_why_notes(run), *_stop_notes(run), *_next_step_notes(run, report)):
        out.print(note, markup=False)
