"""client.activities with several token streams (more than 10 type ids or 30 lead ids): their
pages come in rounds of calls made at once, within Marketo's limits, each page read once, and
a cursor taken anywhere still resumes with exactly the rest."""

from __future__ import annotations

import datetime as dt
import math

import anyio
import pytest

from marketo_async import MarketoClient, RateLimits, RetryPolicy
from marketo_async.resources._activity_stream import MAX_CALLS_AT_ONCE
from marketo_async.testing import FakeMarketo

pytestmark = pytest.mark.anyio

SINCE = dt.datetime(2000, 1, 1)
START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
LATENCY = 1.0
MARKETO = RateLimits(calls=100, period=20.0, concurrency=10)


def _client(fake: FakeMarketo) -> MarketoClient:
    return MarketoClient(
        base_url=fake.base_url,
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        transport=fake.transport,
        retry=RetryPolicy.no_wait(max_attempts=20),
        rate_limits=RateLimits(calls=100, period=20.0, concurrency=10, daily_quota=None),
    )


def _seed(fake: FakeMarketo, leads: int, per_lead: int) -> list[int]:
    """``leads`` leads with ``per_lead`` Visit Webpage activities each, interleaved in time
    (lead after lead, a minute apart), so every stream of lead ids runs dry at other times."""
    ids = [fake.add_lead(email=f"reader{i}@example.com") for i in range(leads)]
    moment = START
    for _ in range(per_lead):
        for lead_id in ids:
            fake.add_activity(lead_id, 1, activity_date=moment, primary_attribute_value="/p")
            moment += dt.timedelta(minutes=1)
    return ids


async def test_several_streams_are_read_in_rounds_at_once_each_page_once() -> None:
    fake = FakeMarketo(latency=LATENCY, rate_limits=MARKETO)
    ids = _seed(fake, 150, 12)  # 5 streams of 30 leads, 360 activities each: 2 pages
    async with _client(fake) as client:
        began = anyio.current_time()
        found = await client.activities.list([1], since=SINCE, lead_ids=ids).collect()
        took = anyio.current_time() - began
    assert len(found) == len({a.id for a in found}) == 150 * 12
    assert [(a.activity_date, a.id) for a in found] == sorted(
        (a.activity_date, a.id) for a in found
    )
    pages = 5 * math.ceil(360 / 300)
    assert fake.stats.by_path["/rest/v1/activities.json"] == pages
    # A page after another would take 11 latencies; two rounds of five take two (+ token, auth).
    assert took <= 4 * LATENCY + 0.5
    assert 5 <= fake.stats.max_in_flight <= MAX_CALLS_AT_ONCE
    assert fake.stats.errors["606"] == fake.stats.errors["615"] == 0


async def test_rounds_never_hold_more_than_the_concurrency_limit_in_flight() -> None:
    fake = FakeMarketo(latency=LATENCY, rate_limits=MARKETO)
    ids = _seed(fake, 600, 2)  # 20 streams of 30 leads, 60 activities each: one page
    async with _client(fake) as client:
        found = await client.activities.list([1], since=SINCE, lead_ids=ids).collect()
    assert len(found) == len({a.id for a in found}) == 1200
    assert fake.stats.by_path["/rest/v1/activities.json"] == 20
    assert fake.stats.max_in_flight == 10
    assert fake.stats.errors["606"] == fake.stats.errors["615"] == 0


@pytest.mark.parametrize("stop_after", [1, 149, 150, 151, 899, 1500, 2159])
async def test_a_cursor_taken_while_pages_were_read_ahead_resumes_with_exactly_the_rest(
    stop_after: int,
) -> None:
    fake = FakeMarketo()
    ids = _seed(fake, 90, 24)  # 3 streams of 720: 3 pages each
    async with _client(fake) as client:
        everything = [a.id async for a in client.activities.list([1], since=SINCE, lead_ids=ids)]
        pager = client.activities.list([1], since=SINCE, lead_ids=ids)
        first: list[int | None] = []
        async for activity in pager:
            first.append(activity.id)
            if len(first) == stop_after:
                break
        saved = pager.cursor
        assert saved is not None
        fake.activity_log.short_pages(0.5, seed=stop_after)  # the re-read gets other page sizes
        rest = [a.id async for a in client.activities.list([1], cursor=saved, lead_ids=ids)]
    assert len(everything) == 90 * 24
    assert first + rest == everything


async def test_a_failed_round_with_a_read_ahead_leaves_the_cursor_after_the_last_item() -> None:
    from marketo_async import AccessDeniedError

    fake = FakeMarketo()
    ids = _seed(fake, 60, 20)  # 2 streams of 600: 2 pages each
    async with _client(fake) as client:
        pager = client.activities.list([1], since=SINCE, lead_ids=ids)
        first: list[int | None] = []
        with pytest.raises(AccessDeniedError):
            async for activity in pager:
                first.append(activity.id)
                if len(first) == 10:  # the next round: one stream ran dry, one read ahead
                    fake.faults.script("/rest/v1/activities.json", code="603", times=2)
        assert pager.cursor is not None
        fake.faults.clear()
        rest = [a.id async for a in client.activities.list([1], cursor=pager.cursor, lead_ids=ids)]
    assert len(first) < 600
    visits = [e["id"] for e in fake.activity_log.entries if e["activityTypeId"] == 1]
    assert sorted(first + rest) == sorted(visits)
    assert len(first + rest) == len(set(first + rest)) == 1200
