"""Call budgets: a sliding window, a pool of in-flight slots and a daily counter.

Nothing here knows Marketo: the same limiter serves any API whose budget is
"N calls per period, M in flight, Q per day". A shared backend (Redis) implements
the same :class:`Limiter` protocol.
"""

from __future__ import annotations

import collections
import contextvars
import datetime as dt
import math
import time
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Final, Literal, NamedTuple, Protocol, runtime_checkable

import anyio
import anyio.lowlevel

from .._config import RateLimits
from ._gate import CURRENT_GATE

if TYPE_CHECKING:
    from ._auth import TokenStore

__all__ = [
    "BACKGROUND",
    "INTERACTIVE",
    "PRIORITIES",
    "KeyLeases",
    "Limiter",
    "LocalLimiter",
    "Priority",
    "QuotaExhausted",
    "chosen_lane",
    "current_priority",
    "day_in_zone",
    "lane",
]

# The two lanes (see marketo_async.Lanes): a call someone awaits, or work nobody waits on.
Priority = Literal["interactive", "background"]
INTERACTIVE: Final = "interactive"
BACKGROUND: Final = "background"
PRIORITIES: tuple[Priority, ...] = (INTERACTIVE, BACKGROUND)

_LANE: contextvars.ContextVar[Priority | None] = contextvars.ContextVar(
    "marketo_async_lane", default=None
)


@contextmanager
def lane(priority: Priority) -> Iterator[None]:
    """Calls made inside go in ``priority``'s lane (the innermost block wins).

    Example::

        with marketo_async.lane("background"):   # a loop of small writes is still a load
            for row in rows:
                await client.leads.sync([row])
    """
    if priority not in PRIORITIES:
        raise ValueError(f"priority must be 'interactive' or 'background', got {priority!r}")
    token = _LANE.set(priority)
    try:
        yield
    finally:
        _LANE.reset(token)


def chosen_lane() -> Priority | None:
    """The innermost :func:`lane` block's priority; None outside any."""
    return _LANE.get()


def current_priority() -> Priority:
    """The lane of a call made here: the innermost :func:`lane` block's; else background for
    a call of a batch write (it carries a send gate); else interactive (someone awaits it)."""
    chosen = _LANE.get()
    if chosen is not None:
        return chosen
    return BACKGROUND if CURRENT_GATE.get() is not None else INTERACTIVE


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

    def slot(self, priority: Priority = INTERACTIVE) -> AbstractAsyncContextManager[None]:
        """Wait for an in-flight slot and a place in the window; hold the slot while inside.

        ``priority`` is the call's lane: ``"interactive"`` (someone awaits it) goes ahead of
        ``"background"`` (see :class:`~marketo_async.Lanes`)."""
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


class _Waiter:
    """One call waiting to be admitted."""

    __slots__ = ("admitted", "armed_until", "error", "priority", "wake")

    def __init__(self, priority: Priority) -> None:
        self.priority = priority
        self.wake = anyio.Event()
        self.admitted = False
        self.error: QuotaExhausted | None = None
        # The time the head of a queue set its timer for (the hold it saw may lift then);
        # None: no timer, a call's end wakes it; -inf: not at the head (yet).
        self.armed_until: float | None = -math.inf


class _Hold(NamedTuple):
    """Why a call cannot go now."""

    until: float | None  # when it may lift by itself; None: only when a call ends
    yielding: bool  # a background call held back for interactive calls


class LocalLimiter:
    """An in-process limiter shared by every task of one client.

    Two lanes (see :class:`~marketo_async.Lanes`): interactive calls are admitted first, then
    background calls, each lane first come, first served; while interactive calls are around,
    background calls leave a share of the window and of the slots free. A call stays in the
    window from its admission until ``period`` after it ended (see :class:`RateLimits`), so
    Marketo, counting arrivals, never sees more than ``calls``. Times come from anyio's clock,
    so tests can run the window on virtual time.
    """

    def __init__(
        self,
        rate_limits: RateLimits,
        *,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.rate_limits = rate_limits
        self._wall_clock = wall_clock
        self._lanes = rate_limits.lanes.enabled
        self._queues: dict[Priority, collections.deque[_Waiter]] = {
            lane: collections.deque() for lane in PRIORITIES
        }
        # When each call of the window ended (in order), per lane; calls still open count too.
        self._ends: dict[Priority, collections.deque[float]] = {
            lane: collections.deque() for lane in PRIORITIES
        }
        self._open: dict[Priority, int] = dict.fromkeys(PRIORITIES, 0)
        self._departures = anyio.Lock()
        self._paused_until = 0.0
        # The last time an interactive call asked or ended: the reserve holds until
        # ``idle_after`` seconds later.
        self._interactive_seen = -math.inf
        self._yielding_since: float | None = None
        self._yielded_s = 0.0
        # While a call waits for the window (or a 606 pause): when it may go, on anyio's
        # clock. Read by progress displays; None when nothing waits for the window.
        self.window_wait_until: float | None = None
        self.max_in_flight = 0
        self._day = ""
        self._used_today = 0
        # One process keeps its token and its record keys to itself.
        self.token_store: TokenStore | None = None
        self.key_leases: KeyLeases | None = None

    def __repr__(self) -> str:
        return f"LocalLimiter({self.rate_limits!r}, in_flight={self.in_flight})"

    @property
    def in_flight(self) -> int:
        return sum(self._open.values())

    @property
    def yielded_s(self) -> float:
        """Seconds background calls waited only because interactive calls came first or kept
        their reserve (time the background lane was held back, not summed per call)."""
        if self._yielding_since is None:
            return self._yielded_s
        return self._yielded_s + anyio.current_time() - self._yielding_since

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
    async def slot(self, priority: Priority = INTERACTIVE) -> AsyncIterator[None]:
        lane = priority if self._lanes else INTERACTIVE
        await self._admit(lane)
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            yield
        finally:
            # Marketo counts a call when it arrives, which is no later than now: a call
            # timed from its end can never be in the server's window when ours is past.
            now = anyio.current_time()
            self._open[lane] -= 1
            self._ends[lane].append(now)
            if lane == INTERACTIVE:
                self._interactive_seen = now
            self._pump()

    def _roll_day(self) -> None:
        today = day_in_zone(self._wall_clock())
        if today != self._day:
            self._day = today
            self._used_today = 0

    async def _admit(self, lane: Priority) -> None:
        # A call admitted at once still lets others run (and a stop or cancel reach it) first.
        await anyio.lowlevel.checkpoint()
        waiter = _Waiter(lane)
        if lane == INTERACTIVE:
            self._interactive_seen = anyio.current_time()
        self._queues[lane].append(waiter)
        try:
            while True:
                self._pump()
                if waiter.error is not None:
                    raise waiter.error
                if waiter.admitted:
                    # Calls admitted together leave one at a time, a turn of the loop apart:
                    # a stop requested meanwhile (a signal's task, a failed report write
                    # after the first answer) is seen by the later ones' gates before the wire.
                    # A call cancelled meanwhile (a stop calling back calls not yet sent) ends
                    # here, unsent: the except below gives its place back.
                    # Only a batch write's calls have a gate to see it: the others (a
                    # service's awaited calls) go at once.
                    if CURRENT_GATE.get() is not None:
                        async with self._departures:
                            await anyio.lowlevel.checkpoint()
                    return
                waiter.wake = anyio.Event()
                # Only the head of a queue keeps a timer; the others wait to be woken.
                until = waiter.armed_until
                delay = math.inf
                if until is not None and not math.isinf(until):
                    delay = max(until - anyio.current_time(), 0.0)
                with anyio.move_on_after(delay):
                    await waiter.wake.wait()
        except BaseException:
            if waiter.admitted:  # admitted, then cancelled before it could go: nothing sent
                self._open[lane] -= 1
                if self.rate_limits.daily_quota is not None:
                    self._used_today -= 1
            elif waiter in self._queues[lane]:
                self._queues[lane].remove(waiter)
            self._pump()
            raise

    def _pump(self) -> None:
        """Admit every waiting call that may go now, interactive ones first, and re-arm the
        timers of the calls left at the head of each queue."""
        now = anyio.current_time()
        self.window_wait_until = None
        yielding = False
        for lane in PRIORITIES:
            queue = self._queues[lane]
            hold = None
            while queue:
                hold = self._hold(lane, now)
                if hold is not None:
                    break
                self._grant(queue.popleft())
            if hold is None:
                continue
            head = queue[0]
            if head.armed_until != hold.until:
                head.armed_until = hold.until
                head.wake.set()  # to sleep until the new time
            yielding = hold.yielding
            if not hold.yielding and hold.until is not None:
                self.window_wait_until = hold.until
            # A background call never passes a waiting interactive one: the background head
            # waits for the pump that admits the interactive calls.
            for later in PRIORITIES[PRIORITIES.index(lane) + 1 :]:
                if self._queues[later]:
                    self._queues[later][0].armed_until = None
            break
        self._track_yield(now, yielding)

    def _track_yield(self, now: float, yielding: bool) -> None:
        if yielding and self._yielding_since is None:
            self._yielding_since = now
        elif not yielding and self._yielding_since is not None:
            self._yielded_s += now - self._yielding_since
            self._yielding_since = None

    def _grant(self, waiter: _Waiter) -> None:
        quota = self.rate_limits.daily_quota
        waiter.wake.set()
        if quota is not None:
            self._roll_day()
            if self._used_today >= quota:
                waiter.error = QuotaExhausted(self._used_today, quota)
                return
            self._used_today += 1
        self._open[waiter.priority] += 1
        waiter.admitted = True

    def _hold(self, lane: Priority, now: float) -> _Hold | None:
        """Why a call of ``lane`` cannot go now, or None when it can."""
        limits = self.rate_limits
        if now < self._paused_until:
            return _Hold(self._paused_until, yielding=False)
        span = limits.period + limits.window_margin
        for ends in self._ends.values():
            # Compared as ``end + span`` both here and in the holds: with ``now - span``
            # rounding could leave a zero-length sleep that never lets time pass.
            while ends and ends[0] + span <= now:
                ends.popleft()
        in_flight = self.in_flight
        if in_flight >= limits.concurrency:
            return _Hold(None, yielding=False)
        if in_flight + sum(map(len, self._ends.values())) >= limits.calls:
            oldest = min((ends[0] for ends in self._ends.values() if ends), default=None)
            return _Hold(None if oldest is None else oldest + span, yielding=False)
        if lane == INTERACTIVE or not self._lanes:
            return None
        reserve_until = self._interactive_seen + limits.lanes.idle_after
        if self._queues[INTERACTIVE] or self._open[INTERACTIVE]:
            reserve_until = math.inf
        if now >= reserve_until:
            return None
        background = self._open[BACKGROUND]
        if background >= limits.concurrency - limits.reserved_slots:
            return _Hold(_finite(reserve_until), yielding=True)
        ends = self._ends[BACKGROUND]
        if background + len(ends) >= limits.calls - limits.reserved_calls:
            frees = ends[0] + span if ends else math.inf
            return _Hold(_finite(min(reserve_until, frees)), yielding=True)
        return None


def _finite(until: float) -> float | None:
    return None if math.isinf(until) else until
