"""RedisLimiter: one window, one pool of slots, one daily count and one pause for a fleet."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import anyio
import pytest

from marketo_async import MarketoError, RateLimits
from marketo_async._transport import Limiter, QuotaExhausted
from marketo_async._transport._limiter import day_in_zone
from marketo_async.redis import RedisLimiter, RedisUnavailableError, _connection, marketo_days

from .conftest import PROTECTED_PASSWORD, free_port, limits, redis_server

pytestmark = pytest.mark.anyio

# Loopback Redis answers in well under this; it covers the gap between Redis's clock
# (which decides) and ours (which records).
CLOCK_SLACK_S = 0.03


async def fleet(
    stack: AsyncExitStack, url: str, key: str, rate_limits: RateLimits, size: int = 2, **kw: object
) -> list[RedisLimiter]:
    return [
        await stack.enter_async_context(
            RedisLimiter(url, key=key, rate_limits=rate_limits, **kw)  # type: ignore[arg-type]
        )
        for _ in range(size)
    ]


@pytest.fixture
async def stack() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as exits:
        yield exits


async def test_redis_limiter_implements_the_limiter_protocol(redis_url: str, key: str) -> None:
    async with RedisLimiter(redis_url, key=key, rate_limits=limits()) as limiter:
        assert isinstance(limiter, Limiter)


async def test_two_limiters_share_one_sliding_window(
    redis_url: str, key: str, stack: AsyncExitStack
) -> None:
    rate = limits(calls=5, period=0.5)
    a, b = await fleet(stack, redis_url, key, rate)
    starts: list[float] = []

    async def call(limiter: RedisLimiter) -> None:
        async with limiter.slot():
            starts.append(anyio.current_time())

    began = anyio.current_time()
    async with anyio.create_task_group() as tg:
        for i in range(15):
            tg.start_soon(call, (a, b)[i % 2])
    starts.sort()
    span = rate.period + rate.window_margin
    assert starts[4] - began < span / 2  # the first window's worth goes at once
    for first, sixth in zip(starts, starts[5:], strict=False):
        assert sixth - first >= span - CLOCK_SLACK_S
    assert starts[-1] - began < 3 * span  # and no slower than the window needs


async def test_in_flight_slots_are_one_pool_for_the_fleet(
    redis_url: str, key: str, stack: AsyncExitStack
) -> None:
    a, b = await fleet(stack, redis_url, key, limits(concurrency=3))
    inside = 0
    most = 0
    fleet_counts: list[int] = []

    async def call(limiter: RedisLimiter) -> None:
        nonlocal inside, most
        async with limiter.slot():
            inside += 1
            most = max(most, inside)
            fleet_counts.append((await a.usage()).in_flight)
            await anyio.sleep(0.05)
            inside -= 1

    async with anyio.create_task_group() as tg:
        for i in range(12):
            tg.start_soon(call, (a, b)[i % 2])
    assert most == 3
    assert max(fleet_counts) <= 3
    assert (await b.usage()).in_flight == 0


async def test_a_long_call_keeps_its_slot_past_the_lease(
    redis_url: str, key: str, stack: AsyncExitStack
) -> None:
    a, b = await fleet(stack, redis_url, key, limits(concurrency=1), lease_seconds=0.3)
    entered = anyio.Event()
    leave = anyio.Event()

    async def long_call() -> None:
        async with a.slot():
            entered.set()
            await leave.wait()

    async with anyio.create_task_group() as tg:
        tg.start_soon(long_call)
        await entered.wait()
        with anyio.move_on_after(1.0) as waited:  # more than three leases
            async with b.slot():
                pytest.fail("a second call got the only slot while the first still held it")
        assert waited.cancelled_caught
        leave.set()
    with anyio.fail_after(0.5):
        async with b.slot():
            pass


async def test_an_error_inside_the_slot_comes_out_as_itself_and_frees_the_slot(
    redis_url: str, key: str, stack: AsyncExitStack
) -> None:
    (limiter,) = await fleet(stack, redis_url, key, limits(), size=1)
    with pytest.raises(ValueError, match="boom"):
        async with limiter.slot():
            raise ValueError("boom")
    assert limiter.in_flight == 0
    assert (await limiter.usage()).in_flight == 0


async def test_a_cancelled_waiter_leaves_no_slot_behind(
    redis_url: str, key: str, stack: AsyncExitStack
) -> None:
    a, b = await fleet(stack, redis_url, key, limits(concurrency=1))
    async with a.slot():
        with anyio.move_on_after(0.2):
            async with b.slot():
                pytest.fail("admitted past a full pool")
    assert (await a.usage()).in_flight == 0
    with anyio.fail_after(0.3):
        async with b.slot():
            pass


async def test_the_daily_quota_is_counted_for_the_fleet(
    redis_url: str, key: str, stack: AsyncExitStack
) -> None:
    a, b = await fleet(stack, redis_url, key, limits(daily_quota=3))
    for limiter in (a, b, a):
        async with limiter.slot():
            pass
    with pytest.raises(QuotaExhausted) as spent:
        async with b.slot():
            pytest.fail("admitted past the daily quota")
    assert (spent.value.used, spent.value.quota) == (3, 3)
    assert (await a.usage()).used_today == 3


async def test_a_pause_is_shared_with_the_fleet(
    redis_url: str, key: str, stack: AsyncExitStack
) -> None:
    a, b = await fleet(stack, redis_url, key, limits())
    paused_at = anyio.current_time()
    a.pause(0.4)

    async def share_it() -> None:
        async with a.slot():
            pass

    async with anyio.create_task_group() as tg:
        tg.start_soon(share_it)
        await anyio.sleep(0.05)
        async with b.slot():
            assert anyio.current_time() - paused_at >= 0.4 - CLOCK_SLACK_S


def test_marketo_days_end_at_midnight_central_even_across_daylight_saving() -> None:
    # 2024-03-10 is 23 hours long in Chicago, 2024-11-03 is 25.
    for noon_utc, hours in (("2024-03-10T18:00:00", 23), ("2024-11-03T18:00:00", 25)):
        now = dt.datetime.fromisoformat(noon_utc).replace(tzinfo=dt.timezone.utc).timestamp()
        (before, _, _), (label, start, end), (after, _, _) = marketo_days(now)
        assert label == day_in_zone(now) == noon_utc[:10]
        assert end - start == hours * 3600
        assert day_in_zone(start) == label and day_in_zone(end - 0.001) == label
        assert day_in_zone(start - 0.001) == before and day_in_zone(end) == after


async def test_unreachable_redis_raises_a_clear_error_without_the_password() -> None:
    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    async with RedisLimiter(url, key="k", rate_limits=limits()) as limiter:
        with pytest.raises(RedisUnavailableError) as caught:
            async with limiter.slot():
                pytest.fail("admitted without Redis")
    error = caught.value
    assert isinstance(error, MarketoError)
    text = f"{error} {error!r} {limiter!r} {limiter.url}"
    assert "hunter2" not in text
    assert "cannot reach Redis at redis://:***@127.0.0.1" in str(error)
    assert "fallback='local'" in str(error)


async def test_a_wrong_password_is_reported_without_showing_it(protected_redis_port: int) -> None:
    url = f"redis://:hunter2@127.0.0.1:{protected_redis_port}/0"
    async with RedisLimiter(url, key="k", rate_limits=limits()) as limiter:
        with pytest.raises(RedisUnavailableError) as caught:
            await limiter.check()
    assert "hunter2" not in f"{caught.value} {caught.value!r}"
    assert "redis://:***@127.0.0.1" in str(caught.value)


async def test_the_right_password_in_the_url_is_used(protected_redis_port: int) -> None:
    url = f"redis://:{PROTECTED_PASSWORD}@127.0.0.1:{protected_redis_port}/0"
    async with RedisLimiter(url, key="k", rate_limits=limits()) as limiter:
        await limiter.check()
        async with limiter.slot():
            assert (await limiter.usage()).in_flight == 1


def test_reprs_hide_the_password() -> None:
    limiter = RedisLimiter(
        "redis://user:hunter2@example.invalid:6379/0?password=hunter3",
        key="k",
        rate_limits=limits(),
    )
    shown = f"{limiter!r} {limiter.token_store!r} {limiter.key_leases!r} {limiter.url}"
    assert "hunter" not in shown
    assert "user:***@example.invalid:6379" in shown


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="key"):
        RedisLimiter("redis://127.0.0.1", key="", rate_limits=limits())
    with pytest.raises(ValueError, match="fallback"):
        RedisLimiter("redis://127.0.0.1", key="k", rate_limits=limits(), fallback="maybe")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="redis://"):
        RedisLimiter("http://127.0.0.1", key="k", rate_limits=limits())


async def test_fallback_local_warns_once_and_keeps_per_process_limits(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    rate = limits(calls=3, period=0.3)
    starts: list[float] = []
    caplog.set_level(logging.WARNING, logger="marketo_async")
    async with RedisLimiter(url, key="k", rate_limits=rate, fallback="local") as limiter:
        for _ in range(6):
            async with limiter.slot():
                starts.append(anyio.current_time())
        assert limiter.in_flight == 0
    assert starts[3] - starts[0] >= rate.period
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "per-process limits" in warnings[0].getMessage()
    assert "hunter2" not in caplog.text


async def test_fallback_local_goes_back_to_redis_once_it_answers(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_connection, "RECONNECT_AFTER_S", 0.2)
    caplog.set_level(logging.INFO, logger="marketo_async")
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    async with RedisLimiter(url, key="k", rate_limits=limits(), fallback="local") as limiter:
        async with limiter.slot():
            pass  # kept locally: nothing listens yet
        with redis_server(port=port):
            await anyio.sleep(0.25)
            async with limiter.slot():
                assert (await limiter.usage()).in_flight == 1
            assert (await limiter.usage()).calls_in_window == 1
            await limiter.aclose()
    assert "answers again" in caplog.text
