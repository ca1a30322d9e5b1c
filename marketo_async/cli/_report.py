"""The per-row JSONL report, written as results arrive, and reading it back to resume.

Each line is one input row: ``{"row": 12, "line": 13, "status": "created", "key":
"ann@example.com", "id": 1042}`` (``row`` counts data rows, ``line`` is the file line the row
starts on), with ``reasons`` (Marketo's codes and messages) and ``error`` when the row did not
apply. Lines are appended and flushed after every API call's results, so a run that is
interrupted (or killed) keeps what it did, and ``--resume`` skips the rows it applied.
"""

from __future__ import annotations

import array
import contextlib
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import attrs

from .._batch import NOT_APPLIED_STATUSES, STATUSES
from ._lock import ReportBusy, ReportLock

__all__ = [
    "APPLIED",
    "AppliedRows",
    "NotAReport",
    "ReportBusy",
    "ReportWriter",
    "RunIdentity",
    "load_applied",
    "load_report",
    "read_identity",
]

# Statuses that mean the row's change is in Marketo: a resumed run does not send them again.
APPLIED = frozenset(STATUSES) - NOT_APPLIED_STATUSES

# One encoder for every line (json.dumps builds a new one per call when given options).
_encode = json.JSONEncoder(ensure_ascii=False, default=str).encode
# What _encode writes for a str (ensure_ascii=False): a plain line is joined from these.
_quote = json.encoder.encode_basestring


def _scalar(value: Any) -> str | None:
    """``value`` as :data:`_encode` writes it, when it is a str or an int; else None."""
    kind = type(value)
    if kind is str:
        return _quote(value)
    if kind is int:
        return int.__repr__(value)
    return None


def _plain_line(
    row: int,
    line: int,
    status: str,
    key: Any,
    id: Any,
    reasons: tuple[tuple[str, str], ...],
    error: str | None,
) -> str | None:
    """The JSON text :data:`_encode` makes of a report line whose values are all strs and
    ints (every line but the first of a new report, in practice), joined without building the
    dict; None when a value is anything else (the caller encodes the dict then)."""
    if type(row) is not int or type(line) is not int or type(status) is not str:
        return None
    text = f'{{"row": {row}, "line": {line}, "status": ' if line else f'{{"row": {row}, "status": '
    text += _quote(status)
    if key is not None:
        found = _scalar(key)
        if found is None:
            return None
        text += ', "key": ' + found
    if id is not None:
        found = _scalar(id)
        if found is None:
            return None
        text += ', "id": ' + found
    if reasons:
        found = _plain_reasons(reasons)
        if found is None:
            return None
        text += ', "reasons": ' + found
    if error:
        found = _scalar(error)
        if found is None:
            return None
        text += ', "error": ' + found
    return text + "}"


def _plain_reasons(reasons: tuple[tuple[str, str], ...]) -> str | None:
    """``reasons`` as :data:`_encode` writes their list of ``{code, message}`` objects."""
    found = []
    for code, message in reasons:
        code_text, message_text = _scalar(code), _scalar(message)
        if code_text is None or message_text is None:
            return None
        found.append(f'{{"code": {code_text}, "message": {message_text}}}')
    return "[" + ", ".join(found) + "]"


_HASH_BLOCK_BYTES = 1 << 20


def _fingerprint(path: str | Path) -> tuple[int | None, str | None]:
    """The input's size and SHA-256, or (None, None) for stdin (it cannot be read twice)."""
    if str(path) == "-":
        return None, None
    digest = hashlib.sha256()
    size = 0
    with Path(path).open("rb") as handle:
        while block := handle.read(_HASH_BLOCK_BYTES):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


@attrs.frozen(kw_only=True)
class RunIdentity:
    """What a report belongs to: the command, the settings that decide what a row does (the
    lookup field, the list ...), and the input file (path, size, SHA-256 of its bytes).

    The first line of every report carries it (under ``"run"``), so ``--resume`` can refuse
    another run's report while every line stays one input row.
    """

    command: str
    settings: Mapping[str, Any] = attrs.field(factory=dict)
    path: str
    size: int | None = None
    sha256: str | None = None

    @classmethod
    def of(cls, command: str, settings: Mapping[str, Any], path: str | Path) -> RunIdentity:
        size, sha256 = _fingerprint(path)
        where = "-" if str(path) == "-" else str(Path(path).resolve())
        plain = {name: _plain(value) for name, value in settings.items()}
        return cls(command=command, settings=plain, path=where, size=size, sha256=sha256)

    def to_json(self) -> dict[str, Any]:
        return {
            "run": {
                "command": self.command,
                "settings": dict(self.settings),
                "input": {"path": self.path, "size": self.size, "sha256": self.sha256},
            }
        }

    @classmethod
    def from_json(cls, value: Any) -> RunIdentity | None:
        report = value.get("run") if isinstance(value, dict) else None
        if not isinstance(report, dict) or not isinstance(report.get("input"), dict):
            return None
        source = report["input"]
        settings = report.get("settings")
        return cls(
            command=str(report.get("command", "")),
            settings=settings if isinstance(settings, dict) else {},
            path=str(source.get("path", "")),
            size=source.get("size"),
            sha256=source.get("sha256"),
        )

    def describe(self) -> str:
        what = "stdin" if self.path == "-" else self.path
        size = f", {self.size:,} bytes" if self.size is not None else ""
        return f"`{self.command}` of {what}{size}"

    def differs_from(self, earlier: RunIdentity) -> str | None:
        """Why a report of ``earlier`` cannot be resumed by this run, or None if it can."""
        if earlier.command != self.command:
            return f"it is a report of `{earlier.command}`, not `{self.command}`"
        for name in sorted(set(earlier.settings) | set(self.settings)):
            before, now = earlier.settings.get(name), self.settings.get(name)
            if before != now:
                return f"it was made with {name} {before!r}, this run has {now!r}"
        if earlier.sha256 is None or self.sha256 is None:
            return None  # stdin: rows are matched by line and key alone
        if earlier.sha256 != self.sha256:
            if earlier.path == self.path:
                return f"{self.path} has changed since that report was written"
            return f"it is a report of another input ({earlier.path})"
        return None


def _plain(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


class NotAReport(ValueError):
    """A file given as an earlier run's report holds something else (say, the input)."""


def read_identity(path: str | Path) -> RunIdentity | None:
    """The identity line of a report (None for a report made before reports had one, or
    one whose only line a kill cut short). :class:`NotAReport` when its first whole line is
    no report line: a resumed run would append its lines to that file."""
    with Path(path).open("r", encoding="utf-8") as handle:
        first = handle.readline()
    try:
        entry = json.loads(first)
    except ValueError:
        entry = None
    if _row_of(entry) is None:
        if first.endswith("\n"):
            raise NotAReport(
                "not a report: its first line is no report line (a JSON object with the "
                "row's number), and a resumed run would append to it. Give the --report "
                "file an earlier run wrote"
            )
        return None
    return RunIdentity.from_json(entry)


class ReportWriter:
    """Appends one JSON line per input row; :meth:`flush` pushes them to disk.

    ``ReportWriter(None)`` writes nothing (no ``--report``), so callers need no branches.
    ``append=False`` starts the file afresh; a resumed run appends to its report. A new
    report's first line also carries ``identity``. The report is locked from here to
    :meth:`close` (:class:`ReportBusy` names the pid of a run holding it; ``also_lock``: the
    other reports a resumed run reads), and the file is created at the first line only,
    so a run refused before sending leaves no empty report behind.
    """

    def __init__(
        self,
        path: str | Path | None,
        *,
        append: bool = True,
        identity: RunIdentity | None = None,
        also_lock: Iterable[Path] = (),
    ) -> None:
        self.path = Path(path) if path is not None else None
        self._stack = contextlib.ExitStack()
        self._handle: IO[str] | None = None
        self._mode = "a" if append else "w"
        self._identity: RunIdentity | None = identity  # added to the first line of a new report
        self._opened = False
        self.lines = 0
        # The first error writing the report (a full disk, say): no line is written after it.
        self.failure: OSError | None = None
        self.lost = 0  # lines not written because of it
        try:
            if self.path is not None:
                self._stack.enter_context(ReportLock(self.path))
            for other in also_lock:
                if self.path is None or other.resolve() != self.path.resolve():
                    self._stack.enter_context(ReportLock(other, role="--resume"))
        except BaseException:
            self._stack.close()
            raise

    def _open(self) -> IO[str] | None:
        """The report's handle, opened at its first line."""
        if self._opened or self.path is None:
            return self._handle
        self._opened = True
        try:
            # A lone surrogate (a row's key from "\ud800" in JSONL, or undecodable bytes read
            # with surrogateescape) is written as the JSON escape it came from, never an error.
            handle = self._stack.enter_context(
                self.path.open(self._mode, encoding="utf-8", errors="backslashreplace")
            )
            if handle.tell() > 0:
                self._identity = None
                self._handle = handle
                self._mend_last_line()
        except OSError as exc:
            self._failed(exc)
            return None
        self._handle = handle
        return handle

    def _mend_last_line(self) -> None:
        # A run killed mid-write leaves a partial last line: start ours on a fresh line.
        assert self.path is not None and self._handle is not None
        with self.path.open("rb") as reader:
            reader.seek(-1, 2)
            if reader.read(1) != b"\n":
                self._handle.write("\n")

    def __enter__(self) -> ReportWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
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
        """Add the line of one row (buffered until the next :meth:`flush`).

        A failure to write (ENOSPC ...) never raises: it is kept in :attr:`failure`, and this
        line and every later one counted in :attr:`lost`.
        """
        handle = self._handle if self._opened else self._open()
        if handle is None:
            self.lost += self.failure is not None
            return
        reasons = reasons if isinstance(reasons, tuple) else tuple(reasons)
        text = None
        if self._identity is None:
            text = _plain_line(row, line, status, key, id, reasons, error)
        if text is None:
            text = self._encoded(row, line, status, key, id, reasons, error)
        try:
            handle.write(text + "\n")
        except OSError as exc:
            self._failed(exc)
            self.lost += 1
            return
        self.lines += 1

    def _encoded(
        self,
        row: int,
        line: int,
        status: str,
        key: Any,
        id: int | None,
        reasons: tuple[tuple[str, str], ...],
        error: str | None,
    ) -> str:
        """One line as a dict encoded (the first line of a new report carries the identity)."""
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
        if self._identity is not None:
            entry.update(self._identity.to_json())
            self._identity = None
        return _encode(entry)

    def flush(self) -> None:
        if self._handle is not None:
            try:
                self._handle.flush()
            except OSError as exc:
                self._failed(exc)

    def _failed(self, error: OSError) -> None:
        """Stop writing: the lines buffered since the last flush are lost with the file."""
        if self.failure is None:
            self.failure = error
        handle, self._handle = self._handle, None
        if handle is not None:
            with contextlib.suppress(OSError):
                handle.close()  # the lock is kept until close(): the run is still going

    def close(self) -> None:
        self.flush()
        self._handle = None
        with contextlib.suppress(OSError):
            self._stack.close()


def report_entries(path: str | Path) -> Iterator[dict[str, Any]]:
    """Every well-formed line of a report (a line cut short by a crash is skipped)."""
    with Path(path).open("r", encoding="utf-8") as handle:
        for line in handle:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if _row_of(entry) is not None:
                yield entry


def _row_of(entry: Any) -> int | None:
    """The row number of a report line (None: not a report line)."""
    row = entry.get("row") if isinstance(entry, dict) else None
    return row if isinstance(row, int) and not isinstance(row, bool) and row > 0 else None


# How far past its last reported row a run may have had calls out (the batch engine reads
# ahead at most 4 calls of 300 records per call slot, 10 slots).
MAX_ROWS_AHEAD = 4 * 300 * 10

_APPLIED = 1
_UNKNOWN = 2
_SETTLED = 3  # a line that says the row did not apply (failed, skipped, not_attempted ...)


def _key_hash(key: Any) -> int:
    # Keys come back from the report's JSON as they went in (a str, an int): their repr
    # matches the input's. 0 means "no key recorded".
    return 0 if key is None else (hash(repr(key)) or 1)


class AppliedRows:
    """What earlier runs applied (and left ``unknown``), by row: its state, file line and key.

    17 bytes a row (a state byte, the line, a hash of the key), so a million-row resume stays
    small. A row counts as applied for :meth:`matches` only when its line and key are those
    of the row being read now, so a report of another file skips nothing by mistake.
    """

    def __init__(self) -> None:
        self._state = bytearray()
        self._lines = array.array("l")
        self._keys = array.array("q")
        self._last = 0  # the last row any line is about
        self.count = 0

    def _grow(self, row: int) -> None:
        if row >= len(self._state):
            more = max(row + 1 - len(self._state), len(self._state))
            self._state.extend(bytes(more))
            self._lines.frombytes(bytes(more * self._lines.itemsize))
            self._keys.frombytes(bytes(more * self._keys.itemsize))

    def _remember(self, row: int, line: int, key: Any) -> None:
        self._last = max(self._last, row)
        self._lines[row] = line
        self._keys[row] = _key_hash(key)

    def add(self, row: int, *, line: int = 0, key: Any = None) -> None:
        self._grow(row)
        if self._state[row] != _APPLIED:
            self._state[row] = _APPLIED
            self.count += 1
            self._remember(row, line, key)

    def add_unknown(self, row: int, *, line: int = 0, key: Any = None) -> None:
        """A row whose earlier call may or may not have applied (unless another line says so:
        a later line saying it was not sent, or refused, does not undo the earlier call)."""
        self._grow(row)
        if self._state[row] in (0, _SETTLED):
            self._state[row] = _UNKNOWN
            self._remember(row, line, key)

    def add_settled(self, row: int, *, line: int = 0, key: Any = None) -> None:
        """A row an earlier run reported as not applied (its call was refused, or never sent)."""
        self._grow(row)
        if self._state[row] == 0:
            self._state[row] = _SETTLED
            self._remember(row, line, key)

    def _same_row(self, row: int, line: int, key: Any) -> bool:
        if self._lines[row] and line and self._lines[row] != line:
            return False
        return not self._keys[row] or self._keys[row] == _key_hash(key)

    def was_unknown(self, row: int, line: int, key: Any) -> bool:
        """An earlier run left this row ``unknown``: its call may have applied."""
        return (
            0 <= row < len(self._state)
            and self._state[row] == _UNKNOWN
            and self._same_row(row, line, key)
        )

    def maybe_sent(self, row: int, line: int, key: Any) -> bool:
        """Could an earlier run have sent this row? Yes when it left it ``unknown``, and when
        its report has no line for it at all (a run killed with its call in flight)."""
        if not 0 <= row < len(self._state) or self._state[row] == 0:
            # Without a line: sent only if the run got that far (it reads ahead of its calls).
            return self._last > 0 and row <= self._last + MAX_ROWS_AHEAD
        return self.was_unknown(row, line, key)

    def matches(self, row: int, line: int, key: Any) -> bool:
        """True when an earlier run applied this row: same row, line (if recorded), key."""
        if row not in self:
            return False
        return self._same_row(row, line, key)

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
                line = entry.get("line")
                line = line if isinstance(line, int) and not isinstance(line, bool) else 0
                key = entry.get("key")
                if status in APPLIED:
                    applied.add(entry["row"], line=line, key=key)
                elif status == "unknown":
                    applied.add_unknown(entry["row"], line=line, key=key)
                else:
                    applied.add_settled(entry["row"], line=line, key=key)
    return applied


def load_report(path: str | Path) -> dict[int, str]:
    """The last status written for each row of a report (for small reports and tests)."""
    source = Path(path)
    if not source.exists():
        return {}
    return {entry["row"]: str(entry.get("status")) for entry in report_entries(source)}
