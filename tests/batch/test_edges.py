"""The engine at the edges: values JSON cannot carry, oversized records, unreadable answers."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketo_async._batch import (
    LOCAL_VALIDATION,
    MAX_BODY_BYTES,
    UNEXPECTED_ANSWER,
    ResultRules,
    WriteOptions,
    run_batches,
)
from marketo_async._batch._sizes import unsendable
from marketo_async._errors import TransientError
from marketo_async.resources._arguments import check_lead_id, id_or_none
from marketo_async.resources._lead_rules import lookup_key
from tests.virtual_time import virtual_backend

pytestmark = pytest.mark.anyio


class Opaque:
    def __repr__(self) -> str:
        return "Opaque()"


def email_key(record: Mapping[str, Any]) -> str | int | None:
    return lookup_key(record, "email")


def applied(batch: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{"status": "created", "id": 1000 + n} for n, _ in enumerate(batch)]


@pytest.mark.parametrize(
    ("bad", "field", "said"),
    [
        ({"photo": b"\x89PNG"}, "photo", "bytes"),
        ({"tags": {"a", "b"}}, "tags", "set"),
        ({"owner": Opaque()}, "owner", "Opaque"),
        ({"score": math.nan}, "score", "nan"),
        ({"score": math.inf}, "score", "inf"),
        ({"score": -math.inf}, "score", "-inf"),
        ({"address": {"city": b"x"}}, "address.city", "bytes"),
        ({"emails": ["a@x.com", math.nan]}, "emails[1]", "nan"),
    ],
)
async def test_a_value_json_cannot_carry_fails_only_its_record_naming_the_field(
    bad: dict[str, Any], field: str, said: str
) -> None:
    records = [
        {"email": "ann@x.com"},
        {"email": "bob@x.com", **bad},
        {"email": "cy@x.com"},
    ]
    sent: list[Any] = []

    async def send(batch: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        sent.extend(batch)
        return applied(batch)

    report = await run_batches(records, send, key=email_key)
    assert [o.status for o in report.outcomes] == ["created", "failed", "created"]
    assert [record["email"] for record in sent] == ["ann@x.com", "cy@x.com"]
    reason = report.outcomes[1].reasons[0]
    assert reason.code == LOCAL_VALIDATION
    assert reason.message.startswith(f"record 1: field {field!r}")
    assert said in reason.message


async def test_a_record_over_the_body_limit_names_its_largest_field() -> None:
    records = [{"email": "ann@x.com", "notes": "x" * (MAX_BODY_BYTES + 10), "city": "Paris"}]

    async def send(batch: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        raise AssertionError("an oversized record was sent")

    report = await run_batches(records, send, key=email_key)
    message = report.outcomes[0].reasons[0].message
    assert report.outcomes[0].status == "failed"
    assert "its largest field is 'notes' (1,000,012 bytes)" in message


async def test_an_answer_that_cannot_be_read_leaves_its_records_unknown_and_never_raises() -> None:
    def unreadable(entry: Mapping[str, Any]) -> Any:
        raise KeyError("status")

    async def send(batch: Sequence[Any]) -> list[dict[str, Any]]:
        return [{"weird": True} for _ in batch]

    report = await run_batches(range(5), send, results=ResultRules(read=unreadable))
    assert report.counts == {"unknown": 5}
    assert report.outcomes[0].reasons[0].code == UNEXPECTED_ANSWER
    assert "KeyError" in report.outcomes[0].reasons[0].message


@pytest.mark.parametrize(
    "answer",
    [
        [{"status": "created", "id": 2**70}],
        [{"status": "created", "id": "318581"}],
        ["not an entry"],
        [None],
    ],
)
async def test_an_impossible_entry_in_an_answer_never_raises_out_of_the_run(
    answer: list[Any],
) -> None:
    async def send(batch: Sequence[Any]) -> list[Any]:
        return answer

    report = await run_batches([7], send)
    outcome = report.outcomes[0]
    assert outcome.id is None
    assert outcome.status in ("created", "unknown")


def test_unsendable_accepts_every_json_value() -> None:
    record = {"a": "x", "b": 1, "c": 1.5, "d": True, "e": None, "f": [1, {"g": "h"}]}
    assert unsendable(record) is None


IMPOSSIBLE_IDS = [0, -1, 2**31, 2**70, True, "12a", None, 1.5, "-3"]


@pytest.mark.parametrize("anyio_backend", [virtual_backend("asyncio")], ids=["asyncio"])
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    ids=st.lists(
        st.one_of(
            st.integers(1, 2**31 - 1),
            st.integers(1, 50).map(str),  # a CSV cell
            st.sampled_from(IMPOSSIBLE_IDS),
        ),
        max_size=700,
    ),
    seed=st.integers(0, 2**32),
)
async def test_every_id_gets_one_outcome_with_impossible_ids_and_ambiguous_failures_mixed_in(
    ids: list[Any], seed: int
) -> None:
    rng = random.Random(seed)
    sent: list[int] = []
    ambiguous: set[int] = set()

    async def send(batch: Sequence[Any]) -> list[Any]:
        numbers = [id_or_none(value) for value in batch]
        assert None not in numbers, "an impossible id was sent"
        sent.extend(n for n in numbers if n is not None)
        roll = rng.random()
        if roll < 0.1:
            error = TransientError("Request timed out", code="604")
            error.may_have_applied = True
            ambiguous.update(n for n in numbers if n is not None)
            raise error
        if roll < 0.15:
            return [{"status": "added", "id": 2**70}] * len(batch)  # ids that cannot be ids
        return [{"seq": seq, "status": "added"} for seq in range(len(batch))]

    report = await run_batches(
        ids,
        send,
        WriteOptions(batch_size=rng.choice([1, 50, 300])),
        key=id_or_none,
        validate=check_lead_id,
        max_in_flight=rng.randint(1, 5),
        results=ResultRules(ids_from_keys=True),
    )
    assert [outcome.index for outcome in report.outcomes] == list(range(len(ids)))
    assert sum(report.counts.values()) == len(ids)
    for value, outcome in zip(ids, report.outcomes, strict=True):
        number = id_or_none(value)
        if number is None:
            assert outcome.status == "failed"
            assert outcome.reasons[0].code == LOCAL_VALIDATION
            assert "at most 32 bits" in outcome.reasons[0].message
        else:
            assert outcome.status in ("added", "unknown")
            assert outcome.id is None or outcome.id == number
    assert set(sent) == {n for n in map(id_or_none, ids) if n is not None}
