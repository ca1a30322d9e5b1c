"""Per-record-key leases: one holder per key across processes, with an expiry."""

from __future__ import annotations

import anyio
import pytest

from marketo_async import RateLimits
from marketo_async.redis import KeyLeases, RedisLimiter

pytestmark = pytest.mark.anyio


def limiter(url: str, key: str, lease_seconds: float = 5.0) -> RedisLimiter:
    return RedisLimiter(url, key=key, rate_limits=RateLimits(), lease_seconds=lease_seconds)


async def test_acquire_takes_the_free_keys_and_leaves_the_held_ones(
    redis_url: str, key: str
) -> None:
    async with limiter(redis_url, key) as a, limiter(redis_url, key) as b:
        assert isinstance(a.key_leases, KeyLeases)
        assert await a.key_leases.acquire(["e:1", "e:2"]) == {"e:1", "e:2"}
        assert await b.key_leases.acquire(["e:2", "e:3", "e:3"]) == {"e:3"}
        assert await a.key_leases.acquire([]) == frozenset()
        await a.key_leases.release(["e:1", "e:2"])
        assert await b.key_leases.acquire(["e:1", "e:2"]) == {"e:1", "e:2"}
        assert b.key_leases.held == {"e:1", "e:2", "e:3"}


async def test_acquire_waits_while_every_key_is_held(redis_url: str, key: str) -> None:
    async with limiter(redis_url, key) as a, limiter(redis_url, key) as b:
        await a.key_leases.acquire(["e:1"])
        with anyio.move_on_after(0.3) as waited:
            await b.key_leases.acquire(["e:1"])
        assert waited.cancelled_caught
        async with anyio.create_task_group() as tg:
            tg.start_soon(b.key_leases.acquire, ["e:1"])
            await anyio.sleep(0.1)
            await a.key_leases.release(["e:1"])
        assert b.key_leases.held == {"e:1"}


async def test_tasks_of_one_process_exclude_each_other(redis_url: str, key: str) -> None:
    async with limiter(redis_url, key) as a:
        leases = a.key_leases
        assert await leases.acquire(["e:1", "e:2"]) == {"e:1", "e:2"}
        with anyio.move_on_after(0.2) as waited:
            await leases.acquire(["e:1"])
        assert waited.cancelled_caught
        assert await leases.acquire(["e:1", "e:3"]) == {"e:3"}


async def test_a_lease_nobody_releases_expires(redis_url: str, key: str) -> None:
    async with limiter(redis_url, key, lease_seconds=0.3) as a, limiter(redis_url, key) as b:
        await a.key_leases.acquire(["e:1"])  # and a "crashes" holding it
        with anyio.fail_after(0.6):
            assert await b.key_leases.acquire(["e:1"]) == {"e:1"}


async def test_holding_renews_the_leases_and_releases_them(redis_url: str, key: str) -> None:
    async with limiter(redis_url, key, lease_seconds=0.3) as a, limiter(redis_url, key) as b:
        async with a.key_leases.holding(["e:1", "e:2"]) as held:
            assert held == {"e:1", "e:2"}
            with anyio.move_on_after(1.0) as waited:  # more than three leases
                await b.key_leases.acquire(["e:1"])
            assert waited.cancelled_caught
        assert a.key_leases.held == frozenset()
        with anyio.fail_after(0.3):
            assert await b.key_leases.acquire(["e:1"]) == {"e:1"}
