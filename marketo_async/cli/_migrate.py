"""``marketo-async migrate leadgen-to-marketo``: a Lead Gen & CRM account's leads into Marketo.

Leads stream from the source pager into ``leads.sync`` (createOrUpdate by email) through the
shared bulk runner (:class:`BulkRun`): one report line per lead read, ``--resume``, signals,
progress and exit status as for every bulk command. The report's ``row`` is the Lead Gen &
CRM lead id, so a resumed run skips the leads an earlier run applied whatever order the
source pages in. Leads without a usable email are reported ``skipped`` and not sent.
"""

from __future__ import annotations

import datetime as dt
import functools
from array import array
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

import anyio
import attrs
import click
from rich import box
from rich.table import Table

from .._batch import NOT_APPLIED_STATUSES
from .._client import MarketoClient
from .._errors import MarketoError
from ..leadgen import DEFAULT_BASE_URL, LEADGEN_RATE_LIMITS, LeadGenClient
from ..migrate import (
    ConversionError,
    ListResult,
    MappingError,
    ResolvedMap,
    TimedLimiter,
    carry_list_memberships,
    email_problem,
    load_mapping,
    merge_mapping,
    resolve,
)
from ..migrate._fields import EMAIL_SOURCE
from ._bulk import _check_resumable, _open_report, finish, print_summary, run_beside
from ._connect import ConnectOptions, parse_rate_limit
from ._connect import resolve as resolve_settings_of
from ._input import InputRow
from ._leadgen import LeadGenCliState, LeadGenConnect
from ._leadgen import _settings as leadgen_settings
from ._options import (
    OutputFile,
    env_file_option,
    latency_option,
    logging_option,
    progress_options,
    utc_time_option,
)
from ._output import ExitCode, fail, stderr_console, stdout_console
from ._progress import ProgressDisplay
from ._report import APPLIED, AppliedRows, ReportWriter, RunIdentity, report_entries
from ._run import BulkRun, Refused
from ._state import CliState

__all__ = ["migrate"]

TITLE = "migrate leadgen-to-marketo"
NO_EMAIL = "no-usable-email"  # Reason.code of a lead set aside for its email
BAD_VALUE = "invalid-value"  # Reason.code of a lead with a value its target cannot hold


# --------------------------------------------------------------------------- resume


class AppliedSources(AppliedRows):
    """Lead Gen & CRM lead ids earlier reports show applied, with the email each had (ids are
    far too sparse for the row-indexed table), and the Marketo id each got, for ``--lists``.

    A lead counts as applied only under the email it had then: one whose email changed in
    Lead Gen & CRM since is sent again.
    """

    def __init__(self) -> None:
        super().__init__()
        self._states: dict[int, tuple[int, str]] = {}  # row -> (1 applied / 2 unknown, email)
        self.pairs: list[tuple[int, int]] = []

    def add(self, row: int, *, line: int = 0, key: Any = None) -> None:
        if self._states.get(row, (0, ""))[0] != 1:
            self._states[row] = (1, str(key))
            self.count += 1

    def add_unknown(self, row: int, *, line: int = 0, key: Any = None) -> None:
        self._states.setdefault(row, (2, str(key)))

    def matches(self, row: int, line: int, key: Any) -> bool:
        return self._states.get(row) == (1, str(key))

    @property
    def unknown(self) -> int:
        return sum(1 for state, _ in self._states.values() if state == 2)

    def __contains__(self, row: object) -> bool:
        return isinstance(row, int) and self._states.get(row, (0, ""))[0] == 1


def load_applied_sources(paths: tuple[Path, ...]) -> AppliedSources:
    """What the reports of earlier runs applied (a missing report adds nothing)."""
    applied = AppliedSources()
    seen: set[int] = set()
    for path in paths:
        if not path.exists():
            stderr_console().print(f"note: {path} does not exist yet: nothing to skip.")
            continue
        for entry in report_entries(path):
            status, row, key = entry.get("status"), entry["row"], entry.get("key")
            if status in APPLIED:
                applied.add(row, key=key)
                marketo_id = entry.get("id")
                if isinstance(marketo_id, int) and row not in seen:
                    seen.add(row)
                    applied.pairs.append((row, marketo_id))
            elif status == "unknown":
                applied.add_unknown(row, key=key)
    if len(applied):
        stderr_console().print(
            f"Resuming: {len(applied):,} leads already applied are skipped.", markup=False
        )
    return applied


class PairingReport(ReportWriter):
    """A report that also keeps (Lead Gen id, Marketo id) of each applied lead, for --lists."""

    def __init__(self, path: Path | None, **options: Any) -> None:
        super().__init__(path, **options)
        self.keep = False
        self.sources = array("q")
        self.targets = array("q")

    def write(self, *, row: int, status: str, id: int | None = None, **rest: Any) -> None:
        super().write(row=row, status=status, id=id, **rest)
        if self.keep and id is not None and status not in NOT_APPLIED_STATUSES:
            self.sources.append(row)
            self.targets.append(id)


# --------------------------------------------------------------------------- one lead


def prepare_lead(mapping: ResolvedMap) -> Any:
    """A source lead -> (its Marketo record, its email), or :class:`Refused` saying why not."""

    def prepare(lead: Mapping[str, Any]) -> tuple[dict[str, Any], Any]:
        email = lead.get(EMAIL_SOURCE)
        problem = email_problem(email)
        if problem is not None:
            key = "" if email is None else email  # every line has its key, even an empty one
            raise Refused(problem, key=key, code=NO_EMAIL, set_aside=True)
        try:
            return mapping.record(lead), email
        except ConversionError as exc:
            raise Refused(str(exc), key=email, code=BAD_VALUE) from None

    return prepare


async def source_rows(
    lg: LeadGenClient, *, since: dt.datetime | None, fields: list[str]
) -> AsyncIterator[InputRow]:
    """Every lead (or those updated since ``since``), as rows numbered by their lead id."""
    if since is not None:
        end = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1)
        pager = lg.leads.updated_between(since, end, fields=fields)
    else:
        pager = lg.leads.query({}, fields=fields)
    async for lead in pager:
        yield InputRow(lead.id, dict(lead))


# --------------------------------------------------------------------------- options


@attrs.frozen(kw_only=True)
class MigrateOptions:
    """Everything one ``migrate leadgen-to-marketo`` run was asked to do."""

    mapping: Path | None
    lists: bool
    lists_folder: int | None
    since: dt.datetime | None
    report: Path | None
    resume: tuple[Path, ...]
    progress_mode: str
    progress_interval: float
    env_file: Path | None
    sandbox: bool
    sandbox_leads: int
    sandbox_latency: float

    @property
    def leadgen(self) -> LeadGenConnect:
        return LeadGenConnect(
            env_file=self.env_file, sandbox=self.sandbox, sandbox_latency=self.sandbox_latency
        )

    @property
    def marketo(self) -> ConnectOptions:
        return ConnectOptions(
            env_file=self.env_file, sandbox=self.sandbox, sandbox_latency=self.sandbox_latency
        )


def _sandbox_state(ctx: click.Context, options: MigrateOptions) -> LeadGenCliState:
    """Tests pass a LeadGenCliState holding both fakes; else a fresh dirty account."""
    state = ctx.find_object(CliState)
    if isinstance(state, LeadGenCliState) and state.leadgen is not None:
        return state
    from ..migrate import dirty_account
    from ..testing import FakeLeadGen
    from ._connect import make_sandbox

    source = FakeLeadGen(latency=options.sandbox_latency)
    source.seed(dirty_account(options.sandbox_leads))
    target = make_sandbox(limits=True, latency=options.sandbox_latency, seed=None)
    extra = state.client_options if state is not None else {}
    return LeadGenCliState(sandbox=target, leadgen=source, client_options=dict(extra))


# --------------------------------------------------------------------------- the run


@attrs.define
class Sides:
    """Both clients and their limiters, opened for one run."""

    lg: LeadGenClient
    mk: MarketoClient
    lg_limiter: TimedLimiter
    mk_limiter: TimedLimiter
    started: float = attrs.field(factory=anyio.current_time)

    def rates(self) -> str:
        """``Lead Gen 9.8 calls/s (waited 12s), Marketo 4.9 calls/s (waited 3s)``."""
        elapsed = max(anyio.current_time() - self.started, 1e-9)
        return (
            f"Lead Gen {self.lg.stats.calls / elapsed:.1f} calls/s "
            f"(waited {self.lg_limiter.waited_s:.0f}s), "
            f"Marketo {self.mk.stats.calls / elapsed:.1f} calls/s "
            f"(waited {self.mk_limiter.waited_s:.0f}s)"
        )


class Migration:
    """One run: open both sides, check the map, stream the leads, then the lists."""

    def __init__(self, options: MigrateOptions, state: CliState | None) -> None:
        self.options = options
        self.state = state
        # Read (and refused, if it must be) before anything is opened or called.
        self.overrides = load_mapping(options.mapping) if options.mapping is not None else {}
        self.merged = merge_mapping(self.overrides)
        self.mapping: ResolvedMap | None = None
        self.lists: list[ListResult] = []
        self.calls: dict[str, int] = {}

    async def resolve_map(self, sides: Sides) -> ResolvedMap:
        overrides = self.overrides
        described = await sides.mk.leads.describe()
        source_fields = [field.system_name async for field in sides.lg.leads.fields()]
        return resolve(
            self.merged,
            described,
            source_fields=source_fields,
            strict=[name for name, target in overrides.items() if target is not None],
        )

    def _sides(self) -> Any:
        lg_limiter = TimedLimiter(LEADGEN_RATE_LIMITS)
        mk_limiter = TimedLimiter(parse_rate_limit(None, None))
        lg = self.options.leadgen.open(self.state, limiter=lg_limiter)
        mk = self.options.marketo.open(self.state, limiter=mk_limiter)
        return lg, mk, lg_limiter, mk_limiter

    async def plan(self) -> ResolvedMap:
        lg_open, mk_open, lg_limiter, mk_limiter = self._sides()
        async with lg_open as lg, mk_open as mk:
            return await self.resolve_map(Sides(lg, mk, lg_limiter, mk_limiter))

    async def run(self, writer: PairingReport, applied: AppliedSources) -> BulkRun:
        lg_open, mk_open, lg_limiter, mk_limiter = self._sides()
        async with lg_open as lg, mk_open as mk:
            sides = Sides(lg, mk, lg_limiter, mk_limiter)
            self.mapping = await self.resolve_map(sides)
            fields = list(dict.fromkeys(["id", *(f.source for f in self.mapping.fields)]))
            run = BulkRun(
                source_rows(lg, since=self.options.since, fields=fields),
                functools.partial(mk.leads.sync, action="createOrUpdate", lookup_field="email"),
                prepare=prepare_lead(self.mapping),
                report=writer,
                applied=applied,
            )
            await self._stream(run, sides)
            if self.options.lists and not (run.stopper.requested or run.error is not None):
                pairs = [*applied.pairs, *zip(writer.sources, writer.targets, strict=True)]
                self.lists = await carry_list_memberships(lg, mk, pairs, folder=self._folder())
            self.calls = {"Lead Gen & CRM": lg.stats.calls, "Marketo": mk.stats.calls}
            return run

    def _folder(self) -> int | None:
        if self.options.lists_folder is not None:
            return self.options.lists_folder
        return 1 if self.options.sandbox else None  # the emulator's lead database folder

    async def _stream(self, run: BulkRun, sides: Sides) -> None:
        display = ProgressDisplay(
            TITLE,
            lambda: run.done,
            total=None,
            mode=self.options.progress_mode,
            interval=self.options.progress_interval,
            unit="leads",
            detail=sides.rates,
        )
        await run_beside(run, display)


# --------------------------------------------------------------------------- output


def _plan_table(mapping: ResolvedMap) -> Table:
    table = Table(title="Field map", box=box.SIMPLE, title_justify="left")
    table.add_column("Lead Gen & CRM")
    table.add_column("Marketo")
    table.add_column("type")
    for field in mapping.fields:
        table.add_row(field.source, field.target, field.data_type)
    for source, target in mapping.missing_targets.items():
        table.add_row(source, f"[yellow]{target}: not in Marketo, left out[/]", "")
    return table


def print_plan(mapping: ResolvedMap) -> None:
    out = stdout_console()
    out.print(_plan_table(mapping))
    if mapping.unmapped:
        out.print(
            "Source fields with no target (not migrated): " + ", ".join(mapping.unmapped),
            markup=False,
            soft_wrap=True,
        )


def _list_lines(results: list[ListResult]) -> Iterator[str]:
    for result in results:
        made = " (created)" if result.created else ""
        line = f"list {result.name!r} -> Marketo list {result.marketo_id}{made}: "
        line += f"{result.added:,} of {result.members:,} leads added"
        if result.failed:
            line += f", {result.failed:,} not added"
        if result.error:
            line += f": {result.error}"
        yield line


def print_outcome(migration: Migration, run: BulkRun, report: Path | None) -> None:
    print_summary(TITLE, run, report)
    out = stdout_console()
    mapping = migration.mapping
    if mapping is not None and mapping.missing_targets:
        left = ", ".join(f"{s} -> {t}" for s, t in mapping.missing_targets.items())
        out.print(f"Not in this Marketo instance, left out: {left}", markup=False, soft_wrap=True)
    if migration.options.lists and (run.stopper.requested or run.error is not None):
        out.print("Lists: not carried, as the run stopped early (carried when resumed).")
    for line in _list_lines(migration.lists):
        out.print(line, markup=False)
    if migration.calls:
        calls = ", ".join(f"{side} {count:,}" for side, count in migration.calls.items())
        out.print(f"API calls: {calls}", markup=False)


# --------------------------------------------------------------------------- the command


def _execute(ctx: click.Context, options: MigrateOptions, plan: bool) -> None:
    state = _sandbox_state(ctx, options) if options.sandbox else ctx.find_object(CliState)
    migration = _guarded(lambda: Migration(options, state))
    if plan:
        print_plan(_guarded(lambda: anyio.run(migration.plan)))
        return
    identity = RunIdentity(
        command=TITLE, settings=_identity_settings(options), path="Lead Gen & CRM account"
    )
    _check_resumable(options.resume, identity)
    writer = _open_report(
        options.report, options.resume, identity, writer=PairingReport, sandbox=options.sandbox
    )
    assert isinstance(writer, PairingReport)
    writer.keep = options.lists
    applied = load_applied_sources(options.resume)
    with writer:
        run = _guarded(lambda: anyio.run(migration.run, writer, applied))
    print_outcome(migration, run, writer.path)
    finish(ctx, run, ok=all(result.ok for result in migration.lists))


def _identity_settings(options: MigrateOptions) -> dict[str, Any]:
    """What a resumed run must share with the report's run: the two accounts."""
    if options.sandbox:
        return {"source": "sandbox", "target": "sandbox"}
    source = leadgen_settings(options.leadgen)
    target = resolve_settings_of(options.marketo)
    return {
        "source": f"{source.get('base_url', DEFAULT_BASE_URL)} account {source.get('account_id')}",
        "target": target.base_url or target.munchkin_id,
    }


def _guarded(call: Any) -> Any:
    try:
        return call()
    except MappingError as exc:
        fail(str(exc), ExitCode.USAGE)
    except MarketoError as exc:
        fail(str(exc))


@click.command("leadgen-to-marketo")
@click.option(
    "--mapping",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON object: Lead Gen & CRM systemName -> Marketo REST name, or null to "
    "drop a field; overrides the default map entry by entry.",
)
@click.option(
    "--plan",
    is_flag=True,
    help="Print the resolved field map against Marketo's describe and the source "
    "fields left out; write nothing.",
)
@click.option(
    "--lists",
    is_flag=True,
    help="Also add each lead to the Marketo static lists named like its Lead Gen & "
    "CRM lists (created if missing, in --lists-folder).",
)
@click.option(
    "--lists-folder",
    type=click.IntRange(min=1),
    metavar="FOLDER_ID",
    help="Marketing folder for static lists --lists must create.",
)
@utc_time_option(
    "--updated-since", "Only leads created or updated since then (UTC) [default: every lead]."
)
@click.option(
    "--report",
    type=OutputFile(path_type=Path),
    help="One JSON line per lead read: row (its Lead Gen & CRM id), key (email), "
    "status, id (Marketo's), reasons.",
)
@click.option(
    "--resume",
    type=click.Path(dir_okay=False, path_type=Path),
    multiple=True,
    help="Skip the leads this earlier report shows applied (appended to unless "
    "--report names another file). Repeatable.",
)
@progress_options
@env_file_option("LEADGEN_* and MARKETO_*", default="./.env")
@click.option(
    "--sandbox",
    is_flag=True,
    help="Run on in-process emulators: a dirty FakeLeadGen account and FakeMarketo.",
)
@click.option(
    "--sandbox-leads",
    type=click.IntRange(min=1),
    default=240,
    show_default=True,
    help="Leads in the sandbox's Lead Gen & CRM account.",
)
@latency_option("Server time per sandbox call.")
@logging_option("-v shows retries and warnings of both clients; -vv each call (secrets masked).")
@click.pass_context
def leadgen_to_marketo(
    ctx: click.Context,
    /,
    mapping: Path | None,
    plan: bool,
    lists: bool,
    lists_folder: int | None,
    updated_since: dt.datetime | None,
    **rest: Any,
) -> None:
    """Copy every Lead Gen & CRM lead into Marketo (createOrUpdate by email).

    Settings: LEADGEN_ACCOUNT_ID, LEADGEN_SECRET_KEY, LEADGEN_BASE_URL and MARKETO_BASE_URL
    (or MARKETO_MUNCHKIN_ID), MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET, from the environment
    or a dotenv file. Leads whose email is empty or not an address are reported, not sent;
    emails that differ only in letter case update one Marketo lead, in source order. Exit
    status: 0 when every lead with a usable email applied, 1 otherwise, 130 on Ctrl-C.
    """
    options = MigrateOptions(
        mapping=mapping, lists=lists, lists_folder=lists_folder, since=updated_since, **rest
    )
    _execute(ctx, options, plan)


@click.group("migrate", commands=[leadgen_to_marketo])
def migrate() -> None:
    """Move records from another system into Marketo, exactly once each."""
