"""Reading input files: streamed rows with their numbers, bad rows flagged, never fatal."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from marketo_async.cli._input import (
    MAX_LINES_PER_RECORD,
    InputError,
    InputOptions,
    InputRow,
    estimate_rows,
    read_refs,
    read_rows,
)


def test_csv_rows_are_numbered_and_empty_cells_left_out(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(
        '\ufeffemail, firstName ,company\na@example.com,Ann,\n\nb@example.com,"Bo, Jr.",Acme\n',
        encoding="utf-8",
    )
    assert list(read_rows(path)) == [
        InputRow(1, {"email": "a@example.com", "firstName": "Ann"}, line=2),
        InputRow(2, {"email": "b@example.com", "firstName": "Bo, Jr.", "company": "Acme"}, line=4),
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
    with pytest.raises(InputError, match="names 'email' twice"):
        read_rows(path)  # when opened, before any row is read


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
    text.write_text("id\n5\n\n6\nseven\n-1\n2147483647\n2147483648\n", encoding="utf-8")
    assert [(r.row, r.record, r.error is not None) for r in read_refs(text)] == [
        (1, {"id": 5}, False),
        (2, {"id": 6}, False),
        (3, None, True),
        (4, None, True),
        (5, {"id": 2147483647}, False),
        (6, None, True),
    ]
    table = tmp_path / "ids.csv"
    table.write_text("leadId,email\n7,a@example.com\n,b@example.com\n", encoding="utf-8")
    rows = list(read_refs(table))
    assert rows[0] == InputRow(1, {"id": 7}, line=2)
    assert rows[1].record is None and "leadId" in (rows[1].error or "")
    lines = tmp_path / "ids.jsonl"
    lines.write_text('{"lead": 8}\n', encoding="utf-8")
    assert list(read_refs(lines, column="lead")) == [InputRow(1, {"id": 8}, line=1)]


def test_estimate_rows(tmp_path: Path) -> None:
    table = tmp_path / "a.csv"
    table.write_text("h\n1\n2\n3", encoding="utf-8")
    assert estimate_rows(table) == 3
    lines = tmp_path / "a.jsonl"
    lines.write_text("{}\n{}\n", encoding="utf-8")
    assert estimate_rows(lines) == 2
    assert estimate_rows(tmp_path / "missing.csv") is None


def _quoted_leads(path: Path, count: int, *, opened_at: int, closed_at: int | None) -> Path:
    """``count`` lead rows; row ``opened_at`` opens a quote, row ``closed_at`` closes it."""
    lines = ["email,firstName,lastName,company"]
    for i in range(1, count + 1):
        if i == opened_at:
            lines.append(f'u{i}@example.com,"F{i},L{i},Acme')
        elif i == closed_at:
            lines.append(f'u{i}@example.com,F{i}",L{i},Acme')
        else:
            lines.append(f"u{i}@example.com,F{i},L{i},Acme")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_quote_left_open_costs_one_row_not_the_rows_after_it(tmp_path: Path) -> None:
    path = _quoted_leads(tmp_path / "leads.csv", 1_000, opened_at=101, closed_at=601)
    rows = list(read_rows(path))
    assert [row.row for row in rows] == list(range(1, 1_001))
    bad = [row for row in rows if row.record is None]
    assert [(row.row, row.line) for row in bad] == [(101, 102)]
    assert bad[0].error is not None and bad[0].error.startswith("line 102: a quoted value")
    assert str(MAX_LINES_PER_RECORD) in bad[0].error
    assert rows[101] == InputRow(
        102,
        {"email": "u102@example.com", "firstName": "F102", "lastName": "L102", "company": "Acme"},
        line=103,
    )


def test_a_quote_open_at_the_end_of_the_file_costs_one_row(tmp_path: Path) -> None:
    path = _quoted_leads(tmp_path / "leads.csv", 20_000, opened_at=19_950, closed_at=None)
    rows = list(read_rows(path))
    assert len(rows) == 20_000
    bad = [row for row in rows if row.record is None]
    assert [row.row for row in bad] == [19_950]
    assert bad[0].error is not None and "end of the file" in bad[0].error


def test_values_spanning_a_few_lines_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    address = "\n".join(f"line {i}" for i in range(MAX_LINES_PER_RECORD))  # the most allowed
    path.write_text(f'email,address\na@example.com,"{address}"\nb@example.com,x\n', "utf-8")
    rows = list(read_rows(path))
    assert rows[0].record == {"email": "a@example.com", "address": address}
    assert rows[1] == InputRow(
        2, {"email": "b@example.com", "address": "x"}, line=2 + MAX_LINES_PER_RECORD
    )


def test_a_nul_byte_fails_its_row_only(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(b"email,firstName\na@example.com,A\x00n\nb@example.com,Bo\n")
    rows = list(read_rows(path))
    assert (
        rows[0].record is None
        and rows[0].error == "line 2: holds a NUL byte (binary data, not text)"
    )
    assert rows[1].record == {"email": "b@example.com", "firstName": "Bo"}
    jsonl = tmp_path / "leads.jsonl"
    jsonl.write_bytes(b'{"email": "a@example.com\\u0000"}\n{"email": "b\x00@example.com"}\n')
    assert [row.record is None for row in read_rows(jsonl)] == [False, True]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x1f\x8b\x08\x00rest", "gzip-compressed"),
        (b"PK\x03\x04rest", "ZIP archive"),
        ("email\na@example.com\n".encode("utf-16"), "--encoding utf-16"),
        (b"email,email \nx,y\n", "names 'email' twice"),
        (b"email,,company\nx,y,z\n", "empty column name (column 2)"),
        (b"email;firstName\na@example.com;Ann\n", "--delimiter ';'"),
    ],
)
def test_unusable_input_is_refused_when_opened(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_rows(path)


def test_gzip_delimiter_and_encoding(tmp_path: Path) -> None:
    packed = tmp_path / "leads.csv.gz"
    with gzip.open(packed, "wt", encoding="utf-8") as handle:
        handle.write("email,firstName\na@example.com,Zoë\n")
    assert [row.record for row in read_rows(packed)] == [
        {"email": "a@example.com", "firstName": "Zoë"}
    ]
    latin = tmp_path / "leads.txt"
    latin.write_bytes("email\tfirstName\na@example.com\tZoë\n".encode("latin-1"))
    options = InputOptions(format="csv", delimiter="\t", encoding="latin-1")
    assert [row.record for row in read_rows(latin, options=options)] == [
        {"email": "a@example.com", "firstName": "Zoë"}
    ]
    # Read as UTF-8, the same bytes are a bad row naming the encoding, not a crash.
    row = next(read_rows(latin, options=InputOptions(format="csv", delimiter="\t")))
    assert row.record is None and row.error is not None and "--encoding" in row.error
