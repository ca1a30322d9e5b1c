"""RedisLimiter's lanes are the fleet's: interactive calls of one process go ahead of background
calls of another, and the reserve holds across processes (real Redis, real time)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack

import anyio
import pytest

from marketo_async import Lanes, RateLimits
from marketo_async._transport import BACKGROUND, INTERACTIVE, Priority
from marketo_async.redis import RedisLimiter

from .conftest import limits

pytestmark = pytest.mark.anyio


@pytest.fixture
async def stack() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as exits:
        yield exits


async def pair(
    stack: AsyncExitStack, url: str, key: str, rate_limits: RateLimits
) -> tuple[RedisLimiter, RedisLimiter]:
    """Two limiters on one key: two processes of one fleet, as far as Redis can tell."""
    a = await stack.enter_async_context(RedisLimiter(url, key=key, rate_limits=rate_limits))
    b = await stack.enter_async_context(RedisLimiter(url, key=key, rate_limits=rate_limits))
    await a.check()  # connected before the timing starts
    await b.check()
    return a, b


class Log:
    def __init__(self) -> None:
        self.admitted: list[tuple[float, Priority, str]] = []
        self.inside = 0
        self.most_inside = 0
        self._watches: list[tuple[Callable[[Log], bool], anyio.Event]] = []

    async def until(self, condition: Callable[[Log], bool]) -> None:
        """Wait until ``condition`` holds after some admission."""
        seen = anyio.Event()
        self._watches.append((condition, seen))
        if condition(self):
            seen.set()
        await seen.wait()

    def _admitted(self) -> None:
        for condition, seen in self._watches:
            if condition(self):
                seen.set()

    async def call(
        self, limiter: RedisLimiter, priority: Priority, name: str, hold: float | anyio.Event
    ) -> float:
        asked = anyio.current_time()
        async with limiter.slot(priority):
            now = anyio.current_time()
            self.admitted.append((now, priority, name))
            if priority == BACKGROUND:
                self.inside += 1
                self.most_inside = max(self.most_inside, self.inside)
            self._admitted()
            if isinstance(hold, anyio.Event):
                await hold.wait()
            else:
                await anyio.sleep(hold)
            if priority == BACKGROUND:
                self.inside -= 1
        return now - asked


async def test_an_interactive_call_of_one_process_goes_ahead_of_the_others_background_calls(
    redis_url: str, key: str, stack: AsyncExitStack
) -> None:
    a, b = await pair(stack, redis_url, key, limits(concurrency=2))
    log = Log()
    waits: list[float] = []
    hold = 1.0  # long enough that the interactive call asks before a slot frees, however slow
    async with anyio.create_task_group() as tg:
        for n in range(8):  # 2 slots: six wait in process b's queue
            tg.start_soon(log.call, b, BACKGROUND, f"b{n}", hold)
        with anyio.fail_after(10):
            await log.until(lambda log: log.inside == 2)

        async def interactive() -> None:
            waits.append(await log.call(a, INTERACTIVE, "i", 0.0))
            tg.cancel_scope.cancel()  # the queued background calls have shown what they do

        tg.start_soon(interactive)
    order = [name for _, _, name in log.admitted]
    # Every slot was busy: it took the first one to free, before any queued background call.
    assert order.index("i") == 2
    assert waits[0] < hold + 0.2  # the first slot to free, not the round after it (2 holds)
    assert b.yielded_s > 0


async def test_while_interactive_calls_are_around_the_fleets_background_calls_leave_the_reserve(
    redis_url: str, key: str, stack: AsyncExitStack
) -> None:
    rate = limits(calls=20, period=2.0)
    assert rate.reserved_calls == 5 and rate.reserved_slots == 1
    a, b = await pair(stack, redis_url, key, rate)
    log = Log()
    began = anyio.current_time()
    waits: list[float] = []
    async with anyio.create_task_group() as tg:
        waits.append(await log.call(a, INTERACTIVE, "first", 0.0))
        for n in range(40):
            tg.start_soon(log.call, b, BACKGROUND, f"b{n}", 0.05)
        await anyio.sleep(0.5)
        for n in range(4):  # the reserve (less the first call's place) answers these at once
            waits.append(await log.call(a, INTERACTIVE, f"i{n}", 0.0))
        tg.cancel_scope.cancel()
    background = [t - began for t, lane, _ in log.admitted if lane == BACKGROUND]
    assert len(background) == 15  # 20 places less the 5 kept free
    assert log.most_inside <= 9
    assert max(waits) < 0.2
    assert b.yielded_s > 0


async def test_without_interactive_calls_the_fleets_background_calls_get_the_whole_window(
    redis_url: str, key: str, stack: AsyncExitStack
) -> None:
    # A window far longer than the test, and calls that keep their slots until told: what is
    # counted is admissions, so a slow machine changes how long it takes, not what is seen.
    a, b = await pair(stack, redis_url, key, limits(calls=20, period=60.0))
    log = Log()
    release = anyio.Event()
    async with anyio.create_task_group() as tg:
        for n in range(30):
            tg.start_soon(log.call, (a, b)[n % 2], BACKGROUND, f"b{n}", release)
        with anyio.fail_after(20):  # every slot of the fleet, none kept for interactive calls
            await log.until(lambda log: log.inside == 10)
        release.set()
        with anyio.fail_after(20):  # then every place of the window
            await log.until(lambda log: len(log.admitted) == 20)
        await anyio.sleep(0.5)  # a 21st call would be admitted here if the window allowed it
        tg.cancel_scope.cancel()
    assert len(log.admitted) == 20
    assert log.most_inside == 10
    assert a.yielded_s == b.yielded_s == 0


async def test_the_reserve_lapses_idle_after_the_last_interactive_call(
    redis_url: str, key: str, stack: AsyncExitStack
) -> None:
    rate = limits(calls=20, period=6.0, lanes=Lanes(idle_after=2.0))
    a, b = await pair(stack, redis_url, key, rate)
    log = Log()
    await log.call(a, INTERACTIVE, "i", 0.0)
    lapses = anyio.current_time() + 2.0
    async with anyio.create_task_group() as tg:
        for n in range(30):
            tg.start_soon(log.call, b, BACKGROUND, f"b{n}", 0.02)
        await anyio.sleep(3.5)  # well inside the 6 s window
        tg.cancel_scope.cancel()
    background = [t for t, lane, _ in log.admitted if lane == BACKGROUND]
    assert len([t for t in background if t < lapses - 0.1]) == 15  # the reserve held
    assert len(background) == 19  # then background work took every place left


async def test_with_lanes_off_the_fleet_keeps_no_reserve(
    redis_url: str, key: str, stack: AsyncExitStack
) -> None:
    a, b = await pair(stack, redis_url, key, limits(calls=20, period=4.0, lanes=Lanes.off()))
    log = Log()
    await log.call(a, INTERACTIVE, "i", 0.0)
    async with anyio.create_task_group() as tg:
        for n in range(30):
            tg.start_soon(log.call, b, BACKGROUND, f"b{n}", 0.05)
        await anyio.sleep(2.0)  # time for both rounds of 10, well inside the 4 s window
        tg.cancel_scope.cancel()
    assert len(log.admitted) == 20
    assert log.most_inside == 10
    assert b.yielded_s == 0
