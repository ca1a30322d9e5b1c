"""RedisLimiter: one sliding window, one pool of in-flight slots and one daily count per fleet."""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Literal
from zoneinfo import ZoneInfo

import anyio
import attrs

from .._config import RateLimits
from .._transport import BACKGROUND, INTERACTIVE, LocalLimiter, Priority, QuotaExhausted
from . import _scripts
from ._connection import Connection, RedisUnavailableError, SharedLimiterError, keeping
from ._leases import DEFAULT_OUTAGE_WAIT_S, RedisKeyLeases, holding_keys
from ._tokens import RedisTokenStore

__all__ = [
    "DEFAULT_LEASE_S",
    "DEFAULT_OUTAGE_WAIT_S",
    "RedisLimiter",
    "SharedUsage",
    "marketo_days",
]

logger = logging.getLogger("marketo_async")

# Marketo resets the daily quota at midnight US Central time.
MARKETO_ZONE = ZoneInfo("America/Chicago")
# A crashed process's slots come back within this many seconds; live holders renew at a third.
DEFAULT_LEASE_S = 10.0
# A full pool of slots frees when some holder returns, which no script can foresee: ask again
# this often (only the head of each process's queue asks, so a fleet polls a few times a tick).
SLOT_POLL_S = 0.05
# Spread the polls of many processes so they do not ask Redis in lockstep.
POLL_JITTER_S = 0.01
MIN_WAIT_S = 0.001
# A release that cannot reach Redis is abandoned after this long: the lease frees itself.
RELEASE_TIMEOUT_S = 5.0
# A waiting interactive call holds background calls of the whole fleet back until this long
# after its next ask was due: a crashed waiter stops holding them soon after.
INTERACTIVE_WAIT_GRACE_S = 0.5

_PAUSED, _SLOTS_FULL, _WINDOW_FULL, _QUOTA_SPENT, _ADMITTED, _YIELDING = range(6)


def marketo_days(now: float) -> list[tuple[str, float, float]]:
    """Yesterday, today and tomorrow in US Central time as ``(YYYY-MM-DD, start, end)`` epochs.

    The day around ``now`` (this host's clock) and its neighbours: the scripts pick the one
    holding Redis's clock, so a host whose clock is off near midnight still counts right.
    """
    today = dt.datetime.fromtimestamp(now, MARKETO_ZONE).date()
    days = []
    for offset in (-1, 0, 1):
        day = today + dt.timedelta(days=offset)
        start = dt.datetime.combine(day, dt.time(), MARKETO_ZONE)
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), MARKETO_ZONE)
        days.append((day.isoformat(), start.timestamp(), end.timestamp()))
    return days


@attrs.frozen
class SharedUsage:
    """What the whole fleet is using right now, as Redis counts it."""

    in_flight: int
    calls_in_window: int
    used_today: int


class RedisLimiter:
    """Limits shared by every client that points at the same Redis and ``key``.

    Implements the :class:`~marketo_async.Limiter` protocol, shares the access token
    (``token_store``) and offers per-record-key leases (``key_leases``) to keep two workers
    from upserting the same key at once. Its lanes (:class:`~marketo_async.Lanes`) are the
    fleet's: an interactive call waiting in one process goes ahead of background calls in
    every process, and while any process made an interactive call in the last ``idle_after``
    seconds, the background calls of all of them leave the reserve free. Give every process
    the same ``rate_limits``.

    Example::

        limits = RateLimits(calls=100, period=20.0, concurrency=10, daily_quota=50_000)
        async with RedisLimiter("redis://redis:6379/0", key="123-ABC-456",
                                rate_limits=limits) as limiter:
            async with MarketoClient(munchkin_id="123-ABC-456", client_id=..., client_secret=...,
                                     rate_limits=limits, limiter=limiter) as client:
                ...

    Redis unreachable: ``fallback="error"`` raises :class:`RedisUnavailableError`;
    ``fallback="local"`` keeps each process within ``rate_limits`` on its own until Redis
    answers again, but never sends a keyed write (``leads.sync`` with a lookup key, ``push``)
    without a fleet key lease: such records wait for Redis up to ``outage_wait`` seconds from
    the start of the outage (default 60), then come back ``not_attempted`` with a reason
    naming the outage. The ``marketo_async`` logger warns once when an outage starts and once
    when Redis answers again.
    """

    def __init__(
        self,
        url: str,
        *,
        key: str,
        rate_limits: RateLimits,
        lease_seconds: float = DEFAULT_LEASE_S,
        fallback: Literal["error", "local"] = "error",
        outage_wait: float = DEFAULT_OUTAGE_WAIT_S,
    ) -> None:
        if not key:
            raise ValueError("key must name the Marketo instance, e.g. its munchkin id")
        if lease_seconds <= 0:
            raise ValueError(f"lease_seconds must be > 0, got {lease_seconds!r}")
        if fallback not in ("error", "local"):
            raise ValueError(f"fallback must be 'error' or 'local', got {fallback!r}")
        if outage_wait < 0:
            raise ValueError(f"outage_wait must be >= 0, got {outage_wait!r}")
        self.key = key
        self.rate_limits = rate_limits
        self.lease_seconds = float(lease_seconds)
        self.fallback = fallback
        self._connection = Connection(url, fallback=fallback)
        # The hash tag keeps every key of one limiter in one Redis Cluster slot.
        prefix = f"marketo_async:{{{key}}}"
        self._window = f"{prefix}:window"
        self._slots_key = f"{prefix}:slots"
        self._background_window = f"{prefix}:window:bg"
        self._background_slots = f"{prefix}:slots:bg"
        self._interactive_key = f"{prefix}:interactive"
        self._waiting_key = f"{prefix}:waiting"
        self._pause_key = f"{prefix}:pause"
        self._day_prefix = f"{prefix}:day:"
        self._learned_key = f"{prefix}:usage-learned"
        self._epoch_key = f"{prefix}:epoch"
        # After Redis restarts empty, nothing is admitted for this long: the calls its lost
        # window held leave Marketo's window, and holders renew (taking back lost slots and
        # keys) within a third of a lease.
        self.restart_hold = max(rate_limits.period + rate_limits.window_margin, lease_seconds)
        self.token_store = RedisTokenStore(self._connection, prefix)
        self.key_leases = RedisKeyLeases(
            self._connection,
            prefix,
            lease_seconds=self.lease_seconds,
            outage_wait=outage_wait,
            restart_hold=self.restart_hold,
        )
        self._local = LocalLimiter(rate_limits)
        self._lanes = rate_limits.lanes.enabled
        # This process never asks Redis for more slots of one lane than the instance has.
        self._process_slots = {
            lane: anyio.Semaphore(rate_limits.concurrency) for lane in (INTERACTIVE, BACKGROUND)
        }
        # First come, first served inside each lane of the process; only the head of each
        # lane's queue asks Redis.
        self._admission = {lane: anyio.Lock() for lane in (INTERACTIVE, BACKGROUND)}
        self._interactive_waiting = 0
        self._yielded_s = 0.0
        self._paused_until = 0.0
        self._in_flight = 0
        self.max_in_flight = 0
        self._lease_ids = (f"{uuid.uuid4().hex}:{n}" for n in itertools.count())

    def __repr__(self) -> str:
        return (
            f"RedisLimiter({self._connection.shown_url!r}, key={self.key!r}, "
            f"rate_limits={self.rate_limits!r}, fallback={self.fallback!r}, "
            f"in_flight={self._in_flight})"
        )

    async def __aenter__(self) -> RedisLimiter:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close this event loop's Redis connections."""
        await self._connection.aclose()

    @property
    def in_flight(self) -> int:
        """Calls of this process holding a slot right now (see :meth:`usage` for the fleet)."""
        return self._in_flight

    @property
    def yielded_s(self) -> float:
        """Seconds this process's background calls waited only because interactive calls of
        the fleet came first or kept their reserve (and, while Redis is away, its own)."""
        return self._yielded_s + self._local.yielded_s

    @property
    def url(self) -> str:
        """The Redis URL with its password hidden."""
        return self._connection.shown_url

    def pause(self, seconds: float) -> None:
        # Shared with the fleet by the next admission of this process.
        self._paused_until = max(self._paused_until, anyio.current_time() + seconds)
        self._local.pause(seconds)

    async def check(self) -> None:
        """Raise :class:`RedisUnavailableError` now if Redis cannot be reached."""
        await self.usage()

    async def usage(self) -> SharedUsage:
        """Slots held, calls in the window and calls today, across the whole fleet."""
        days = marketo_days(time.time())
        span = self.rate_limits.period + self.rate_limits.window_margin
        keys = [self._slots_key, self._window]
        keys += [self._day_prefix + label for label, _, _ in days]
        args: list[str | int | float] = [span]
        for _, start, end in days:
            args += [start, end]
        in_flight, in_window, used = await self._connection.run(_scripts.COUNT_SLOTS, keys, args)
        return SharedUsage(int(in_flight), int(in_window), int(used))

    # ---- the fleet's daily counter, taught the instance's count (see _transport._daily)

    def _day_keys(self) -> tuple[list[str], list[str | int | float]]:
        days = marketo_days(time.time())
        keys = [self._day_prefix + label for label, _, _ in days] + [self._learned_key]
        bounds: list[str | int | float] = []
        for _, start, end in days:
            bounds += [start, end]
        return keys, bounds

    async def calls_today(self) -> int:
        """The fleet's calls today as Redis counts them (this process's own while Redis is
        away with ``fallback="local"``)."""
        if not self._connection.available():
            return await self._local.calls_today()
        try:
            return (await self.usage()).used_today
        except RedisUnavailableError as error:
            if self.fallback != "local":
                raise
            self._connection.mark_down(error)
            return await self._local.calls_today()

    async def learn_calls_today(self, total: int, counted_before: int) -> None:
        """Raise the fleet's count for today to Marketo's ``total`` (plus the fleet's calls
        since the read was sent); every process sees it at its next admission."""
        keys, bounds = self._day_keys()
        answer = await self._connection.shared(
            _scripts.LEARN_USAGE, keys, [total, counted_before, *bounds]
        )
        if answer is None:  # Redis away, fallback="local"
            await self._local.learn_calls_today(total, counted_before)

    async def learned_within(self, seconds: float, calls: int) -> bool:
        """True when a process of the fleet learned today's count less than ``seconds`` ago
        and fewer than ``calls`` fleet calls ago: this one need not read it again."""
        keys, bounds = self._day_keys()
        answer = await self._connection.shared(
            _scripts.LEARNED_WITHIN, keys, [seconds, calls, *bounds]
        )
        return answer is not None and int(answer) == 1

    @asynccontextmanager
    async def slot(self, priority: Priority = INTERACTIVE) -> AsyncIterator[None]:
        lane = priority if self._lanes else INTERACTIVE
        async with self._process_slots[lane]:
            lease = await self._admit(lane)
            if lease is None:
                async with self._local.slot(lane):
                    self._count_in()
                    try:
                        yield
                    finally:
                        self._in_flight -= 1
                return
            self._count_in()
            try:
                async with keeping(lambda: self._keep_lease(lease, lane)):
                    yield
            finally:
                self._in_flight -= 1
                await self._release(lease)

    def _count_in(self) -> None:
        self._in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self._in_flight)

    async def _admit(self, lane: Priority) -> str | None:
        """A lease id once Redis admits the call; None when Redis is away and we fall back."""
        if lane == BACKGROUND:
            async with self._admission[lane]:
                return await self._ask(lane)
        self._interactive_waiting += 1
        try:
            async with self._admission[lane]:
                return await self._ask(lane)
        finally:
            self._interactive_waiting -= 1

    async def _ask(self, lane: Priority) -> str | None:
        """Ask Redis until it admits the call (the head of ``lane``'s queue in this process)."""
        quota = self.rate_limits.daily_quota or 0
        # One id for every ask: Redis knows a waiting interactive call by it.
        lease = next(self._lease_ids)
        while True:
            if not self._connection.available():
                if not holding_keys():
                    return None
                # A keyed write's call never goes on per-process limits: the fleet's
                # other workers may be sending theirs (a 615 or 606), so it waits.
                await self.key_leases.wait_for_redis()
                continue
            if lane == BACKGROUND and self._interactive_waiting:
                # An interactive call of this process is about to ask: it goes first.
                await self._yield_for(SLOT_POLL_S)
                continue
            answer = await self._acquire(lane, lease, quota)
            if answer is None:  # Redis away, fallback="local"
                if not holding_keys():
                    return None
                await self.key_leases.wait_for_redis()
                continue
            status, value = answer
            if int(status) == _scripts.EPOCH_CHANGED:
                self._connection.adopt_epoch(str(value), self.restart_hold)
                continue
            if int(status) == _ADMITTED:
                return lease
            if int(status) == _QUOTA_SPENT:
                raise QuotaExhausted(int(value), quota)
            wait = max(float(value), MIN_WAIT_S) + random.uniform(0.0, POLL_JITTER_S)
            if int(status) == _YIELDING:
                await self._yield_for(wait)
            else:
                await anyio.sleep(wait)

    async def _yield_for(self, seconds: float) -> None:
        began = anyio.current_time()
        try:
            await anyio.sleep(seconds)
        finally:
            self._yielded_s += anyio.current_time() - began

    async def _acquire(self, lane: Priority, lease: str, quota: int) -> Any:
        """One run of the acquire script: ``(status, value)``, or None when Redis is away."""
        limits = self.rate_limits
        days = marketo_days(time.time())
        pause = max(self._paused_until - anyio.current_time(), 0.0)
        args: list[str | int | float] = [
            limits.calls,
            limits.period + limits.window_margin,
            limits.concurrency,
            self.lease_seconds,
            lease,
            pause,
            quota,
            SLOT_POLL_S,
        ]
        for _, start, end in days:
            args += [start, end]
        args += [
            lane if self._lanes else "off",
            limits.reserved_calls,
            limits.reserved_slots,
            limits.lanes.idle_after,
            INTERACTIVE_WAIT_GRACE_S,
        ]
        keys = [self._window, self._slots_key, self._pause_key]
        keys += [self._day_prefix + label for label, _, _ in days]
        keys += [
            self._background_window,
            self._background_slots,
            self._interactive_key,
            self._waiting_key,
        ]
        # The epoch guard's key and arguments come last.
        keys.append(self._epoch_key)
        args += self._connection.epoch_args(self.restart_hold)
        # Shielded: a call cancelled while Redis admits it would leak the slot.
        with anyio.CancelScope(shield=True):
            return await self._connection.shared(_scripts.ACQUIRE_SLOT, keys, args)

    async def _keep_lease(self, lease: str, lane: Priority) -> None:
        while True:
            await anyio.sleep(self.lease_seconds / 3)
            try:
                renewed = await self._connection.run(
                    _scripts.RENEW_SLOT,
                    [
                        self._slots_key,
                        self._window,
                        self._background_slots,
                        self._background_window,
                    ],
                    [
                        self.lease_seconds,
                        lease,
                        self.rate_limits.period + self.rate_limits.window_margin,
                        lane if self._lanes else "off",
                    ],
                )
            except RedisUnavailableError as error:
                self._connection.mark_down(error)  # one warning per outage, not per slot
                continue
            except SharedLimiterError as error:
                logger.warning("could not renew an in-flight slot: %s", error.message)
                continue
            if not int(renewed) and not self._connection.restarts:
                # Taken back (the call is still out); before, the fleet may have exceeded its
                # concurrency. After a Redis restart that is expected, and said once already.
                logger.warning(
                    "a call held its slot past the %.1fs lease without renewing it (was the "
                    "event loop blocked?); the fleet may briefly have exceeded its concurrency",
                    self.lease_seconds,
                )

    async def _release(self, lease: str) -> None:
        with anyio.CancelScope(shield=True) as scope:
            scope.deadline = anyio.current_time() + RELEASE_TIMEOUT_S
            try:
                await self._connection.run(
                    _scripts.RELEASE_SLOT,
                    [
                        self._slots_key,
                        self._window,
                        self._background_slots,
                        self._background_window,
                        self._interactive_key,
                    ],
                    [lease, self.rate_limits.lanes.idle_after if self._lanes else 0],
                )
            except RedisUnavailableError as error:
                # The slot frees itself within lease_seconds; the outage is reported once.
                self._connection.mark_down(error)
            except SharedLimiterError as error:
                logger.warning(
                    "could not release an in-flight slot (it frees itself within %.1fs): %s",
                    self.lease_seconds,
                    error.message,
                )
        if scope.cancelled_caught:
            self._connection.mark_down(
                RedisUnavailableError(
                    f"Redis at {self.url} did not answer a slot release within "
                    f"{RELEASE_TIMEOUT_S:g}s (the slot frees itself within "
                    f"{self.lease_seconds:g}s)"
                )
            )
