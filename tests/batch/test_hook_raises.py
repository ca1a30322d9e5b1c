"""A caller's on_outcome hook that raises (a bug): the run raises it, and every record of the
call is still heard once, the records after the failing one as unknown."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from marketo_async._batch import RecordOutcome, ResultRules, WriteOptions, run_batches

pytestmark = pytest.mark.anyio

SHARED = ResultRules(match_by="position", read=lambda entry: (entry["status"], None, ()))


@pytest.mark.parametrize("rules", [SHARED, ResultRules()], ids=["position", "marketo"])
async def test_a_hook_raising_mid_call_leaves_the_rest_heard_once_as_unknown(
    rules: ResultRules,
) -> None:
    answer = {"status": "created"}

    async def send(batch: Sequence[Any]) -> list[dict[str, Any]]:
        return [answer] * len(batch)  # one entry object answers every record

    heard: list[RecordOutcome] = []

    def hear(outcome: RecordOutcome) -> None:
        heard.append(outcome)
        if outcome.index == 3:
            raise LookupError("a bug in the hook")

    with pytest.raises(LookupError):
        await run_batches(list(range(10)), send, WriteOptions(on_outcome=hear), results=rules)
    assert sorted(outcome.index for outcome in heard) == list(range(10))
    assert [outcome.status for outcome in heard[:4]] == ["created"] * 4
    assert {outcome.status for outcome in heard[4:]} == {"unknown"}


async def test_a_hook_raising_within_merged_records_leaves_the_rest_heard_once() -> None:
    async def send(batch: Sequence[Any]) -> list[dict[str, Any]]:
        return [{"status": "updated", "id": 5} for _ in batch]

    heard: list[RecordOutcome] = []

    def hear(outcome: RecordOutcome) -> None:
        heard.append(outcome)
        if outcome.index == 1:
            raise LookupError("a bug in the hook")

    records = [{"email": "a@x.com", "n": n} for n in range(4)]  # one key: merged into one
    options = WriteOptions(on_outcome=hear, coalesce=True)
    with pytest.raises(LookupError):
        await run_batches(records, send, options, key=lambda record: record["email"])
    assert sorted(outcome.index for outcome in heard) == [0, 1, 2, 3]
    assert [outcome.status for outcome in heard] == ["updated", "updated", "unknown", "unknown"]
