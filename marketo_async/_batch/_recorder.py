"""Reporting a run: each record's outcome recorded once, the caller's hooks told, the report."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._errors import MarketoError
from ._columns import OutcomeColumns
from ._options import WriteOptions
from ._outcomes import BatchReport, Reason, Status
from ._queue import Item
from ._results import EntryResult

__all__ = ["Recorder"]


class Recorder:
    """The outcomes of one run, as they become known.

    Of the caller's ``hooks``, ``on_outcome(outcome)`` hears each record once, as soon as
    its outcome is known; ``on_progress(done, total_or_None)`` hears the count whenever it
    changed.
    """

    def __init__(self, hooks: WriteOptions, *, total: int | None) -> None:
        self.outcomes = OutcomeColumns(on_finish=self._finished)
        # Records first..last (one call carried them as one) have this outcome.
        self.finish = self.outcomes.finish
        # A record was read: its index (it has no outcome yet).
        self.add = self.outcomes.add_pending
        self._total = total
        self._on_progress = hooks.on_progress
        self._on_outcome = hooks.on_outcome
        self._done = 0
        self._reported_done = -1

    def _finished(self, first: int, last: int) -> None:
        self._done += last - first + 1
        on_outcome = self._on_outcome
        if on_outcome is None:
            return
        told = first
        try:
            for outcome in self.outcomes.outcomes_between(first, last):
                on_outcome(outcome)
                told += 1
        except BaseException:
            # The hook failed (a bug): the records after it were not told of their outcome.
            # They are left without one, as if recorded one by one, so the run's end gives
            # each its outcome then.
            self._done -= self.outcomes.reopen(told + 1, last)
            raise

    def finish_answered(self, items: Sequence[Item[Any]], answers: Sequence[EntryResult]) -> None:
        """The items of one call, each with its answer. Items of one record each that follow
        one another and share one answer object (an import file's rows) finish as one run."""
        start = 0
        while start < len(items):
            end = _shared_run(items, answers, start)
            first, last = items[start].first, items[end - 1].last
            if end - start > 1:
                keys = (item.key for item in items[start:end])
                self.outcomes.finish_run(first, last, answers[start], keys)
            else:
                status, record_id, reasons = answers[start]
                key = items[start].key
                self.finish(first, last, status, record_id=record_id, reasons=reasons, key=key)
            start = end

    def finish_pending(self, status: Status, reasons: tuple[Reason, ...]) -> None:
        """Every record still without an outcome gets this one."""
        index = self.outcomes.first_pending()
        while index is not None:
            self.finish(index, index, status, reasons=reasons)
            index = self.outcomes.first_pending(index + 1)

    def progress(self) -> None:
        """Tell ``on_progress`` how many records are done, if that changed."""
        if self._on_progress is not None and self._done != self._reported_done:
            self._reported_done = self._done
            self._on_progress(self._done, self._total)

    def report(self, *, stopped: MarketoError | None, idempotent: bool) -> BatchReport:
        """The run's report; every record read must have its outcome by now."""
        if self._done != len(self.outcomes):  # never expected: say so rather than lose one
            raise RuntimeError(
                f"batch engine bug: {len(self.outcomes) - self._done} records have no outcome"
            )
        return BatchReport(
            outcomes=self.outcomes,
            counts=self.outcomes.counts(),
            stopped=stopped,
            resume_from=self.outcomes.first_with("not_attempted"),
            idempotent=idempotent,
            failed_indices=sorted(self.outcomes.not_applied),
        )


def _shared_run(items: Sequence[Item[Any]], answers: Sequence[EntryResult], start: int) -> int:
    """Where the run of items from ``start`` ends: items of one record each, one record after
    another, answered by the very answer of ``start`` (just ``start + 1`` when it is merged)."""
    item, answer = items[start], answers[start]
    end = start + 1
    if item.first != item.last:
        return end
    after = item.last + 1
    while end < len(items) and answers[end] is answer:
        item = items[end]
        if item.first != after or item.last != after:
            break
        after += 1
        end += 1
    return end
