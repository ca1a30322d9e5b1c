"""Bulk writes on the shared batch engine, with Lead Gen & CRM's outcome vocabulary.

The engine speaks Marketo's result statuses; a refused Lead Gen & CRM object travels through it
as ``skipped`` with the API's error as its reason, and is reported here as ``failed`` (or
``unknown`` when the answer did not say what became of it). Applied statuses pass unchanged.
"""

from __future__ import annotations

from collections.abc import (
    AsyncIterable,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from typing import Any, TypeVar, overload

import attrs

from .._batch import MAX_BATCH_SIZE, BatchReport, RecordOutcome, Status, run_batches
from ._envelope import NO_RESULT

__all__ = ["UNCONFIRMED", "relabel", "run_writes"]

T = TypeVar("T")

# Reason.code of an updateLeads success the API cannot vouch for (it says success for leads
# that do not exist): reported unknown.
UNCONFIRMED = "unconfirmed"
_UNKNOWN_CODES = frozenset({NO_RESULT, UNCONFIRMED})
# Lead Gen & CRM: up to 500 objects per write (250 advised with heavy custom-field data).
MAX_OBJECTS_PER_CALL = 500


def relabel(outcome: RecordOutcome) -> RecordOutcome:
    """A refused object's outcome (``skipped`` in the engine) as ``failed`` or ``unknown``."""
    if outcome.status != "skipped":
        return outcome
    status: Status = (
        "unknown" if any(r.code in _UNKNOWN_CODES for r in outcome.reasons) else "failed"
    )
    return attrs.evolve(outcome, status=status)


class _Relabelled(Sequence[RecordOutcome]):
    """The engine's outcomes, read through :func:`relabel` (no copy of the columns)."""

    def __init__(self, outcomes: Sequence[RecordOutcome]) -> None:
        self._outcomes = outcomes

    def __len__(self) -> int:
        return len(self._outcomes)

    @overload
    def __getitem__(self, index: int) -> RecordOutcome: ...
    @overload
    def __getitem__(self, index: slice) -> list[RecordOutcome]: ...
    def __getitem__(self, index: int | slice) -> RecordOutcome | list[RecordOutcome]:
        if isinstance(index, slice):
            return [relabel(outcome) for outcome in self._outcomes[index]]
        return relabel(self._outcomes[index])

    def __iter__(self) -> Iterator[RecordOutcome]:
        return (relabel(outcome) for outcome in self._outcomes)

    def __repr__(self) -> str:
        return f"<{len(self):,} outcomes>"


def relabel_report(report: BatchReport) -> BatchReport:
    """``report`` with refused objects ``failed``/``unknown`` instead of ``skipped``."""
    outcomes = _Relabelled(report.outcomes)
    counts: dict[str, int] = dict(report.counts)
    skipped = counts.pop("skipped", 0)
    failed = [outcome.index for outcome in report.failed]
    if skipped:
        for index in failed:
            outcome = outcomes[index]
            if report.outcomes[index].status == "skipped":
                counts[outcome.status] = counts.get(outcome.status, 0) + 1
    return BatchReport(
        outcomes=outcomes,
        counts=counts,
        stopped=report.stopped,
        resume_from=report.resume_from,
        idempotent=report.idempotent,
        failed_indices=failed,
    )


async def run_writes(
    records: Iterable[T] | AsyncIterable[T],
    send: Callable[[Sequence[T]], Awaitable[Sequence[Mapping[str, Any]]]],
    *,
    batch_size: int,
    on_outcome: Callable[[RecordOutcome], None] | None = None,
    **options: Any,
) -> BatchReport:
    """:func:`run_batches` with Lead Gen & CRM sizes and statuses (see the module docstring)."""
    if not 1 <= batch_size <= MAX_OBJECTS_PER_CALL:
        raise ValueError(f"batch_size must be 1 to {MAX_OBJECTS_PER_CALL} (the API's limit)")
    hook = None if on_outcome is None else (lambda outcome: on_outcome(relabel(outcome)))
    report = await run_batches(
        records,
        send,
        # The shared engine caps calls at Marketo's 300 for now.
        batch_size=min(batch_size, MAX_BATCH_SIZE),
        on_outcome=hook,
        **options,
    )
    return relabel_report(report)
