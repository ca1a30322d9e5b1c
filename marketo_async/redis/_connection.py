"""One Redis connection per event loop, the URL with its password hidden, and the outage state.

redis-py's asyncio client runs only on asyncio; on trio the blocking client runs in worker
threads. Every operation is one Lua script, so both paths need only ``run``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol

import anyio
import anyio.lowlevel
import redis
import redis.asyncio
import redis.backoff
import redis.exceptions

from .._errors import MarketoError
from ._scripts import Script

__all__ = [
    "Connection",
    "RedisUnavailableError",
    "SharedLimiterError",
    "keeping",
    "redact_url",
]

logger = logging.getLogger("marketo_async")

# Seconds to wait for Redis before calling it unreachable: long enough for a busy server.
REDIS_TIMEOUT_S = 5.0
# After an outage, Redis is tried again this long after the last failure.
RECONNECT_AFTER_S = 30.0

Arg = str | int | float


class SharedLimiterError(MarketoError):
    """Redis refused an operation of the shared limiter (not an outage: a configuration problem)."""

    advice = "check that the URL points at a Redis 6.2+ primary, not a read-only replica"


class RedisUnavailableError(SharedLimiterError):
    """Redis could not be reached, so the limits shared by the fleet cannot be kept."""

    advice = (
        "start Redis or fix the URL given to RedisLimiter; or pass fallback='local' to keep "
        "working with per-process limits while Redis is away"
    )

    # When the failed operation started (anyio clock), or None: a failure of an operation
    # sent before Redis came back belongs to the outage that is already over.
    started_at: float | None = None


def redact_url(url: str) -> str:
    """``url`` with its password (in the user info or a ``password=`` query) replaced by ***."""
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        user = parts.username or ""
        host = netloc.rpartition("@")[2]
        netloc = f"{user}:***@{host}"
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    if any(name == "password" for name, _ in query):
        shown = [(name, "***" if name == "password" else value) for name, value in query]
        query_text = urllib.parse.urlencode(shown, safe="*")
    else:
        query_text = parts.query
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query_text, ""))


def _secrets_of(url: str) -> list[str]:
    parts = urllib.parse.urlsplit(url)
    found = [parts.password] if parts.password else []
    found += [v for k, v in urllib.parse.parse_qsl(parts.query) if k == "password" and v]
    # The raw and the percent-decoded spelling can both end up in a message.
    return [s for secret in found for s in {secret, urllib.parse.quote(secret, safe="")}]


class _Link(Protocol):
    async def run(self, script: Script, keys: Sequence[str], args: Sequence[Arg]) -> Any: ...

    async def aclose(self) -> None: ...


# One quick retry covers a pooled connection that went stale (Redis restarted); more would
# only delay the outage report.
_CLIENT_OPTIONS: dict[str, Any] = {
    "decode_responses": True,
    "socket_timeout": REDIS_TIMEOUT_S,
    "socket_connect_timeout": REDIS_TIMEOUT_S,
}


class _AsyncioLink:
    def __init__(self, url: str) -> None:
        self._client = redis.asyncio.Redis.from_url(
            url,
            retry=redis.asyncio.retry.Retry(redis.backoff.NoBackoff(), 1),
            **_CLIENT_OPTIONS,
        )
        self._scripts: dict[str, Any] = {}

    async def run(self, script: Script, keys: Sequence[str], args: Sequence[Arg]) -> Any:
        registered = self._scripts.get(script.name)
        if registered is None:
            registered = self._scripts[script.name] = self._client.register_script(script.text)
        return await registered(keys=list(keys), args=list(args))

    async def aclose(self) -> None:
        await self._client.aclose()


class _ThreadLink:
    def __init__(self, url: str) -> None:
        self._client = redis.Redis.from_url(
            url, retry=redis.retry.Retry(redis.backoff.NoBackoff(), 1), **_CLIENT_OPTIONS
        )
        self._scripts: dict[str, Any] = {}

    async def run(self, script: Script, keys: Sequence[str], args: Sequence[Arg]) -> Any:
        registered = self._scripts.get(script.name)
        if registered is None:
            registered = self._scripts[script.name] = self._client.register_script(script.text)
        call = functools.partial(registered, keys=list(keys), args=list(args))
        return await anyio.to_thread.run_sync(call)

    async def aclose(self) -> None:
        await anyio.to_thread.run_sync(self._client.close)


def _on_asyncio() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class Connection:
    """Runs the shared limiter's scripts on Redis and remembers whether Redis is away."""

    def __init__(self, url: str, *, fallback: str = "error") -> None:
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(
                "the Redis URL must start with redis://, rediss:// or unix://, got "
                f"{redact_url(url)!r}"
            )
        self._url = url
        self.shown_url = redact_url(url)
        self._secrets = _secrets_of(url)
        # redis-py's connections belong to the event loop that opened them.
        self._links: anyio.lowlevel.RunVar[_Link | None] = anyio.lowlevel.RunVar(
            f"marketo_async.redis.{id(self)}"
        )
        self._down_until: float | None = None
        self._down_since: float | None = None
        # When the last outage ended (anyio clock), or None.
        self.recovered_at: float | None = None
        # When the operation Redis answered last was sent (anyio clock), or None.
        self._answered_started_at: float | None = None
        self.fallback = fallback
        # The epoch of Redis's data this process saw last ('' before the first acquisition).
        self.epoch = ""
        self.restarts = 0  # restarts of Redis this process noticed (its epoch changed)

    def __repr__(self) -> str:
        return f"Connection({self.shown_url!r})"

    def _link(self) -> _Link:
        link = self._links.get(None)
        if link is None:
            link = _AsyncioLink(self._url) if _on_asyncio() else _ThreadLink(self._url)
            self._links.set(link)
        return link

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    async def run(self, script: Script, keys: Sequence[str], args: Sequence[Arg]) -> Any:
        """Run ``script``; raises RedisUnavailableError or SharedLimiterError, no redis error."""
        started_at = anyio.current_time()
        try:
            answer = await self._link().run(script, keys, args)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
            detail = self._scrub(f"{type(exc).__name__}: {exc}")
            unavailable = RedisUnavailableError(
                f"cannot reach Redis at {self.shown_url} ({detail})"
            )
            unavailable.started_at = started_at
            raise unavailable from None
        except redis.exceptions.RedisError as exc:
            detail = self._scrub(f"{type(exc).__name__}: {exc}")
            raise SharedLimiterError(
                f"Redis at {self.shown_url} refused the {script.name} script ({detail})"
            ) from None
        # Read by mark_up, which callers call right after this returns (no await between).
        self._answered_started_at = started_at
        return answer

    async def shared(self, script: Script, keys: Sequence[str], args: Sequence[Arg]) -> Any:
        """Like :meth:`run`, but None when Redis is away and the fallback is local."""
        if not self.available():
            return None
        try:
            result = await self.run(script, keys, args)
        except RedisUnavailableError as error:
            if self.fallback != "local":
                raise
            self.mark_down(error)
            return None
        self.mark_up()
        return result

    # ---- the outage state, shared by the limiter, the token store and the key leases ----

    def available(self) -> bool:
        """False while a recent outage says to keep using per-process limits."""
        return self._down_until is None or anyio.current_time() >= self._down_until

    def mark_down(self, error: RedisUnavailableError) -> None:
        """Remember an outage: one warning when it starts, whoever notices it (an admission, a
        release, a renewal, a key lease); with the local fallback, retry Redis later."""
        if self._outlived(error):
            return
        now = anyio.current_time()
        if self._down_since is None:
            self._down_since = now
            logger.warning("%s; %s", error.message, self._consequence())
        if self.fallback == "local":
            self._down_until = now + RECONNECT_AFTER_S

    def _outlived(self, error: RedisUnavailableError) -> bool:
        """Did ``error``'s operation start before Redis came back? Under load, such a failure
        can arrive after a later operation succeeded: it starts no new outage."""
        return (
            self._down_since is None
            and self.recovered_at is not None
            and error.started_at is not None
            and error.started_at < self.recovered_at
        )

    def _consequence(self) -> str:
        if self.fallback != "local":
            return "the shared limiter raises RedisUnavailableError until Redis answers again"
        return (
            "using per-process limits until Redis answers again (the fleet may now exceed the "
            "shared limits); records with a lookup key wait for Redis and are never sent "
            "without a fleet key lease"
        )

    def mark_up(self) -> None:
        """Redis answered: one warning that the outage is over, if there was one.

        An answer to an operation sent before the outage began (a slow event loop resumes it
        late) does not end the outage."""
        sent_at = self._answered_started_at
        if self._down_since is not None and sent_at is not None and sent_at < self._down_since:
            return
        if self._down_since is not None:
            now = anyio.current_time()
            logger.warning(
                "Redis at %s answers again after %.1fs; limits and key leases are shared again",
                self.shown_url,
                now - self._down_since,
            )
            self.recovered_at = now
        self._down_since = None
        self._down_until = None

    def epoch_args(self, hold: float) -> list[Arg]:
        """The epoch guard's arguments (see ``_scripts``): ours, a new one, the hold."""
        return [self.epoch, uuid.uuid4().hex, hold]

    def adopt_epoch(self, epoch: str, hold: float) -> None:
        """Redis's data has another epoch than the one we saw: take it. When we had seen one,
        Redis restarted and lost the fleet's window, slots and key leases: say so once."""
        if self.epoch and epoch != self.epoch:
            self.restarts += 1
            logger.warning(
                "Redis at %s restarted and lost the fleet's call window, calls in flight and "
                "key leases: nothing is admitted and no key leased for %.1fs after it came "
                "back, while their holders take them back",
                self.shown_url,
                hold,
            )
            self.recovered_at = anyio.current_time()
        self.epoch = epoch

    def is_down(self) -> bool:
        """True from an outage's first failure until Redis answers again."""
        return self._down_since is not None

    def outage_seconds(self) -> float:
        """How long the current outage has lasted (0.0 when Redis answers)."""
        if self._down_since is None:
            return 0.0
        return anyio.current_time() - self._down_since

    async def aclose(self) -> None:
        """Close this event loop's connections."""
        link = self._links.get(None)
        if link is not None:
            self._links.set(None)
            await link.aclose()


@asynccontextmanager
async def keeping(keeper: Callable[[], Coroutine[Any, Any, None]]) -> AsyncIterator[None]:
    """Run ``keeper`` (a lease renewer that never raises) in the background of the body.

    The body's exception comes out as itself, not wrapped in an ExceptionGroup.
    """
    body_error: Exception | None = None
    async with anyio.create_task_group() as background:
        background.start_soon(keeper)
        try:
            yield
        except Exception as exc:
            body_error = exc
        finally:
            background.cancel_scope.cancel()
    if body_error is not None:
        raise body_error
