"""Outcomes kept by column: a status byte and an id per record, the rest sparse."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from ._outcomes import (
    NOT_APPLIED_STATUSES,
    STATUSES,
    OutcomeSequence,
    Reason,
    RecordOutcome,
    Status,
)
from ._results import EntryResult, Key

__all__ = ["OutcomeColumns"]

_PENDING = 0
_CODE: dict[str, int] = {status: code for code, status in enumerate(STATUSES, start=1)}
_NOT_APPLIED_CODES = frozenset(_CODE[status] for status in NOT_APPLIED_STATUSES)
_NO_ID = -1
_EMPTY: Mapping[int, Any] = {}


class OutcomeColumns(OutcomeSequence):
    """Every record's outcome, built when read.

    A million ``RecordOutcome`` objects would take hundreds of MB; these columns take ~9 bytes
    a record.
    """

    def __init__(self, on_finish: Callable[[int, int], None] | None = None) -> None:
        self._on_finish = on_finish  # told of each outcome recorded: first, last
        self._status = bytearray()
        self._ids = array("q")
        self._reasons: dict[int, tuple[Reason, ...]] = {}
        self._errors: dict[int, Exception] = {}
        self._keys: dict[int, str | int] = {}
        self._merged_into: dict[int, int] = {}
        self.not_applied: list[int] = []

    def __len__(self) -> int:
        return len(self._status)

    def __repr__(self) -> str:
        return f"<{len(self):,} outcomes>"

    def outcome_at(self, index: int) -> RecordOutcome:
        """The outcome of record ``index`` (``0 <= index < len(self)``, not checked)."""
        return next(self.outcomes_between(index, index))

    _outcome = outcome_at

    def __iter__(self) -> Iterator[RecordOutcome]:
        return self.outcomes_between(0, len(self) - 1)

    def outcomes_between(self, first: int, last: int) -> Iterator[RecordOutcome]:
        """The outcomes of records ``first..last`` (within the columns, not checked)."""
        status, ids = self._status, self._ids
        # The sparse columns are mostly empty: a lookup in an empty dict is skipped.
        reasons, errors = self._reasons or _EMPTY, self._errors or _EMPTY
        keys, merged_into = self._keys or _EMPTY, self._merged_into or _EMPTY
        for index in range(first, last + 1):
            code = status[index]
            if code == _PENDING:
                raise RuntimeError(f"record {index} has no outcome yet")
            record_id = ids[index]
            yield RecordOutcome(
                index,
                STATUSES[code - 1],
                None if record_id == _NO_ID else record_id,
                reasons.get(index, ()),
                errors.get(index),
                keys.get(index),
                merged_into.get(index),
            )

    def add_pending(self) -> int:
        """A new record, without an outcome yet; its index."""
        self._status.append(_PENDING)
        self._ids.append(_NO_ID)
        return len(self._status) - 1

    def finish(
        self,
        first: int,
        last: int,
        status: Status,
        *,
        record_id: int | None = None,
        reasons: tuple[Reason, ...] = (),
        error: Exception | None = None,
        key: str | int | None = None,
    ) -> None:
        """Record the outcome of input records ``first..last`` (more than one when merged)."""
        code = _CODE[status]
        not_applied = code in _NOT_APPLIED_CODES
        for index in range(first, last + 1):
            self._status[index] = code
            if record_id is not None:
                self._ids[index] = record_id
            if reasons:
                self._reasons[index] = reasons
            if error is not None:
                self._errors[index] = error
            if index != first:
                self._merged_into[index] = first
            if not_applied:
                self.not_applied.append(index)
                if key is not None:
                    self._keys[index] = key
        if self._on_finish is not None:
            self._on_finish(first, last)

    def finish_run(
        self, first: int, last: int, answer: EntryResult, keys: Iterable[Key] = ()
    ) -> None:
        """Give each of records ``first..last``, each sent on its own (none merged into
        another), the one ``answer`` they share (an import file's rows); ``keys`` are theirs,
        in order, kept when the answer's status is one that did not apply."""
        status, record_id, reasons = answer
        span = range(first, last + 1)
        code = _CODE[status]
        self._status[first : last + 1] = bytes((code,)) * len(span)
        if record_id is not None:
            self._ids[first : last + 1] = array("q", (record_id,)) * len(span)
        if reasons:
            self._reasons.update(dict.fromkeys(span, reasons))
        if code in _NOT_APPLIED_CODES:
            self.not_applied.extend(span)
            found = zip(span, keys, strict=False)  # no keys given: none kept
            self._keys.update((index, key) for index, key in found if key is not None)
        if self._on_finish is not None:
            self._on_finish(first, last)

    def reopen(self, first: int, last: int) -> int:
        """Records ``first..last`` have no outcome after all (nobody heard it): pending
        again. How many there were."""
        span = range(first, last + 1)
        if not span:
            return 0
        self._status[first : last + 1] = bytes(len(span))
        self._ids[first : last + 1] = array("q", (_NO_ID,)) * len(span)
        for column in (self._reasons, self._errors, self._keys, self._merged_into):
            if column:
                for index in span:
                    column.pop(index, None)
        self.not_applied = [index for index in self.not_applied if index not in span]
        return len(span)

    def first_pending(self, start: int = 0) -> int | None:
        """The first record from ``start`` on without an outcome, or None."""
        index = self._status.find(_PENDING, start)
        return None if index < 0 else index

    def counts(self) -> dict[str, int]:
        """How many records have each status (statuses nobody has left out)."""
        counts = {status: self._status.count(code) for status, code in _CODE.items()}
        return {status: n for status, n in counts.items() if n}

    def first_with(self, status: Status) -> int | None:
        """The first record with ``status``, or None."""
        index = self._status.find(_CODE[status])
        return None if index < 0 else index
