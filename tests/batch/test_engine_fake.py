"""The batch engine against FakeMarketo with its limits and its duplicate-lead race on."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

import anyio
import pytest

from marketo_async import MarketoClient, RateLimits
from marketo_async._batch import BatchReport, run_batches
from marketo_async.resources._lead_rules import lookup_key, validate_lead
from marketo_async.testing import FakeMarketo, Latency

pytestmark = pytest.mark.anyio

LIMITS = RateLimits(calls=100, period=20.0, concurrency=10, daily_quota=None)


def leads_with_repeats(n: int, repeat_share: float, seed: int = 1) -> list[dict[str, Any]]:
    """``n`` upserts; ``repeat_share`` of them repeat a recent email in another case."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for i in range(n):
        if rows and rng.random() < repeat_share:
            earlier = rows[rng.randrange(max(0, len(rows) - 500), len(rows))]["email"]
            rows.append(
                {"email": rng.choice([earlier.upper(), earlier.title()]), "lastName": f"L{i}"}
            )
        else:
            rows.append({"email": f"lead{i}@example.com", "firstName": f"F{i}"})
    return rows


def sender(client: MarketoClient) -> Any:
    async def send(batch: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        body = await client.request(
            "POST",
            "/rest/v1/leads.json",
            json={"action": "createOrUpdate", "lookupField": "email", "input": list(batch)},
        )
        return list(body["result"])

    return send


async def upsert(client: MarketoClient, rows: list[dict[str, Any]]) -> BatchReport:
    return await run_batches(
        rows,
        sender(client),
        key=lambda row: lookup_key(row, "email"),
        validate=validate_lead("createOrUpdate", "email"),
        max_in_flight=client.rate_limits.concurrency,
    )


def floor_seconds(calls: int, limits: RateLimits, latency: float) -> float:
    """The least time ``calls`` calls can take within the limits (issue 8's formula)."""
    windows = (math.ceil(calls / limits.calls) - 1) * limits.period + latency
    slots = math.ceil(calls / limits.concurrency) * latency
    return max(windows, slots)


async def test_30000_upserts_with_repeats_leave_no_duplicate_and_stay_near_the_floor() -> None:
    fake = FakeMarketo(latency=Latency(base=0.5), rate_limits=LIMITS)
    rows = leads_with_repeats(30_000, 0.05)
    async with fake.client(rate_limits=LIMITS) as client:
        started = anyio.current_time()
        report = await upsert(client, rows)
        elapsed = anyio.current_time() - started

    assert len(report.outcomes) == 30_000
    assert set(report.counts) <= {"created", "updated"}, report.summary()
    assert fake.duplicates() == []
    assert fake.stats.errors.get("606", 0) == 0
    assert fake.stats.errors.get("615", 0) == 0
    assert fake.stats.max_in_flight <= 10
    unique = len({lookup_key(row, "email") for row in rows})
    assert report.counts["created"] == unique
    # Repeated keys cost no extra call: the look-ahead sends their first record early, so no
    # straggler is left for a 101st call (which would wait for a second 20 s window).
    fewest = math.ceil(30_000 / 300)
    assert fake.stats.calls == fewest
    # Virtual time: how the engine schedules, not how fast this machine is.
    assert elapsed <= 1.3 * floor_seconds(fewest, LIMITS, 0.5)


async def test_without_the_key_rule_the_same_workload_does_create_duplicates() -> None:
    """The race the engine prevents is real in the emulator (this test would catch a no-op)."""
    fake = FakeMarketo(latency=Latency(base=0.5), rate_limits=LIMITS)
    rows = leads_with_repeats(3_000, 0.05)
    async with fake.client(rate_limits=LIMITS) as client:
        send = sender(client)
        async with anyio.create_task_group() as task_group:
            for start in range(0, len(rows), 300):
                task_group.start_soon(send, rows[start : start + 300])
    assert fake.duplicates() != []


async def test_a_607_mid_run_leaves_every_unsent_record_not_attempted() -> None:
    fake = FakeMarketo(latency=0.1, rate_limits=RateLimits(calls=100, period=20.0, daily_quota=12))
    rows = leads_with_repeats(9_000, 0.0)
    async with fake.client(rate_limits=LIMITS) as client:
        report = await upsert(client, rows)
    assert len(report.outcomes) == 9_000
    assert report.counts["created"] + report.counts["not_attempted"] == 9_000
    assert report.counts["created"] == len(fake.leads) == 12 * 300
    assert report.stopped is not None and not report.ok
    assert report.resume_from is not None
    assert report.outcomes[report.resume_from].status == "not_attempted"
    assert "quota" in report.summary()
