"""A cancelled ``leads.sync``: every record gets one outcome through ``on_outcome``.

A list is read to its end, so every record of it gets one; an iterator or a stream gets one
for every record read, and the records never read stay in it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import pytest

from marketo_async import RateLimits
from marketo_async._batch import RecordOutcome
from marketo_async.testing import FakeMarketo

pytestmark = pytest.mark.anyio

LIMITS = RateLimits(calls=100, period=20.0, concurrency=2, daily_quota=None)
RECORDS = 5_000  # far more than the look-ahead of 2 calls in flight


def leads(count: int) -> list[dict[str, Any]]:
    return [{"email": f"c{n}@example.com"} for n in range(count)]


async def cancelled_sync(records: Any) -> dict[int, RecordOutcome]:
    fake = FakeMarketo(latency=1.0, rate_limits=LIMITS)
    heard: dict[int, RecordOutcome] = {}

    def hear(outcome: RecordOutcome) -> None:
        assert outcome.index not in heard, "an outcome was heard twice"
        heard[outcome.index] = outcome

    async with fake.client() as client:
        with anyio.move_on_after(2.5) as scope:
            await client.leads.sync(records, batch_size=100, on_outcome=hear)
    assert scope.cancelled_caught
    return heard


async def test_a_cancelled_sync_of_a_list_gives_every_record_one_outcome() -> None:
    heard = await cancelled_sync(leads(RECORDS))
    assert sorted(heard) == list(range(RECORDS))
    counts = Counter(outcome.status for outcome in heard.values())
    assert counts["created"] == 400  # two rounds of two calls of 100 returned
    assert counts["unknown"] == 200  # the third round was cut off
    assert counts["not_attempted"] == RECORDS - 600
    assert heard[RECORDS - 1].reasons[0].code == "interrupted"


async def test_a_cancelled_sync_of_an_iterator_answers_every_record_read_and_leaves_the_rest() -> (
    None
):
    taken = 0

    def source() -> Iterator[dict[str, Any]]:
        nonlocal taken
        for record in leads(RECORDS):
            taken += 1
            yield record

    records = source()
    heard = await cancelled_sync(records)
    read = taken
    assert sorted(heard) == list(range(read))  # every record read, once
    assert read < RECORDS
    assert next(records) == {"email": f"c{read}@example.com"}  # the rest is still there


async def test_a_cancelled_sync_of_a_stream_answers_every_record_read() -> None:
    taken = 0

    async def source() -> AsyncIterator[dict[str, Any]]:
        nonlocal taken
        for record in leads(RECORDS):
            taken += 1
            yield record

    heard = await cancelled_sync(source())
    assert sorted(heard) == list(range(taken))
    assert 0 < taken < RECORDS
