"""FakeMarketo with the real MarketoClient: limits kept, tokens refreshed, faults retried."""

from __future__ import annotations

import anyio
import pytest

from marketo_async import RateLimits, RetryPolicy
from marketo_async.testing import FakeMarketo

pytestmark = pytest.mark.anyio


async def test_client_with_matching_limits_gets_no_606_or_615() -> None:
    limits = RateLimits(calls=10, period=0.5, concurrency=3, daily_quota=None, window_margin=0.05)
    fake = FakeMarketo(latency=0.02, rate_limits=limits)
    async with fake.client(rate_limits=limits, retry=RetryPolicy.no_wait()) as client:
        async with anyio.create_task_group() as tg:
            for _ in range(25):
                tg.start_soon(client.request, "GET", "/rest/v1/leads/describe.json")
    assert fake.stats.errors["606"] == 0
    assert fake.stats.errors["615"] == 0
    assert fake.stats.max_in_flight <= 3
    assert fake.stats.max_calls_in_window(0.5) <= 10
    assert fake.stats.calls == 25


async def test_client_round_trip_and_token_refresh() -> None:
    fake = FakeMarketo()
    lead_id = fake.add_lead(email="c@example.com", firstName="C")
    async with fake.client(retry=RetryPolicy.no_wait()) as client:
        body = await client.request("GET", f"/rest/v1/lead/{lead_id}.json")
        assert body["result"][0]["firstName"] == "C"
        fake.expire_token()
        synced = await client.request(
            "POST", "/rest/v1/leads.json", json={"input": [{"email": "d@example.com"}]}
        )
        assert synced["result"][0]["status"] == "created"
    assert fake.stats.errors["602"] == 1
    assert fake.stats.tokens_issued == 2


async def test_client_retries_a_scripted_608() -> None:
    fake = FakeMarketo()
    fake.faults.script("/rest/v1/leads/describe.json", code="608", times=2)
    async with fake.client(retry=RetryPolicy.no_wait()) as client:
        body = await client.request("GET", "/rest/v1/leads/describe.json")
    assert body["success"] is True
    assert fake.stats.errors["608"] == 2
