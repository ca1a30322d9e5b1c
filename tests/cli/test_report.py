"""The per-row report: appended as results arrive, read back to resume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from marketo_async.cli._report import AppliedRows, ReportWriter, load_applied, load_report
from tests.cli.conftest import read_report


def test_writer_lines_and_reading_back(tmp_path: Path) -> None:
    path = tmp_path / "report.jsonl"
    with ReportWriter(path) as writer:
        writer.write(row=1, status="created", key="a@example.com", id=10)
        writer.write(
            row=2, status="skipped", key="b@example.com", reasons=[("1005", "Lead already exists")]
        )
        writer.write(row=3, status="failed", error="boom")
    assert read_report(path) == [
        {"row": 1, "status": "created", "key": "a@example.com", "id": 10},
        {
            "row": 2,
            "status": "skipped",
            "key": "b@example.com",
            "reasons": [{"code": "1005", "message": "Lead already exists"}],
        },
        {"row": 3, "status": "failed", "error": "boom"},
    ]
    assert load_report(path) == {1: "created", 2: "skipped", 3: "failed"}
    applied = load_applied(path)
    assert 1 in applied and 2 not in applied and 3 not in applied and len(applied) == 1


def test_each_line_is_the_json_of_its_values_whatever_they_hold(tmp_path: Path) -> None:
    # Lines are joined from their values' JSON text; they must read as the dict would encode.
    odd = ['q"uote', "back\\slash", "ünï", "tab\t\nline", "\x00\x1f", "😀", "\u2028", ""]
    lines: list[dict[str, Any]] = []
    for number, text in enumerate(odd, start=1):
        lines.append({"row": number, "line": number + 1, "status": "failed", "key": text})
        lines.append({"row": number, "status": "skipped", "key": number, "id": 2**40})
        lines.append(
            {"row": number, "status": "failed", "reasons": [{"code": text, "message": text}]}
        )
        lines.append({"row": number, "status": "failed", "key": True, "error": text or "x"})
        every = {"row": number, "line": 2, "status": "skipped", "key": text, "id": 7}
        every |= {"reasons": [{"code": "1", "message": text}], "error": text or "x"}
        lines.append(every)
    path = tmp_path / "report.jsonl"
    with ReportWriter(path, append=False) as writer:
        for entry in lines:
            reasons = [(r["code"], r["message"]) for r in entry.get("reasons", ())]
            fields = {name: value for name, value in entry.items() if name != "reasons"}
            writer.write(**fields, reasons=reasons)
    written = path.read_text(encoding="utf-8").split("\n")[:-1]  # U+2028 is no line end
    assert written == [json.dumps(entry, ensure_ascii=False) for entry in lines]


def test_a_line_cut_short_by_a_crash_is_skipped_and_mended(tmp_path: Path) -> None:
    path = tmp_path / "report.jsonl"
    path.write_text('{"row": 1, "status": "created"}\n{"row": 2, "sta', encoding="utf-8")
    assert load_report(path) == {1: "created"}
    with ReportWriter(path) as writer:  # appending starts on a fresh line
        writer.write(row=2, status="updated")
    assert load_report(path) == {1: "created", 2: "updated"}
    with ReportWriter(path, append=False) as writer:
        writer.write(row=9, status="created")
    assert load_report(path) == {9: "created"}


def test_applied_rows_from_several_reports(tmp_path: Path) -> None:
    first = tmp_path / "first.jsonl"
    second = tmp_path / "second.jsonl"
    with ReportWriter(first) as writer:
        writer.write(row=1, status="created")
        writer.write(row=2, status="not_attempted")
        writer.write(row=3, status="unknown")
    with ReportWriter(second) as writer:
        writer.write(row=2, status="updated")
        writer.write(row=1000, status="added")
    applied = load_applied(first, second, tmp_path / "missing.jsonl")
    assert [row for row in range(1, 1001) if row in applied] == [1, 2, 1000]
    assert len(applied) == 3


def test_applied_rows_is_compact() -> None:
    rows = AppliedRows()
    for row in range(1, 1_000_001, 2):
        rows.add(row)
    assert len(rows) == 500_000
    assert 999_999 in rows and 2 not in rows and 0 not in rows and -1 not in rows


def test_no_path_writes_nothing() -> None:
    writer = ReportWriter(None)
    writer.write(row=1, status="created")
    writer.close()
    assert writer.lines == 0
