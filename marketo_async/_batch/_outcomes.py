"""What a batch write reports: a status per record, its reasons, and the whole run's report."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Literal, get_args, overload

import attrs

from .._errors import DailyQuotaExceeded, MarketoError

__all__ = [
    "DAILY_QUOTA",
    "INTERRUPTED",
    "LOCAL_VALIDATION",
    "MARKETO_STATUSES",
    "NOT_APPLIED_STATUSES",
    "NO_KEY_LEASE",
    "NO_RESULT",
    "RESENT",
    "STATUSES",
    "UNEXPECTED_ANSWER",
    "UNEXPECTED_STATUS",
    "BatchReport",
    "OutcomeSequence",
    "Reason",
    "RecordOutcome",
    "Status",
]

Status = Literal[
    # Marketo's own
    "created",
    "updated",
    "deleted",
    "added",
    "removed",
    "skipped",
    "memberof",
    "notmemberof",
    "triggered",  # a campaign trigger's call carrying this lead was accepted
    # the library's
    "failed",  # refused (locally or by Marketo) as a whole call; nothing applied
    "not_attempted",  # never sent (a 607, stop(), cancelled, no fleet key lease)
    "unknown",  # sent, and may or may not have applied
    # Bulk Import: applied, created or updated (the bulk API does not say which)
    "imported",
    "not_applied",  # was unknown; reading it back showed it did not apply (leads.settle)
]
STATUSES: tuple[Status, ...] = get_args(Status)
MARKETO_STATUSES: frozenset[Status] = frozenset(STATUSES[: STATUSES.index("failed")])
NOT_APPLIED_STATUSES: frozenset[Status] = frozenset(
    {"skipped", "failed", "not_attempted", "unknown", "not_applied"}
)

LOCAL_VALIDATION = "local-validation"  # Reason.code of a record refused before sending
DAILY_QUOTA = "daily-quota"  # Reason.code: not sent, the daily quota being spent (no 607 yet)
INTERRUPTED = "interrupted"  # Reason.code of a record whose run was cancelled
NO_KEY_LEASE = "no-key-lease"  # Reason.code of a record whose fleet key lease could not be had
RESENT = "resent"  # Reason.code: the call was sent again after a failure that may have applied
UNEXPECTED_ANSWER = "unexpected-answer"  # Reason.code: the API's answer could not be read
NO_RESULT = "no-result"  # Reason.code of a record the API's result[] did not mention
UNEXPECTED_STATUS = "unexpected-status"  # Reason.code of a result status this library doesn't know


@attrs.frozen
class Reason:
    """Why a record was skipped: one entry of Marketo's ``reasons[]``, or a local check."""

    code: str
    message: str


def _short_error(error: Exception | None) -> str:
    return "None" if error is None else f"<{type(error).__name__}: {error}>"


@attrs.frozen
class RecordOutcome:
    """What happened to one input record of a batch write.

    ``merged_into`` is set when ``coalesce=True`` folded this record into an earlier one
    with the same key: it is the index of the record whose call carried both.
    ``key`` (the normalised lookup key) is kept only for records that did not apply.
    ``marketo_guid`` is the record's ``marketoGUID`` for data objects identified by one
    (opportunities, named accounts, custom objects).
    """

    index: int
    status: Status
    id: int | None = None
    reasons: tuple[Reason, ...] = ()
    error: Exception | None = attrs.field(default=None, eq=False, repr=_short_error)
    key: str | int | None = None
    merged_into: int | None = None
    marketo_guid: str | None = None

    @property
    def applied(self) -> bool:
        """True when Marketo applied the record (any status but skipped/failed/...)."""
        return self.status not in NOT_APPLIED_STATUSES


@attrs.define(eq=False)
class BatchReport:
    """The result of a batch write: one outcome per input record, in input order.

    >>> report = await client.leads.sync(rows)
    >>> if not report.ok:
    ...     print(report)            # counts, and how to resume after a 607
    ...     for outcome in report.failed: ...
    """

    outcomes: Sequence[RecordOutcome]
    counts: dict[str, int]
    stopped: MarketoError | None = None
    resume_from: int | None = None
    idempotent: bool = attrs.field(default=True, repr=False)
    _failed_indices: Sequence[int] = attrs.field(default=(), repr=False, alias="failed_indices")

    @property
    def failed(self) -> list[RecordOutcome]:
        """Every outcome that did not apply: skipped, failed, not_attempted, unknown or
        not_applied."""
        return [self.outcomes[i] for i in self._failed_indices]

    @property
    def ok(self) -> bool:
        """True when every record applied and sending was never stopped."""
        return self.stopped is None and not self._failed_indices

    def amended(self, changes: Mapping[int, RecordOutcome]) -> BatchReport:
        """A copy of this report with some outcomes replaced (``leads.settle`` reading back
        unknown records); counts and ``failed`` follow."""
        counts = dict(self.counts)
        for index, outcome in changes.items():
            old = self.outcomes[index].status
            counts[old] -= 1
            if not counts[old]:
                del counts[old]
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        failed = [
            index
            for index in self._failed_indices
            if index not in changes or not changes[index].applied
        ]
        return BatchReport(
            outcomes=_Amended(self.outcomes, changes),
            counts=counts,
            stopped=self.stopped,
            resume_from=self.resume_from,
            idempotent=self.idempotent,
            failed_indices=failed,
        )

    def summary(self) -> str:
        """Counts by status, and what to do about records that did not apply."""
        total = len(self.outcomes)
        by_status = ", ".join(
            f"{self.counts[status]:,} {status}" for status in STATUSES if self.counts.get(status)
        )
        lines = [f"{total:,} records" + (f": {by_status}" if by_status else "")]
        if self.stopped is not None:
            lines.extend(self._stopped_advice(self.stopped))
        unknown = self.counts.get("unknown", 0)
        if unknown:
            advice = (
                "sending them again is safe"
                if self.idempotent
                else "check them in Marketo before sending them again"
            )
            lines.append(
                f"{unknown:,} records may or may not have been applied (status unknown); {advice}."
            )
        not_applied = self.counts.get("not_applied", 0)
        if not_applied:
            lines.append(
                f"{not_applied:,} records were read back and had not applied (status "
                "not_applied); sending them again applies them."
            )
        return "\n".join(lines)

    def _stopped_advice(self, stopped: MarketoError) -> list[str]:
        if isinstance(stopped, DailyQuotaExceeded) and stopped.code == "607":
            what = "Marketo's daily API quota ran out (607)"
        elif isinstance(stopped, DailyQuotaExceeded):
            what = f"{stopped.message} (stopped here, before Marketo's 607)"
        else:
            what = f"sending stopped ({stopped})"
        lines = [
            f"Stopped early: {what}; {self.counts.get('not_attempted', 0):,} records were "
            "not attempted."
        ]
        if self.resume_from is not None:
            lines.append(
                "To resume after the quota resets (midnight US Central time), send again "
                f"from record {self.resume_from:,} (report.resume_from), skipping later "
                "records whose status is not 'not_attempted': they were already sent."
            )
        return lines

    def __str__(self) -> str:
        return self.summary()


class OutcomeSequence(Sequence[RecordOutcome]):
    """A read-only sequence of outcomes made on demand: a subclass gives ``__len__`` and
    ``_outcome(index)`` for ``0 <= index < len(self)``; indexing, slices and iteration follow."""

    def _outcome(self, index: int) -> RecordOutcome:
        raise NotImplementedError

    @overload
    def __getitem__(self, index: int) -> RecordOutcome: ...
    @overload
    def __getitem__(self, index: slice) -> list[RecordOutcome]: ...
    def __getitem__(self, index: int | slice) -> RecordOutcome | list[RecordOutcome]:
        if isinstance(index, slice):
            return [self._outcome(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("outcome index out of range")
        return self._outcome(index)

    def __iter__(self) -> Iterator[RecordOutcome]:
        return (self._outcome(i) for i in range(len(self)))


class _Amended(OutcomeSequence):
    """Outcomes with a few replaced, without copying the rest."""

    def __init__(self, base: Sequence[RecordOutcome], changes: Mapping[int, RecordOutcome]):
        self._base = base
        self._changes = dict(changes)

    def __len__(self) -> int:
        return len(self._base)

    def _outcome(self, index: int) -> RecordOutcome:
        changed = self._changes.get(index)
        return changed if changed is not None else self._base[index]

    def __repr__(self) -> str:
        return f"<{len(self):,} outcomes, {len(self._changes):,} settled>"
