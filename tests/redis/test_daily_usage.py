"""Through RedisLimiter the fleet shares the instance's daily count learned from stats/usage."""

from __future__ import annotations

import pytest

from marketo_async import DailyQuotaExceeded, RateLimits
from marketo_async.redis import RedisLimiter
from marketo_async.testing import FakeMarketo

from .conftest import free_port

pytestmark = pytest.mark.anyio

USAGE = "/rest/v1/stats/usage.json"
DESCRIBE = "/rest/v1/leads/describe.json"
LIMITS = RateLimits(calls=1000, period=1.0, concurrency=10, daily_quota=50_000, window_margin=0.05)


async def test_one_process_reads_the_usage_and_the_fleet_counts_from_it(
    redis_url: str, key: str
) -> None:
    fake = FakeMarketo()
    fake.other_integration_calls = 49_000
    async with (
        RedisLimiter(redis_url, key=key, rate_limits=LIMITS) as first,
        RedisLimiter(redis_url, key=key, rate_limits=LIMITS) as second,
        fake.client(rate_limits=LIMITS, limiter=first) as one,
        fake.client(rate_limits=LIMITS, limiter=second) as other,
    ):
        await one.request("GET", DESCRIBE)
        await other.request("GET", DESCRIBE)  # the fleet learned a moment ago: no second read
        assert fake.stats.by_path[USAGE] == 1
        # 49,000 by the other integration, the read (counted by Marketo and again by us) and
        # the two describes.
        assert (await second.usage()).used_today == 49_000 + 1 + 1 + 2


async def test_the_fleet_stops_at_the_quota_another_integration_nearly_spent(
    redis_url: str, key: str
) -> None:
    fake = FakeMarketo()
    fake.other_integration_calls = 49_995
    async with (
        RedisLimiter(redis_url, key=key, rate_limits=LIMITS) as first,
        RedisLimiter(redis_url, key=key, rate_limits=LIMITS) as second,
        fake.client(rate_limits=LIMITS, limiter=first) as one,
        fake.client(rate_limits=LIMITS, limiter=second) as other,
    ):
        sent = 0
        with pytest.raises(DailyQuotaExceeded):
            for client in [one, other] * 10:
                await client.request("GET", DESCRIBE)
                sent += 1
    assert fake.stats.by_path[USAGE] == 1
    assert sent == fake.stats.by_path[DESCRIBE] == 50_000 - 49_995 - 2
    assert "607" not in fake.stats.errors


async def test_while_redis_is_away_each_process_learns_for_itself() -> None:
    fake = FakeMarketo()
    fake.other_integration_calls = 49_000
    nobody = f"redis://127.0.0.1:{free_port()}/0"
    async with (
        RedisLimiter(nobody, key="k", rate_limits=LIMITS, fallback="local") as limiter,
        fake.client(rate_limits=LIMITS, limiter=limiter) as client,
    ):
        await client.request("GET", DESCRIBE)
        assert await limiter.calls_today() == 49_000 + 1 + 1 + 1
    assert fake.stats.by_path[USAGE] == 1
