"""``marketo-async leadgen leads upsert|export``: the Lead Gen & CRM (formerly SharpSpring) API.

Settings come from ``--base-url``/``--account-id``, ``LEADGEN_*`` variables, or a dotenv file;
``LEADGEN_SECRET_KEY`` is read from the environment or the dotenv file only and never printed
(the client masks it in every URL it logs). ``--sandbox`` runs against an in-process
FakeLeadGen with the API's limits. Bulk commands share the Marketo commands' runner: the same
report, ``--resume``, progress, signals and exit status.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
import click

from ..leadgen import DEFAULT_BASE_URL, LEADGEN_RATE_LIMITS, LeadGenClient, LeadGenLead
from ..leadgen._writes import MAX_OBJECTS_PER_CALL
from ._bulk import run_bulk
from ._connect import is_loopback_url, seeding
from ._export import ExportTarget, export_records, run_export
from ._input import InputError, InputOptions, read_rows
from ._options import (
    batch_size_choice,
    env_file_option,
    input_options,
    latency_option,
    logging_option,
    option_group,
    out_option,
    progress_options,
    run_options,
    seed_option,
    utc_time_option,
)
from ._output import ExitCode, fail
from ._preflight import did_you_mean
from ._run import Send
from ._settings import read_dotenv
from ._state import CliState

if TYPE_CHECKING:
    from ..testing import FakeLeadGen

__all__ = ["LeadGenCliState", "LeadGenConnect", "leadgen"]

F = TypeVar("F", bound=Callable[..., Any])

# The columns every export starts with (the contract), then the --fields asked for.
EXPORT_COLUMNS = ("id", "emailAddress", "firstName", "lastName")
_VARIABLES = {
    "base_url": "LEADGEN_BASE_URL",
    "account_id": "LEADGEN_ACCOUNT_ID",
    "secret_key": "LEADGEN_SECRET_KEY",
}


@attrs.define
class LeadGenCliState(CliState):
    """Tests pass ``LeadGenCliState(leadgen=fake)`` as click's ``obj`` to run ``--sandbox``
    commands against a FakeLeadGen they seeded (``client_options`` go to its client)."""

    leadgen: FakeLeadGen | None = None


@attrs.frozen(kw_only=True)
class LeadGenConnect:
    """The connection options of a ``leadgen`` command."""

    base_url: str | None = None
    account_id: str | None = None
    env_file: Path | None = None
    sandbox: bool = False
    sandbox_latency: float = 0.0
    sandbox_seed: Path | None = None
    sandbox_credentials: bool = False

    def open(
        self, state: CliState | None = None, **client_kwargs: Any
    ) -> AbstractAsyncContextManager[LeadGenClient]:
        """The LeadGenClient these options ask for (see :func:`open_leadgen`)."""
        return open_leadgen(self, state, **client_kwargs)


# Where to connect, as one ``connect: LeadGenConnect`` (a field per option, same name).
_leadgen_connection_options = option_group(
    "connect",
    LeadGenConnect,
    click.option(
        "--base-url",
        metavar="URL",
        help="API endpoint [env LEADGEN_BASE_URL; default "
        "https://api.sharpspring.com/pubapi/v1.2/]; http://127.0.0.1:PORT/pubapi/v1.2/ (with "
        "--sandbox-credentials) for `python -m marketo_async.testing serve-leadgen`.",
    ),
    click.option("--account-id", metavar="ID", help="[env LEADGEN_ACCOUNT_ID]"),
    env_file_option("LEADGEN_*"),
    click.option(
        "--sandbox",
        is_flag=True,
        help="Run against an in-process Lead Gen & CRM emulator (FakeLeadGen) with the "
        "API's limits: 10 calls a second, 50,000 a day.",
    ),
    latency_option("Server time per sandbox call."),
    seed_option("Seed the sandbox: a FakeLeadGen JSON seed file, or a CSV/JSONL of leads."),
    click.option(
        "--sandbox-credentials",
        is_flag=True,
        help="Use the local emulator's built-in account id and secret key (for "
        "`serve-leadgen` on a loopback --base-url); never guessed from the URL.",
    ),
)


def leadgen_connection_options(function: F) -> F:
    """Where to connect. The secret key has no flag: LEADGEN_SECRET_KEY (env or dotenv) only."""
    log = logging_option(
        "-v shows retries and other warnings; -vv each call (the secret key masked)."
    )
    return _leadgen_connection_options(log(function))


def _settings(options: LeadGenConnect) -> dict[str, str]:
    """Flags win over the environment, which wins over the dotenv file."""
    try:
        if options.env_file is not None:
            dotenv = read_dotenv(options.env_file)
        else:
            dotenv = read_dotenv(".env") if Path(".env").is_file() else {}
    except OSError as exc:
        raise click.UsageError(f"cannot read the dotenv file: {exc}") from None
    flags = {"base_url": options.base_url, "account_id": options.account_id}
    settings: dict[str, str] = {}
    for name, variable in _VARIABLES.items():
        value = flags.get(name) or os.environ.get(variable) or dotenv.get(variable)
        if value:
            settings[name] = value
    return settings


def make_sandbox(*, latency: float, seed: Path | None) -> FakeLeadGen:
    """A FakeLeadGen with the API's limits, seeded from a JSON seed file or a CSV/JSONL."""
    from ..testing import FakeLeadGen

    fake = FakeLeadGen(latency=latency)
    if seed is not None:
        with seeding(seed, "--sandbox-seed"):
            if seed.suffix.lower() == ".json":
                fake.seed_file(seed)
            else:
                with read_rows(seed) as rows:
                    for item in rows:
                        if item.record is not None:
                            fake.add_lead(**item.record)
    return fake


@contextlib.asynccontextmanager
async def open_leadgen(
    options: LeadGenConnect, state: CliState | None = None, **client_kwargs: Any
) -> AsyncIterator[LeadGenClient]:
    """The client the options ask for: ``--sandbox`` (in-process), or a real/served API.

    ``client_kwargs`` go to the LeadGenClient (say, a ``limiter``)."""
    if options.sandbox:
        fake = state.leadgen if isinstance(state, LeadGenCliState) else None
        if fake is None:
            fake = make_sandbox(latency=options.sandbox_latency, seed=options.sandbox_seed)
        extra = {**(state.client_options if state is not None else {}), **client_kwargs}
        async with fake.client(rate_limits=LEADGEN_RATE_LIMITS, **extra) as client:
            yield client
        return
    settings = _settings(options)
    if options.sandbox_credentials:
        # `python -m marketo_async.testing serve-leadgen` answers its well-known credentials;
        # asked for by name only, never guessed from the URL.
        if not is_loopback_url(settings.get("base_url")):
            raise click.UsageError(
                "--sandbox-credentials is for a local emulator (`python -m "
                "marketo_async.testing serve-leadgen`): give a loopback --base-url"
            )
        from ..testing import FakeLeadGen

        served = FakeLeadGen()
        settings.setdefault("account_id", served.account_id)
        settings.setdefault("secret_key", served.secret_key)
    missing = [
        _VARIABLES[name] + (" (environment or dotenv file only)" if name == "secret_key" else "")
        for name in ("account_id", "secret_key")
        if name not in settings
    ]
    if missing:
        hint = (
            " (for `serve-leadgen`: pass --sandbox-credentials)"
            if is_loopback_url(settings.get("base_url"))
            else ""
        )
        raise click.UsageError(
            "not configured: set " + "; ".join(missing) + hint + ", or use --sandbox to try "
            "the commands against a local emulator"
        )
    try:
        client = LeadGenClient(
            account_id=settings["account_id"],
            secret_key=settings["secret_key"],
            base_url=settings.get("base_url", DEFAULT_BASE_URL),
            **client_kwargs,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    async with client:
        yield client


def _state(ctx: click.Context) -> CliState | None:
    return ctx.find_object(CliState)


# --------------------------------------------------------------------------- leads upsert


def _prepare(record: Mapping[str, Any]) -> tuple[Any, Any]:
    return record, record.get("emailAddress")


@click.command("upsert")
@click.argument(
    "file", type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path)
)
@batch_size_choice(
    MAX_OBJECTS_PER_CALL,
    "Leads per API call (the API takes 500; 250 is advised with many custom fields).",
)
@input_options
@run_options
@leadgen_connection_options
@click.pass_context
def leadgen_upsert(
    ctx: click.Context,
    file: Path,
    batch_size: int,
    input_options: InputOptions,
    report: Path | None,
    resume: tuple[Path, ...],
    progress_mode: str,
    progress_interval: float,
    connect: LeadGenConnect,
) -> None:
    """Create the leads of FILE; update by email those whose email already exists.

    FILE is CSV (header row of systemNames, emailAddress required) or JSONL. Empty CSV cells
    are left out, so they never blank a field. One report line per row: created, updated,
    or failed with the API's reason.
    """
    try:
        rows = read_rows(file, options=input_options)
    except InputError as exc:
        fail(str(exc), ExitCode.USAGE)

    def send(client: LeadGenClient) -> Send:
        return functools.partial(client.leads.upsert, batch_size=batch_size)

    run_bulk(
        ctx,
        title=f"leadgen leads upsert {'stdin' if str(file) == '-' else file.name}",
        path=file,
        rows=rows,
        prepare=_prepare,
        send=send,
        connect=connect,
        report=report,
        resume=resume,
        progress_mode=progress_mode,
        progress_interval=progress_interval,
    )


# --------------------------------------------------------------------------- leads export


def _row(lead: LeadGenLead) -> dict[str, Any]:
    row = dict(lead)
    row["id"] = lead.id
    return row


async def _copy_leads(
    connect: LeadGenConnect,
    state: CliState | None,
    target: ExportTarget,
    *,
    columns: Sequence[str],
    since: dt.datetime | None,
    until: dt.datetime | None,
) -> int:
    async with connect.open(state) as client:
        extra = [name for name in columns if name != "id"]
        known = {field.system_name async for field in client.leads.fields()}
        unknown = [name for name in extra if name not in known]
        if unknown:  # the API answers a field it lacks with nothing: an empty column
            named = "; ".join(f"{name!r}{did_you_mean(name, known)}" for name in unknown)
            raise ValueError(
                f"--fields names no lead field of this account: {named} (getFields lists "
                f"{len(known):,}; custom fields go by their systemName)"
            )
        if since is not None:
            end = until or dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1)
            pager = client.leads.updated_between(since, end, fields=extra)
        else:
            pager = client.leads.query({}, fields=extra)
        return await export_records(
            "leadgen leads export", pager, _row, target, fields=columns, unit="leads"
        )


@click.command("export")
@out_option
@utc_time_option(
    "--updated-since",
    "Only leads created or updated since then (UTC) [default: every active lead].",
)
@utc_time_option("--until", "With --updated-since: up to (not including) then [default: now].")
@click.option(
    "--fields",
    multiple=True,
    metavar="A,B,...",
    help="More systemNames after id, emailAddress, firstName, lastName (comma-separated, "
    "repeatable).",
)
@click.option("--format", "output_format", type=click.Choice(["csv", "jsonl"]), default=None)
@progress_options
@leadgen_connection_options
@click.pass_context
def leadgen_export(
    ctx: click.Context,
    out: str,
    updated_since: dt.datetime | None,
    until: dt.datetime | None,
    fields: tuple[str, ...],
    output_format: str | None,
    progress_mode: str,
    progress_interval: float,
    connect: LeadGenConnect,
) -> None:
    """Write leads as CSV (a header of systemNames, then one row per lead) or JSONL.

    Values are written decoded: HTML entities the API sends for values typed in its UI are
    turned back into text once.
    """
    if until is not None and updated_since is None:
        raise click.UsageError("--until goes with --updated-since")
    extra = [name.strip() for group in fields for name in group.split(",") if name.strip()]
    columns = list(dict.fromkeys([*EXPORT_COLUMNS, *extra]))
    target = ExportTarget(
        out=out,
        output_format=output_format,
        progress_mode=progress_mode,
        progress_interval=progress_interval,
    )
    copy = functools.partial(
        _copy_leads,
        connect,
        _state(ctx),
        target,
        columns=columns,
        since=updated_since,
        until=until,
    )
    run_export(copy, target, what="leads")


# --------------------------------------------------------------------------- the groups


@click.group("leads", commands=[leadgen_upsert, leadgen_export])
def leadgen_leads() -> None:
    """Upsert and export Lead Gen & CRM leads."""


@click.group("leadgen", commands=[leadgen_leads])
def leadgen() -> None:
    """Lead Gen & CRM (formerly SharpSpring): upsert and export leads.

    Settings: --base-url and --account-id, LEADGEN_* environment variables, or a dotenv file
    (LEADGEN_ACCOUNT_ID, LEADGEN_SECRET_KEY, LEADGEN_BASE_URL; the secret key is read from
    the environment or the dotenv file only, and never printed).
    """
