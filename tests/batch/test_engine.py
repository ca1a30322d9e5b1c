"""The batch engine, driven by plain async callables that record every call they get."""

from __future__ import annotations

import itertools
import json
import math
import random
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

import anyio
import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketo_async._batch import (
    LOCAL_VALIDATION,
    MAX_BODY_BYTES,
    NO_KEY_LEASE,
    NO_RESULT,
    BatchReport,
    Reason,
    RecordOutcome,
    WriteOptions,
    run_batches,
)
from marketo_async._errors import (
    AmbiguousWriteError,
    DailyQuotaExceeded,
    RequestError,
    TransientError,
)
from marketo_async.resources._lead_rules import lookup_key, validate_lead
from tests.virtual_time import virtual_backend

pytestmark = pytest.mark.anyio

Record = dict[str, Any]
Result = list[dict[str, Any]]


def email_key(record: Record) -> str | int | None:
    return lookup_key(record, "email")


def body_bytes(records: Sequence[object]) -> int:
    """What a real call's body would weigh, envelope included."""
    body = {"action": "createOrUpdate", "lookupField": "email", "input": list(records)}
    return len(json.dumps(body, separators=(",", ":")))


@attrs.define
class Call:
    indices: list[int]
    started: float
    ended: float | None = None


@attrs.define
class RecordingSend:
    """A fake ``send`` that checks the engine's promises on every call it gets.

    ``decide(call_number, records)`` may raise (a whole-call failure) or return the indices
    Marketo skips.
    """

    decide: Callable[[int, Sequence[Record]], set[int]] = lambda number, records: set()
    latency: Callable[[], float] = lambda: 0.0
    # Calls whose answer is garbage (entries that are not objects): their records are unknown.
    garbled: set[int] = attrs.Factory(set)
    calls: list[Call] = attrs.Factory(list)
    in_flight_keys: set[str | int | None] = attrs.Factory(set)
    in_flight: int = 0
    max_in_flight: int = 0

    async def __call__(self, records: Sequence[Record]) -> Result:
        keys = [email_key(record) for record in records]
        assert len(records) <= 300
        assert body_bytes(records) <= MAX_BODY_BYTES
        assert len(set(keys)) == len(keys), f"one call holds a key twice: {keys}"
        assert not self.in_flight_keys & set(keys), "two calls in flight share a key"
        call = Call([record["i"] for record in records], started=anyio.current_time())
        number = len(self.calls)
        self.calls.append(call)
        self.in_flight_keys |= set(keys)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await anyio.sleep(self.latency())
            skipped = self.decide(number, records)
        finally:
            self.in_flight -= 1
            self.in_flight_keys -= set(keys)
            call.ended = anyio.current_time()
        if number in self.garbled:
            return [None] * len(records)  # type: ignore[list-item]
        return [
            {"status": "skipped", "reasons": [{"code": "1004", "message": "Lead not found"}]}
            if record["i"] in skipped
            else {"id": 1_000_000 + record["i"], "status": "created"}
            for record in records
        ]

    def sent_indices(self) -> list[int]:
        return [index for call in self.calls for index in call.indices]


class Opaque:
    """A value of a type JSON knows nothing of."""


def ambiguous() -> TransientError:
    """A 604 after the call may have applied, as the transport hands it to a resend-safe write."""
    error = TransientError("Request timed out", code="604")
    error.may_have_applied = True
    return error


def records_of(emails: Sequence[str | None], pad: int = 0) -> list[Record]:
    return [
        {"i": i, "pad": "x" * pad} | ({} if email is None else {"email": email})
        for i, email in enumerate(emails)
    ]


def assert_one_outcome_each_in_order(report: BatchReport, n: int) -> None:
    assert len(report.outcomes) == n
    assert [outcome.index for outcome in report.outcomes] == list(range(n))
    assert sum(report.counts.values()) == n


# ----------------------------------------------------------------------- property tests


@st.composite
def workloads(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(0, 5_000))
    repeats = draw(st.floats(0, 0.5))
    rng = random.Random(draw(st.integers(0, 2**32)))
    emails: list[str | None] = []
    known: list[str] = []
    for i in range(n):
        if rng.random() < 0.01:
            emails.append(None)  # refused locally: no lookup key
        elif known and rng.random() < repeats:
            email = rng.choice(known[-200:])  # repeats near each other meet in the look-ahead
            variant = rng.choice([email.upper(), email.title(), f"  {email} ", email])
            emails.append(variant)
        else:
            known.append(f"user{i}@example.com")
            emails.append(known[-1])
    records = [
        {"i": i, "pad": "x" * rng.choice([0, 10, 3_000])} | ({"email": e} if e else {})
        for i, e in enumerate(emails)
    ]
    for record in records:
        if rng.random() < draw(st.sampled_from([0.0, 0.02])):
            # A value JSON cannot carry: refused locally, never sent.
            record["bad"] = rng.choice([b"\x00", {1, 2}, math.nan, -math.inf, Opaque()])
    return {
        "records": records,
        "rng": rng,
        "skip_rate": draw(st.sampled_from([0.0, 0.05, 0.5])),
        "failure_rate": draw(st.sampled_from([0.0, 0.1])),
        "batch_size": draw(st.sampled_from([1, 7, 100, 300])),
        "max_in_flight": draw(st.integers(1, 10)),
        "max_body_bytes": draw(st.sampled_from([MAX_BODY_BYTES, 40_000])),
    }


@pytest.mark.parametrize("anyio_backend", [virtual_backend("asyncio")], ids=["asyncio"])
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(workload=workloads())
async def test_every_input_gets_one_outcome_and_no_call_breaks_a_limit_or_the_key_rule(
    workload: dict[str, Any],
) -> None:
    records: list[Record] = workload["records"]
    rng: random.Random = workload["rng"]
    failures: dict[int, Exception] = {}

    def decide(number: int, batch: Sequence[Record]) -> set[int]:
        if rng.random() < workload["failure_rate"]:
            failures[number] = rng.choice(
                [RequestError("bad", code="609"), AmbiguousWriteError("timed out"), ambiguous()]
            )
            raise failures[number]
        if rng.random() < workload["failure_rate"]:
            send.garbled.add(number)  # an answer that cannot be read
        return {record["i"] for record in batch if rng.random() < workload["skip_rate"]}

    send = RecordingSend(decide=decide, latency=lambda: rng.random() * 0.1)
    report = await run_batches(
        records,
        send,
        WriteOptions(batch_size=workload["batch_size"]),
        key=email_key,
        validate=validate_lead("createOrUpdate", "email"),
        max_in_flight=workload["max_in_flight"],
        max_body_bytes=workload["max_body_bytes"],
    )

    assert_one_outcome_each_in_order(report, len(records))
    sent = send.sent_indices()
    assert len(sent) == len(set(sent)), "a record was sent twice"
    sendable = {r["i"] for r in records if "email" in r and "bad" not in r}
    assert set(sent) == sendable, "a record was sent that should not, or never sent"
    for call in send.calls:
        assert body_bytes([records[i] for i in call.indices]) <= workload["max_body_bytes"]
        assert len(call.indices) <= workload["batch_size"]
    # Per key: input order, and each call starts only after the previous one returned.
    by_key: dict[str | int | None, list[Call]] = {}
    for call in sorted(send.calls, key=lambda call: call.started):
        for index in call.indices:
            by_key.setdefault(email_key(records[index]), []).append(call)
    for calls in by_key.values():
        for earlier, later in itertools.pairwise(calls):
            assert earlier.ended is not None and earlier.ended <= later.started
            assert min(earlier.indices) < max(later.indices)
    call_of = {index: number for number, call in enumerate(send.calls) for index in call.indices}
    for record, outcome in zip(records, report.outcomes, strict=True):
        if "email" not in record or "bad" in record:
            assert outcome.status == "failed"
            assert outcome.reasons[0].code == LOCAL_VALIDATION
            if "email" in record:
                assert "field 'bad'" in outcome.reasons[0].message
        elif call_of[record["i"]] in send.garbled:
            assert outcome.status == "unknown"
            assert outcome.reasons[0].code == NO_RESULT
        elif call_of[record["i"]] in failures:
            error = failures[call_of[record["i"]]]
            assert outcome.error is error
            assert outcome.status == ("unknown" if error.may_have_applied else "failed")
        elif outcome.status == "skipped":
            assert outcome.reasons == (Reason("1004", "Lead not found"),)
        else:
            assert outcome.status == "created"
            assert outcome.id == 1_000_000 + record["i"]
    assert report.ok == (not report.failed)


@pytest.mark.parametrize("anyio_backend", [virtual_backend("asyncio")], ids=["asyncio"])
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    keys=st.lists(st.sampled_from(["a", "A ", "b", "c"]), max_size=60),
    batch_size=st.integers(1, 5),
)
async def test_coalesce_gives_every_input_one_outcome_and_keeps_later_values(
    keys: list[str], batch_size: int
) -> None:
    records = [{"i": i, "email": key, f"v{i}": i} for i, key in enumerate(keys)]
    send = RecordingSend(latency=lambda: 0.01)
    report = await run_batches(
        records,
        send,
        WriteOptions(coalesce=True, batch_size=batch_size),
        key=email_key,
        max_in_flight=3,
    )
    assert_one_outcome_each_in_order(report, len(records))
    runs = 1 + sum(email_key(a) != email_key(b) for a, b in itertools.pairwise(records))
    assert len(send.sent_indices()) == (runs if records else 0)
    for outcome in report.outcomes:
        first = outcome.index if outcome.merged_into is None else outcome.merged_into
        assert email_key(records[first]) == email_key(records[outcome.index])
        assert all(
            email_key(records[j]) == email_key(records[first]) for j in range(first, outcome.index)
        )
        assert outcome.status == "created"


# ---------------------------------------------------------------------------- behaviour


async def test_same_key_record_waits_until_the_earlier_call_returned() -> None:
    send = RecordingSend(latency=lambda: 1.0)
    records = records_of(["ann@x.com", "bob@x.com", "ANN@x.com ", "cy@x.com"])
    report = await run_batches(records, send, WriteOptions(batch_size=300), key=email_key)
    assert report.ok
    first, second = send.calls
    assert first.indices == [0, 1, 3]
    assert second.indices == [2]
    assert first.ended is not None and first.ended <= second.started


async def test_repeated_keys_do_not_starve_the_pipeline() -> None:
    rng = random.Random(4)
    emails = [
        f"user{rng.randrange(i)}@x.com" if i and rng.random() < 0.05 else f"user{i}@x.com"
        for i in range(6_000)
    ]
    send = RecordingSend(latency=lambda: 1.0)
    report = await run_batches(
        records_of(emails), send, WriteOptions(batch_size=100), key=email_key, max_in_flight=5
    )
    assert report.ok
    assert send.max_in_flight == 5
    assert len(send.calls) <= 1.3 * 6_000 / 100
    assert send.calls[-1].ended is not None and send.calls[-1].ended <= 1.3 * 6_000 / 100 / 5


async def test_607_stops_sending_and_leaves_every_unsent_record_not_attempted() -> None:
    quota = DailyQuotaExceeded("Max daily quota reached", code="607")

    def decide(number: int, batch: Sequence[Record]) -> set[int]:
        if number == 2:
            raise quota
        return set()

    def generated() -> Iterator[Record]:  # not Sized: inputs after the 607 are still unread
        yield from records_of([f"u{i}@x.com" for i in range(1_000)])

    send = RecordingSend(decide=decide, latency=lambda: 1.0)
    report = await run_batches(
        generated(), send, WriteOptions(batch_size=100), key=email_key, max_in_flight=1
    )

    assert_one_outcome_each_in_order(report, 1_000)
    assert len(send.calls) == 3
    assert report.counts == {"created": 200, "not_attempted": 800}
    assert report.stopped is quota
    assert report.resume_from == 200
    assert not report.ok
    assert report.outcomes[250].error is quota
    assert report.outcomes[999].status == "not_attempted"
    assert len(report.failed) == 800
    summary = str(report)
    assert "607" in summary and "from record 200" in summary and "resume" in summary


async def test_607_lets_calls_already_in_flight_finish() -> None:
    async def send(records: Sequence[int]) -> Result:
        if records[0] == 0:
            await anyio.sleep(0.5)
            raise DailyQuotaExceeded("quota", code="607")
        await anyio.sleep(1.0)
        return [{"id": record, "status": "updated"} for record in records]

    report = await run_batches(range(50), send, WriteOptions(batch_size=10), max_in_flight=3)
    assert report.counts == {"not_attempted": 30, "updated": 20}
    assert report.resume_from == 0
    assert [o.status for o in report.outcomes[10:30]] == ["updated"] * 20


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (AmbiguousWriteError("timed out after sending"), "unknown"),
        (TransientError("HTTP 502", http_status=502), "failed"),
        (RequestError("Invalid JSON", code="609"), "failed"),
    ],
)
async def test_a_failed_call_marks_only_its_records(error: Exception, status: str) -> None:
    def decide(number: int, batch: Sequence[Record]) -> set[int]:
        if number == 1:
            raise error
        return set()

    send = RecordingSend(decide=decide)
    report = await run_batches(
        records_of([f"u{i}@x.com" for i in range(30)]),
        send,
        WriteOptions(batch_size=10),
        key=email_key,
        max_in_flight=1,
    )
    assert report.counts == {"created": 20, status: 10}
    assert {o.index for o in report.failed} == set(range(10, 20))
    assert all(o.error is error and o.key is not None for o in report.failed)


async def test_a_call_that_may_have_applied_is_unknown_and_never_success() -> None:
    error = TransientError("read timeout")
    error.may_have_applied = True

    async def send(records: Sequence[int]) -> Result:
        raise error

    report = await run_batches([1, 2, 3], send, idempotent=False)
    assert report.counts == {"unknown": 3}
    assert "check them in Marketo before sending them again" in str(report)
    report = await run_batches([1, 2, 3], send)
    assert "sending them again is safe" in str(report)


async def test_a_bug_in_send_propagates_as_itself() -> None:
    async def send(records: Sequence[int]) -> Result:
        await anyio.sleep(0.1)
        raise ZeroDivisionError("oops")

    with pytest.raises(ZeroDivisionError, match="oops"):
        await run_batches(range(1_000), send, WriteOptions(batch_size=10))


async def test_local_validation_failures_are_never_sent_and_name_record_and_field() -> None:
    records: list[Record] = [
        {"i": 0, "email": "ann@x.com"},
        {"i": 1, "firstName": "no email"},
        {"i": 2, "email": "   "},
        {"i": 3, "email": "jöhn@x.com"},
        {"i": 4, "email": "bob@x.com", "id": 17},
        {"i": 5, "email": "cy@x.com"},
    ]
    send = RecordingSend()
    report = await run_batches(
        records, send, key=email_key, validate=validate_lead("createOrUpdate", "email")
    )
    assert send.sent_indices() == [0, 5]
    assert [o.status for o in report.outcomes] == ["created"] + ["failed"] * 4 + ["created"]
    messages = [o.reasons[0].message for o in report.failed]
    assert all(o.reasons[0].code == LOCAL_VALIDATION for o in report.failed)
    assert messages[0] == "record 1: no value for lookup field 'email'"
    assert messages[1] == "record 2: no value for lookup field 'email'"
    assert messages[2].startswith("record 3: field 'email'") and "ASCII" in messages[2]
    assert messages[3].startswith("record 4: field 'id'") and "updateOnly" in messages[3]


async def test_coalesce_merges_consecutive_same_key_records_and_reports_each() -> None:
    records: list[Record] = [
        {"i": 0, "email": "ann@x.com", "firstName": "Ann", "city": "Oslo"},
        {"i": 1, "email": "ANN@x.com", "city": "Rome"},
        {"i": 2, "email": "bob@x.com"},
        {"i": 3, "email": "ann@x.com", "city": "Lima"},
    ]
    sent: list[Record] = []

    async def send(batch: Sequence[Record]) -> Result:
        sent.extend(batch)
        return [{"id": 100 + r["i"], "status": "updated"} for r in batch]

    report = await run_batches(
        records, send, WriteOptions(coalesce=True, batch_size=1), key=email_key, max_in_flight=1
    )
    assert sent[0] == {"i": 1, "email": "ANN@x.com", "firstName": "Ann", "city": "Rome"}
    assert [r["i"] for r in sent] == [1, 2, 3]
    assert report.outcomes[0] == RecordOutcome(0, "updated", id=101)
    assert report.outcomes[1] == RecordOutcome(1, "updated", id=101, merged_into=0)
    assert report.outcomes[3] == RecordOutcome(3, "updated", id=103)
    assert report.counts == {"updated": 4}


async def test_coalesce_uses_the_given_merge() -> None:
    async def send(batch: Sequence[list[str]]) -> Result:
        assert list(batch) == [["a", "b", "c"]]
        return [{"status": "added"}]

    report = await run_batches(
        [["a"], ["b"], ["c"]],
        send,
        WriteOptions(coalesce=True),
        key=lambda item: 1,
        merge=lambda earlier, later: earlier + later,
    )
    assert [o.merged_into for o in report.outcomes] == [None, 0, 0]


async def test_results_are_matched_by_seq_when_marketo_gives_it() -> None:
    async def send(batch: Sequence[int]) -> Result:
        results = [
            {"seq": seq, "leadId": lead, "status": "memberof"} for seq, lead in enumerate(batch)
        ]
        results[0]["status"] = "notmemberof"
        return results[::-1]

    report = await run_batches([5, 6, 7], send)
    assert [(o.id, o.status) for o in report.outcomes] == [
        (5, "notmemberof"),
        (6, "memberof"),
        (7, "memberof"),
    ]


async def test_records_missing_from_a_short_result_are_unknown() -> None:
    async def send(batch: Sequence[int]) -> Result:
        return [{"id": 1, "status": "deleted"}, {"id": 2, "status": "surprise"}]

    report = await run_batches([1, 2, 3], send)
    assert [o.status for o in report.outcomes] == ["deleted", "unknown", "unknown"]
    assert report.outcomes[1].reasons[0].code == "unexpected-status"
    assert report.outcomes[2].reasons == (
        Reason(NO_RESULT, "Marketo's answer had no result for this record"),
    )
    assert not report.ok


async def test_calls_are_split_before_the_body_limit_and_an_oversized_record_fails() -> None:
    records = records_of([f"u{i}@x.com" for i in range(40)], pad=4_000)
    records[7]["pad"] = "x" * 60_000
    send = RecordingSend()
    report = await run_batches(records, send, key=email_key, max_body_bytes=50_000)
    assert 7 not in send.sent_indices()
    assert report.outcomes[7].status == "failed"
    assert "record 7" in report.outcomes[7].reasons[0].message
    assert all(body_bytes([records[i] for i in c.indices]) <= 50_000 for c in send.calls)
    assert len(send.calls) == 4  # 39 records of ~4 KB, at most 11 a call
    assert report.counts == {"created": 39, "failed": 1}


async def test_an_async_iterable_of_200000_records_is_read_with_bounded_look_ahead() -> None:
    read = sent = most_ahead = 0

    async def source() -> AsyncIterator[int]:
        nonlocal read, most_ahead
        for lead_id in range(200_000):
            read += 1
            most_ahead = max(most_ahead, read - sent)
            yield lead_id

    async def send(batch: Sequence[int]) -> Result:
        nonlocal sent
        sent += len(batch)
        await anyio.sleep(0.01)
        return [{"id": lead_id, "status": "deleted"} for lead_id in batch]

    report = await run_batches(source(), send, key=lambda lead_id: lead_id, max_buffered=3_000)
    assert report.counts == {"deleted": 200_000}
    assert most_ahead <= 3_000 + 1


async def test_on_progress_reports_done_and_the_total_when_known() -> None:
    seen: list[tuple[int, int | None]] = []

    async def send(batch: Sequence[int]) -> Result:
        return [{"id": lead_id, "status": "added"} for lead_id in batch]

    await run_batches(
        list(range(1_000)), send, WriteOptions(on_progress=lambda *args: seen.append(args))
    )
    assert seen[-1] == (1_000, 1_000)
    assert [done for done, _ in seen] == sorted({done for done, _ in seen})
    seen.clear()
    await run_batches(
        iter(range(10)), send, WriteOptions(on_progress=lambda *args: seen.append(args))
    )
    assert seen[-1] == (10, None)


async def test_an_empty_input_gives_an_empty_ok_report() -> None:
    send = RecordingSend()
    report = await run_batches([], send)
    assert report.ok and report.counts == {} and send.calls == []
    assert str(report) == "0 records"


@pytest.mark.parametrize(
    ("options", "arguments"),
    [
        (WriteOptions(batch_size=301), {}),
        (WriteOptions(batch_size=0), {}),
        (WriteOptions(), {"max_in_flight": 0}),
        (WriteOptions(), {"max_body_bytes": 100}),
        (WriteOptions(coalesce=True), {}),
        (WriteOptions(), {"merge": lambda a, b: b}),
        (WriteOptions(batch_size=100), {"max_buffered": 50}),
    ],
)
async def test_bad_arguments_are_refused(options: WriteOptions, arguments: dict[str, Any]) -> None:
    send = RecordingSend()
    with pytest.raises(ValueError):
        await run_batches([1], send, options, **arguments)
    assert send.calls == []


def test_outcomes_behave_like_a_read_only_list() -> None:
    async def main() -> BatchReport:
        async def send(batch: Sequence[int]) -> Result:
            return [{"id": lead_id, "status": "removed"} for lead_id in batch]

        return await run_batches([10, 11, 12], send)

    report = anyio.run(main)
    outcomes = report.outcomes
    assert outcomes[-1] == RecordOutcome(2, "removed", id=12)
    assert [o.id for o in outcomes[1:]] == [11, 12]
    with pytest.raises(IndexError):
        outcomes[3]
    assert isinstance(outcomes[0], RecordOutcome)
    assert "3 outcomes" in repr(outcomes)
    assert report.failed == [] and report.ok


# ------------------------------------------------------------------ streaming and key leases


async def test_on_outcome_sees_every_record_once_as_soon_as_it_is_known() -> None:
    records = records_of(["a@x.com", None, "b@x.com", "A@x.com", "c@x.com"])
    seen: list[RecordOutcome] = []
    send = RecordingSend(decide=lambda number, batch: {2}, latency=lambda: 0.01)
    report = await run_batches(
        records,
        send,
        WriteOptions(batch_size=2, on_outcome=seen.append),
        key=email_key,
        validate=validate_lead("createOrUpdate", "email"),
    )
    assert sorted(outcome.index for outcome in seen) == list(range(5))
    assert {outcome.index: outcome for outcome in seen} == dict(enumerate(report.outcomes))
    assert seen[0].index == 1  # the refused record is known before any call returns


@attrs.define
class MemoryLeases:
    """KeyLeases shared by several engines, as Redis is shared by several processes."""

    held: set[str] = attrs.Factory(set)
    acquired: list[frozenset[str]] = attrs.Factory(list)
    broken: bool = False

    async def acquire(self, keys: Any) -> frozenset[str]:
        if self.broken:
            raise TransientError("lease store unreachable")
        while True:
            free = frozenset(keys) - self.held
            if free or not keys:
                self.held |= free
                self.acquired.append(free)
                return free
            await anyio.sleep(0.05)

    async def release(self, keys: Any) -> None:
        self.held -= set(keys)

    def holding(self, keys: Any) -> Any:
        from contextlib import asynccontextmanager

        @asynccontextmanager
        async def held() -> AsyncIterator[frozenset[str]]:
            taken = await self.acquire(keys)
            try:
                yield taken
            finally:
                await self.release(taken)

        return held()


async def test_two_runs_sharing_key_leases_never_have_one_key_in_flight_together() -> None:
    rng = random.Random(7)
    emails = [f"user{rng.randrange(400)}@example.com" for _ in range(1_500)]
    first = records_of(emails)
    second = records_of([email.upper() for email in reversed(emails)])
    # One checker for both "processes": it asserts no key is in flight twice across them.
    send = RecordingSend(latency=lambda: rng.random() * 0.2)
    leases = MemoryLeases()
    async with anyio.create_task_group() as task_group:
        reports: list[BatchReport] = []

        async def run(records: list[Record]) -> None:
            reports.append(
                await run_batches(
                    records,
                    send,
                    WriteOptions(batch_size=50),
                    key=email_key,
                    key_leases=leases,
                    lease_scope="leads:email",
                    max_in_flight=5,
                )
            )

        task_group.start_soon(run, first)
        task_group.start_soon(run, second)
    assert [report.counts for report in reports] == [{"created": 1_500}] * 2
    assert leases.held == set()
    assert all(name.startswith("leads:email:") for names in leases.acquired for name in names)
    assert not any("example" in name for names in leases.acquired for name in names)


async def test_records_without_a_fleet_key_lease_are_not_attempted_naming_the_outage() -> None:
    leases = MemoryLeases(broken=True)
    send = RecordingSend()
    report = await run_batches(
        records_of(["a@x.com", "b@x.com"]), send, key=email_key, key_leases=leases
    )
    assert send.calls == []
    assert [outcome.status for outcome in report.outcomes] == ["not_attempted"] * 2
    assert isinstance(report.outcomes[0].error, TransientError)
    assert report.outcomes[0].reasons[0].code == NO_KEY_LEASE
    assert "lease store unreachable" in report.outcomes[0].reasons[0].message


@given(
    record=st.dictionaries(
        st.text(max_size=20),
        st.one_of(
            st.text(max_size=300),
            st.integers(-(2**63), 2**63 - 1),
            st.floats(allow_nan=False, allow_infinity=False),
            st.booleans(),
            st.none(),
            st.lists(st.text(max_size=5), max_size=3),
        ),
        max_size=8,
    )
)
def test_the_size_bound_is_never_below_the_encoded_size(record: Record) -> None:
    from marketo_async._batch import json_size, size_bound

    encoded = max(
        json_size(record),
        len(json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")),
    )
    assert size_bound(3_000)(record) >= encoded
    assert size_bound(0)(record) == json_size(record)  # over the cap: measured exactly


async def test_stop_lets_calls_in_flight_finish_and_sends_nothing_more() -> None:
    records = records_of([f"u{i}@x.com" for i in range(2_000)])
    send = RecordingSend(latency=lambda: 1.0)
    stopped_at: list[int] = []

    def stop() -> bool:
        if len(send.calls) >= 3 and not stopped_at:
            stopped_at.append(len(send.calls))
        return bool(stopped_at)

    report = await run_batches(
        records, send, WriteOptions(batch_size=100, stop=stop), key=email_key, max_in_flight=3
    )
    assert len(send.calls) == stopped_at[0] == 3
    assert report.counts == {"created": 300, "not_attempted": 1_700}
    assert [o.status for o in report.outcomes[:300]] == ["created"] * 300


async def test_cancelling_a_run_accounts_for_every_record_read() -> None:
    records = records_of([f"u{i}@x.com" for i in range(2_000)])
    seen: dict[int, RecordOutcome] = {}
    send = RecordingSend(latency=lambda: 0.5 if len(send.calls) <= 2 else 60.0)
    with anyio.move_on_after(5):
        await run_batches(
            records,
            send,
            WriteOptions(
                batch_size=100, on_outcome=lambda outcome: seen.__setitem__(outcome.index, outcome)
            ),
            key=email_key,
            max_in_flight=2,
        )
    statuses = [seen[index].status for index in sorted(seen)]
    assert sorted(seen) == list(range(len(seen)))  # every record read has an outcome
    assert statuses[:200] == ["created"] * 200
    assert statuses[200:400] == ["unknown"] * 200  # calls 3 and 4 were cut off
    assert set(statuses[400:]) == {"not_attempted"}
    assert seen[250].reasons[0].code == "interrupted"


async def test_stop_asked_while_reading_with_no_call_out_ends_the_run() -> None:
    # The stop arrives while the engine reads (say Ctrl-C during a slow source page) and
    # before any call starts: nothing is in flight to wake the engine, so it must not wait.
    stopping = [False]

    async def slow_source() -> AsyncIterator[dict[str, Any]]:
        for i in range(500):
            if i == 250:
                await anyio.sleep(0.1)
                stopping[0] = True
            yield {"email": f"u{i}@x.com"}

    send = RecordingSend()
    with anyio.fail_after(5):
        report = await run_batches(
            slow_source(),
            send,
            WriteOptions(batch_size=100, stop=lambda: stopping[0]),
            key=email_key,
        )
    assert len(send.calls) == 0
    assert report.counts == {"not_attempted": 500}
