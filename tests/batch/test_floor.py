"""The engine's floor (see the ``marketo_async._batch`` docstring), on virtual time.

With every call taking the same latency, a run cannot end sooner than
``max(ceil(records / (batch_size * max_in_flight)), longest same-key chain)`` latencies: each
round carries at most ``batch_size * max_in_flight`` records, and a key repeated k times
needs k calls one after another. For inputs that fit the look-ahead, the engine ends within
one round of that floor.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketo_async._batch import WriteOptions, run_batches
from tests.virtual_time import virtual_backend

pytestmark = pytest.mark.anyio

LATENCY_S = 1.0


@st.composite
def inputs(draw: st.DrawFn) -> dict[str, Any]:
    batch_size = draw(st.integers(1, 20))
    max_in_flight = draw(st.integers(1, 6))
    look_ahead = 4 * batch_size * max_in_flight
    if draw(st.booleans()):  # a few keys, any order: chains interleaved
        keys = draw(st.lists(st.integers(0, 8), max_size=look_ahead))
    else:  # many keys, some hot (long chains), most rare
        n = draw(st.integers(0, look_ahead))
        distinct = draw(st.integers(1, max(1, n)))
        rng = random.Random(draw(st.integers(0, 2**32)))
        skew = draw(st.sampled_from([0.0, 1.0, 3.0]))
        weights = [1.0 / (rank + 1) ** skew for rank in range(distinct)]
        keys = rng.choices(range(distinct), weights=weights, k=n)
    return {"keys": keys, "batch_size": batch_size, "max_in_flight": max_in_flight}


def floor_rounds(keys: Sequence[int], batch_size: int, max_in_flight: int) -> int:
    if not keys:
        return 0
    longest_chain = max(Counter(keys).values())
    return max(math.ceil(len(keys) / (batch_size * max_in_flight)), longest_chain)


@pytest.mark.parametrize(
    "anyio_backend",
    [virtual_backend("asyncio"), virtual_backend("trio")],
    ids=["asyncio", "trio"],
)
@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=inputs())
async def test_a_run_that_fits_the_look_ahead_ends_within_one_round_of_the_floor(
    case: dict[str, Any],
) -> None:
    keys: list[int] = case["keys"]

    async def send(batch: Sequence[dict[str, int]]) -> list[dict[str, Any]]:
        await anyio.sleep(LATENCY_S)
        return [{"id": record["i"], "status": "updated"} for record in batch]

    records = [{"i": i, "key": key} for i, key in enumerate(keys)]
    started = anyio.current_time()
    report = await run_batches(
        records,
        send,
        WriteOptions(batch_size=case["batch_size"]),
        key=lambda record: record["key"],
        max_in_flight=case["max_in_flight"],
    )
    rounds = (anyio.current_time() - started) / LATENCY_S

    assert report.ok and len(report.outcomes) == len(keys)
    floor = floor_rounds(keys, case["batch_size"], case["max_in_flight"])
    assert floor <= rounds + 1e-9, "faster than the floor: the floor is wrong"
    assert rounds <= floor + 1 + 1e-9, f"{rounds:.0f} rounds for a floor of {floor}"


@pytest.mark.parametrize(
    ("keys", "batch_size", "max_in_flight", "rounds"),
    [
        ([0, 0, 1], 2, 2, 2),  # the chain of 0 sets the floor
        (list(range(40)), 10, 2, 2),  # 40 records, 20 a round
        ([0, 1, 0, 2, 0, 3, 0, *range(4, 24)], 10, 3, 4),  # a chain of 4 under the rest
    ],
)
def test_floor_rounds(keys: list[int], batch_size: int, max_in_flight: int, rounds: int) -> None:
    assert floor_rounds(keys, batch_size, max_in_flight) == rounds
