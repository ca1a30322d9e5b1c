"""An API that applies a call's records in order (``ResultRules(keys_in_order=True)``, an import
file): records sharing a key may share one call, in input order, and never two calls in flight."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

import anyio
import pytest

from marketo_async._batch import BatchReport, ResultRules, WriteOptions, run_batches
from marketo_async._batch._queue import Item, KeyedQueue
from tests.batch.test_engine import MemoryLeases, email_key, records_of

pytestmark = pytest.mark.anyio

IN_ORDER = ResultRules(match_by="position", keys_in_order=True)


def _item(index: int, key: str | None) -> Item[str]:
    return Item(index, index, key, f"record {index}", size=10)


def _firsts(items: list[Item[str]]) -> list[int]:
    return [entry.first for entry in items]


def test_an_owner_takes_the_records_waiting_on_its_key_into_its_call() -> None:
    queue: KeyedQueue[str] = KeyedQueue(chain=True)
    for index, key in enumerate(["a", "b", "a", "a"]):
        queue.add(_item(index, key))
    batch, _ = queue.take(10, 1_000)
    assert _firsts(batch) == [0, 2, 3, 1]  # the urgent owner, its followers in order, then b
    queue.add(_item(4, "a"))  # read while "a" is in flight: waits for a later call
    assert queue.take(10, 1_000) == ([], False)
    queue.release(batch)
    later, _ = queue.take(10, 1_000)
    assert _firsts(later) == [4]
    queue.release(later)
    assert not queue.has_waiting and queue.buffered == 0


def test_followers_given_back_wait_behind_their_owner_again() -> None:
    queue: KeyedQueue[str] = KeyedQueue(chain=True)
    for index, key in enumerate(["a", "a", "a"]):
        queue.add(_item(index, key))
    batch, _ = queue.take(10, 1_000)
    assert _firsts(batch) == [0, 1, 2]
    queue.give_back(batch)  # their fleet lease was held elsewhere
    assert queue.buffered == 3
    again, _ = queue.take(10, 1_000)
    assert _firsts(again) == [0, 1, 2]


def test_followers_that_do_not_fit_wait_for_the_next_call() -> None:
    queue: KeyedQueue[str] = KeyedQueue(chain=True)
    for index in range(5):
        queue.add(_item(index, "a"))
    batch, full = queue.take(3, 1_000)
    assert _firsts(batch) == [0, 1, 2] and full
    queue.release(batch)
    rest, _ = queue.take(3, 1_000)
    assert _firsts(rest) == [3, 4]


class _InOrderSend:
    """A ``send`` for an in-order API: checks that no key is in two calls in flight at once and
    that a call's records of one key come in input order."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self.in_flight: set[Any] = set()
        self.shared_calls = 0

    async def __call__(self, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        keys = [email_key(dict(record)) for record in records]
        assert not self.in_flight & set(keys), "two calls in flight share a key"
        last: dict[Any, int] = {}
        for key, record in zip(keys, records, strict=True):
            assert last.get(key, -1) < record["i"], "one key's records out of input order"
            last[key] = record["i"]
        self.shared_calls += len(set(keys)) < len(keys)
        self.in_flight |= set(keys)
        try:
            await anyio.sleep(self._rng.random() * 0.2)
        finally:
            self.in_flight -= set(keys)
        return [{"status": "created"} for _ in records]


async def test_two_runs_of_an_in_order_api_never_have_one_key_in_two_calls_in_flight() -> None:
    rng = random.Random(11)
    emails = [f"user{rng.randrange(300)}@example.com" for _ in range(1_500)]
    send = _InOrderSend(rng)
    leases = MemoryLeases()
    reports: list[BatchReport] = []

    async def run(records: list[dict[str, Any]]) -> None:
        report = await run_batches(
            records,
            send,
            WriteOptions(batch_size=200),
            key=email_key,
            key_leases=leases,
            lease_scope="leads:email",
            max_in_flight=2,
            results=IN_ORDER,
        )
        reports.append(report)

    async with anyio.create_task_group() as task_group:
        task_group.start_soon(run, records_of(emails))
        task_group.start_soon(run, records_of([email.upper() for email in reversed(emails)]))
    assert [report.counts for report in reports] == [{"created": 1_500}] * 2
    assert send.shared_calls > 0  # calls did carry a key more than once
    assert leases.held == set()
