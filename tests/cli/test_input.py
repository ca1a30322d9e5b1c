"""Reading input files: streamed rows with their numbers, bad rows flagged, never fatal."""

from __future__ import annotations

from pathlib import Path

import pytest

from marketo_async.cli._input import InputRow, estimate_rows, read_ids, read_rows


def test_csv_rows_are_numbered_and_empty_cells_left_out(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(
        '\ufeffemail, firstName ,company\na@example.com,Ann,\n\nb@example.com,"Bo, Jr.",Acme\n',
        encoding="utf-8",
    )
    assert list(read_rows(path)) == [
        InputRow(1, {"email": "a@example.com", "firstName": "Ann"}),
        InputRow(2, {"email": "b@example.com", "firstName": "Bo, Jr.", "company": "Acme"}),
    ]


def test_a_malformed_csv_row_is_reported_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(
        b"email,firstName\n"
        b"a@example.com,Ann\n"
        b"b@example.com,Bo,extra\n"
        b"c@example.com,\xff\xfeCy\n"
        b"d@example.com,Di\n"
    )
    rows = list(read_rows(path))
    assert [row.row for row in rows] == [1, 2, 3, 4]
    assert rows[0].record == {"email": "a@example.com", "firstName": "Ann"}
    assert rows[1].record is None and rows[1].error == "line 3: 3 cells for 2 columns"
    assert rows[2].record is None and rows[2].error is not None and "UTF-8" in rows[2].error
    assert rows[3].record == {"email": "d@example.com", "firstName": "Di"}


def test_a_bad_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("email,email\nx,y\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unique"):
        list(read_rows(path))


def test_jsonl_rows(tmp_path: Path) -> None:
    path = tmp_path / "leads.jsonl"
    path.write_text(
        '{"email": "a@example.com", "score": 3}\n\n{not json\n[1, 2]\n{"email": "b@example.com"}\n',
        encoding="utf-8",
    )
    rows = list(read_rows(path))
    assert [row.row for row in rows] == [1, 2, 3, 4]
    assert rows[0].record == {"email": "a@example.com", "score": 3}
    assert rows[1].error is not None and rows[1].error.startswith("line 3: invalid JSON")
    assert rows[2].error == "line 4: expected a JSON object"
    assert rows[3].record == {"email": "b@example.com"}


def test_ids_from_text_csv_and_jsonl(tmp_path: Path) -> None:
    text = tmp_path / "ids.txt"
    text.write_text("id\n5\n\n6\nseven\n-1\n", encoding="utf-8")
    assert [(r.row, r.record, r.error is not None) for r in read_ids(text)] == [
        (1, {"id": 5}, False),
        (2, {"id": 6}, False),
        (3, None, True),
        (4, None, True),
    ]
    table = tmp_path / "ids.csv"
    table.write_text("leadId,email\n7,a@example.com\n,b@example.com\n", encoding="utf-8")
    rows = list(read_ids(table))
    assert rows[0] == InputRow(1, {"id": 7})
    assert rows[1].record is None and "leadId" in (rows[1].error or "")
    lines = tmp_path / "ids.jsonl"
    lines.write_text('{"lead": 8}\n', encoding="utf-8")
    assert list(read_ids(lines, column="lead")) == [InputRow(1, {"id": 8})]


def test_estimate_rows(tmp_path: Path) -> None:
    table = tmp_path / "a.csv"
    table.write_text("h\n1\n2\n3", encoding="utf-8")
    assert estimate_rows(table) == 3
    lines = tmp_path / "a.jsonl"
    lines.write_text("{}\n{}\n", encoding="utf-8")
    assert estimate_rows(lines) == 2
    assert estimate_rows(tmp_path / "missing.csv") is None
