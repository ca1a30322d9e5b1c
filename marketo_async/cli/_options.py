"""The options many commands share: where to connect, logging, the report and progress, input.

Each is a decorator: ``@connection_options`` hands the command one ``connect:
ConnectOptions`` argument (and scopes ``-v`` logging to the command); ``@run_options`` adds
``report``, ``resume``, ``progress_mode`` and ``progress_interval``; ``@export_options`` one
``export: ExportTarget``. ``option_group`` makes such a decorator.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

import attrs
import click

from .._batch import MAX_BATCH_SIZE
from ._connect import ConnectOptions, parse_rate_limit, redis_url_problem
from ._export import ExportTarget
from ._input import InputOptions

__all__ = [
    "FORMATS",
    "RUN_OPTION_NAMES",
    "OutputFile",
    "batch_size_choice",
    "batch_size_option",
    "cli_logging",
    "connection_options",
    "export_options",
    "extract_poll_option",
    "id_column_option",
    "input_options",
    "logging_option",
    "option_group",
    "out_option",
    "out_options",
    "progress_options",
    "run_options",
    "utc_time_option",
]

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = click.Choice(["csv", "jsonl"], case_sensitive=False)

# The keyword arguments @run_options adds (a bulk command passes them on to its runner).
RUN_OPTION_NAMES = ("report", "resume", "progress_mode", "progress_interval")


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


class OutputFile(click.Path):
    """A file the command writes (``-``: stdout, where allowed): not a directory, and in a
    directory that exists. Checked when the options are read, so a mistyped path is a usage
    error (exit 2) before any call, not a failure once the run is under way."""

    def __init__(self, *, allow_dash: bool = False, path_type: type[Any] | None = None) -> None:
        super().__init__(dir_okay=False, allow_dash=allow_dash, path_type=path_type)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        path = super().convert(value, param, ctx)
        text = os.fsdecode(path)
        if self.allow_dash and text == "-":
            return path
        folder = Path(text).parent
        if not folder.exists():
            self.fail(
                f"{text!r} is in a directory that does not exist: {str(folder)!r}", param, ctx
            )
        if not folder.is_dir():
            self.fail(f"{text!r} is in {str(folder)!r}, which is not a directory", param, ctx)
        return path


def _apply(function: Any, options: Sequence[Callable[[Any], Any]]) -> Any:
    for option in reversed(options):
        function = option(function)
    return function


def _check_rate_limit(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    parse_rate_limit(value, None)  # a usage error (exit 2) now, not a traceback later
    return value


def _check_redis_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    problem = redis_url_problem(value) if value else None
    if problem:  # a usage error (exit 2) before any call, the password masked
        raise click.BadParameter(problem, ctx=ctx, param=param)
    return value


def env_file_option(settings: str, *, default: str = "./.env when present") -> Callable[[F], F]:
    """``--env-file``: a dotenv file holding ``settings`` (``MARKETO_*`` ...)."""
    return click.option(
        "--env-file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help=f"Dotenv file with {settings} settings (default: {default}).",
    )


def latency_option(help: str, *, name: str = "--sandbox-latency") -> Callable[[F], F]:
    """The server time an emulator spends on each call (``--sandbox-latency`` by default)."""
    return click.option(
        name,
        type=click.FloatRange(min=0.0),
        default=0.0,
        show_default=True,
        metavar="SECONDS",
        help=help,
    )


def seed_option(help: str, *, name: str = "--sandbox-seed") -> Callable[[F], F]:
    """A file an emulator is seeded from (``--sandbox-seed`` by default)."""
    return click.option(
        name, type=click.Path(exists=True, dir_okay=False, path_type=Path), help=help
    )


def _utc(ctx: click.Context, param: click.Parameter, value: dt.datetime | None) -> Any:
    # click's DateTime gives naive values: they are UTC, like Lead Gen & CRM's v1.2 times.
    return None if value is None else value.replace(tzinfo=dt.timezone.utc)


def utc_time_option(name: str, help: str) -> Callable[[F], F]:
    """A ``YYYY-MM-DD[ HH:MM:SS]`` option read as a UTC time (an aware datetime)."""
    return click.option(
        name, type=click.DateTime(), metavar="YYYY-MM-DD[ HH:MM:SS]", callback=_utc, help=help
    )


def verbose_option(help: str) -> Callable[[F], F]:
    """``-v``/``-vv``: how much of the client's logging to show."""
    return click.option("-v", "--verbose", count=True, help=help)


def option_group(name: str, into: type, *options: Callable[[Any], Any]) -> Callable[[F], F]:
    """``options`` handed to the command as one argument ``name``: ``into(**their values)``
    (``into`` is an attrs class whose fields are named like the options' parameters)."""
    keys = tuple(field.name for field in attrs.fields(into))

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            kwargs[name] = into(**{key: kwargs.pop(key) for key in keys})
            return function(*args, **kwargs)

        return cast(F, _apply(wrapper, options))

    return decorate


def logging_option(help: str) -> Callable[[F], F]:
    """``-v``/``-vv`` (see :func:`verbose_option`), the client's logging shown at that level
    while the command runs; the command does not see the option."""

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args: Any, verbose: int, **kwargs: Any) -> Any:
            with cli_logging(verbose):
                return function(*args, **kwargs)

        return verbose_option(help)(cast(F, wrapper))

    return decorate


# Where to connect, as one ``connect: ConnectOptions`` (a field per option, same name).
_connection_options = option_group(
    "connect",
    ConnectOptions,
    click.option(
        "--base-url",
        metavar="URL",
        help="Instance REST URL, e.g. https://123-ABC-456.mktorest.com "
        "[env MARKETO_BASE_URL]; http://127.0.0.1:PORT (with --sandbox-credentials) for "
        "`sandbox serve`.",
    ),
    click.option(
        "--munchkin-id", metavar="ID", help="Instead of --base-url [env MARKETO_MUNCHKIN_ID]."
    ),
    click.option("--client-id", metavar="ID", help="[env MARKETO_CLIENT_ID]"),
    env_file_option("MARKETO_*"),
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
    latency_option("Server time per sandbox call (Marketo takes 0.3-2 s for 300 leads)."),
    seed_option("Seed the sandbox: a FakeMarketo JSON seed file, or a CSV/JSONL of leads."),
    click.option(
        "--sandbox-credentials",
        is_flag=True,
        help="Use the local emulator's built-in client id and secret (for `sandbox serve` "
        "on a loopback --base-url); never guessed from the URL.",
    ),
    click.option(
        "--concurrency",
        type=click.IntRange(1, 100),
        help="Calls in flight at once [default: 10, Marketo's limit].",
    ),
    click.option(
        "--rate-limit",
        metavar="CALLS/SECONDS",
        callback=_check_rate_limit,
        help="Call budget to keep within [default: 100/20, Marketo's]; 'none' for no limit.",
    ),
    click.option(
        "--redis",
        "redis_url",
        metavar="URL",
        callback=_check_redis_url,
        help="Share the instance's budget with every process using this Redis, e.g. "
        "redis://host:6379/0: services' RedisLimiter(url, key=KEY) and other commands "
        "[env MARKETO_REDIS_URL].",
    ),
    click.option(
        "--redis-key",
        metavar="KEY",
        help="The budget's key in Redis [env MARKETO_REDIS_KEY; default: the instance's "
        "host, e.g. 123-abc-456.mktorest.com].",
    ),
)


def connection_options(function: F) -> F:
    """Where to connect. The secret has no flag: MARKETO_CLIENT_SECRET (env or dotenv) only."""
    log = logging_option(
        "-v shows retries and other warnings of the client, and how long background work "
        "waited for interactive calls; -vv each call."
    )
    return _connection_options(log(function))


def progress_options(function: F) -> F:
    """``--progress`` and ``--progress-interval``."""
    return cast(
        F,
        _apply(
            function,
            [
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
            ],
        ),
    )


def run_options(function: F) -> F:
    """The per-row report, resuming, progress."""
    options = [
        click.option(
            "--report",
            type=OutputFile(path_type=Path),
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
        progress_options,
    ]
    return cast(F, _apply(function, options))


def _delimiter(ctx: click.Context, param: click.Parameter, value: str) -> str:
    value = {"\\t": "\t", "tab": "\t"}.get(value, value)
    if len(value) != 1 or value in '"\r\n':
        raise click.BadParameter("one character, e.g. ';' or '\\t' (tab)")
    return value


def input_options(function: F) -> F:
    """How to read FILE: ``--format``, ``--delimiter``, ``--encoding`` -> ``input_options``."""
    options = [
        click.option(
            "--format",
            "input_format",
            type=FORMATS,
            help="Input format [default: from the file suffix; .jsonl/.ndjson are JSONL; "
            "a .gz file is unpacked].",
        ),
        click.option(
            "--delimiter",
            default=",",
            show_default=True,
            callback=_delimiter,
            metavar="CHAR",
            help="CSV column separator ('\\t' for tab).",
        ),
        click.option(
            "--encoding",
            default="utf-8-sig",
            show_default=True,
            metavar="NAME",
            help="Text encoding of FILE [default: UTF-8, with or without a byte-order mark].",
        ),
    ]

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        kwargs["input_options"] = InputOptions(
            format=kwargs.pop("input_format"),
            delimiter=kwargs.pop("delimiter"),
            encoding=kwargs.pop("encoding"),
        )
        return function(*args, **kwargs)

    return cast(F, _apply(wrapper, options))


def batch_size_choice(most: int, help: str) -> Callable[[F], F]:
    """``--batch-size``: records per call, 1 to ``most`` (the API's limit, the default)."""
    return click.option(
        "--batch-size",
        type=click.IntRange(1, most),
        default=most,
        show_default=True,
        help=help,
    )


# Marketo's REST writes: up to 300 records a call.
batch_size_option = batch_size_choice(
    MAX_BATCH_SIZE, "Records per API call (lower it for very wide records)."
)


def id_column_option(function: F) -> F:
    return click.option(
        "--id-column",
        metavar="NAME",
        help="CSV/JSONL column holding lead ids [default: id, else leadId]. A .txt file "
        "holds one id a line.",
    )(function)


# ``--out FILE`` of an export (``-``: stdout).
out_option = click.option(
    "--out",
    type=OutputFile(allow_dash=True),
    default="-",
    show_default=True,
    metavar="FILE",
    help="Output file; - is stdout.",
)


def out_options(function: F) -> F:
    """``--out FILE`` (``-``: stdout) and ``--format`` of an export."""
    function = click.option(
        "--format", "output_format", type=FORMATS, help="[default: from --out suffix]"
    )(function)
    return out_option(function)


# An export's --out, --format and progress, as one ``export: ExportTarget``.
export_options = option_group("export", ExportTarget, out_options, progress_options)


def extract_poll_option(function: F) -> F:
    """``--poll-interval`` of a command that reads through Bulk Extract when asked to."""
    return click.option(
        "--poll-interval",
        type=click.FloatRange(min=0.0),
        default=60.0,
        show_default=True,
        help="Bulk Extract: seconds between status checks.",
    )(function)
