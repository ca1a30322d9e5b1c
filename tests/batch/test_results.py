"""How result entries find their records and what they say, for Marketo and for another API."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from marketo_async._batch import (
    NO_RESULT,
    UNEXPECTED_STATUS,
    EntryResult,
    Reason,
    ResultRules,
    WriteOptions,
    marketo_result,
    reasons_of,
    run_batches,
)

pytestmark = pytest.mark.anyio


def test_a_marketo_entry_gives_status_id_and_reasons() -> None:
    entry = {"id": 7, "status": "skipped", "reasons": [{"code": "1004", "message": "not found"}]}
    assert marketo_result(entry) == ("skipped", 7, (Reason("1004", "not found"),))
    assert marketo_result({"leadId": 8, "status": "created"}) == ("created", 8, ())


def test_a_status_marketo_never_sends_is_unknown_with_a_reason() -> None:
    status, record_id, reasons = marketo_result({"id": 3, "status": "weird"})
    assert (status, record_id) == ("unknown", 3)
    assert reasons == (Reason(UNEXPECTED_STATUS, "Marketo answered status 'weird'"),)


def test_reasons_that_are_not_mappings_are_dropped() -> None:
    assert reasons_of({"reasons": ["oops", {"code": 1, "message": "m"}]}) == (Reason("1", "m"),)


def test_no_entry_at_all_is_unknown() -> None:
    status, record_id, reasons = ResultRules().outcome(None)
    assert (status, record_id) == ("unknown", None)
    assert reasons[0].code == NO_RESULT


def test_entries_are_matched_by_seq_first_entry_wins() -> None:
    results = [
        {"seq": 1, "id": 11, "status": "created"},
        {"seq": 0, "id": 10, "status": "updated"},
        {"seq": 0, "id": 99, "status": "created"},
    ]
    found = ResultRules().outcomes(["a", "b", "c"], results)
    assert [(status, record_id) for status, record_id, _ in found] == [
        ("updated", 10),
        ("created", 11),
        ("unknown", None),
    ]


def test_entries_are_matched_by_id_when_the_answer_names_the_record() -> None:
    rules = ResultRules(match_by="id", ids_from_keys=True)
    reordered = [{"id": 502, "status": "added"}, {"id": 501, "status": "removed"}]
    found = rules.outcomes([501, 502], reordered)
    assert [entry[:2] for entry in found] == [("removed", 501), ("added", 502)]
    # An entry without an id answers the record at its position, which lends it the id.
    anonymous = [{"status": "skipped"}, {"id": 502, "status": "added"}]
    found = rules.outcomes([501, 502], anonymous)
    assert [entry[:2] for entry in found] == [("skipped", 501), ("added", 502)]


def test_a_skipped_entry_takes_its_records_key_as_id() -> None:
    rules = ResultRules(ids_from_keys=True)
    found = rules.outcomes([41, 42], [{"seq": 0, "status": "skipped"}, {"seq": 1}])
    assert found[0][:2] == ("skipped", 41)
    assert found[1][:2] == ("unknown", 42)


# ------------------------------------------------------------------ another API plugs in

_WORDS = {"CREATED": "created", "UPDATED": "updated", "DELETED": "deleted", "FAILED": "failed"}


def other_api_result(entry: Mapping[str, Any]) -> EntryResult:
    status = _WORDS.get(str(entry.get("result")), "unknown")
    errors = tuple(Reason(str(code), "refused") for code in entry.get("errors", ()))
    record_id = entry.get("id")
    return status, record_id if type(record_id) is int else None, errors  # type: ignore[return-value]


OTHER_API = ResultRules(max_records=500, match_by="position", read=other_api_result)


async def test_an_api_with_500_records_a_call_and_answers_by_position_plugs_in() -> None:
    calls: list[int] = []

    async def send(batch: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        calls.append(len(batch))
        return [
            {"result": "FAILED", "errors": [301]}
            if record["n"] % 100 == 0
            else {"result": "CREATED", "id": record["n"], "seq": 0}  # seq means nothing here
            for record in batch
        ]

    records = [{"n": n, "email": f"u{n}@x.com"} for n in range(1_200)]
    report = await run_batches(
        records,
        send,
        WriteOptions(batch_size=500),
        key=lambda record: record["email"],
        results=OTHER_API,
    )
    assert sorted(calls) == [200, 500, 500]  # concurrent calls may start in any order
    assert report.counts == {"created": 1_188, "failed": 12}
    assert report.outcomes[7].id == 7
    assert report.outcomes[100].reasons == (Reason("301", "refused"),)


async def test_a_batch_size_above_the_apis_limit_is_refused() -> None:
    async def send(batch: Sequence[int]) -> list[dict[str, Any]]:
        return []

    with pytest.raises(ValueError, match="1 to 500"):
        await run_batches([1], send, WriteOptions(batch_size=501), results=OTHER_API)
    with pytest.raises(ValueError, match="1 to 300"):
        await run_batches([1], send, WriteOptions(batch_size=301))


async def test_rules_whose_read_returns_an_impossible_id_leave_the_id_out() -> None:
    rules = ResultRules(match_by="position", read=lambda entry: ("created", 2**80, ()))

    async def send(batch: Sequence[str]) -> list[Mapping[str, Any]]:
        return [{} for _ in batch]

    report = await run_batches(["a", "b"], send, results=rules, key=lambda record: record)
    assert [(o.status, o.id) for o in report.outcomes] == [("created", None)] * 2


async def test_rules_whose_read_returns_a_status_the_library_lacks_give_unknown_not_a_crash() -> (
    None
):
    rules = ResultRules(
        match_by="position", read=lambda entry: ("bogus", 3, "not reasons"), api="Some API"
    )

    async def send(batch: Sequence[str]) -> list[Mapping[str, Any]]:
        return [{} for _ in batch]

    report = await run_batches(["a", "b"], send, results=rules, key=lambda record: record)
    assert [o.status for o in report.outcomes] == ["unknown", "unknown"]
    for outcome in report.outcomes:
        assert outcome.reasons == (Reason(UNEXPECTED_STATUS, "Some API answered status 'bogus'"),)


def test_one_entry_object_answering_records_in_a_row_is_read_once() -> None:
    calls: list[Mapping[str, Any]] = []

    def read(entry: Mapping[str, Any]) -> EntryResult:
        calls.append(entry)
        return entry["status"], None, ()

    shared, other = {"status": "created"}, {"status": "updated"}
    rules = ResultRules(match_by="position", read=read)
    found = rules.outcomes(["a", "b", "c", "d", "e"], [shared, shared, other, shared, shared])
    assert [status for status, _, _ in found] == ["created", "created", "updated"] + ["created"] * 2
    assert [entry is shared for entry in calls] == [True, False, True]


def test_by_position_entries_that_are_not_mappings_or_missing_answer_nothing() -> None:
    shared = {"status": "created"}
    rules = ResultRules(match_by="position", read=lambda entry: (entry["status"], None, ()))
    found = rules.outcomes(list("abcdef"), [shared, "oops", "oops", shared, 7])
    assert [status for status, _, _ in found] == [
        "created",
        "unknown",
        "unknown",
        "created",
        "unknown",
        "unknown",  # no entry at all
    ]
    assert found[5][2][0].code == NO_RESULT
