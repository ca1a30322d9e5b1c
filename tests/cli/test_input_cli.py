"""Input the way people have it, through the real command: bad rows cost one row each."""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path

from marketo_async.testing import FakeMarketo
from tests.cli.conftest import Invoke, read_report
from tests.cli.test_input import _quoted_leads


def test_a_quote_opened_at_row_101_gives_one_bad_row_and_999_applied(
    invoke: Invoke, tmp_path: Path
) -> None:
    fake = FakeMarketo()
    source = _quoted_leads(tmp_path / "leads.csv", 1_000, opened_at=101, closed_at=601)
    report = tmp_path / "report.jsonl"
    result = invoke(fake, "leads", "upsert", source, "--sandbox", "--report", report)
    assert result.exit_code == 1, result.output
    entries = read_report(report)
    assert sorted(entry["row"] for entry in entries) == list(range(1, 1_001))
    assert Counter(entry["status"] for entry in entries) == {"created": 999, "failed": 1}
    (bad,) = [entry for entry in entries if entry["status"] == "failed"]
    assert bad["row"] == 101 and bad["line"] == 102
    assert bad["reasons"][0]["message"].startswith("line 102: a quoted value is not closed")
    assert len(fake.leads) == 999
    assert fake.find_leads("email", "u601@example.com")[0]["firstName"] == 'F601"'


def test_a_header_naming_a_column_twice_is_refused_before_any_call(
    invoke: Invoke, tmp_path: Path
) -> None:
    fake = FakeMarketo()
    source = tmp_path / "leads.csv"
    source.write_text("email,firstName,email\na@example.com,Ann,b@example.com\n", "utf-8")
    result = invoke(fake, "leads", "upsert", source, "--sandbox", "--report", "r.jsonl")
    assert result.exit_code == 2
    assert "the header names 'email' twice (columns 1 and 3)" in result.stderr
    assert fake.stats.calls == 0 and not Path("r.jsonl").exists()


def test_binary_input_is_refused_up_front(invoke: Invoke, tmp_path: Path) -> None:
    fake = FakeMarketo()
    source = tmp_path / "leads.csv"
    source.write_bytes(gzip.compress(b"email\na@example.com\n"))
    result = invoke(fake, "leads", "upsert", source, "--sandbox")
    assert result.exit_code == 2 and "gzip-compressed" in result.stderr
    assert fake.stats.calls == 0


def test_stdin_gzip_delimiter_and_encoding(invoke: Invoke, tmp_path: Path) -> None:
    fake = FakeMarketo()
    result = invoke(
        fake, "leads", "upsert", "-", "--sandbox", input="email\na@example.com\nb@example.com\n"
    )
    assert result.exit_code == 0, result.output
    packed = tmp_path / "more.csv.gz"
    packed.write_bytes(gzip.compress(b"email;firstName\nc@example.com;Cy\n"))
    result = invoke(fake, "leads", "upsert", packed, "--sandbox", "--delimiter", ";")
    assert result.exit_code == 0, result.output
    latin = tmp_path / "latin.csv"
    latin.write_bytes("email,firstName\nd@example.com,Zoë\n".encode("latin-1"))
    result = invoke(fake, "leads", "upsert", latin, "--sandbox", "--encoding", "latin-1")
    assert result.exit_code == 0, result.output
    assert len(fake.leads) == 4
    assert fake.find_leads("email", "d@example.com")[0]["firstName"] == "Zoë"
    ids = invoke(fake, "lists", "add", str(fake.add_list("L")), "-", "--sandbox", input="1\n2\n")
    assert ids.exit_code == 0, ids.output


def test_an_empty_file_is_warned_about(invoke: Invoke, tmp_path: Path) -> None:
    source = tmp_path / "leads.csv"
    source.write_text("", "utf-8")
    result = invoke(FakeMarketo(), "leads", "upsert", source, "--sandbox")
    assert result.exit_code == 0
    assert "holds no data rows: nothing was sent" in result.stderr


def test_a_bad_delimiter_is_a_usage_error(invoke: Invoke, tmp_path: Path) -> None:
    source = tmp_path / "leads.csv"
    source.write_text("email\na@example.com\n", "utf-8")
    result = invoke(FakeMarketo(), "leads", "upsert", source, "--sandbox", "--delimiter", ";;")
    assert result.exit_code == 2 and "--delimiter" in result.stderr


def test_a_lead_id_over_32_bits_is_refused_by_the_dry_run_as_by_the_run(
    invoke: Invoke, tmp_path: Path
) -> None:
    fake = FakeMarketo()
    lead_id = fake.add_lead(email="a@x.com")
    ids = tmp_path / "ids.txt"
    ids.write_text(f"{lead_id}\n2147483648\n", encoding="utf-8")
    dry = invoke(fake, "leads", "delete", ids, "--sandbox", "--yes", "--dry-run")
    assert dry.exit_code == 1, dry.output
    assert "1 row would be sent, 1 refused" in dry.output
    assert "line 2: 2147483648 is not a lead id (ids are at most 2,147,483,647)" in dry.output
    assert fake.stats.calls == 0
    run = invoke(fake, "leads", "delete", ids, "--sandbox", "--yes")
    assert run.exit_code == 1, run.output
    assert "is not a lead id (ids are at most 2,147,483,647)" in run.output
    assert lead_id not in fake.leads
