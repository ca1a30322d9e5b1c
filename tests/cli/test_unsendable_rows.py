"""Rows the CLI cannot send or report (lone surrogates, a full disk) end cleanly, per row."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from marketo_async.testing import FakeMarketo
from tests.cli.conftest import Invoke, read_report, write_lines


def _jsonl(path: Path, count: int, bad_line: str) -> Path:
    lines = [json.dumps({"email": f"u{i}@x.com", "firstName": "F"}) for i in range(count)]
    lines.insert(count // 2, bad_line)
    return write_lines(path, lines)


def test_a_lone_surrogate_value_fails_its_row_alone(invoke: Invoke, tmp_path: Path) -> None:
    fake = FakeMarketo()
    source = _jsonl(tmp_path / "in.jsonl", 600, '{"email": "bad@x.com", "firstName": "\\ud800"}')
    report = tmp_path / "report.jsonl"
    result = invoke(fake, "leads", "upsert", source, "--sandbox", "--report", report)
    assert result.exit_code == 1, result.output
    entries = read_report(report)
    assert Counter(entry["status"] for entry in entries) == {"created": 600, "failed": 1}
    (bad,) = [entry for entry in entries if entry["status"] == "failed"]
    assert bad["row"] == 301 and "field 'firstName'" in bad["reasons"][0]["message"]
    assert len(fake.leads) == 600


@pytest.mark.parametrize("count", [298, 600])
def test_a_lone_surrogate_in_the_key_is_reported_and_no_row_is_unknown(
    invoke: Invoke, tmp_path: Path, count: int
) -> None:
    fake = FakeMarketo()
    bad = '{"email": "b\\ud800@x.com", "n": {"\\udc80": 1}}'
    source = _jsonl(tmp_path / "in.jsonl", count, bad)
    report = tmp_path / "report.jsonl"
    result = invoke(fake, "leads", "upsert", source, "--sandbox", "--report", report)
    assert result.exit_code == 1, result.output
    entries = read_report(report)
    assert Counter(entry["status"] for entry in entries) == {"created": count, "failed": 1}
    (failed,) = [entry for entry in entries if entry["status"] == "failed"]
    assert failed["key"] == "b\ud800@x.com"  # written as the JSON escape it came from
    assert len(fake.leads) == count


def test_a_report_on_a_full_disk_ends_with_a_summary_not_a_traceback(
    invoke: Invoke, tmp_path: Path
) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    fake = FakeMarketo()
    lines = [json.dumps({"email": f"u{i}@x.com", "firstName": "F" * 100}) for i in range(3_000)]
    source = write_lines(tmp_path / "in.jsonl", lines)
    result = invoke(fake, "leads", "upsert", source, "--sandbox", "--report", "/dev/full")
    assert result.exit_code == 1
    assert "could not be written (No space left on device)" in result.output
    assert "not_attempted" in result.output and "total" in result.output
    assert len(fake.leads) < 3_000  # it stopped sending once the report failed
