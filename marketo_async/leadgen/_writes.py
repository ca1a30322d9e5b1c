"""Bulk writes on the shared batch engine, with Lead Gen & CRM's call size and result rules.

An answer lists one ``{success, error, id}`` per object sent, in input order (the top-level
``error`` list only repeats the failures, renumbered): outcomes are matched by position.
"""

from __future__ import annotations

from collections.abc import (
    AsyncIterable,
    Awaitable,
    Callable,
    Collection,
    Iterable,
    Mapping,
    Sequence,
)
from typing import Any, TypeVar

from .._batch import BatchReport, EntryResult, Reason, ResultRules, Status, run_batches
from ._envelope import read_entry

__all__ = [
    "CREATED",
    "DELETED",
    "MAX_OBJECTS_PER_CALL",
    "NOTHING_CHANGED",
    "UNCONFIRMED",
    "UPDATED",
    "UPDATED_UNCHECKED",
    "result_rules",
    "run_writes",
]

T = TypeVar("T")

# Lead Gen & CRM: up to 500 objects per write (250 advised with heavy custom-field data).
MAX_OBJECTS_PER_CALL = 500
API_NAME = "Lead Gen & CRM"
NOTHING_CHANGED = "302"  # Lead Gen & CRM: object error "No table rows affected"


def result_rules(
    applied: Status,
    *,
    unchanged: Collection[str] = (),
    then: Callable[[EntryResult], EntryResult] | None = None,
) -> ResultRules:
    """How one write method's entries read: success is ``applied``; ``then`` adjusts."""

    def read(entry: Mapping[str, Any]) -> EntryResult:
        found = read_entry(entry, applied=applied, unchanged=unchanged)
        return found if then is None else then(found)

    return ResultRules(
        max_records=MAX_OBJECTS_PER_CALL, match_by="position", read=read, api=API_NAME
    )


async def run_writes(
    records: Iterable[T] | AsyncIterable[T],
    send: Callable[[Sequence[T]], Awaitable[Sequence[Mapping[str, Any]]]],
    *,
    results: ResultRules,
    batch_size: int,
    **options: Any,
) -> BatchReport:
    """:func:`run_batches` with the API's limit per call checked first."""
    if not 1 <= batch_size <= MAX_OBJECTS_PER_CALL:
        raise ValueError(f"batch_size must be 1 to {MAX_OBJECTS_PER_CALL} (the API's limit)")
    return await run_batches(records, send, results=results, batch_size=batch_size, **options)


# Reason.code of an updateLeads success the API cannot vouch for (it says success for leads
# that do not exist): reported unknown.
UNCONFIRMED = "unconfirmed"
_UNCONFIRMED = Reason(UNCONFIRMED, "updateLeads reports success for leads that do not exist")


def _unchecked(found: EntryResult) -> EntryResult:
    status, record_id, reasons = found
    # A 302 proves the lead exists (it held these values); a bare success proves nothing.
    if status == "updated" and not reasons:
        return "unknown", record_id, (_UNCONFIRMED,)
    return found


CREATED = result_rules("created")
UPDATED = result_rules("updated", unchanged=(NOTHING_CHANGED,))
UPDATED_UNCHECKED = result_rules("updated", unchanged=(NOTHING_CHANGED,), then=_unchecked)
DELETED = result_rules("deleted")
