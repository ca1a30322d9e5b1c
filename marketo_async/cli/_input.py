"""Streaming readers for CSV and JSONL input files, one numbered row at a time."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

__all__ = ["ID_COLUMNS", "InputRow", "estimate_rows", "format_of", "read_ids", "read_rows"]

# Columns read_ids looks for, in order, when no column is named.
ID_COLUMNS = ("id", "leadId")

# Marketo writes values up to 32 KB (text areas); leave csv's default guard well above that.
csv.field_size_limit(min(sys.maxsize, 16 * 1024 * 1024))


@attrs.frozen
class InputRow:
    """One input record with its 1-based row number, or the reason it could not be read."""

    row: int
    record: dict[str, Any] | None
    error: str | None = None


NOT_UTF8 = "not valid UTF-8 text (save the file as UTF-8)"


def _has_bad_bytes(text: str) -> bool:
    """True when ``text`` holds bytes that were not UTF-8 (read with surrogateescape)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def format_of(path: Path, declared: str | None = None) -> str:
    """``csv`` or ``jsonl``: the declared format, else the file's suffix (CSV by default)."""
    if declared:
        return declared.lower()
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    return "csv"


def read_rows(path: str | Path, *, format: str | None = None) -> Iterator[InputRow]:
    """Rows of a CSV (header row first) or JSONL file, streamed; bad rows carry an error.

    Empty CSV cells are left out of the record, so they never blank a field in Marketo.
    """
    source = Path(path)
    kind = format_of(source, format)
    if kind == "jsonl":
        yield from _read_jsonl(source)
    elif kind == "csv":
        yield from _read_csv(source)
    else:
        raise ValueError(f"unknown input format {format!r}: use csv or jsonl")


def _read_jsonl(path: Path) -> Iterator[InputRow]:
    with path.open("r", encoding="utf-8-sig", errors="surrogateescape") as handle:
        row = 0
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            row += 1
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                yield InputRow(row, None, f"line {line_number}: invalid JSON ({exc.msg})")
                continue
            if not line.isascii() and _has_bad_bytes(line):
                yield InputRow(row, None, f"line {line_number}: {NOT_UTF8}")
                continue
            if not isinstance(value, dict):
                yield InputRow(row, None, f"line {line_number}: expected a JSON object")
                continue
            yield InputRow(row, value)


def _read_csv(path: Path) -> Iterator[InputRow]:
    with path.open("r", encoding="utf-8-sig", newline="", errors="surrogateescape") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            return
        names = [name.strip() for name in header]
        if not all(names) or len(set(names)) != len(names):
            raise ValueError(f"{path}: the header row needs unique, non-empty column names")
        row = 0
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                row += 1
                yield InputRow(row, None, f"line {reader.line_num}: malformed CSV ({exc})")
                continue
            if not cells or all(not cell.strip() for cell in cells):
                continue
            row += 1
            if len(cells) != len(names):
                yield InputRow(
                    row,
                    None,
                    f"line {reader.line_num}: {len(cells)} cells for {len(names)} columns",
                )
                continue
            joined = "".join(cells)
            if not joined.isascii() and _has_bad_bytes(joined):
                yield InputRow(row, None, f"line {reader.line_num}: {NOT_UTF8}")
                continue
            record = {name: cell for name, cell in zip(names, cells, strict=True) if cell != ""}
            yield InputRow(row, record)


def read_ids(
    path: str | Path, *, column: str | None = None, format: str | None = None
) -> Iterator[InputRow]:
    """Lead ids, one row each as ``{"id": n}``.

    From a CSV/JSONL file (the ``column`` field; by default ``id``, else ``leadId``), or from a
    ``.txt`` file (or one without a suffix) holding one id a line.
    """
    source = Path(path)
    if format is None and source.suffix.lower() in (".txt", ""):
        with source.open("r", encoding="utf-8-sig") as handle:
            row = 0
            for line in handle:
                text = line.strip()
                if not text or text.lower() in ("id", "leadid", (column or "id").lower()):
                    continue
                row += 1
                yield _id_row(row, text)
        return
    names = (column,) if column else ID_COLUMNS
    for item in read_rows(source, format=format):
        if item.record is None:
            yield item
            continue
        name = next((name for name in names if name in item.record), None)
        if name is None:
            wanted = " or ".join(repr(name) for name in names)
            yield InputRow(item.row, None, f"no {wanted} value")
        else:
            yield _id_row(item.row, item.record[name])


def estimate_rows(path: str | Path) -> int | None:
    """About how many rows a file holds (its line count, less a CSV header), for an ETA.

    Cheap even for a million rows: it counts newlines in 1 MB blocks without decoding.
    """
    source = Path(path)
    try:
        lines = 0
        last = b"\n"
        with source.open("rb") as handle:
            while block := handle.read(1 << 20):
                lines += block.count(b"\n")
                last = block[-1:]
    except OSError:
        return None
    if last != b"\n":
        lines += 1
    if source.suffix.lower() not in (".jsonl", ".ndjson", ".json", ".txt", ""):
        lines -= 1  # the header row
    return max(lines, 0)


def _id_row(row: int, value: Any) -> InputRow:
    if isinstance(value, bool):
        return InputRow(row, None, f"{value!r} is not a lead id")
    try:
        number = int(str(value).strip())
    except ValueError:
        return InputRow(row, None, f"{value!r} is not a lead id")
    if number <= 0:
        return InputRow(row, None, f"{number} is not a lead id (ids are positive)")
    return InputRow(row, {"id": number})
