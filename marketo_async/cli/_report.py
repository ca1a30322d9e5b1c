"""The per-row JSONL report, written as results arrive, and reading it back to resume.

Each line is one input row: ``{"row": 12, "line": 13, "status": "created", "key":
"ann@example.com", "id": 1042}`` (``row`` counts data rows, ``line`` is the file line the row
starts on), with ``reasons`` (Marketo's codes and messages) and ``error`` when the row did not
apply. Lines are appended and flushed after every API call's results, so a run that is
interrupted (or killed) keeps what it did, and ``--resume`` skips the rows it applied.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from .._batch import NOT_APPLIED_STATUSES, STATUSES

__all__ = ["APPLIED", "AppliedRows", "ReportWriter", "load_applied", "load_report"]

# Statuses that mean the row's change is in Marketo: a resumed run does not send them again.
APPLIED = frozenset(STATUSES) - NOT_APPLIED_STATUSES

# One encoder for every line (json.dumps builds a new one per call when given options).
_encode = json.JSONEncoder(ensure_ascii=False, default=str).encode


class ReportWriter:
    """Appends one JSON line per input row; :meth:`flush` pushes them to disk.

    ``ReportWriter(None)`` writes nothing (no ``--report``), so callers need no branches.
    ``append=False`` starts the file afresh; a resumed run appends to its report.
    """

    def __init__(self, path: str | Path | None, *, append: bool = True) -> None:
        self.path = Path(path) if path is not None else None
        self._stack = contextlib.ExitStack()
        self._handle: IO[str] | None = None
        if self.path is not None:
            mode = "a" if append else "w"
            self._handle = self._stack.enter_context(self.path.open(mode, encoding="utf-8"))
            if self._handle.tell() > 0:
                self._mend_last_line()
        self.lines = 0

    def _mend_last_line(self) -> None:
        # A run killed mid-write leaves a partial last line: start ours on a fresh line.
        assert self.path is not None and self._handle is not None
        with self.path.open("rb") as reader:
            reader.seek(-1, 2)
            if reader.read(1) != b"\n":
                self._handle.write("\n")

    def __enter__(self) -> ReportWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def write(
        self,
        *,
        row: int,
        status: str,
        line: int = 0,
        key: Any = None,
        id: int | None = None,
        reasons: Iterable[tuple[str, str]] = (),
        error: str | None = None,
    ) -> None:
        """Add the line of one row (buffered until the next :meth:`flush`)."""
        if self._handle is None:
            return
        entry: dict[str, Any] = {"row": row, "line": line} if line else {"row": row}
        entry["status"] = status
        if key is not None:
            entry["key"] = key
        if id is not None:
            entry["id"] = id
        found = [{"code": code, "message": message} for code, message in reasons]
        if found:
            entry["reasons"] = found
        if error:
            entry["error"] = error
        self._handle.write(_encode(entry) + "\n")
        self.lines += 1

    def flush(self) -> None:
        if self._handle is not None:
            self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.flush()
            self._handle = None
        self._stack.close()


def report_entries(path: str | Path) -> Iterator[dict[str, Any]]:
    """Every well-formed line of a report (a line cut short by a crash is skipped)."""
    with Path(path).open("r", encoding="utf-8") as handle:
        for line in handle:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            row = entry.get("row") if isinstance(entry, dict) else None
            if isinstance(row, int) and not isinstance(row, bool) and row > 0:
                yield entry


_APPLIED = 1
_UNKNOWN = 2


class AppliedRows:
    """Row numbers earlier runs applied (and those left ``unknown``): one byte per row."""

    def __init__(self) -> None:
        self._state = bytearray()
        self.count = 0

    def _grow(self, row: int) -> None:
        if row >= len(self._state):
            self._state.extend(bytes(max(row + 1 - len(self._state), len(self._state))))

    def add(self, row: int) -> None:
        self._grow(row)
        if self._state[row] != _APPLIED:
            self._state[row] = _APPLIED
            self.count += 1

    def add_unknown(self, row: int) -> None:
        """A row whose earlier call may or may not have applied (unless another line says so)."""
        self._grow(row)
        if self._state[row] == 0:
            self._state[row] = _UNKNOWN

    @property
    def unknown(self) -> int:
        """Rows left ``unknown`` and never shown applied: a resumed run sends them again."""
        return self._state.count(_UNKNOWN)

    def __contains__(self, row: object) -> bool:
        return isinstance(row, int) and 0 <= row < len(self._state) and self._state[row] == _APPLIED

    def __len__(self) -> int:
        return self.count


def load_applied(*paths: str | Path) -> AppliedRows:
    """Rows that earlier runs' reports show as applied (by any of their lines for the row).

    A missing file adds nothing, so ``--resume`` on a first run simply sends everything.
    """
    applied = AppliedRows()
    for path in paths:
        if Path(path).exists():
            for entry in report_entries(path):
                status = entry.get("status")
                if status in APPLIED:
                    applied.add(entry["row"])
                elif status == "unknown":
                    applied.add_unknown(entry["row"])
    return applied


def load_report(path: str | Path) -> dict[int, str]:
    """The last status written for each row of a report (for small reports and tests)."""
    source = Path(path)
    if not source.exists():
        return {}
    return {entry["row"]: str(entry.get("status")) for entry in report_entries(source)}
