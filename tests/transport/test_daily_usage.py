"""The daily quota counter learns the instance's count (every integration) from stats/usage."""

from __future__ import annotations

import logging

import anyio
import attrs
import pytest

from marketo_async import DailyQuotaExceeded, LocalLimiter, RateLimits
from marketo_async._batch import DAILY_QUOTA
from marketo_async._transport._daily import usage_total
from marketo_async.testing import FakeMarketo

pytestmark = pytest.mark.anyio

USAGE = "/rest/v1/stats/usage.json"
DESCRIBE = "/rest/v1/leads/describe.json"
# Marketo's limits, with the daily quota the test needs.
MARKETO = RateLimits(calls=100, period=20.0, concurrency=10, daily_quota=50_000)


async def test_a_sync_next_to_another_integration_stops_at_the_quota_without_a_607() -> None:
    fake = FakeMarketo(rate_limits=MARKETO)
    fake.other_integration_calls = 49_990
    rows = [{"email": f"u{n}@example.com"} for n in range(30_000)]
    async with fake.client() as client:
        report = await client.leads.sync(rows)

    assert fake.stats.calls <= 10  # the usage read included
    assert fake.stats.by_path[USAGE] == 1
    assert "607" not in fake.stats.errors
    assert isinstance(report.stopped, DailyQuotaExceeded)
    assert report.stopped.code is None  # counted here, not Marketo's 607
    applied = report.counts["created"]
    assert applied == 300 * fake.stats.by_path["/rest/v1/leads.json"]
    assert report.counts == {"created": applied, "not_attempted": 30_000 - applied}
    unsent = [o for o in report.outcomes if o.status == "not_attempted"]
    assert all(o.reasons and "daily API quota spent" in o.reasons[0].message for o in unsent)
    assert all(o.reasons[0].code == DAILY_QUOTA for o in unsent)
    assert "50,000 of 50,000 calls counted today" in report.summary()
    assert "before Marketo's 607" in report.summary()


async def test_the_count_is_read_before_the_first_call_then_every_500_calls() -> None:
    fake = FakeMarketo()
    async with fake.client(rate_limits=attrs.evolve(MARKETO, calls=1_000_000)) as client:
        for _ in range(1_100):
            await client.request("GET", DESCRIBE)
    # Before call 1, then once 500 calls went out since the last read (the read included).
    assert fake.stats.by_path[USAGE] == 3
    assert fake.stats.timeline[0].path == USAGE


async def test_the_count_is_read_again_after_ten_minutes() -> None:
    fake = FakeMarketo(rate_limits=MARKETO)
    fake.other_integration_calls = 100
    async with fake.client() as client:
        await client.request("GET", DESCRIBE)
        # Marketo counted 100 + the read; the describe came after.
        assert client.limiter.used_today == 100 + 1 + 1 + 1  # type: ignore[attr-defined]
        fake.other_integration_calls = 20_000  # meanwhile, another integration got busy
        await anyio.sleep(599)
        await client.request("GET", DESCRIBE)
        assert fake.stats.by_path[USAGE] == 1
        await anyio.sleep(2)
        await client.request("GET", DESCRIBE)
        assert fake.stats.by_path[USAGE] == 2
        # Marketo's count at the second read: 20,000 by the other, our three calls before and
        # the read itself; the read again (Marketo may or may not count it yet), the describe.
        assert client.limiter.used_today == 20_000 + 3 + 1 + 1 + 1  # type: ignore[attr-defined]


async def test_the_counter_never_goes_down_when_marketo_lags() -> None:
    fake = FakeMarketo(rate_limits=MARKETO)
    limiter = LocalLimiter(MARKETO)
    async with fake.client(limiter=limiter) as client:
        await client.request("GET", DESCRIBE)
        assert limiter.used_today == 3  # the read (counted twice: see above), the describe
        await limiter.learn_calls_today(0, counted_before=0)  # a stale answer
        assert limiter.used_today == 3


async def test_a_usage_read_that_fails_is_logged_and_the_call_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeMarketo(rate_limits=MARKETO)
    fake.faults.script(USAGE, code="610", times=1)
    async with fake.client() as client:
        with caplog.at_level(logging.WARNING, logger="marketo_async"):
            body = await client.request("GET", DESCRIBE)
    assert body["success"] is True
    assert "could not read the instance's API usage" in caplog.text
    assert fake.stats.by_path[USAGE] == 1


async def test_a_spent_quota_refuses_the_call_before_it_is_sent() -> None:
    fake = FakeMarketo(rate_limits=MARKETO)
    fake.other_integration_calls = 49_999
    async with fake.client() as client:
        with pytest.raises(DailyQuotaExceeded, match="of 50,000 calls counted today"):
            await client.request("GET", DESCRIBE)
    assert fake.stats.by_path[DESCRIBE] == 0
    assert "607" not in fake.stats.errors


async def test_without_a_daily_quota_nothing_is_read() -> None:
    fake = FakeMarketo()
    async with fake.client(rate_limits=RateLimits.unlimited()) as client:
        await client.request("GET", DESCRIBE)
    assert fake.stats.by_path[USAGE] == 0


def test_usage_total_reads_today_only() -> None:
    body = {"result": [{"date": "2026-12-07", "total": 1_120, "users": []}]}
    assert usage_total(body, "2026-12-07") == 1_120
    assert usage_total(body, "2026-12-08") is None  # Marketo's day already ended
    assert usage_total({"result": []}, "2026-12-07") is None
    assert usage_total({"result": [{"date": "2026-12-07", "total": -1}]}, "2026-12-07") is None
