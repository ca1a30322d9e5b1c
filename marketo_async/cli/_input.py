"""Streaming readers for CSV and JSONL input, one numbered row at a time.

Every data row of the file comes out as exactly one :class:`InputRow` carrying its row number
(1, 2, 3 ... over the data rows, blank lines not counted) and the file line it starts on; a row
that cannot be read carries the reason instead of a record, and reading goes on. What makes
the whole file unusable (binary data, a header naming a column twice) raises
:class:`InputError` when the reader is opened, before anything is sent.

A quoted CSV value may span lines (an address, a note), but not more than
``MAX_LINES_PER_RECORD``: a quote left open would otherwise swallow every row up to the next
stray quote. Such a row is reported bad, naming the line where it starts, and reading resumes
on the next line; a quote still open at the end of the file is treated the same way.
"""

from __future__ import annotations

import codecs
import collections
import contextlib
import csv
import gzip
import io
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal, NamedTuple

import attrs

from ..resources._arguments import MAX_ID

__all__ = [
    "ID_COLUMNS",
    "MAX_LINES_PER_RECORD",
    "InputError",
    "InputOptions",
    "InputRow",
    "RowReader",
    "describe_input",
    "estimate_rows",
    "format_of",
    "read_refs",
    "read_rows",
]

# Columns read_refs looks for, in order, when no column is named.
ID_COLUMNS = ("id", "leadId")

# The most physical lines one CSV row may span (a quoted value with line breaks). Real values
# with line breaks (addresses, notes) take a handful; a row spanning hundreds of lines is a
# quote left open, and reading it as one row would swallow the rows inside it.
MAX_LINES_PER_RECORD = 100

# Marketo writes values up to 32 KB (text areas); leave csv's default guard well above that.
csv.field_size_limit(min(sys.maxsize, 16 * 1024 * 1024))

NOT_UTF8 = "not valid text in the file's encoding (save it as UTF-8, or pass --encoding)"
HAS_NUL = "holds a NUL byte (binary data, not text)"

_SNIFF_BYTES = 8192
# File signatures of what people pass by mistake instead of a CSV export.
_SIGNATURES = (
    (b"\x1f\x8b", "is gzip-compressed: name it with a .gz suffix (read as such), or unpack it"),
    (b"PK\x03\x04", "is a ZIP archive (an Excel workbook?): export the sheet as CSV"),
    (b"\xd0\xcf\x11\xe0", "is an old Excel/Office file: export the sheet as CSV"),
    (b"%PDF", "is a PDF, not CSV or JSONL"),
)


class InputError(ValueError):
    """The input cannot be read at all (binary data, a bad header): nothing is sent."""


class InputRow(NamedTuple):
    """One data row: its 1-based row number, its record (or why it could not be read), and
    the file line it starts on. (A tuple: a large file makes hundreds of thousands.)"""

    row: int
    record: dict[str, Any] | None
    error: str | None = None
    line: int = 0


@attrs.frozen(kw_only=True)
class InputOptions:
    """How to read an input file: format (else from the suffix), CSV delimiter, encoding."""

    format: str | None = None
    delimiter: str = ","
    encoding: str = "utf-8-sig"  # UTF-8, with or without a byte-order mark


def _is_stdin(path: str | Path) -> bool:
    return str(path) == "-"


def describe_input(path: str | Path) -> str:
    """The input's name for messages: ``stdin`` for ``-``."""
    return "stdin" if _is_stdin(path) else str(path)


def format_of(path: Path, declared: str | None = None) -> str:
    """``csv`` or ``jsonl``: the declared format, else the file's suffix (CSV by default).

    A ``.gz`` suffix is looked through: ``leads.jsonl.gz`` is JSONL.
    """
    if declared:
        return declared.lower()
    suffixes = [suffix.lower() for suffix in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    if suffixes and suffixes[-1] in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    return "csv"


def _refuse_binary(name: str, head: bytes, *, gzipped: bool) -> None:
    if not gzipped:
        for signature, what in _SIGNATURES:
            if head.startswith(signature):
                raise InputError(f"{name} {what}")
    if b"\x00" in head.split(b"\n", 1)[0]:
        utf16 = head[:2] in (b"\xff\xfe", b"\xfe\xff")
        hint = " (a UTF-16 file? pass --encoding utf-16)" if utf16 else ""
        raise InputError(
            f"{name} holds binary data (NUL bytes in its first line): not CSV or JSONL text{hint}"
        )


def _open_bytes(path: str | Path, stack: contextlib.ExitStack) -> tuple[io.BufferedReader, bool]:
    """The input's bytes, buffered (so the start can be peeked at), and whether gunzipped."""
    if _is_stdin(path):
        stdin: Any = sys.stdin.buffer
        if isinstance(stdin, io.BufferedReader):
            return stdin, False
        wrapper = io.BufferedReader(stdin)  # to peek at its start (a test runner's stdin)
        stack.callback(wrapper.detach)  # and never close stdin itself
        return wrapper, False
    source = Path(path)
    handle = stack.enter_context(source.open("rb"))
    if source.suffix.lower() == ".gz":
        unpacked: Any = stack.enter_context(gzip.GzipFile(fileobj=handle, mode="rb"))
        return io.BufferedReader(unpacked), True
    return handle, False


def _open_text(
    path: str | Path, options: InputOptions, stack: contextlib.ExitStack
) -> Iterator[tuple[int, str]]:
    """The file's lines (line breaks kept) numbered from 1, after refusing binary input."""
    try:
        codecs.lookup(options.encoding)
    except LookupError:
        raise InputError(f"unknown encoding {options.encoding!r}") from None
    buffered, gzipped = _open_bytes(path, stack)
    try:
        head = buffered.peek(_SNIFF_BYTES)[:_SNIFF_BYTES]
    except (OSError, EOFError) as exc:  # a truncated or corrupt .gz
        raise InputError(f"{describe_input(path)}: cannot be read ({exc})") from None
    _refuse_binary(describe_input(path), head, gzipped=gzipped)
    text = io.TextIOWrapper(
        buffered, encoding=options.encoding, errors="surrogateescape", newline=""
    )
    stack.callback(text.detach)  # closing the bytes is the stack's job (and never stdin)
    return enumerate(text, start=1)


def _has_bad_bytes(text: str) -> bool:
    """True when ``text`` holds bytes that did not decode (read with surrogateescape)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return HAS_NUL
    if not text.isascii() and _has_bad_bytes(text):
        return NOT_UTF8
    return None


class RowReader(Iterator[InputRow]):
    """The rows of one input, opened (and checked) eagerly, read lazily; close when done."""

    def __init__(
        self,
        rows: Iterator[InputRow],
        stack: contextlib.ExitStack,
        columns: list[str] | None = None,
    ) -> None:
        self._rows = rows
        self._stack = stack
        self.columns = columns or []  # a CSV's header names (JSONL has none up front)

    def __next__(self) -> InputRow:
        return next(self._rows)

    def close(self) -> None:
        close = getattr(self._rows, "close", None)
        if close is not None:
            close()
        self._stack.close()

    def __enter__(self) -> RowReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def read_rows(
    path: str | Path,
    *,
    format: str | None = None,
    options: InputOptions | None = None,
) -> RowReader:
    """Rows of a CSV (header row first) or JSONL file (``-`` is stdin; ``.gz`` is unpacked).

    Empty CSV cells are left out of the record, so they never blank a field in Marketo.
    Raises :class:`InputError` at once when the input is binary or its header is unusable.
    """
    options = options or InputOptions()
    kind = format_of(Path(str(path)), format or options.format)
    if kind not in ("csv", "jsonl"):
        raise ValueError(f"unknown input format {kind!r}: use csv or jsonl")
    stack = contextlib.ExitStack()
    try:
        lines = _open_text(path, options, stack)
        columns: list[str] = []
        if kind == "jsonl":
            rows = _read_jsonl(lines)
        else:
            table = _CsvRows(lines, options.delimiter, describe_input(path))
            rows, columns = table.rows(), table.columns
    except BaseException:
        stack.close()
        raise
    return RowReader(rows, stack, columns)


def _read_jsonl(lines: Iterator[tuple[int, str]]) -> Iterator[InputRow]:
    row = 0
    for line_number, line in lines:
        if not line.strip():
            continue
        row += 1
        where = f"line {line_number}"
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield InputRow(row, None, f"{where}: invalid JSON ({exc.msg})", line=line_number)
            continue
        problem = _text_problem(line)
        if problem is not None:
            yield InputRow(row, None, f"{where}: {problem}", line=line_number)
        elif not isinstance(value, dict):
            yield InputRow(row, None, f"{where}: expected a JSON object", line=line_number)
        else:
            yield InputRow(row, value, line=line_number)


class _RunawayQuote(Exception):
    """A quoted value spans more lines than any real value does."""


class _CsvRows:
    """CSV records with the file lines each spans, never more than MAX_LINES_PER_RECORD.

    csv's reader pulls one line at a time from :meth:`_feed`, so the lines of the record it
    is reading are known; a record that would span too many lines (or reach the end of the
    file inside quotes) is given up, and its lines after the first are read again.
    """

    def __init__(self, lines: Iterator[tuple[int, str]], delimiter: str, name: str) -> None:
        self._lines = lines
        self._again: collections.deque[tuple[int, str]] = collections.deque()
        self._taken: list[tuple[int, str]] = []
        self._ended_inside = False
        try:
            self._reader = csv.reader(self._feed(), delimiter=delimiter)
        except TypeError as exc:  # a delimiter csv cannot use
            raise InputError(f"--delimiter {delimiter!r}: {exc}") from None
        self._name = name
        self.columns = self._header()

    def _feed(self) -> Iterator[str]:
        taken, again = self._taken, self._again  # (taken: emptied per record)
        # csv asking for one more line once a record took the most it may: a quote left open.
        while again:  # the lines of a record given up, after its first: read again first
            item = again.popleft()
            taken.append(item)
            yield item[1]
            if len(taken) >= MAX_LINES_PER_RECORD:
                raise _RunawayQuote
        for item in self._lines:
            taken.append(item)
            yield item[1]
            if len(taken) >= MAX_LINES_PER_RECORD:
                raise _RunawayQuote
        # csv only asks for another line mid-record when a quote is still open.
        self._ended_inside = bool(taken)

    def _record(self) -> tuple[int, list[str] | None, str] | None:
        """The next record: (first line, cells, their text), (first line, None, why), or None.

        The cells hold every character of the record's lines but the quotes, delimiters and
        line breaks: their text is what is checked for NUL and undecodable bytes."""
        taken = self._taken
        taken.clear()
        self._ended_inside = False
        try:
            cells = next(self._reader)
        except StopIteration:
            cells = None
        except _RunawayQuote:
            return self._give_up(
                f"a quoted value is not closed within {MAX_LINES_PER_RECORD} lines"
            )
        except csv.Error as exc:
            first = taken[0][0] if taken else 0
            return first, None, f"malformed CSV ({exc})"
        if self._ended_inside:
            return self._give_up("a quoted value is not closed before the end of the file")
        if cells is None:
            return None
        text = "".join(cells)
        if text.isascii() and "\x00" not in text:
            return taken[0][0], cells, text  # the common case, checked without a call
        problem = _text_problem(text)
        return (taken[0][0], None, problem) if problem else (taken[0][0], cells, text)

    def _give_up(self, why: str) -> tuple[int, None, str]:
        first, *rest = self._taken
        self._again.extendleft(reversed(rest))
        # csv keeps the half-read record: a fresh reader starts clean on the next line.
        self._reader = csv.reader(self._feed(), dialect=self._reader.dialect)
        return first[0], None, f"{why} (it opens on this line; the lines after it are read as rows)"

    def _header(self) -> list[str]:
        found = self._record()
        while found is not None and found[1] is not None and not found[2].strip():
            found = self._record()  # blank lines before the header
        if found is None:
            return []
        line, cells, error = found
        if cells is None:
            raise InputError(f"{self._name} line {line}: the header row cannot be read: {error}")
        names = [name.strip() for name in cells]
        if not all(names):
            raise InputError(
                f"{self._name} line {line}: the header has an empty column name "
                f"(column {names.index('') + 1})"
            )
        seen: dict[str, int] = {}
        for position, name in enumerate(names, start=1):
            if name in seen:
                raise InputError(
                    f"{self._name} line {line}: the header names {name!r} twice (columns "
                    f"{seen[name]} and {position}); each column needs its own name"
                )
            seen[name] = position
        if len(names) == 1 and ";" in names[0] and self._reader.dialect.delimiter == ",":
            raise InputError(
                f"{self._name} line {line}: one column named {names[0]!r}: the file looks "
                "semicolon-separated; pass --delimiter ';'"
            )
        return names

    def rows(self) -> Iterator[InputRow]:
        names = self.columns
        width = len(names)
        row = 0
        while (found := self._record()) is not None:
            line, cells, text = found
            if cells is None:
                row += 1
                yield InputRow(row, None, f"line {line}: {text}", line)
            elif not text.strip():
                continue  # a blank line (or only blank cells) is not a row
            elif len(cells) != width:
                row += 1
                yield InputRow(
                    row, None, f"line {line}: {len(cells)} cells for {width} columns", line
                )
            else:
                row += 1
                if "" in cells:  # empty cells are left out
                    record = {name: cell for name, cell in zip(names, cells, strict=True) if cell}
                else:
                    record = dict(zip(names, cells, strict=True))
                yield InputRow(row, record, None, line)


def read_refs(
    path: str | Path,
    reads: Literal["ids", "leads"] = "ids",
    *,
    column: str | None = None,
    format: str | None = None,
    options: InputOptions | None = None,
) -> RowReader:
    """Leads by reference, one row each: with ``reads="ids"`` lead ids as ``{"id": n}``; with
    ``"leads"`` ids or emails, an email as ``{"email": text}``.

    From a ``.txt`` file (or one without a suffix) holding one a line, or from a CSV/JSONL
    file's ``column`` (by default ``id``, else ``leadId``; for ``"leads"`` else ``email``).
    """
    refs = _REFS[reads]
    options = options or InputOptions()
    source = Path(str(path))
    if (format or options.format) is None and source.suffix.lower() in (".txt", ""):
        stack = contextlib.ExitStack()
        try:
            lines = _open_text(path, options, stack)
        except BaseException:
            stack.close()
            raise
        return RowReader(_refs_of_lines(lines, refs, column), stack)
    rows = read_rows(path, format=format, options=options)
    stack = contextlib.ExitStack()
    stack.callback(rows.close)
    return RowReader(_refs_of_rows(rows, refs, column), stack)


@attrs.frozen
class _Refs:
    """One kind of lead reference: the columns that may hold it, how a value becomes a row."""

    columns: tuple[str, ...]
    make_row: Callable[[int, Any, int], InputRow]


def _ref_row(row: int, value: Any, line: int) -> InputRow:
    text = str(value).strip()
    if isinstance(value, str) and "@" in text:
        return InputRow(row, {"email": text}, line=line)
    return _id_row(row, value, line)


def _refs_of_lines(
    lines: Iterator[tuple[int, str]], refs: _Refs, column: str | None
) -> Iterator[InputRow]:
    """A one-a-line file: a line naming a column (a header) is skipped."""
    headers = {name.lower() for name in refs.columns} | {(column or "id").lower()}
    row = 0
    for line_number, line in lines:
        text = line.strip()
        if not text or text.lower() in headers:
            continue
        row += 1
        yield refs.make_row(row, text, line_number)


def _refs_of_rows(rows: RowReader, refs: _Refs, column: str | None) -> Iterator[InputRow]:
    names = (column,) if column else refs.columns
    for item in rows:
        if item.record is None:
            yield item
            continue
        name = next((name for name in names if name in item.record), None)
        if name is None:
            wanted = " or ".join(repr(name) for name in names)
            yield InputRow(item.row, None, f"line {item.line}: no {wanted} value", line=item.line)
        else:
            yield refs.make_row(item.row, item.record[name], item.line)


def estimate_rows(path: str | Path) -> int | None:
    """About how many rows a file holds (its line count, less a CSV header), for an ETA.

    Cheap even for a million rows: it counts newlines in 1 MB blocks without decoding.
    None for stdin and compressed files, which cannot be counted ahead.
    """
    if _is_stdin(path):
        return None
    source = Path(path)
    if source.suffix.lower() == ".gz":
        return None
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


def _id_row(row: int, value: Any, line: int) -> InputRow:
    where = f"line {line}: "
    if isinstance(value, bool):
        return InputRow(row, None, f"{where}{value!r} is not a lead id", line=line)
    try:
        number = int(str(value).strip())
    except ValueError:
        return InputRow(row, None, f"{where}{value!r} is not a lead id", line=line)
    if not 1 <= number <= MAX_ID:
        why = "ids are positive" if number <= 0 else f"ids are at most {MAX_ID:,}"
        return InputRow(row, None, f"{where}{number} is not a lead id ({why})", line=line)
    return InputRow(row, {"id": number}, line=line)


_REFS = {"ids": _Refs(ID_COLUMNS, _id_row), "leads": _Refs((*ID_COLUMNS, "email"), _ref_row)}
