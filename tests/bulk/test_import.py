"""Bulk Lead Import and Bulk Program Member Import against FakeMarketo, on virtual time."""

from __future__ import annotations

import csv
import functools
import io
from pathlib import Path
from typing import Any

import anyio
import pytest

from marketo_async import BatchReport
from marketo_async.testing import FakeMarketo

from .conftest import client_of

pytestmark = pytest.mark.anyio

TRICKY = [
    {"email": "comma@example.com", "firstName": "Smith, Jo"},
    {"email": "quote@example.com", "firstName": 'The "Boss"'},
    {"email": "newline@example.com", "firstName": "two\nlines"},
    {"email": "bad-comma", "firstName": "Smith, Jo"},
    {"email": "bad-quote", "firstName": 'The "Boss"'},
    {"email": "bad-newline", "firstName": "two\nlines"},
]


async def _import(fake: FakeMarketo, rows: Any, **kwargs: Any) -> BatchReport:
    async with client_of(fake) as client:
        return await client.bulk_import.leads(rows, **kwargs)


async def test_rejected_rows_are_joined_back_even_with_commas_quotes_and_newlines(
    fake: FakeMarketo,
) -> None:
    report = await _import(fake, TRICKY)
    assert [o.index for o in report.outcomes] == list(range(6))
    assert [o.status for o in report.outcomes] == ["imported"] * 3 + ["failed"] * 3
    assert [o.index for o in report.failed] == [3, 4, 5]
    for outcome in report.failed:
        assert "email" in outcome.reasons[0].message.lower()
    assert report.counts == {"imported": 3, "failed": 3}
    (lead,) = fake.find_leads("email", "newline@example.com")
    assert lead["firstName"] == "two\nlines"
    # describe, upload, a status poll or two, the failures file
    assert fake.stats.by_path["/bulk/v1/leads.json"] == 1
    assert fake.stats.calls <= 6


async def test_a_csv_path_is_streamed_and_joined(fake: FakeMarketo, tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, ["email", "firstName"])
        writer.writeheader()
        writer.writerows(TRICKY)
    report = await _import(fake, str(path))
    assert [o.status for o in report.outcomes] == ["imported"] * 3 + ["failed"] * 3
    assert len(fake.leads) == 3


async def test_files_are_split_under_10_mb(fake: FakeMarketo) -> None:
    wide = "x" * 10_000
    rows = [{"email": f"w{i}@example.com", "firstName": wide} for i in range(1_100)]  # ~11 MB
    report = await _import(fake, rows)
    assert report.counts == {"imported": 1_100}
    assert fake.stats.by_path["/bulk/v1/leads.json"] == 2
    imports = [j for j in fake.bulk.jobs.values() if j.kind == "lead import"]
    second, first = sorted(j.records for j in imports)
    assert first + second == 1_100 and first > 990  # the first file filled up to the limit
    assert len(fake.leads) == 1_100


async def test_many_files_never_overfill_the_import_queue(fake: FakeMarketo) -> None:
    rows = [{"email": f"u{i}@example.com"} for i in range(3_000)]
    async with client_of(fake) as client:
        client.bulk_import.max_file_bytes = 2_000  # about 90 rows a file: 34 files
        report = await client.bulk_import.leads(rows)
    assert report.counts == {"imported": 3_000}
    assert fake.stats.by_path["/bulk/v1/leads.json"] > 20
    assert fake.stats.errors["1016"] == 0
    assert fake.duplicates() == []


async def test_a_queue_full_of_other_users_imports_is_waited_out(fake: FakeMarketo) -> None:
    fake.faults.script("/bulk/v1/leads.json", code="1016", message="Too many imports", times=2)
    report = await _import(fake, [{"email": "a@example.com"}])
    assert report.counts == {"imported": 1}
    assert fake.stats.errors["1016"] == 2


async def test_two_files_holding_one_key_never_import_at_once(fake: FakeMarketo) -> None:
    # the same 40 new emails in every file: overlapping imports would create each twice
    rows = [{"email": f"same{i % 40}@example.com", "firstName": f"v{i}"} for i in range(600)]
    async with client_of(fake) as client:
        client.bulk_import.max_file_bytes = 1_500
        report = await client.bulk_import.leads(rows)
    assert report.counts == {"imported": 600}
    assert fake.stats.by_path["/bulk/v1/leads.json"] > 3
    assert fake.duplicates() == []
    assert len(fake.leads) == 40
    (last,) = fake.find_leads("email", "same39@example.com")
    assert last["firstName"] == "v599"  # files applied in input order


async def test_rows_marketo_cannot_take_are_refused_before_sending(fake: FakeMarketo) -> None:
    rows: list[dict[str, Any]] = [
        {"email": "ok@example.com", "unknownField": ""},
        {"firstName": "No Email"},
        {"email": "jösé@example.com"},
        {"email": "x@example.com", "unknownField": "value"},
    ]
    report = await _import(fake, rows)
    assert [o.status for o in report.outcomes] == ["imported", "failed", "failed", "failed"]
    messages = [o.reasons[0].message for o in report.failed]
    assert "lookup field 'email'" in messages[0]
    assert "non-ASCII" in messages[1]
    assert "'unknownField'" in messages[2]
    assert all(o.reasons[0].code == "local-validation" for o in report.failed)
    job = next(j for j in fake.bulk.jobs.values() if j.kind == "lead import")
    assert job.records == 1  # only the good row was sent


async def test_lead_fields_the_caller_described_replace_the_import_s_own_describe(
    fake: FakeMarketo,
) -> None:
    rows = [{"email": "ok@example.com", "firstName": "Ann"}, {"email": "x@example.com", "z": "1"}]
    report = await _import(fake, rows, lead_fields=["email", "firstName"])
    assert [o.status for o in report.outcomes] == ["imported", "failed"]
    assert "'z'" in report.failed[0].reasons[0].message  # refused by the fields given
    assert fake.stats.by_path["/rest/v1/leads/describe2.json"] == 0


async def test_warnings_are_applied_rows_with_the_warning_as_reason(fake: FakeMarketo) -> None:
    lead_id = fake.add_lead(email="old@example.com")
    report = await _import(
        fake, [{"id": lead_id, "email": "not-an-email", "firstName": "Ada"}], lookup_field="id"
    )
    (outcome,) = report.outcomes
    assert outcome.status == "imported" and outcome.applied
    assert outcome.reasons[0].code == "import-warning"
    assert "email" in outcome.reasons[0].message.lower()
    assert fake.lead(lead_id)["firstName"] == "Ada"  # type: ignore[index]


async def test_an_upload_whose_answer_was_lost_is_unknown_and_not_resent(
    fake: FakeMarketo,
) -> None:
    fake.faults.script("/bulk/v1/leads.json", drop_connection=True)
    report = await _import(fake, [{"email": "a@example.com"}, {"email": "b@example.com"}])
    assert report.counts == {"unknown": 2}
    assert fake.stats.by_path["/bulk/v1/leads.json"] == 1


async def test_imported_leads_join_the_list(fake: FakeMarketo) -> None:
    list_id = fake.add_list("Imported")
    report = await _import(fake, [{"email": "a@example.com"}], list_id=list_id)
    assert report.ok
    assert fake.list_members(list_id) == {fake.find_leads("email", "a@example.com")[0]["id"]}


async def test_program_member_import(fake: FakeMarketo) -> None:
    program_id = fake.add_program("Webinar")
    rows = [{"email": "a@example.com", "firstName": "A"}, {"email": "nope", "firstName": "B"}]
    async with client_of(fake) as client:
        report = await client.bulk_import.program_members(
            rows, program_id=program_id, status="Registered"
        )
    assert [o.status for o in report.outcomes] == ["imported", "failed"]
    (lead,) = fake.find_leads("email", "a@example.com")
    assert fake.program_members(program_id) == {lead["id"]: "Registered"}


async def test_an_async_iterable_of_any_size(fake: FakeMarketo) -> None:
    async def rows() -> Any:
        for i in range(2_500):
            yield {"email": f"a{i}@example.com"}

    report = await _import(fake, rows())
    assert report.counts == {"imported": 2_500}
    assert len(report.outcomes) == 2_500


async def test_sparse_records_keep_their_values_in_few_files(fake: FakeMarketo) -> None:
    rows: list[dict[str, Any]] = [{"email": f"s{i}@example.com"} for i in range(10)]
    rows[3]["firstName"] = "Three"
    rows[7]["lastName"] = "Seven"
    report = await _import(fake, rows)
    assert report.counts == {"imported": 10}
    assert fake.stats.by_path["/bulk/v1/leads.json"] <= 3
    assert fake.find_leads("email", "s3@example.com")[0]["firstName"] == "Three"
    assert fake.find_leads("email", "s7@example.com")[0]["lastName"] == "Seven"
    assert fake.find_leads("email", "s8@example.com")[0].get("firstName") is None


async def test_stop_sends_no_new_file_and_every_row_gets_one_outcome(fake: FakeMarketo) -> None:
    rows = [{"email": f"t{i}@example.com"} for i in range(500)]
    seen: list[int] = []

    def stop() -> bool:  # asked before each file: stop once two were uploaded
        return fake.stats.by_path["/bulk/v1/leads.json"] >= 2

    async with client_of(fake) as client:
        client.bulk_import.max_file_bytes = 2_000  # about 70 rows a file
        report = await client.bulk_import.leads(
            rows, on_outcome=lambda outcome: seen.append(outcome.index), stop=stop
        )
    counts = report.counts
    assert len(report.outcomes) == 500
    assert fake.stats.by_path["/bulk/v1/leads.json"] == 2
    assert counts["imported"] + counts["not_attempted"] == 500
    assert 100 < counts["imported"] < 200  # the two files sent went; no other did
    assert counts["imported"] == len(fake.leads)
    assert report.resume_from is not None
    assert sorted(seen) == list(range(len(report.outcomes)))  # each outcome handed over once


def _answers(lines: list[list[str]]) -> Any:
    from marketo_async.resources._import_files import Answers

    answers = Answers("email")
    text = "\n".join(",".join(cells) for cells in [["email", "firstName", "Reason"], *lines])
    answers.read(text + "\n")
    return answers


def test_a_reason_goes_to_the_row_it_names_not_to_another_row_with_its_key() -> None:
    from marketo_async.resources._import_files import _verdicts

    rows = [("a@x.com", "good"), ("a@x.com", "too long"), ("b@x.com", "B")]
    keys = ["a@x.com", "a@x.com", "b@x.com"]
    failures = _answers([["a@x.com", "too long", "Value too long"]])
    found = _verdicts(rows, keys, failures, _answers([]))
    assert [None if f is None else f[0] for f in found] == [None, "failed", None]


def test_a_row_marketo_echoes_changed_is_still_matched_by_its_key() -> None:
    from marketo_async.resources._import_files import _verdicts

    rows = [("Ann@X.com", " Ann "), ("b@x.com", "B")]
    failures = _answers([["ann@x.com", "Ann", "Invalid value"]])
    found = _verdicts(rows, ["ann@x.com", "b@x.com"], failures, _answers([]))
    assert found[0] is not None and found[0][0] == "failed" and found[1] is None
    assert failures.unmatched == 0


async def test_rejected_rows_that_match_no_sent_row_make_the_rest_unknown(
    fake: FakeMarketo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from marketo_async.testing import _bulk_import

    real_apply = _bulk_import._apply

    def echo_changed(job: Any, *args: Any) -> None:
        real_apply(job, *args)
        for row in job.details["outcome"].failures:  # Marketo echoes the row altered
            row[0] = "mangled@example.com"

    monkeypatch.setattr(_bulk_import, "_apply", echo_changed)
    report = await _import(fake, [{"email": "good@example.com"}, {"email": "bad"}])
    assert [o.status for o in report.outcomes] == ["unknown", "unknown"]
    assert report.outcomes[0].reasons[0].code == "import-unmatched"


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (b"\x89PNG", "bytes"),
        (float("nan"), "nan"),
        (float("inf"), "inf"),
        ({"nested": 1}, "dict"),
        (["a", "b"], "list"),
        ({"a"}, "set"),
        (object(), "object"),
        ("nul\x00byte", "nul"),
        ("h" * 200_000, "200,000 characters"),
    ],
)
async def test_a_value_no_import_cell_can_carry_fails_its_row_naming_the_field(
    fake: FakeMarketo, value: Any, words: str
) -> None:
    rows = [
        {"email": "before@example.com", "firstName": "Before"},
        {"email": "odd@example.com", "firstName": value},
        {"email": "after@example.com", "firstName": "After"},
    ]
    report = await _import(fake, rows)
    assert [o.status for o in report.outcomes] == ["imported", "failed", "imported"]
    (reason,) = report.outcomes[1].reasons
    assert "record 1" in reason.message and "'firstName'" in reason.message
    assert words in reason.message.lower()
    assert sorted(lead["email"] for lead in fake.leads.values()) == [
        "after@example.com",
        "before@example.com",
    ]


async def test_a_csv_file_row_the_reader_cannot_read_fails_alone_and_the_rest_import(
    fake: FakeMarketo, tmp_path: Path
) -> None:
    path = tmp_path / "leads.csv"
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["email", "firstName"])
        writer.writerow(["a@example.com", "A"])
        writer.writerow(["b@example.com", "h" * 200_000])
        writer.writerow(["c@example.com", "C"])
    limit = csv.field_size_limit(131_072)  # Python's default, whatever another module set
    try:
        report = await _import(fake, str(path))
    finally:
        csv.field_size_limit(limit)
    assert [o.status for o in report.outcomes] == ["imported", "failed", "imported"]
    (reason,) = report.outcomes[1].reasons
    assert "record 1" in reason.message and "line 3" in reason.message
    assert sorted(lead["email"] for lead in fake.leads.values()) == [
        "a@example.com",
        "c@example.com",
    ]


async def test_rows_of_an_upload_marketo_refuses_carry_its_reason(fake: FakeMarketo) -> None:
    report = await _import(
        fake, [{"email": "a@example.com"}, {"email": "b@example.com"}], list_id=1042
    )
    assert report.counts == {"failed": 2}
    for outcome in report.failed:  # the cause shows where a newcomer looks: the reasons
        assert [(reason.code, reason.message) for reason in outcome.reasons] == [
            ("1003", "Static list '1042' not found")
        ]


async def test_on_job_hears_a_job_uploaded_and_over(fake: FakeMarketo) -> None:
    from marketo_async.resources.bulk_import import ImportJob

    heard: list[ImportJob] = []
    async with client_of(fake) as client:
        report = await client.bulk_import.leads([{"email": "a@example.com"}], on_job=heard.append)
    assert report.ok
    uploaded, over = heard
    assert (uploaded.over, over.over, uploaded.rows) == (False, True, 1)
    assert uploaded.status_path == f"/bulk/v1/leads/batch/{uploaded.batch_id}.json"


async def test_wait_for_follows_a_job_a_cancelled_run_left_importing(fake: FakeMarketo) -> None:
    from marketo_async.resources.bulk_import import ImportJob

    heard: list[ImportJob] = []
    uploaded = anyio.Event()

    def on_job(job: ImportJob) -> None:
        heard.append(job)
        uploaded.set()

    rows = [{"email": f"w{i}@example.com"} for i in range(50)]
    async with client_of(fake) as client:
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(functools.partial(client.bulk_import.leads, rows, on_job=on_job))
            await uploaded.wait()
            task_group.cancel_scope.cancel()  # the run ends; its job goes on importing
        (job,) = heard
        running = fake.bulk.jobs[str(job.batch_id)]
        assert running.finished_at is not None and anyio.current_time() < running.finished_at
        await client.bulk_import.wait_for([job])
        assert anyio.current_time() >= running.finished_at


@pytest.mark.parametrize(
    "values",
    [
        ["a@x.com", "Ann", "Lee"],
        ["a@x.com", "Smith, Jo"],
        ["a@x.com", 'The "Boss"'],
        ["a@x.com", "two\nlines"],
        ["a@x.com", "cr\rhere"],
        ["a@x.com", "", " padded "],
        ["a@x.com", "Zoë", "日本"],
        ["only@x.com"],
    ],
)
def test_each_row_s_line_is_what_the_csv_writer_writes(values: list[str]) -> None:
    from marketo_async.resources._import_files import _Prepare

    names = ["email", "firstName", "lastName"][: len(values)]
    expected = io.StringIO()
    csv.writer(expected, lineterminator="\n").writerow(values)
    prepare = _Prepare("email", frozenset(names))
    record = dict(zip(names, values, strict=True))
    prepare.row(record)  # the first row of a column set learns its columns
    assert prepare.row(record).line == expected.getvalue().encode("utf-8")
