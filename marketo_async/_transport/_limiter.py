"""Call budgets: a sliding window, a pool of in-flight slots and a daily counter.

Nothing here knows Marketo: the same limiter serves any API whose budget is
"N calls per period, M in flight, Q per day". A shared backend (Redis) implements
the same :class:`Limiter` protocol.
"""

from __future__ import annotations

import collections
import datetime as dt
import time
from collections.abc import AsyncIterator, Callable, Collection, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import anyio

from .._config import RateLimits

if TYPE_CHECKING:
    from ._auth import TokenStore

__all__ = ["KeyLeases", "Limiter", "LocalLimiter", "QuotaExhausted", "day_in_zone"]

try:
    from zoneinfo import ZoneInfo

    _CENTRAL: dt.tzinfo = ZoneInfo("America/Chicago")
except Exception:  # pragma: no cover - no tz database on the host
    _CENTRAL = dt.timezone(dt.timedelta(hours=-6), "CST")


class QuotaExhausted(Exception):
    """The daily call budget is spent; no call was sent."""

    def __init__(self, used: int, quota: int) -> None:
        super().__init__(f"daily API quota spent: {used:,} of {quota:,} calls counted today")
        self.used = used
        self.quota = quota


def day_in_zone(now: float | None = None, zone: dt.tzinfo = _CENTRAL) -> str:
    """The calendar day (YYYY-MM-DD) in ``zone``; Marketo resets quotas at midnight Central."""
    stamp = time.time() if now is None else now
    return dt.datetime.fromtimestamp(stamp, zone).date().isoformat()


@runtime_checkable
class Limiter(Protocol):
    """What the transport needs from a limiter.

    A limiter shared by many processes (``RedisLimiter``) also shares the access token
    (``token_store``) and offers per-record-key leases (``key_leases``); one that shares
    neither sets both to None.
    """

    def slot(self) -> AbstractAsyncContextManager[None]:
        """Wait for an in-flight slot and a place in the window; hold the slot while inside."""
        ...

    def pause(self, seconds: float) -> None:
        """Admit no new call for ``seconds`` (the server said the window is full)."""
        ...

    @property
    def in_flight(self) -> int:
        """Calls holding a slot right now."""
        ...

    @property
    def token_store(self) -> TokenStore | None:
        """Where processes sharing these limits share the access token; None: in-process."""
        ...

    @property
    def key_leases(self) -> KeyLeases | None:
        """Per-record-key leases for processes sharing these limits; None: in-process."""
        ...


@runtime_checkable
class KeyLeases(Protocol):
    """Leases on record keys (say ``"leads:email:ada@example.com"``): one holder at a time.

    One process keeps same-key records apart by itself; a fleet of workers sharing one Marketo
    instance needs these (``RedisLimiter.key_leases``) so two workers never have one key in
    flight together.
    """

    async def acquire(self, keys: Collection[str]) -> frozenset[str]:
        """Take every key of ``keys`` that nobody holds, waiting until at least one is free.

        Returns the keys now held (empty only when ``keys`` is); send only their records and
        try the others again later.
        """
        ...

    async def release(self, keys: Iterable[str]) -> None:
        """Give back keys taken by :meth:`acquire`."""
        ...

    def holding(self, keys: Collection[str]) -> AbstractAsyncContextManager[frozenset[str]]:
        """:meth:`acquire`, keep the leases alive while inside, then :meth:`release`."""
        ...


class LocalLimiter:
    """An in-process limiter shared by every task of one client.

    Admission order is first come, first served: waiters queue on a fair lock, and
    only the head of the queue sleeps until the oldest call in the window ages out. A call
    stays in the window from its admission until ``period`` after it ended (see
    :class:`RateLimits`), so Marketo, counting arrivals, never sees more than ``calls``.
    Times come from anyio's clock, so tests can run the window on virtual time.
    """

    def __init__(
        self,
        rate_limits: RateLimits,
        *,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.rate_limits = rate_limits
        self._wall_clock = wall_clock
        self._slots = anyio.Semaphore(rate_limits.concurrency)
        self._admission = anyio.Lock()
        # When each call of the window ended (in order); calls still open count as well.
        self._ends: collections.deque[float] = collections.deque()
        self._open = 0
        self._ended = anyio.Event()
        self._paused_until = 0.0
        # While a call waits for the window (or a 606 pause): when it may go, on anyio's
        # clock. Read by progress displays; None when nothing waits for the window.
        self.window_wait_until: float | None = None
        self._in_flight = 0
        self.max_in_flight = 0
        self._day = ""
        self._used_today = 0
        # One process keeps its token and its record keys to itself.
        self.token_store: TokenStore | None = None
        self.key_leases: KeyLeases | None = None

    def __repr__(self) -> str:
        return f"LocalLimiter({self.rate_limits!r}, in_flight={self._in_flight})"

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def used_today(self) -> int:
        """Calls this limiter admitted since the last daily reset."""
        self._roll_day()
        return self._used_today

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, anyio.current_time() + seconds)

    # ---- the daily counter, taught the instance's count (see _daily.DailyUsageWatch)

    async def calls_today(self) -> int:
        return self.used_today

    async def learn_calls_today(self, total: int, counted_before: int) -> None:
        self._roll_day()
        since = max(self._used_today - counted_before, 0)
        self._used_today = max(self._used_today, total + since)

    async def learned_within(self, seconds: float, calls: int) -> bool:
        return False  # one process: its own watch decides when to read again

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._slots:
            await self._admit()
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            try:
                yield
            finally:
                self._in_flight -= 1
                # Marketo counts a call when it arrives, which is no later than now: a call
                # timed from its end can never be in the server's window when ours is past.
                self._open -= 1
                self._ends.append(anyio.current_time())
                self._ended.set()
                self._ended = anyio.Event()

    def _roll_day(self) -> None:
        today = day_in_zone(self._wall_clock())
        if today != self._day:
            self._day = today
            self._used_today = 0

    async def _admit(self) -> None:
        limits = self.rate_limits
        async with self._admission:
            try:
                await self._wait_for_room(limits)
            finally:
                self.window_wait_until = None
            if limits.daily_quota is not None:
                self._roll_day()
                if self._used_today >= limits.daily_quota:
                    raise QuotaExhausted(self._used_today, limits.daily_quota)
                self._used_today += 1
            self._open += 1

    async def _wait_for_room(self, limits: RateLimits) -> None:
        span = limits.period + limits.window_margin
        while True:
            now = anyio.current_time()
            if now < self._paused_until:
                self.window_wait_until = self._paused_until
                await anyio.sleep(self._paused_until - now)
                continue
            # Compared as ``end + span`` both here and in the sleep below: with ``now - span``
            # rounding could leave a zero-length sleep that never lets time pass.
            while self._ends and self._ends[0] + span <= now:
                self._ends.popleft()
            if len(self._ends) + self._open < limits.calls:
                return
            if self._ends:
                self.window_wait_until = self._ends[0] + span
                await anyio.sleep(self._ends[0] + span - now)
            else:  # every call of the window is still open: wait for one to end
                await self._ended.wait()
