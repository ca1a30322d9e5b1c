"""Reading an API's per-record answers: which result entry answers which record, and what it says.

An API plugs into the batch engine with a :class:`ResultRules`: how many records one call takes,
how result entries find their records (Marketo's ``seq``, the list position, or the record's
id), and one function turning an entry into a status, an id and reasons. Marketo's rules are
the default; another API (say 500 records a call, answers by position, its own status words)
passes its own.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypeGuard, cast

import attrs

from ._outcomes import MARKETO_STATUSES, NO_RESULT, STATUSES, UNEXPECTED_STATUS, Reason, Status
from ._sizes import MAX_BATCH_SIZE

__all__ = [
    "MARKETO_RESULTS",
    "EntryResult",
    "ResultRules",
    "marketo_result",
    "reason",
    "reasons_of",
]

# What one result entry says about its record: status, the record's id, reasons.
EntryResult = tuple[Status, int | None, tuple[Reason, ...]]
Key = str | int | None

# Ids are kept in 64-bit columns; Marketo's are 32-bit.
MAX_RECORD_ID = 2**63
_REASON_CACHE: dict[tuple[str, str], Reason] = {}
_NO_ENTRY = object()  # before the first entry: no entry is this one


def reason(code: str, message: str) -> Reason:
    """``Reason(code, message)``, shared: thousands of skipped records share a few reasons."""
    found = _REASON_CACHE.get((code, message))
    if found is None:
        found = Reason(code, message)
        if len(_REASON_CACHE) < 1_000:
            _REASON_CACHE[(code, message)] = found
    return found


def reasons_of(entry: Mapping[str, Any]) -> tuple[Reason, ...]:
    """The entry's ``reasons[]`` (each ``{code, message}``) as :class:`Reason` values."""
    raw = entry.get("reasons")
    if not raw:
        return ()
    return tuple(
        reason(str(item.get("code", "")), str(item.get("message", "")))
        for item in raw
        if isinstance(item, Mapping)
    )


def marketo_result(entry: Mapping[str, Any]) -> EntryResult:
    """One entry of Marketo's ``result[]``; a status this library doesn't know is ``unknown``."""
    reasons = reasons_of(entry)
    status = entry.get("status")
    record_id = entry.get("id", entry.get("leadId"))
    if status not in MARKETO_STATUSES:
        note = Reason(UNEXPECTED_STATUS, f"Marketo answered status {status!r}")
        status, reasons = "unknown", (*reasons, note)
    return cast(Status, status), record_id if _plausible_id(record_id) else None, reasons


def _listed(value: object) -> bool:
    return isinstance(value, (tuple, list))


def _plausible_id(value: object) -> TypeGuard[int]:
    # An id that cannot be one (a string, 2**70) is dropped rather than trusted.
    return type(value) is int and 0 < value < MAX_RECORD_ID


@attrs.frozen(kw_only=True)
class ResultRules:
    """How an API answers one batch call, record by record.

    - ``max_records``: records one call may carry.
    - ``match_by``: how a result entry finds its record: ``"seq"`` (the entry's ``seq`` when
      it has one, else its position; Marketo), ``"position"`` (its place in the list), or
      ``"id"`` (the entry's ``id`` is the record's key, else its position).
    - ``read``: one entry as (status, id, reasons), mapping the API's status words.
    - ``ids_from_keys``: a record whose entry names no id takes its key as id (writes keyed
      by lead id, whose skipped entries carry only ``seq``).
    - ``api``: the API's name, as the reasons the engine writes for it say it.
    - ``keys_in_order``: the API applies a call's records in order (an import file), so
      records sharing a key may share a call; they never share two calls in flight.
    """

    max_records: int = MAX_BATCH_SIZE
    match_by: Literal["seq", "position", "id"] = "seq"
    read: Callable[[Mapping[str, Any]], EntryResult] = marketo_result
    ids_from_keys: bool = False
    api: str = "Marketo"
    keys_in_order: bool = False

    def outcome(self, entry: Mapping[str, Any] | None) -> EntryResult:
        """What ``entry`` says about its record; no entry at all is ``unknown``."""
        if entry is None:
            return "unknown", None, (reason(NO_RESULT, self._no_result),)
        result = self.read(entry)
        if self.read is marketo_result:
            return result  # already checked: a known status, Reason values, a plausible id
        status, record_id, reasons = result
        # Whatever ``read`` makes of an answer: an id that cannot be one is left out, only
        # Reason values are kept, and a status this library lacks is unknown.
        if not isinstance(reasons, tuple) or (
            reasons and not all(isinstance(r, Reason) for r in reasons)
        ):
            reasons = tuple(r for r in reasons if isinstance(r, Reason)) if _listed(reasons) else ()
        if status not in STATUSES:
            note = reason(UNEXPECTED_STATUS, f"{self.api} answered status {status!r}")
            status, reasons = "unknown", (*reasons, note)
        return status, record_id if _plausible_id(record_id) else None, reasons

    @property
    def _no_result(self) -> str:
        return f"{self.api}'s answer had no result for this record"

    def outcomes(
        self, keys: Sequence[Key], results: Sequence[Mapping[str, Any]]
    ) -> list[EntryResult]:
        """One result per record of a call whose records have ``keys``, in the call's order."""
        entries = self._match(keys, results)
        found = self._read_each(entries)
        if self.ids_from_keys:
            for position, (status, record_id, reasons) in enumerate(found):
                key = keys[position]
                if record_id is None and _plausible_id(key) and entries[position] is not None:
                    found[position] = (status, key, reasons)
        return found

    def _read_each(self, entries: Sequence[Mapping[str, Any] | None]) -> list[EntryResult]:
        """Each entry read; one entry object answering several records in a row (an import
        file's rows share one) is read once, and its result shared."""
        found: list[EntryResult] = []
        last: object = _NO_ENTRY
        result: EntryResult
        for entry in entries:
            if entry is not last:
                last, result = entry, self.outcome(entry)
            found.append(result)
        return found

    def _match(
        self, keys: Sequence[Key], results: Sequence[Mapping[str, Any]]
    ) -> list[Mapping[str, Any] | None]:
        if self.match_by == "position":  # each entry answers the record at its place
            return _answers_at(results, len(keys))
        entries: list[Mapping[str, Any] | None] = [None] * len(keys)
        where = {key: at for at, key in enumerate(keys)} if self.match_by == "id" else {}
        for position, entry in enumerate(results):
            if not isinstance(entry, Mapping):
                continue  # not an answer about any record: its record stays without one
            target = self._target(entry, position, where)
            # The first entry naming a record answers it; a repeat is ignored.
            if 0 <= target < len(entries) and entries[target] is None:
                entries[target] = entry
        return entries

    def _target(self, entry: Mapping[str, Any], position: int, where: Mapping[Key, int]) -> int:
        if self.match_by == "seq":
            seq = entry.get("seq")
            return seq if isinstance(seq, int) and not isinstance(seq, bool) else position
        if self.match_by == "id":
            entry_id = entry.get("id")
            at = where.get(entry_id) if type(entry_id) is int else None
            return position if at is None else at
        return position


def _answers_at(results: Sequence[Any], count: int) -> list[Mapping[str, Any] | None]:
    """The first ``count`` entries by position: None past the end and for an entry that is no
    mapping (not an answer about any record)."""
    entries: list[Any] = list(itertools.islice(results, count))
    last: object = _NO_ENTRY
    answer = False
    for position, entry in enumerate(entries):
        if entry is not last:  # an entry repeated in a row is looked at once
            last, answer = entry, isinstance(entry, Mapping)
        if not answer:
            entries[position] = None
    entries += [None] * (count - len(entries))
    return entries


MARKETO_RESULTS = ResultRules()
