"""--resume belongs to its input: another file's, command's or setting's report is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from marketo_async.cli._report import report_entries
from marketo_async.testing import FakeMarketo
from tests.cli.conftest import Invoke, read_report, write_csv, write_lines

LEADS = ["email", "firstName"]


def _leads(path: Path, start: int, count: int) -> Path:
    rows = [
        {"email": f"u{i}@example.com", "firstName": f"F{i}"} for i in range(start, start + count)
    ]
    return write_csv(path, rows, LEADS)


def _calls(fake: FakeMarketo) -> int:
    return fake.stats.by_path["/rest/v1/leads.json"]


def test_the_reports_first_line_says_what_it_belongs_to(invoke: Invoke, tmp_path: Path) -> None:
    source = _leads(tmp_path / "a.csv", 1, 3)
    result = invoke(FakeMarketo(), "leads", "upsert", source, "--sandbox", "--report", "r.jsonl")
    assert result.exit_code == 0, result.output
    first, *others = read_report(Path("r.jsonl"))
    assert first["run"]["command"] == "leads upsert"
    assert first["run"]["settings"] == {"lookup_field": "email"}
    assert first["run"]["input"]["path"] == str(source.resolve())
    assert first["run"]["input"]["size"] == source.stat().st_size
    assert len(first["run"]["input"]["sha256"]) == 64
    assert all("run" not in entry for entry in others)  # every line is one row
    assert [entry["row"] for entry in read_report(Path("r.jsonl"))] == [1, 2, 3]


def test_resuming_from_another_files_report_is_refused(invoke: Invoke, tmp_path: Path) -> None:
    fake = FakeMarketo()
    first = _leads(tmp_path / "a.csv", 1, 300)
    assert invoke(fake, "leads", "upsert", first, "--sandbox", "--report", "r.jsonl").exit_code == 0
    calls = _calls(fake)
    other = _leads(tmp_path / "b.csv", 1_001, 300)
    result = invoke(fake, "leads", "upsert", other, "--sandbox", "--resume", "r.jsonl")
    assert result.exit_code == 2
    assert "--resume r.jsonl does not belong to this run" in result.stderr
    assert f"it is a report of another input ({first.resolve()})" in result.stderr
    assert _calls(fake) == calls and len(fake.leads) == 300


def test_resuming_another_commands_or_lookup_fields_report_is_refused(
    invoke: Invoke, tmp_path: Path
) -> None:
    fake = FakeMarketo()
    fake.add_lead_field("externalId")
    ids = write_lines(tmp_path / "ids.txt", ["1", "2"])
    list_id = fake.add_list("L")
    assert (
        invoke(
            fake, "lists", "add", str(list_id), ids, "--sandbox", "--report", "l.jsonl"
        ).exit_code
        == 1
    )
    result = invoke(fake, "leads", "delete", ids, "--sandbox", "--resume", "l.jsonl")
    assert result.exit_code == 2
    assert "it is a report of `lists add`, not `leads delete`" in result.stderr
    other_list = invoke(
        fake, "lists", "add", str(fake.add_list("M")), ids, "--sandbox", "--resume", "l.jsonl"
    )
    assert other_list.exit_code == 2 and "list_id" in other_list.stderr
    source = _leads(tmp_path / "a.csv", 1, 2)
    assert (
        invoke(fake, "leads", "upsert", source, "--sandbox", "--report", "u.jsonl").exit_code == 0
    )
    result = invoke(
        fake,
        "leads",
        "upsert",
        source,
        "--sandbox",
        "--lookup-field",
        "externalId",
        "--resume",
        "u.jsonl",
    )
    assert result.exit_code == 2
    assert "it was made with lookup_field 'email', this run has 'externalId'" in result.stderr


def test_a_file_changed_since_its_report_is_refused(invoke: Invoke, tmp_path: Path) -> None:
    fake = FakeMarketo()
    source = _leads(tmp_path / "a.csv", 1, 3)
    assert (
        invoke(fake, "leads", "upsert", source, "--sandbox", "--report", "r.jsonl").exit_code == 0
    )
    _leads(source, 7, 3)
    result = invoke(fake, "leads", "upsert", source, "--sandbox", "--resume", "r.jsonl")
    assert result.exit_code == 2 and "has changed since that report was written" in result.stderr


def test_an_existing_report_is_never_overwritten(invoke: Invoke, tmp_path: Path) -> None:
    fake = FakeMarketo()
    source = _leads(tmp_path / "a.csv", 1, 3)
    assert (
        invoke(fake, "leads", "upsert", source, "--sandbox", "--report", "r.jsonl").exit_code == 0
    )
    before = Path("r.jsonl").read_bytes()
    result = invoke(fake, "leads", "upsert", source, "--sandbox", "--report", "r.jsonl")
    # A --sandbox run starts from an empty emulator: the advice is a new report, not --resume.
    assert result.exit_code == 2 and "name another --report" in result.stderr
    assert Path("r.jsonl").read_bytes() == before


def test_an_older_report_skips_only_rows_whose_line_and_key_match(
    invoke: Invoke, tmp_path: Path
) -> None:
    fake = FakeMarketo()
    source = _leads(tmp_path / "a.csv", 1, 4)
    # A report written before reports named their input: rows 1-3 applied, other keys on 3.
    write_lines(
        Path("old.jsonl"),
        [
            json.dumps({"row": 1, "status": "created", "key": "u1@example.com"}),
            json.dumps({"row": 2, "line": 3, "status": "created", "key": "u2@example.com"}),
            json.dumps({"row": 3, "status": "created", "key": "someone@else.com"}),
        ],
    )
    result = invoke(fake, "leads", "upsert", source, "--sandbox", "--resume", "old.jsonl")
    assert result.exit_code == 0, result.output
    assert "does not say which input it belongs to" in result.stderr
    assert {lead["email"] for lead in fake.leads.values()} == {"u3@example.com", "u4@example.com"}


@pytest.mark.parametrize("content", ["the input itself", "garbage\n", "[1, 2]\n"])
def test_a_resume_file_that_is_not_a_report_is_refused_and_left_as_it_was(
    invoke: Invoke, tmp_path: Path, content: str
) -> None:
    fake = FakeMarketo()
    source = _leads(tmp_path / "a.csv", 1, 3)
    given = source if content == "the input itself" else write_lines(Path("x.jsonl"), [content])
    before = given.read_bytes()
    result = invoke(fake, "leads", "upsert", source, "--sandbox", "--resume", given)
    assert result.exit_code == 2, result.output
    assert f"--resume {given}: not a report" in result.stderr
    assert given.read_bytes() == before  # nothing appended to the user's file
    assert _calls(fake) == 0 and not fake.leads


def test_a_report_whose_only_line_a_kill_cut_short_is_resumed_from(
    invoke: Invoke, tmp_path: Path
) -> None:
    fake = FakeMarketo()
    source = _leads(tmp_path / "a.csv", 1, 2)
    Path("r.jsonl").write_text('{"row": 1, "line": 2, "sta', encoding="utf-8")
    result = invoke(fake, "leads", "upsert", source, "--sandbox", "--resume", "r.jsonl")
    assert result.exit_code == 0, result.output
    assert len(fake.leads) == 2


def test_a_partial_last_line_is_tolerated(invoke: Invoke, tmp_path: Path) -> None:
    fake = FakeMarketo()
    source = _leads(tmp_path / "a.csv", 1, 3)
    assert (
        invoke(fake, "leads", "upsert", source, "--sandbox", "--report", "r.jsonl").exit_code == 0
    )
    text = Path("r.jsonl").read_text("utf-8")
    Path("r.jsonl").write_text(text[: text.rindex('{"row": 3') + 12], "utf-8")  # killed mid-line
    result = invoke(fake, "leads", "upsert", source, "--sandbox", "--resume", "r.jsonl")
    assert result.exit_code == 0, result.output
    assert "already applied (resumed)" in result.stdout
    rows = [entry["row"] for entry in report_entries("r.jsonl")]
    assert sorted(rows) == [1, 2, 3]  # row 3 sent again; its cut line skipped when read
    assert len(fake.leads) == 3
