"""Writing exported records as CSV or JSONL, one at a time, to a file or stdout."""

from __future__ import annotations

import contextlib
import csv
import errno
import gzip
import io
import json
import os
import sys
from collections.abc import AsyncIterable, Awaitable, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, NoReturn

import anyio
import attrs
import click

from .._errors import MarketoError
from ._entry import exit_if_stopped
from ._output import fail, stderr_console
from ._progress import ProgressDisplay
from ._run import beside

__all__ = [
    "ExportTarget",
    "RecordWriter",
    "export_records",
    "flatten",
    "open_output",
    "read_values",
    "run_export",
    "to_mapping",
]


@attrs.frozen(kw_only=True)
class ExportTarget:
    """Where an export writes (``--out``; ``-`` is stdout), as what (``--format``), and how it
    shows its progress (``--progress``, ``--progress-interval``)."""

    out: str
    output_format: str | None
    progress_mode: str
    progress_interval: float

    @property
    def format(self) -> str:
        """``csv`` or ``jsonl``: ``--format``, else JSONL on stdout, else from the suffix."""
        if self.output_format is None and self.out == "-":
            return "jsonl"
        from ._input import format_of

        return format_of(Path(self.out), self.output_format)

    @property
    def where(self) -> str:
        return "stdout" if self.out == "-" else self.out

    @property
    def direct(self) -> bool:
        """Written as the records come (stdout, a device, a FIFO), not renamed once complete."""
        return self.out == "-" or _not_a_file(Path(self.out))


def _not_a_file(target: Path) -> bool:
    return target.exists() and not target.is_file()


def to_mapping(item: Any) -> dict[str, Any]:
    """A pager item as a flat ``{restName: value}`` dict (a ``Lead`` is a mapping already)."""
    if isinstance(item, Mapping):
        return dict(item)
    if attrs.has(type(item)):
        from ..models import converter

        value = converter.unstructure(item)
        if isinstance(value, Mapping):
            return dict(value)
    raise TypeError(f"cannot export a {type(item).__name__} as a record")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as dotted columns: ``{"membership": {"progressionStatus": "Member"}}``
    -> ``{"membership.progressionStatus": "Member"}`` (a CSV cell holds one value)."""
    flat: dict[str, Any] = {}
    for name, value in record.items():
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{prefix}{name}."))
        else:
            flat[f"{prefix}{name}"] = value
    return flat


def _columns_of(record: Mapping[str, Any], fields: Sequence[str]) -> list[str]:
    """The CSV columns: ``fields`` (a nested one as its dotted parts), else every key."""
    flat = list(record)
    if not fields:
        return flat
    columns: list[str] = []
    for name in fields:
        nested = [column for column in flat if column.startswith(f"{name}.")]
        columns.extend(nested or [name])
    return columns


class RecordWriter:
    """Writes records as JSONL, or as CSV whose columns are ``fields`` (else the first
    record's keys: later records' extra keys are left out, missing ones left empty). In CSV,
    nested values (a program member's ``membership``) become dotted columns."""

    def __init__(self, handle: IO[str], *, format: str, fields: Sequence[str] = ()) -> None:
        if format not in ("csv", "jsonl"):
            raise ValueError(f"unknown output format {format!r}: use csv or jsonl")
        self._handle = handle
        self._format = format
        self._fields = list(fields)
        self._columns: list[str] | None = None
        self._csv: Any = None
        self.count = 0

    def write(self, record: Mapping[str, Any]) -> None:
        if self._format == "jsonl":
            self._handle.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        else:
            flat = flatten(record)
            if self._csv is None:
                self._columns = _columns_of(flat, self._fields)
                self._csv = csv.writer(self._handle, lineterminator="\n")
                self._csv.writerow(self._columns)
            assert self._columns is not None
            self._csv.writerow([_cell(flat.get(name)) for name in self._columns])
        self.count += 1

    def finish(self) -> None:
        if self._format == "csv" and self._csv is None and self._fields:
            csv.writer(self._handle, lineterminator="\n").writerow(self._fields)  # header only
        self._handle.flush()


PARTIAL_SUFFIX = ".partial"


@contextlib.contextmanager
def open_output(path: str) -> Iterator[IO[str]]:
    """A file opened for writing, or stdout for ``-``.

    The records go to ``<path>.partial``, renamed to ``path`` once the export is complete:
    an export that failed or was killed never leaves a well-formed but partial file under
    the name asked for (a failed one removes its partial file; a killed one leaves it,
    named so). A target that exists and is not a regular file (a device such as /dev/stdout
    or /dev/null, a FIFO) is written directly: never replaced by a file. A file named
    ``*.gz`` is gzip-compressed, as an input ``*.gz`` is read.
    """
    if path == "-":
        yield sys.stdout
        return
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    if _not_a_file(target):
        with target.open("w", encoding="utf-8", newline="") as handle:
            yield handle
        return
    partial = target.with_name(target.name + PARTIAL_SUFFIX)
    try:
        with _written(partial, target) as handle:
            yield handle
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
    os.replace(partial, target)


@contextlib.contextmanager
def _written(path: Path, target: Path) -> Iterator[IO[str]]:
    """``path`` opened for text, gzip-compressed when ``target`` is named ``*.gz`` (the gzip
    header names ``target``, not the partial file)."""
    if target.suffix.lower() != ".gz":
        with path.open("w", encoding="utf-8", newline="") as handle:
            yield handle
        return
    with (
        path.open("wb") as raw,
        gzip.GzipFile(target.name, "wb", fileobj=raw) as packed,
        io.TextIOWrapper(packed, encoding="utf-8", newline="") as handle,
    ):
        yield handle


# The export commands read --values as UTF-8 and have no --encoding to advise.
_NOT_UTF8_VALUES = "not UTF-8 text (save it as UTF-8)"


def read_values(path: Path, column: str | None = None) -> list[str]:
    """Filter values: one a line in a text file, or a CSV/JSONL column (``column``, else the
    first column), blanks and a header line skipped, duplicates dropped (order kept).

    A file, line or row that cannot be read, and a value holding a comma (Marketo's
    filterValues are comma-separated), are usage errors naming the line (``--values``): a
    value left out would leave its records out of the export without a word.
    """
    from ._input import NOT_UTF8, InputError, format_of, read_rows

    values = _Values(path)
    if path.suffix.lower() in (".txt", ""):
        try:
            with path.open("r", encoding="utf-8-sig") as handle:
                for number, line in enumerate(handle, 1):
                    text = line.strip()
                    if column is None or text != column:
                        values.add(text, number)
        except UnicodeDecodeError:
            _refuse_values(f"{path} is {_NOT_UTF8_VALUES}")
        return list(values.seen)
    try:
        with read_rows(path, format=format_of(path)) as rows:
            for item in rows:
                if item.record is None:
                    _refuse_values(f"{path} {str(item.error).replace(NOT_UTF8, _NOT_UTF8_VALUES)}")
                if column is not None and column in item.record:
                    values.add(str(item.record[column]).strip(), item.line)
                elif item.record:
                    values.add(str(next(iter(item.record.values()))).strip(), item.line)
    except InputError as error:
        _refuse_values(str(error).replace(NOT_UTF8, _NOT_UTF8_VALUES))
    return list(values.seen)


class _Values:
    """Filter values as read, each once in order; a value holding a comma is refused."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seen: dict[str, None] = {}

    def add(self, text: str, line: int) -> None:
        if "," in text:
            _refuse_values(
                f"{self.path} line {line}: {text!r} holds a comma, which a filter value cannot "
                "(Marketo's filterValues are comma-separated)"
            )
        if text:
            self.seen.setdefault(text, None)


def _refuse_values(why: str) -> NoReturn:
    raise click.BadParameter(why, param_hint="--values")


async def export_records(
    title: str,
    records: AsyncIterable[Any],
    row: Callable[[Any], Mapping[str, Any]],
    target: ExportTarget,
    *,
    fields: Sequence[str],
    unit: str,
) -> int:
    """Write ``row(record)`` for every record to ``target`` as a progress display counts
    them (as ``unit``); the count written. An export to stdout shows no progress unless
    asked (``--progress`` other than auto)."""
    progress_mode = target.progress_mode
    with open_output(target.out) as handle:
        writer = RecordWriter(handle, format=target.format, fields=fields)
        display = ProgressDisplay(
            title,
            lambda: writer.count,
            total=None,
            mode="off" if target.out == "-" and progress_mode == "auto" else progress_mode,
            interval=target.progress_interval,
            unit=unit,
        )

        async def copy() -> None:
            try:
                async for record in records:
                    writer.write(row(record))
            finally:
                writer.finish()

        await beside(copy, display.run)
        return writer.count


def run_export(copy: Callable[[], Awaitable[int]], target: ExportTarget, *, what: str) -> None:
    """Run ``copy`` (an export into ``target``, the count written) and say how many ``what``
    (``leads``, ``car_c records``) it wrote. A Marketo error exits 1, an argument the
    resource refuses (a value with a comma ...) 2, SIGINT/SIGTERM 130/143."""
    try:
        written = anyio.run(copy)
    except MarketoError as error:
        fail(str(error))
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    except BaseException as error:  # SIGINT/SIGTERM, maybe inside a task group
        read = what.split()[-1]  # "car_c records" -> "records"
        said = (
            f"Interrupted: the output holds the {read} read so far."
            if target.direct
            # open_output dropped the partial file: a file is written only once complete.
            else f"Interrupted: {target.out} was not written."
        )
        exit_if_stopped(error, said)
        raise
    stderr_console().print(f"Exported {written:,} {what} to {target.where}.", markup=False)
