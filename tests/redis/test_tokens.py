"""The access token shared through Redis: one fetch for the whole fleet."""

from __future__ import annotations

import time

import anyio
import pytest

from marketo_async import MarketoClient, RateLimits
from marketo_async._transport import TokenStore
from marketo_async.redis import RedisLimiter
from marketo_async.testing import FakeMarketo

pytestmark = pytest.mark.anyio


async def test_the_token_store_saves_loads_and_discards_only_the_refused_token(
    redis_url: str, key: str
) -> None:
    async with RedisLimiter(redis_url, key=key, rate_limits=RateLimits()) as a:
        store = a.token_store
        assert isinstance(store, TokenStore)
        assert await store.load() is None
        expires_at = time.time() + 60
        await store.save("token-1", expires_at)
        async with RedisLimiter(redis_url, key=key, rate_limits=RateLimits()) as b:
            shared = await b.token_store.load()
            assert shared is not None
            assert shared[0] == "token-1" and shared[1] == pytest.approx(expires_at)
            await b.token_store.discard("token-0")  # an older token: keep the current one
            assert await store.load() is not None
            await b.token_store.discard("token-1")
            assert await store.load() is None
        assert "token" not in repr(store).replace("TokenStore", "")


async def test_one_process_at_a_time_holds_the_fetch_lock(redis_url: str, key: str) -> None:
    inside = 0
    most = 0

    async def fetch(limiter: RedisLimiter) -> None:
        nonlocal inside, most
        async with limiter.token_store.fetch_lock():
            inside += 1
            most = max(most, inside)
            await anyio.sleep(0.05)
            inside -= 1

    async with RedisLimiter(redis_url, key=key, rate_limits=RateLimits()) as a:
        async with RedisLimiter(redis_url, key=key, rate_limits=RateLimits()) as b:
            async with anyio.create_task_group() as tg:
                for i in range(4):
                    tg.start_soon(fetch, (a, b)[i % 2])
    assert most == 1


async def test_clients_sharing_a_redis_limiter_fetch_one_token_and_keep_the_limits(
    redis_url: str, key: str
) -> None:
    rate = RateLimits(calls=20, period=0.5, concurrency=3, daily_quota=None, window_margin=0.05)
    fake = FakeMarketo(latency=0.02, rate_limits=rate)

    async def worker(index: int) -> None:
        async with RedisLimiter(redis_url, key=key, rate_limits=rate) as limiter:
            client = MarketoClient(
                base_url=fake.base_url,
                client_id=fake.client_id,
                client_secret=fake.client_secret,
                transport=fake.transport,
                rate_limits=rate,
                limiter=limiter,
            )
            async with client, anyio.create_task_group() as tg:
                for _ in range(15):
                    tg.start_soon(client.request, "GET", "/rest/v1/leads/describe.json")

    async with anyio.create_task_group() as tg:
        for index in range(3):
            tg.start_soon(worker, index)
    assert fake.stats.calls == 45
    assert fake.stats.identity_calls == 1
    assert fake.stats.errors["606"] == fake.stats.errors["615"] == 0
    assert fake.stats.max_in_flight <= 3
