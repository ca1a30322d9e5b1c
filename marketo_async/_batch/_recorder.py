"""Reporting a run: each record's outcome recorded once, the caller's hooks told, the report."""

from __future__ import annotations

from .._errors import MarketoError
from ._columns import OutcomeColumns
from ._options import WriteOptions
from ._outcomes import BatchReport, Reason, Status

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
        if on_outcome is not None:
            outcome_at = self.outcomes.outcome_at
            for index in range(first, last + 1):
                on_outcome(outcome_at(index))

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
