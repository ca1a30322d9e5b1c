"""From command-line options to a connected :class:`MarketoClient` (or an in-process sandbox),
and :class:`Connect`, the one way a command opens either client (Marketo or Lead Gen & CRM)."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import anyio
import attrs
import click
import httpx

from .._client import MarketoClient
from .._config import RateLimits
from .._errors import MarketoError
from .._transport import ClientStats, Limiter
from .._transport._tls import tls_context
from .._transport._wire import is_loopback_host
from ..models._field_values import typed_value
from ._input import read_rows
from ._output import fail
from ._settings import Settings, resolve_settings, without_password
from ._state import CliState, cli_state

if TYPE_CHECKING:
    from ..testing import FakeMarketo

__all__ = [
    "ApiClient",
    "Connect",
    "ConnectOptions",
    "check_reachable",
    "emulator_credentials",
    "fleet_limiter",
    "instance_host",
    "is_loopback_url",
    "load_leads_into",
    "make_sandbox",
    "open_client",
    "parse_rate_limit",
    "run_read",
    "seeding",
]

logger = logging.getLogger("marketo_async")

# Seconds the one probe before a run may take (Marketo answers it within one).
REACH_TIMEOUT_S = 8.0

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*s?\s*$")


class ApiClient(Protocol):
    """What the CLI's runner reads of the client it opened (MarketoClient, LeadGenClient)."""

    @property
    def limiter(self) -> Limiter: ...

    @property
    def rate_limits(self) -> RateLimits: ...

    @property
    def stats(self) -> ClientStats: ...


ClientT = TypeVar("ClientT", bound=ApiClient, covariant=True)
T = TypeVar("T")


class Connect(Protocol[ClientT]):
    """Where a command connects: :class:`ConnectOptions` (Marketo) or ``LeadGenConnect``
    (Lead Gen & CRM); ``open`` gives the client, in-process sandbox or real."""

    @property
    def sandbox(self) -> bool: ...

    def open(
        self, state: CliState | None = None, **client_kwargs: Any
    ) -> AbstractAsyncContextManager[ClientT]:
        """The client the options ask for; ``client_kwargs`` go to it (a ``limiter`` ...)."""
        ...


@attrs.frozen(kw_only=True)
class ConnectOptions:
    """The connection options of a command (each field is one ``@connection_options`` flag)."""

    base_url: str | None = None
    munchkin_id: str | None = None
    client_id: str | None = None
    env_file: Path | None = None
    sandbox: bool = False
    sandbox_limits: bool = True
    sandbox_latency: float = 0.0
    sandbox_seed: Path | None = None
    sandbox_credentials: bool = False
    concurrency: int | None = None
    rate_limit: str | None = None
    redis_url: str | None = attrs.field(default=None, repr=False)
    redis_key: str | None = None

    def open(
        self, state: CliState | None = None, **client_kwargs: Any
    ) -> AbstractAsyncContextManager[MarketoClient]:
        """The MarketoClient these options ask for (see :func:`open_client`)."""
        return open_client(self, state, **client_kwargs)


def parse_rate_limit(text: str | None, concurrency: int | None) -> RateLimits:
    """``100/20`` (calls per seconds, Marketo's default) or ``none`` -> RateLimits."""
    in_flight = concurrency if concurrency is not None else 10
    if text is None or text.strip().lower() in ("", "marketo", "default"):
        return RateLimits(concurrency=in_flight)
    if text.strip().lower() in ("none", "off", "unlimited"):
        return RateLimits(
            calls=1_000_000_000,
            period=1.0,
            concurrency=in_flight,
            daily_quota=None,
            window_margin=0.0,
        )
    match = _RATE.match(text)
    if not match:
        raise click.BadParameter(
            f"{text!r}: use CALLS/SECONDS (e.g. 100/20) or none", param_hint="--rate-limit"
        )
    try:
        return RateLimits(calls=int(match[1]), period=float(match[2]), concurrency=in_flight)
    except ValueError:
        raise click.BadParameter(
            f"{text!r}: both CALLS and SECONDS must be above 0 (e.g. 100/20), or none",
            param_hint="--rate-limit",
        ) from None


def _cause_of(error: BaseException) -> str:
    """The most specific reason in an OSError chain ("Connection refused", not "All
    connection attempts failed")."""
    seen: BaseException | None = error
    for _ in range(10):  # a chain is short; never loop on a cycle
        if seen is None:
            break
        group = getattr(seen, "exceptions", None)
        if group:
            seen = group[0]
            continue
        if isinstance(seen, OSError) and (seen.strerror or seen.errno):
            if isinstance(seen.errno, int) and seen.errno > 0:
                return os.strerror(seen.errno)  # "Connection refused"
            return str(seen.strerror)  # a resolver error: "Name or service not known"
        seen = seen.__cause__ or seen.__context__
    return str(error) or type(error).__name__


async def check_reachable(base_url: str) -> None:
    """Fail fast, naming the host and the cause, when nothing answers at ``base_url``.

    The client retries a failed connection for minutes (a blip mid-run should not lose a
    load); before the first call, one plain request (no credentials, any HTTP answer will do)
    tells a wrong URL or a closed network from a blip within seconds.
    """
    url = httpx.URL(base_url)
    timeout = REACH_TIMEOUT_S
    try:
        async with httpx.AsyncClient(timeout=timeout, verify=tls_context(url)) as probe:
            await probe.get(url.copy_with(path="/"))
    except httpx.ConnectTimeout:
        raise click.ClickException(
            f"cannot reach {url.host}: no answer within {timeout:g} s - check the base URL "
            "and the network path to Marketo"
        ) from None
    except httpx.ConnectError as exc:  # refused, no such host, TLS refused
        raise click.ClickException(
            f"cannot reach {url.host}: {_cause_of(exc)} - check the base URL and the network "
            "path to Marketo"
        ) from None
    except httpx.TransportError:
        pass  # something answers there; the client's own calls will say what is wrong


def is_loopback_url(url: str | None) -> bool:
    if not url:
        return False
    try:
        host = httpx.URL(url).host
    except (httpx.InvalidURL, ValueError):
        return False
    return is_loopback_host(host)


def emulator_credentials() -> tuple[str, str]:
    """The local sandbox's client id and secret (FakeMarketo's defaults)."""
    from ..testing import FakeMarketo

    fake = FakeMarketo()
    return fake.client_id, fake.client_secret


def load_leads_into(fake: FakeMarketo, path: Path) -> int:
    """Seed a sandbox with the leads of a CSV/JSONL file; returns how many rows were read.

    A row whose email (in any letter case) an earlier lead holds updates that lead, as
    Marketo's dedupe by email would, so the sandbox never starts with duplicate leads.
    """
    rows = 0
    for item in read_rows(path):
        if item.record is None:
            continue
        rows += 1
        record = _typed_where_it_fits(fake, item.record)
        email = record.get("email")
        found = fake.store.find_leads("email", email) if email else []
        if found:
            fake.store.update_lead(found[0], record)
        else:
            fake.add_lead(**record)
    return rows


def _typed_where_it_fits(fake: FakeMarketo, record: Mapping[str, Any]) -> dict[str, Any]:
    """CSV text as its field's type (``"68"`` -> 68), as Marketo would store it; a value that
    does not fit is seeded as written (a sandbox may hold what the test wants)."""
    typed: dict[str, Any] = {}
    for name, value in record.items():
        field = fake.store.lead_fields.get(name)
        try:
            typed[name] = value if field is None else typed_value(field.data_type, value)
        except ValueError:
            typed[name] = value
    return typed


def make_sandbox(
    *, limits: bool, latency: float, seed: Path | None, seed_option: str = "--sandbox-seed"
) -> FakeMarketo:
    """A FakeMarketo with Marketo's limits (100 calls/20 s, 10 in flight, 50,000 a day).

    A ``seed`` that cannot be read or seeded from is a usage error naming ``seed_option``.
    """
    from ..testing import BulkSettings, FakeMarketo

    fake = FakeMarketo(
        latency=latency,
        rate_limits=RateLimits(window_margin=0.0) if limits else None,
        bulk=BulkSettings.brisk(),  # bulk jobs of seconds, not Marketo's minutes
    )
    if seed is not None:
        with seeding(seed, seed_option):
            if seed.suffix.lower() == ".json":
                fake.seed_file(seed)
            else:
                load_leads_into(fake, seed)
    return fake


@contextlib.contextmanager
def seeding(seed: Path, option: str) -> Iterator[None]:
    """An emulator seeded from ``seed``: a file that cannot be read or loaded is a usage
    error naming ``option`` (``--sandbox-seed``, ``--seed``), not a traceback."""
    try:
        yield
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise click.BadParameter(
            f"cannot seed from {seed}: {_seed_problem(exc)}", param_hint=option
        ) from None


def _seed_problem(error: Exception) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    if isinstance(error, (TypeError, KeyError)):  # a value or key the seed format lacks
        return f"not a seed the emulator can load ({type(error).__name__}: {error})"
    return str(error)


def resolve(options: ConnectOptions) -> Settings:
    flags = {
        "base_url": options.base_url,
        "munchkin_id": options.munchkin_id,
        "client_id": options.client_id,
        "redis_url": options.redis_url,
        "redis_key": options.redis_key,
    }
    try:
        settings = resolve_settings(flags, env_file=options.env_file)
    except OSError as exc:
        raise click.UsageError(f"cannot read the dotenv file: {exc}") from None
    if options.sandbox_credentials:
        # `marketo-async sandbox serve` speaks with the emulator's well-known credentials;
        # asked for by name only, never guessed from the URL.
        if not is_loopback_url(settings.base_url):
            raise click.UsageError(
                "--sandbox-credentials is for a local emulator (`marketo-async sandbox serve`): "
                "give a loopback --base-url such as http://127.0.0.1:8080"
            )
        settings = settings.with_defaults(*emulator_credentials())
    return settings


def instance_host(settings: Settings) -> str:
    """The instance's host (and port, when the URL names one): a fleet's default Redis key."""
    url = httpx.URL(settings.base_url or f"https://{settings.munchkin_id}.mktorest.com")
    return f"{url.host}:{url.port}" if url.port else url.host


REDIS_SCHEMES = ("redis", "rediss", "unix")


def redis_url_problem(url: str) -> str | None:
    """Why ``url`` is no Redis URL RedisLimiter can open (its password masked), or None."""
    shown = without_password(url)
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return f"{shown!r}: the port must be a number (e.g. redis://host:6379/0)"
    if parts.scheme not in REDIS_SCHEMES:
        return (
            f"{shown!r}: use redis://host:6379/0, rediss://host:6380/0 or unix:///path/redis.sock"
        )
    if parts.scheme == "unix" and not parts.path:
        return f"{shown!r}: a unix:// URL needs the socket's path (unix:///path/redis.sock)"
    if parts.scheme != "unix" and not parts.hostname and port is None:
        return f"{shown!r}: the URL needs a host (e.g. redis://host:6379/0)"
    return None


@contextlib.asynccontextmanager
async def fleet_limiter(
    settings: Settings, rate_limits: RateLimits, default_key: str
) -> AsyncIterator[Limiter | None]:
    """A RedisLimiter on ``--redis`` (None without it), checked before the run starts.

    On leaving, ``-v`` shows how long background calls waited for interactive ones (a
    service sharing the budget).
    """
    if not settings.redis_url:
        yield None
        return
    problem = redis_url_problem(settings.redis_url)
    if problem:  # from MARKETO_REDIS_URL (--redis is checked as it is parsed)
        raise click.UsageError(f"Redis URL {problem}")
    try:
        from ..redis import RedisLimiter, RedisUnavailableError
    except ImportError:
        raise click.UsageError(
            "--redis needs the redis extra: pip install 'marketo_async[redis]'"
        ) from None
    key = settings.redis_key or default_key
    async with RedisLimiter(settings.redis_url, key=key, rate_limits=rate_limits) as limiter:
        try:
            await limiter.check()
        except RedisUnavailableError as exc:
            raise click.ClickException(exc.message) from None
        try:
            yield limiter
        finally:
            logger.warning(
                "background calls waited %.1f s for interactive calls sharing the budget "
                "(Redis key %s)",
                limiter.yielded_s,
                key,
            )


@contextlib.asynccontextmanager
async def open_client(
    options: ConnectOptions, state: CliState | None = None, **client_kwargs: Any
) -> AsyncIterator[MarketoClient]:
    """The client the options ask for: ``--sandbox`` (in-process), or a real/served target.

    With ``--redis`` (or ``MARKETO_REDIS_URL``) its calls share the instance's budget with
    every process using the same Redis and key (``RedisLimiter``).
    """
    rate_limits = parse_rate_limit(options.rate_limit, options.concurrency)
    if options.sandbox:
        fake = state.sandbox if state is not None and state.sandbox is not None else None
        if fake is None:
            fake = make_sandbox(
                limits=options.sandbox_limits,
                latency=options.sandbox_latency,
                seed=options.sandbox_seed,
            )
        if not options.sandbox_limits and options.rate_limit is None:
            rate_limits = parse_rate_limit("none", options.concurrency)
        if state is not None:
            client_kwargs = {**state.client_options, **client_kwargs}
        async with fleet_limiter(resolve(options), rate_limits, "sandbox") as limiter:
            if limiter is not None:
                client_kwargs["limiter"] = limiter
            async with fake.client(rate_limits=rate_limits, **client_kwargs) as client:
                yield client
        return
    settings = resolve(options)
    missing = settings.missing()
    if missing:
        hint = (
            " (for `marketo-async sandbox serve`: pass --sandbox-credentials)"
            if is_loopback_url(settings.base_url)
            else ""
        )
        raise click.UsageError(
            "not configured: set " + "; ".join(missing) + hint + ", or use --sandbox to try "
            "the commands against a local emulator"
        )
    assert settings.client_id is not None and settings.client_secret is not None
    async with fleet_limiter(settings, rate_limits, instance_host(settings)) as limiter:
        if limiter is not None:
            client_kwargs["limiter"] = limiter
        try:
            client = MarketoClient(
                base_url=settings.base_url,
                munchkin_id=settings.munchkin_id if not settings.base_url else None,
                client_id=settings.client_id,
                client_secret=settings.client_secret,
                rate_limits=rate_limits,
                **client_kwargs,
            )
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
        if "transport" not in client_kwargs:
            await check_reachable(client.base_url)
        async with client:
            yield client


def run_read(
    ctx: click.Context,
    connect: ConnectOptions,
    read: Callable[[MarketoClient], Awaitable[T]],
) -> T:
    """``read(client)`` on the client ``connect`` asks for: a command that only reads (a
    describe, a list). A Marketo error exits 1 naming it."""

    async def go() -> T:
        async with open_client(connect, cli_state(ctx)) as client:
            return await read(client)

    try:
        return anyio.run(go)
    except MarketoError as error:
        fail(str(error))
