"""Which lane each call goes in, and an awaited call beside a saturating sync on the emulator's
real window (virtual time, both loops)."""

from __future__ import annotations

import statistics
from typing import Any

import anyio
import pytest

from marketo_async import Lanes, MarketoClient, RateLimits, lane
from marketo_async.testing import FakeMarketo, Latency

pytestmark = pytest.mark.anyio

# Marketo's window; the client's margin as the benchmarks use it.
LIMITS = RateLimits(calls=100, period=20.0, concurrency=10, daily_quota=None, window_margin=0.25)
RECORDS = 45_000  # 150 calls of 300


def lanes_of(client: MarketoClient) -> dict[str, int]:
    return {name: stats.calls for name, stats in client.stats.lanes.items()}


async def test_pages_after_the_first_are_background_calls() -> None:
    fake = FakeMarketo()
    ids = [fake.add_lead(email=f"p{n}@example.com") for n in range(700)]
    list_id = fake.add_list("Readers", lead_ids=ids)
    async with fake.client() as client:
        first = await client.static_lists.leads(list_id)
        assert lanes_of(client) == {"interactive": 1, "background": 0}
        everyone = await client.static_lists.leads(list_id).collect()
    assert len(first) == 300 and len(everyone) == 700
    # The second read: its first page interactive, its two later pages background.
    assert lanes_of(client) == {"interactive": 2, "background": 2}


async def test_batch_writes_are_background_unless_they_fit_one_call() -> None:
    fake = FakeMarketo()
    async with fake.client() as client:
        await client.leads.sync([{"email": "one@example.com"}])
        assert lanes_of(client) == {"interactive": 1, "background": 0}
        await client.leads.sync([{"email": f"w{n}@example.com"} for n in range(301)])
        assert lanes_of(client) == {"interactive": 1, "background": 2}
        with lane("background"):  # a loop of small writes is a load too
            await client.leads.sync([{"email": "two@example.com"}])
    assert lanes_of(client) == {"interactive": 1, "background": 3}


async def test_request_is_interactive_unless_told_and_bulk_paths_are_background() -> None:
    fake = FakeMarketo()
    async with fake.client() as client:
        await client.request("GET", "/rest/v1/leads/describe.json")
        await client.request("GET", "/rest/v1/leads/describe.json", priority="background")
        with lane("background"):
            await client.request("GET", "/rest/v1/leads/describe.json")
            await client.request("GET", "/rest/v1/leads/describe.json", priority="interactive")
        await client.request("GET", "/bulk/v1/leads/export.json")
    assert lanes_of(client) == {"interactive": 2, "background": 3}
    with pytest.raises(ValueError, match="priority"):
        with lane("urgent"):  # type: ignore[arg-type]
            pass


async def awaited_gets_beside_a_sync(lanes: Lanes) -> tuple[list[float], float, FakeMarketo]:
    """A 45,000-record sync and one awaited leads.get a second on one client, like a service
    and a nightly load; returns the gets' times, the sync's wall time and the emulator."""
    fake = FakeMarketo(latency=Latency(base=0.5), rate_limits=LIMITS)
    lead_id = fake.add_lead(email="service@example.com")
    rows: list[dict[str, Any]] = [{"email": f"s{n}@example.com"} for n in range(RECORDS)]
    waits: list[float] = []
    limits = RateLimits(
        calls=100, period=20.0, concurrency=10, daily_quota=None, window_margin=0.25, lanes=lanes
    )
    async with fake.client(rate_limits=limits) as client:
        done = anyio.Event()

        async def get() -> None:
            asked = anyio.current_time()
            assert await client.leads.get(lead_id) is not None
            waits.append(anyio.current_time() - asked)

        async def service() -> None:
            async with anyio.create_task_group() as calls:
                while not done.is_set():
                    calls.start_soon(get)
                    with anyio.move_on_after(1.0):
                        await done.wait()

        async with anyio.create_task_group() as tg:
            tg.start_soon(service)
            began = anyio.current_time()
            report = await client.leads.sync(rows)
            wall = anyio.current_time() - began
            done.set()
    assert report.counts == {"created": RECORDS}
    return waits, wall, fake


async def test_an_awaited_call_beside_a_saturating_sync_is_answered_in_one_round_trip() -> None:
    waits, wall, fake = await awaited_gets_beside_a_sync(Lanes())
    assert fake.stats.errors["606"] == 0 and fake.stats.errors["615"] == 0
    assert len(waits) >= 20
    # The first get may find the load holding all 10 slots (no interactive call was seen yet, so
    # no reserve): it waits for the first slot to free, one round trip, never for the window.
    # From then on the reserve is there, and each get is its own 0.5 s.
    assert waits[0] <= 1.0 + 1e-9
    assert max(waits[1:]) == pytest.approx(0.5)
    # The sync keeps 75 of the window's places while the service is around: two bursts.
    floor = 20.0 + 5 * 0.5  # its 150 calls alone: a window, then 5 rounds of 10
    assert wall <= 1.15 * floor


async def test_without_lanes_the_awaited_calls_wait_for_the_window() -> None:
    waits, _, fake = await awaited_gets_beside_a_sync(Lanes.off())
    assert fake.stats.errors["606"] == 0 and fake.stats.errors["615"] == 0
    assert max(waits) > 10.0  # behind a window the load spent in its first seconds
    assert statistics.median(waits) > 0.5


async def test_the_daily_usage_read_goes_in_the_lane_of_the_call_that_needs_it() -> None:
    fake = FakeMarketo()
    limits = RateLimits(calls=100, period=20.0, concurrency=10, daily_quota=50_000)
    async with fake.client(rate_limits=limits) as client:
        await client.leads.sync([{"email": f"d{n}@example.com"} for n in range(600)])
    # The usage read before the first call, then two calls of 300: all of them a load's.
    assert fake.stats.by_path["/rest/v1/stats/usage.json"] == 1
    assert lanes_of(client) == {"interactive": 0, "background": 3}
