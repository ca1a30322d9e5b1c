"""The limiter's two lanes on virtual time: interactive calls first, a reserve while they are
around, the whole budget for background work when they are not."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest

from marketo_async import Lanes, LocalLimiter, RateLimits
from marketo_async._transport import BACKGROUND, INTERACTIVE, Priority

pytestmark = pytest.mark.anyio

# Marketo's window: 100 calls per 20 s, 10 in flight; with the default lanes background calls
# leave 25 places and 1 slot free while interactive calls are around.
LIMITS = RateLimits(calls=100, period=20.0, concurrency=10, daily_quota=None, window_margin=0.1)
SPAN = 20.1


class Log:
    """When each call was admitted and how many of each lane were inside at once."""

    def __init__(self, limiter: LocalLimiter) -> None:
        self.limiter = limiter
        self.admitted: list[tuple[float, Priority, str]] = []
        self.inside: dict[Priority, int] = {INTERACTIVE: 0, BACKGROUND: 0}
        self.most_inside: dict[Priority, int] = {INTERACTIVE: 0, BACKGROUND: 0}

    async def call(self, priority: Priority, name: str = "", hold: float = 0.5) -> float:
        """One call that holds its slot ``hold`` seconds; returns how long it waited."""
        asked = anyio.current_time()
        async with self.limiter.slot(priority):
            now = anyio.current_time()
            self.admitted.append((now, priority, name))
            self.inside[priority] += 1
            self.most_inside[priority] = max(self.most_inside[priority], self.inside[priority])
            await anyio.sleep(hold)
            self.inside[priority] -= 1
        return now - asked

    def times(self, priority: Priority, before: float = float("inf")) -> list[float]:
        return [t for t, lane, _ in self.admitted if lane == priority and t < before]


async def test_an_interactive_call_goes_ahead_of_every_queued_background_call() -> None:
    limiter = LocalLimiter(LIMITS)
    log = Log(limiter)
    waits: list[float] = []
    async with anyio.create_task_group() as tg:
        for n in range(40):  # far more than the 10 slots: 30 wait in the queue
            tg.start_soon(log.call, BACKGROUND, f"b{n}", 1.0)
        await anyio.sleep(0.25)

        async def interactive() -> None:
            waits.append(await log.call(INTERACTIVE, "i"))

        tg.start_soon(interactive)
    # Every slot was busy with background work: the interactive call took the first one
    # that freed (at 1.0), before any of the 30 background calls queued ahead of it, which
    # had the other nine.
    assert waits == [pytest.approx(0.75)]
    assert len([t for t in log.times(BACKGROUND) if t == pytest.approx(1.0)]) == 9


async def test_an_interactive_call_goes_first_when_the_window_reopens() -> None:
    limiter = LocalLimiter(LIMITS)
    log = Log(limiter)
    waits: list[float] = []
    async with anyio.create_task_group() as tg:
        for n in range(150):
            tg.start_soon(log.call, BACKGROUND, f"b{n}")
        await anyio.sleep(10.0)  # background work alone spent the whole window by now

        async def interactive() -> None:
            waits.append(await log.call(INTERACTIVE, "i"))

        tg.start_soon(interactive)
    assert len(log.times(BACKGROUND, before=10.0)) == 100
    # The window's first places free at 0.5 + 20.1 s: the interactive call takes one of them
    # ahead of the 50 background calls that waited longer.
    assert waits == [pytest.approx(0.5 + SPAN - 10.0)]
    # From then on background work leaves the reserve: it goes on once it holds fewer than
    # 75 places, when the third round of its calls left the window.
    first_after = min(t for t, lane, _ in log.admitted if lane == BACKGROUND and t > 10.0)
    assert first_after == pytest.approx(1.5 + SPAN)


async def test_while_interactive_calls_are_around_background_work_leaves_the_reserve() -> None:
    limiter = LocalLimiter(LIMITS)
    log = Log(limiter)
    waits: list[float] = []

    async def service() -> None:  # one awaited call a second, like a web service
        for n in range(30):
            waits.append(await log.call(INTERACTIVE, f"i{n}"))
            await anyio.sleep(0.5)

    async with anyio.create_task_group() as tg:
        tg.start_soon(service)
        await anyio.lowlevel.checkpoint()
        for n in range(300):
            tg.start_soon(log.call, BACKGROUND, f"b{n}")
    assert LIMITS.reserved_calls == 25 and LIMITS.reserved_slots == 1
    # Background work took 75 places of the first window and 9 slots, never more ...
    assert len(log.times(BACKGROUND, before=SPAN)) == 75
    assert log.most_inside[BACKGROUND] == 9
    # ... so every awaited call found a place and a slot at once.
    assert waits == [0.0] * 30


async def test_without_interactive_calls_background_work_gets_the_whole_window() -> None:
    limiter = LocalLimiter(LIMITS)
    log = Log(limiter)
    async with anyio.create_task_group() as tg:
        for n in range(150):
            tg.start_soon(log.call, BACKGROUND, f"b{n}")
    assert len(log.times(BACKGROUND, before=SPAN)) == 100
    assert log.most_inside[BACKGROUND] == 10
    assert limiter.yielded_s == 0.0


async def test_the_reserve_lapses_once_no_interactive_call_was_seen_for_idle_after() -> None:
    limits = RateLimits(
        calls=100,
        period=20.0,
        concurrency=10,
        daily_quota=None,
        window_margin=0.1,
        lanes=Lanes(idle_after=8.0),
    )
    limiter = LocalLimiter(limits)
    log = Log(limiter)
    async with anyio.create_task_group() as tg:
        tg.start_soon(log.call, INTERACTIVE, "i")  # ends at 0.5: the reserve holds until 8.5
        await anyio.lowlevel.checkpoint()
        for n in range(150):
            tg.start_soon(log.call, BACKGROUND, f"b{n}")
    background = log.times(BACKGROUND, before=SPAN)
    assert len([t for t in background if t < 8.5]) == 75
    # Then background work takes the places the interactive calls no longer need: all but
    # the one the interactive call used.
    assert len(background) == 99
    assert min(t for t in background[75:]) == pytest.approx(8.5)
    # Background work was held back from 0.5 s (the interactive call ended: 9 slots for
    # background work, not 10) until the reserve lapsed.
    assert limiter.yielded_s == pytest.approx(8.5 - 0.5)


async def test_with_lanes_off_an_interactive_call_queues_behind_background_calls() -> None:
    limits = RateLimits(calls=100, period=20.0, concurrency=10, daily_quota=None, lanes=Lanes.off())
    limiter = LocalLimiter(limits)
    log = Log(limiter)
    waits: list[float] = []
    async with anyio.create_task_group() as tg:
        for n in range(40):
            tg.start_soon(log.call, BACKGROUND, f"b{n}", 1.0)
        await anyio.sleep(0.25)

        async def interactive() -> None:
            waits.append(await log.call(INTERACTIVE, "i"))

        tg.start_soon(interactive)
    # First come, first served: behind 30 queued calls, three rounds of 1 s.
    assert waits == [pytest.approx(3.75)]
    assert len([t for t in log.times(BACKGROUND) if t == pytest.approx(1.0)]) == 10


async def test_a_cancelled_waiter_gives_its_turn_to_the_next_in_line() -> None:
    limits = RateLimits(calls=100, period=20.0, concurrency=1, daily_quota=None)
    limiter = LocalLimiter(limits)
    log = Log(limiter)
    async with anyio.create_task_group() as tg:
        tg.start_soon(log.call, BACKGROUND, "first", 1.0)
        await anyio.sleep(0.1)
        with anyio.move_on_after(0.5):
            await log.call(INTERACTIVE, "cancelled")
        tg.start_soon(log.call, BACKGROUND, "next")
    assert [name for _, _, name in log.admitted] == ["first", "next"]
    assert log.admitted[1][0] == pytest.approx(1.0)
    assert limiter.in_flight == 0


def test_lanes_reserve_a_share_but_leave_each_lane_at_least_one_place() -> None:
    assert RateLimits(calls=100, concurrency=10).reserved_calls == 25
    assert RateLimits(calls=100, concurrency=10).reserved_slots == 1
    assert RateLimits(calls=5, concurrency=2).reserved_calls == 1
    assert RateLimits(calls=5, concurrency=1).reserved_slots == 0
    assert RateLimits(lanes=Lanes.off()).reserved_calls == 0
    assert RateLimits(lanes=Lanes(slot_share=0.0)).reserved_slots == 0
    with pytest.raises(ValueError, match="window_share"):
        Lanes(window_share=1.0)
