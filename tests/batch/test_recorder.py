"""The run's outcomes as recorded: a call's answers finished record by record or, for records in a
row sharing one answer (an import file's rows), as one run; each heard once, the same either way."""

from __future__ import annotations

import random

import pytest

from marketo_async._batch import Reason, Recorder, RecordOutcome, WriteOptions
from marketo_async._batch._queue import Item
from marketo_async._batch._results import EntryResult

_IMPORTED: EntryResult = ("imported", None, ())
_REFUSED: EntryResult = ("failed", None, (Reason("1004", "Lead not found"),))
_CREATED: EntryResult = ("created", 42, ())


def _recorded(
    items: list[Item[str]], answers: list[EntryResult], *, by_run: bool
) -> tuple[list[RecordOutcome], Recorder]:
    heard: list[RecordOutcome] = []
    recorder = Recorder(WriteOptions(on_outcome=heard.append), total=None)
    for _ in range(max(item.last for item in items) + 1):
        recorder.add()
    if by_run:
        recorder.finish_answered(items, answers)
    else:
        for item, (status, record_id, reasons) in zip(items, answers, strict=True):
            recorder.finish(
                item.first, item.last, status, record_id=record_id, reasons=reasons, key=item.key
            )
    return heard, recorder


@pytest.mark.parametrize("seed", range(30))
def test_finishing_a_call_by_runs_records_and_tells_what_one_by_one_would(seed: int) -> None:
    rng = random.Random(seed)
    items: list[Item[str]] = []
    answers: list[EntryResult] = []
    index = 0
    for _ in range(rng.randint(1, 40)):
        span = 1 if rng.random() < 0.8 else rng.randint(2, 3)  # a coalesced item
        index += rng.random() < 0.1  # a record refused before the call: a gap
        items.append(Item(index, index + span - 1, f"k{index}", "record"))
        index += span
        answers.append(rng.choice([_IMPORTED, _IMPORTED, _REFUSED, _CREATED]))
    rng.shuffle(items[: len(items) // 4])  # a call's records need not come in input order
    heard_by_run, by_run = _recorded(items, answers, by_run=True)
    heard_each, each = _recorded(items, answers, by_run=False)
    assert heard_by_run == heard_each
    finished = [index for item in items for index in range(item.first, item.last + 1)]
    assert [by_run.outcomes[i] for i in finished] == [each.outcomes[i] for i in finished]
    assert by_run.outcomes.first_pending() == each.outcomes.first_pending()
    assert by_run.outcomes.not_applied == each.outcomes.not_applied
    assert by_run.outcomes.counts() == each.outcomes.counts()


def test_a_run_of_records_that_did_not_apply_keeps_each_records_key() -> None:
    items = [Item(index, index, f"k{index}", "record") for index in range(4)]
    heard, recorder = _recorded(items, [_REFUSED] * 4, by_run=True)
    assert [outcome.key for outcome in heard] == ["k0", "k1", "k2", "k3"]
    assert [outcome.index for outcome in heard] == [0, 1, 2, 3]
    assert recorder.outcomes.not_applied == [0, 1, 2, 3]
    assert recorder.outcomes[2] == RecordOutcome(2, "failed", reasons=_REFUSED[2], key="k2")


def test_records_in_a_row_with_one_answer_keep_their_id_and_no_key() -> None:
    items = [Item(index, index, f"k{index}", "record") for index in range(3)]
    heard, _ = _recorded(items, [_CREATED] * 3, by_run=True)
    assert heard == [RecordOutcome(index, "created", id=42) for index in range(3)]
