"""The summary: a line per reason for the most common, a count of the rest, honest advice."""

from __future__ import annotations

from pathlib import Path

from marketo_async.testing import FakeMarketo
from tests.cli.conftest import Invoke, write_lines


def test_the_summary_lists_five_reasons_and_counts_the_rows_left_out(
    invoke: Invoke, tmp_path: Path
) -> None:
    rows = [f"r{i}@example.com,bad{i}" for i in range(8)] + ["ok@example.com,7"]
    source = write_lines(tmp_path / "leads.csv", ["email,leadScore", *rows])
    result = invoke(FakeMarketo(), "leads", "upsert", source, "--sandbox")
    assert result.exit_code == 1, result.output
    listed = [line for line in result.stdout.splitlines() if line.startswith("1 row: ")]
    assert len(listed) == 5
    assert "... and 3 rows more for 3 other reasons (the report lists every row)" in (result.stdout)


def test_a_dry_run_names_each_refused_row_by_its_line_for_upsert_and_import(
    invoke: Invoke, tmp_path: Path
) -> None:
    rows = ["a@example.com,5", "b@example.com,many", "c@example.com,7", "d@example.com,lots"]
    source = write_lines(tmp_path / "leads.csv", ["email,leadScore", *rows])
    for command in ("upsert", "import"):
        result = invoke(FakeMarketo(), "leads", command, source, "--sandbox", "--dry-run")
        assert result.exit_code == 1, result.output
        lines = result.stdout.splitlines()
        assert lines[0] == "Dry run: 2 rows would be sent, 2 refused before sending."
        assert lines[1].startswith("line 3: field 'leadScore' is integer: 'many' ")
        assert lines[2].startswith("line 5: field 'leadScore' is integer: 'lots' ")
        assert lines[3:] == ["Nothing was written."]


def test_a_dry_run_names_the_first_20_refused_rows_then_counts_the_rest_by_reason(
    invoke: Invoke, tmp_path: Path
) -> None:
    rows = [f"r{i}@example.com,bad" for i in range(30)] + ["no-at-sign,1", "ok@example.com,1"]
    source = write_lines(tmp_path / "leads.csv", ["email,leadScore", *rows])
    result = invoke(FakeMarketo(), "leads", "upsert", source, "--sandbox", "--dry-run")
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "Dry run: 1 row would be sent, 31 refused before sending."
    named = [line for line in lines if line.startswith("line ")]
    assert [line.split(":")[0] for line in named] == [f"line {n}" for n in range(2, 22)]
    assert "... and 11 more refused rows; all 31 by reason:" in lines
    assert any(line.startswith("30 rows: field 'leadScore' is integer: 'bad'") for line in lines)
    assert any(line.startswith("1 row: field 'email'") for line in lines)
    assert "report" not in result.stdout  # a dry run writes none


def test_a_dry_run_of_a_misspelt_lookup_column_refuses_the_header_not_every_row(
    invoke: Invoke, tmp_path: Path
) -> None:
    source = write_lines(tmp_path / "leads.csv", ["emial", "a@example.com", "b@example.com"])
    result = invoke(FakeMarketo(), "leads", "upsert", source, "--sandbox", "--dry-run")
    assert result.exit_code == 2
    assert "'emial' (did you mean 'email'?)" in result.stderr
    assert "the header has no 'email' column" in result.stderr


def test_resume_on_a_fresh_sandbox_says_the_skipped_rows_are_not_in_it(
    invoke: Invoke, tmp_path: Path
) -> None:
    source = write_lines(tmp_path / "leads.csv", ["email", "a@example.com", "b@example.com"])
    report = tmp_path / "r.jsonl"
    first = invoke(FakeMarketo(), "leads", "upsert", source, "--sandbox", "--report", report)
    assert first.exit_code == 0, first.output
    again = invoke(FakeMarketo(), "leads", "upsert", source, "--sandbox", "--resume", report)
    assert again.exit_code == 0, again.output
    assert "were applied to an earlier run's sandbox, not this one" in again.stderr


def test_rows_refused_for_one_reason_on_different_lines_make_one_summary_line(
    invoke: Invoke, tmp_path: Path
) -> None:
    lines = ["email,firstName"] + [
        f"u{i}@example.com," + ("José" if i % 3 == 0 else "Ann") for i in range(30)
    ]
    source = tmp_path / "latin.csv"
    source.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))  # read as UTF-8
    result = invoke(FakeMarketo(), "leads", "upsert", source, "--sandbox")
    assert result.exit_code == 1, result.output
    assert "10 rows: bad-input not valid text in the file's encoding" in result.stdout
    assert "more for" not in result.stdout
