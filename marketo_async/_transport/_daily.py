"""The daily quota counter, taught the instance's own count.

Marketo's daily quota is shared by every integration on the instance, so a counter that starts
at zero in each process is blind to all the others. The transport asks ``stats/usage`` for the
instance's count before its first call, then again at least every
:data:`LEARN_EVERY_S` seconds or :data:`LEARN_EVERY_CALLS` calls, and raises the limiter's daily
counter to it; the limiter then refuses calls before Marketo would answer 607. A limiter shared
by a fleet (``RedisLimiter``) keeps what one process learned for all of them, so the fleet reads
the usage once per interval, not once per process.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, runtime_checkable

import anyio
import attrs

from .._errors import RequestError, TransientError
from ._gate import CURRENT_GATE, queued
from ._limiter import current_priority, day_in_zone, lane

__all__ = [
    "LEARN_EVERY_CALLS",
    "LEARN_EVERY_S",
    "USAGE_PATH",
    "DailyCounter",
    "DailyUsageWatch",
    "usage_total",
]

logger = logging.getLogger("marketo_async")

USAGE_PATH = "/rest/v1/stats/usage.json"
# Learn the instance's count again at least this often (tap-marketo reads it every 250 calls).
LEARN_EVERY_S = 600.0
LEARN_EVERY_CALLS = 500


@runtime_checkable
class DailyCounter(Protocol):
    """A limiter whose daily counter can be taught the instance's count (optional: a limiter
    without these methods keeps counting its own calls only)."""

    async def calls_today(self) -> int:
        """Calls the counter holds for today."""
        ...

    async def learn_calls_today(self, total: int, counted_before: int) -> None:
        """Marketo counted ``total`` calls today; the usage read was sent when the counter
        held ``counted_before``. Calls counted since may not be in ``total``: they are added,
        and the counter never goes down."""
        ...

    async def learned_within(self, seconds: float, calls: int) -> bool:
        """True when some process sharing this counter learned the count less than
        ``seconds`` ago and fewer than ``calls`` calls ago (a local counter: never)."""
        ...


def usage_total(body: Mapping[str, Any], today: str) -> int | None:
    """The instance's calls today from a ``stats/usage`` answer; None when it does not say
    (no result, no total, or another day: Marketo's day ends at midnight US Central time)."""
    result = body.get("result")
    if not isinstance(result, list) or not result or not isinstance(result[0], Mapping):
        return None
    day = result[0].get("date")
    total = result[0].get("total")
    if not isinstance(day, str) or day[:10] != today:
        return None
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        return None
    return total


@attrs.define(eq=False)
class DailyUsageWatch:
    """Keeps a limiter's daily counter at least at the instance's count (see the module).

    ``read_usage`` reads ``stats/usage``; ``calls_sent`` is this client's count of calls sent.
    """

    _counter: DailyCounter = attrs.field(repr=False)
    _read_usage: Callable[[], Awaitable[Mapping[str, Any]]] = attrs.field(repr=False)
    _calls_sent: Callable[[], int] = attrs.field(repr=False)
    every_s: float = attrs.field(default=LEARN_EVERY_S, kw_only=True)
    every_calls: int = attrs.field(default=LEARN_EVERY_CALLS, kw_only=True)
    _wall_clock: Callable[[], float] = attrs.field(default=time.time, kw_only=True, repr=False)
    _lock: anyio.Lock = attrs.field(factory=anyio.Lock, init=False, repr=False)
    _checked_at: float | None = attrs.field(default=None, init=False)  # anyio's clock
    _calls_at: int = attrs.field(default=0, init=False)
    reads: int = attrs.field(default=0, init=False)

    def _due(self) -> bool:
        if self._checked_at is None:
            return True
        return (
            anyio.current_time() - self._checked_at >= self.every_s
            or self._calls_sent() - self._calls_at >= self.every_calls
        )

    async def before_call(self) -> None:
        """Learn the instance's count first when it is due; one read for all callers."""
        if not self._due():
            return
        queued()  # a batch call waiting here has not been sent: a stop or cancel may drop it
        async with self._lock:
            if not self._due():
                return
            self._checked_at = anyio.current_time()
            self._calls_at = self._calls_sent()
            if await self._counter.learned_within(self.every_s, self.every_calls):
                return
            await self._learn()

    async def _learn(self) -> None:
        before = await self._counter.calls_today()
        self.reads += 1
        # The read is no part of the batch call (if any) whose task runs it: it goes past that
        # call's send gate, which would otherwise take it for the call itself on the wire;
        # but in that call's lane (a load's read is background work, not a service's call).
        priority = current_priority()
        outside = CURRENT_GATE.set(None)
        try:
            with lane(priority):
                body = await self._read_usage()
        except (RequestError, TransientError) as error:
            # Trouble with this one read (an unknown path behind a proxy, server trouble):
            # counting on, the local count is still a floor of the instance's. Anything the
            # caller's own call would meet too (credentials, the quota) is raised.
            logger.warning(
                "could not read the instance's API usage (%s); the daily counter counts this "
                "client's calls only until the next read",
                error,
            )
            return
        finally:
            CURRENT_GATE.reset(outside)
        total = usage_total(body, day_in_zone(self._wall_clock()))
        if total is not None:
            await self._counter.learn_calls_today(total, before)
