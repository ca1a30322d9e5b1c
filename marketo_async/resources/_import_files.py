"""Bulk import rows and files: each input row made ready as one CSV line, the lines of one batch
written as one import file, and Marketo's failures and warnings files joined back to the rows.

A row is checked and written once, as it is read (:func:`import_rows`): its lookup key, why it
is refused (if it is), and its CSV line for its own columns. The batch engine then groups rows
into files by their line bytes (the 10 MB limit) and keys; :func:`file_content` writes a batch
under one header, and :func:`join_answers` gives each row of the file its one answer.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Callable,
    Collection,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from typing import Any

import anyio.lowlevel
import attrs

from .._batch import Reason, Status
from ._lead_rules import email_problem, lookup_key

__all__ = [
    "IMPORTED",
    "IMPORT_FAILED",
    "IMPORT_FAILURE",
    "IMPORT_UNMATCHED",
    "IMPORT_WARNING",
    "MAX_CELL_CHARS",
    "Answers",
    "ImportRow",
    "Records",
    "file_content",
    "import_rows",
    "join_answers",
]

Records = str | os.PathLike[str] | Iterable[Mapping[str, Any]] | AsyncIterable[Mapping[str, Any]]
IMPORTED: Status = "imported"
# Status codes (Reason.code) of rows Marketo rejected or warned about in its files.
IMPORT_FAILURE = "import-failure"
IMPORT_WARNING = "import-warning"
IMPORT_FAILED = "import-failed"  # the whole job failed
IMPORT_UNMATCHED = "import-unmatched"  # the file had rejected rows we could not match
# The most characters one cell may hold: Python's csv reader, which reads the answer files (and
# the rows sent, to match them) back, refuses a longer field.
MAX_CELL_CHARS = 131_072
ROWS_PER_CHECKPOINT = 1_000


@attrs.define(slots=True, eq=False)
class ImportRow:
    """One input row as an import file carries it: its CSV line for ``columns`` (shared by the
    rows that have the same columns), its lookup key, and why it is refused, if it is.

    ``size`` is what it adds to a file: its line, plus a comma for each column the run had seen
    by then that it lacks (a file's header is the columns of its rows).
    """

    key: str | int | None
    line: bytes
    columns: tuple[str, ...]
    size: int
    problem: str | None = None


def _cell_problem(name: str, value: Any) -> str | None:
    """Why ``value`` cannot be one CSV cell of an import file (naming the field), or None."""
    where = f"field {name!r}"
    if value is None or isinstance(value, (bool, int)):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{where} is {value!r}, which is not a number"
    if not isinstance(value, str):
        kind = type(value).__name__
        return f"{where} holds {kind}, which an import file cannot carry (give text or a number)"
    if "\x00" in value:
        return f"{where} holds a NUL character, which an import file cannot carry"
    if len(value) > MAX_CELL_CHARS:
        return f"{where} holds {len(value):,} characters; one cell takes at most {MAX_CELL_CHARS:,}"
    return None


def _text(value: Any) -> str:
    if type(value) is str:
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _plain_text(record: Mapping[str, Any]) -> bool:
    """Is every value text that one cell can carry (no NUL, not too long)?"""
    try:
        joined = "".join(record.values())
    except TypeError:  # a value that is not text
        return False
    if "\x00" in joined:
        return False
    return len(joined) <= MAX_CELL_CHARS or all(len(v) <= MAX_CELL_CHARS for v in record.values())


def _unquoted_line(values: Collection[Any]) -> bytes | None:
    """The CSV line of ``values`` when each is text of a cell's size that CSV writes as it is
    (no comma, quote, line break or NUL: most rows); else None."""
    try:
        joined = ",".join(values)
    except TypeError:  # a value that is not text
        return None
    if (
        joined.count(",") != len(values) - 1  # a comma inside a value (or no values)
        or '"' in joined
        or "\n" in joined
        or "\r" in joined
        or "\x00" in joined
        or (len(values) == 1 and not joined)  # CSV writes one empty value as ""
    ):
        return None
    if len(joined) > MAX_CELL_CHARS and any(len(v) > MAX_CELL_CHARS for v in values):
        return None
    return (joined + "\n").encode("utf-8")


@attrs.frozen
class _Unreadable:
    """A row of an input file that the CSV reader could not read, and why."""

    reason: str


class _Prepare:
    """Turns records into :class:`ImportRow` values for one run (its lookup field and the
    fields Marketo knows)."""

    def __init__(self, lookup_field: str, known: frozenset[str], limit: int = 0) -> None:
        self.lookup_field = lookup_field
        self.known = known
        self.limit = limit  # the most bytes one row's line may take (0: no limit)
        self.seen: dict[str, None] = {}  # the columns rows have had so far, in order
        self._columns: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\n")

    def refused(self, problem: str) -> ImportRow:
        return ImportRow(None, b"", (), 0, problem)

    def row(self, record: Mapping[str, Any] | _Unreadable) -> ImportRow:
        if type(record) is not dict:  # a dict is a record (most are); else look closer
            if isinstance(record, _Unreadable):
                return self.refused(record.reason)
            if not isinstance(record, Mapping):
                return self.refused(f"not a mapping of field names to values ({record!r})")
        key = lookup_key(record, self.lookup_field)
        names = tuple(record)
        columns = self._columns.get(names)
        line = None
        # (a known column set the same length as the record's: every column of it is known)
        if columns is not None and len(columns) == len(names):
            # the common case: every column known, every value text of a cell's size
            values = record.values()
            line = _unquoted_line(values)
            if line is None and _plain_text(record):
                line = self._line(values)
        if line is not None:
            problem = self._key_problem(record, key)
        else:
            problem = self._problem(record, key)
            if problem is None and columns is None:
                columns = self._new_columns(names)
            line = b"" if columns is None else self.line([record.get(n) for n in columns])
        if problem is not None or columns is None:
            return self.refused(problem or "no column")
        if self.limit and len(line) > self.limit:
            return self.refused(f"{len(line):,} bytes of CSV: too large for one import file")
        return ImportRow(key, line, columns, len(line) + len(self.seen) - len(columns))

    def _new_columns(self, names: tuple[str, ...]) -> tuple[str, ...]:
        columns = tuple(name for name in names if name in self.known)
        self._columns[names] = columns
        self.seen.update(dict.fromkeys(columns))
        return columns

    def line(self, values: Iterable[Any]) -> bytes:
        return self._line([_text(value) for value in values])

    def _line(self, cells: Iterable[str]) -> bytes:
        buffer = self._buffer
        buffer.seek(0)
        buffer.truncate()
        self._writer.writerow(cells)
        return buffer.getvalue().encode("utf-8")

    def _key_problem(self, record: Mapping[str, Any], key: Any) -> str | None:
        field = self.lookup_field
        if key is None:
            return f"no value for lookup field {field!r}"
        problem = email_problem(record)
        if problem is not None:
            return problem
        if field == "id" and not isinstance(key, int):
            return "field 'id' must be an integer lead id"
        return None

    def _problem(self, record: Mapping[str, Any], key: Any) -> str | None:
        found = self._key_problem(record, key)
        if found is not None:
            return found
        known = self.known
        for name, value in record.items():
            plain = type(value) is str and len(value) <= MAX_CELL_CHARS and "\x00" not in value
            problem = None if plain else _cell_problem(str(name), value)
            if problem is not None:
                return problem
            if name not in known and _text(value) != "":
                return (
                    f"field {name!r} is not a field Marketo knows (not in describe); "
                    "import it after creating the field"
                )
        return None


def _csv_records(path: str | os.PathLike[str]) -> Iterator[Mapping[str, Any] | _Unreadable]:
    with open(path, encoding="utf-8-sig", newline="") as stream:
        reader = csv.DictReader(stream)
        if reader.fieldnames is None:
            return
        while True:
            line = reader.line_num + 1
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # that row alone fails; reading goes on at the next line
                yield _Unreadable(f"line {line} cannot be read as CSV ({exc})")
                continue
            yield record


async def import_rows(
    rows: Records,
    lookup_field: str,
    known: frozenset[str],
    limit: int,
    counted: Callable[[], None] | None = None,
) -> AsyncIterator[ImportRow]:
    """``rows`` (a CSV path, an iterable or an async iterable of records) as import rows, none
    over ``limit`` bytes; ``counted()`` is called for each row read."""
    prepare = _Prepare(lookup_field, known, limit)
    if isinstance(rows, AsyncIterable):
        async for record in rows:
            if counted is not None:
                counted()
            yield prepare.row(record)
        return
    plain: Iterable[Mapping[str, Any] | _Unreadable] = (
        _csv_records(rows) if isinstance(rows, (str, os.PathLike)) else rows
    )
    for count, item in enumerate(plain, start=1):
        if count % ROWS_PER_CHECKPOINT == 0:
            await anyio.lowlevel.checkpoint()
        if counted is not None:
            counted()
        yield prepare.row(item)


# ------------------------------------------------------------------------------ files


def _header(rows: Sequence[ImportRow]) -> tuple[str, ...]:
    """The columns of a file holding ``rows``: each column of any of them, in first-seen order."""
    first = rows[0].columns
    if all(row.columns is first for row in rows):
        return first
    found: dict[str, None] = {}
    seen: set[int] = set()
    for row in rows:
        if id(row.columns) not in seen:
            seen.add(id(row.columns))
            found.update(dict.fromkeys(row.columns))
    return tuple(found)


def _cells(row: ImportRow) -> list[str]:
    return next(csv.reader(io.StringIO(row.line.decode("utf-8"), newline="")), [])


def file_content(rows: Sequence[ImportRow]) -> tuple[tuple[str, ...], bytes]:
    """The header and the bytes of one import file holding ``rows`` (in their order)."""
    header = _header(rows)
    prepare = _Prepare("", frozenset())
    lines = [prepare.line(header)]
    lines += [
        row.line if row.columns is header or row.columns == header else _under(header, row, prepare)
        for row in rows
    ]
    return header, b"".join(lines)


def _under(header: tuple[str, ...], row: ImportRow, prepare: _Prepare) -> bytes:
    """The line of a row with fewer or other columns than its file: its cells under ``header``."""
    cells = dict(zip(row.columns, _cells(row), strict=False))
    return prepare.line(cells.get(name, "") for name in header)


# ------------------------------------------------------------------------------ answers


@attrs.define(eq=False)
class _Answer:
    reason: str
    used: bool = False


class Answers:
    """One answer file (failures or warnings): each reason findable by its whole row (the cells
    sent) or, failing that, by the row's lookup key; each given out once."""

    def __init__(self, lookup_field: str) -> None:
        self._field = lookup_field
        self._by_row: dict[tuple[str, ...], list[_Answer]] = {}
        self._by_key: dict[Any, list[_Answer]] = {}
        self.lines = 0

    def read(self, text: str) -> None:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, [])
        key_at = header.index(self._field) if self._field in header else None
        for cells in reader:
            if not cells:
                continue
            *row, reason = cells
            self.lines += 1
            answer = _Answer(reason)
            self._by_row.setdefault(tuple(row), []).append(answer)
            if key_at is not None and key_at < len(row):
                key = lookup_key({self._field: row[key_at]}, self._field)
                self._by_key.setdefault(key, []).append(answer)

    def take(self, row: tuple[str, ...] | None, key: Any) -> str | None:
        """The first unused reason for ``row`` (or, with ``row`` None, for ``key``)."""
        candidates = self._by_row.get(row, ()) if row is not None else self._by_key.get(key, ())
        for answer in candidates:
            if not answer.used:
                answer.used = True
                return answer.reason
        return None

    @property
    def unmatched(self) -> int:
        return sum(not a.used for answers in self._by_row.values() for a in answers)


Verdict = tuple[Status, tuple[Reason, ...]]


def _verdicts(
    rows: list[tuple[str, ...]], keys: list[Any], failures: Answers, warnings: Answers
) -> list[Verdict | None]:
    """Each sent row's answer: failed or warned, matched by whole row first, so a match by
    key never takes another row's answer; None for rows in neither file."""
    found: list[Verdict | None] = [None] * len(rows)
    verdicts: tuple[tuple[Answers, Status, str], ...] = (
        (failures, "failed", IMPORT_FAILURE),
        (warnings, IMPORTED, IMPORT_WARNING),
    )
    for by_row in (True, False):
        for answers, verdict, code in verdicts:
            for number, row in enumerate(rows):
                if found[number] is None:
                    reason = answers.take(row if by_row else None, keys[number])
                    if reason is not None:
                        found[number] = (verdict, (Reason(code, reason),))
    return found


def join_answers(
    rows: Sequence[ImportRow], content: bytes, failures: Answers, warnings: Answers, failed: int
) -> tuple[list[Verdict | None], Verdict]:
    """Each row's answer from the failures and warnings files (None: in neither), and the
    answer of the rows in neither: imported, or unknown when Marketo rejected ``failed`` rows
    of which some match no row sent (any row without an answer may be one of them)."""
    reader = csv.reader(io.StringIO(content.decode("utf-8"), newline=""))
    next(reader)
    sent = [tuple(cells) for cells in reader]
    found = _verdicts(sent, [row.key for row in rows], failures, warnings)
    lost = max(failures.unmatched, failed - failures.lines)
    if not lost:
        return found, (IMPORTED, ())
    why = f"Marketo rejected {lost} rows of this file that could not be matched to rows"
    return found, ("unknown", (Reason(IMPORT_UNMATCHED, why),))
