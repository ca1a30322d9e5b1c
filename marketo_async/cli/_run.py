"""One bulk run: stream input rows into a batch write, report each row, stop cleanly.

The batch engine numbers the records it is fed 0, 1, 2 ...; rows that are skipped before it
(bad input, invalid records, rows a resumed run already applied) are never fed, so a run keeps
``index -> (row, key)`` for the records the engine holds and forgets each one as its outcome
arrives. That map is bounded by the engine's look-ahead, whatever the size of the input.

Stopping: the first SIGINT/SIGTERM sends nothing more: no more input is read, calls waiting
for the rate window or a slot are dropped, calls already sent finish, and every row not sent
is reported ``not_attempted``. A second signal cancels at once: rows of calls already sent
are reported ``unknown`` (they may or may not have been applied), the rest
``not_attempted``. A call failing in a way
every later call would repeat (bad credentials, no such list, the server unreachable) also
stops the feeding, so a million rows are not failed one call at a time.

Rows may come from a file (an iterator) or from another API (an async iterator, such as
another system's lead pager): rows such a source never yielded are not reported (a resumed
run reads them), since draining it would mean reading the rest of the source.
"""

from __future__ import annotations

import re
import signal
from collections import Counter
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterator,
    Mapping,
    Sequence,
)
from typing import Any, TypeVar, cast

import anyio
import anyio.lowlevel
import attrs

from .._batch import NOT_APPLIED_STATUSES, BatchReport, Held, Reason, RecordOutcome, Status
from .._errors import (
    AccessDeniedError,
    AuthenticationError,
    MarketoConnectionError,
    MarketoError,
    NotFoundError,
)
from ._input import InputRow
from ._report import AppliedRows, ReportWriter

__all__ = [
    "BAD_INPUT",
    "EARLIER_RUN",
    "INTERRUPTED",
    "INVALID_RECORD",
    "STOPPED",
    "BulkRun",
    "Confirm",
    "EarlierAttempts",
    "Prepare",
    "Refused",
    "Send",
    "Stopper",
    "beside",
    "systemic_fix",
    "systemic_record_fix",
    "watch_signals",
]

T = TypeVar("T")

BAD_INPUT = "bad-input"  # Reason.code of a row that could not be read (malformed CSV/JSON)
INVALID_RECORD = "invalid-record"  # Reason.code of a row refused by the command's own checks
INTERRUPTED = "interrupted"  # Reason.code of rows the run never finished because it was stopped
STOPPED = "stopped"  # Reason.code of rows not sent because a call failed in a way all would

# A call failing with one of these means every later call would fail the same way: stop
# feeding input (the rest is reported not_attempted) instead of failing row after row.
STOP_ON = (AuthenticationError, NotFoundError, MarketoConnectionError)

# Marketo codes that refuse a whole call for a reason no other record can avoid, with the fix.
SYSTEMIC_CODES = {
    "1008": "pass a --partition this API user's workspace can reach (or none)",
    "1009": "pass --partition: this instance needs a partition name for new leads",
    "1011": "pass a --lookup-field Marketo can look leads up by (email, id, a custom string "
    "field ...; see `marketo-async describe`)",
    "1013": "check the list or program id",
    "1018": "a native CRM sync blocks this action on this instance",
}


def systemic_fix(error: BaseException) -> str | None:
    """The one-line fix when ``error`` would refuse every later call too, else None."""
    if isinstance(error, MarketoError) and error.code in SYSTEMIC_CODES:
        return SYSTEMIC_CODES[error.code]
    if isinstance(error, AccessDeniedError):
        return "give the API user's role the permission this call needs"
    if isinstance(error, AuthenticationError):
        return "check MARKETO_CLIENT_ID and MARKETO_CLIENT_SECRET (`marketo-async config show`)"
    if isinstance(error, STOP_ON):
        return ""
    return None


# Record-level reasons about the record itself (its lead is missing or already exists, it is
# not a member ...): every record of a call having one says nothing about the next call.
# Marketo's, then Lead Gen & CRM's (214 no such lead, 301 exists, 302 nothing changed, 404).
RECORD_SPECIFIC_CODES = frozenset(
    {"1004", "1005", "1007", "1010", "1013", "1015", "1037", "214", "301", "302", "404"}
)

# Record-level codes no record can avoid (the same for every record whatever it holds).
SYSTEMIC_RECORD_CODES = {
    "1006": "drop or rename the column naming no field Marketo knows (lead fields: "
    "`marketo-async describe`)",
    "1025": "pass a program status this program has",
}

# Any other reason stops the run only when at least this many records of one call share it.
SYSTEMIC_MIN_RECORDS = 10


def systemic_record_fix(reason: tuple[str, str], records: int) -> str | None:
    """The fix when ``records`` records of one call (all of them) were refused with the one
    ``reason`` ``(code, message)`` and every later record would be too, else None."""
    code, _ = reason
    if code in SYSTEMIC_RECORD_CODES:
        return SYSTEMIC_RECORD_CODES[code]
    if not code.isdigit() or code in RECORD_SPECIFIC_CODES or records < SYSTEMIC_MIN_RECORDS:
        return None  # not Marketo's (the run's own checks), about the record, or too few
    return "fix what the reason names in every row"


_RESENDABLE = frozenset({"not_attempted", "unknown", "not_applied"})
_MAX_REASONS = 50
_REQUEST_ID = re.compile(r" \(requestId [^)]*\)")
# "line 12: " names one row's place; the summary groups rows by what went wrong.
_LINE = re.compile(r"\bline \d+: ")

# How many input rows are skipped (resumed/bad) before yielding to the event loop.
_CHECKPOINT_EVERY = 1_000


class Refused(ValueError):
    """Raised by a :data:`Prepare` to refuse a row, reported with its ``key`` and reason.

    The row is ``failed`` (``code`` is the reason's code); with ``set_aside=True`` it is
    ``skipped`` instead and does not make the run fail (data the command reports but is not
    meant to send, such as a lead with no usable email).
    """

    def __init__(
        self, message: str, *, key: Any = None, code: str = INVALID_RECORD, set_aside: bool = False
    ) -> None:
        super().__init__(message)
        self.key = key
        self.code = code
        self.set_aside = set_aside


# Starts the batch write (e.g. ``client.leads.sync``): ``send(records, on_progress=...,
# on_outcome=..., stop=...)``; ``stop()`` turning True lets calls in flight finish and sends no
# more (the engine reports what it had read but not sent as not_attempted).
Send = Callable[..., Awaitable[BatchReport]]


# A row's record -> (what to send, the key shown in the report); ValueError refuses the row.
Prepare = Callable[[Mapping[str, Any]], "tuple[Any, Any]"]

# Rows a resend answered with an evidence code, with what was sent -> their outcomes now.
Confirm = Callable[[Sequence[tuple[Any, RecordOutcome]]], Awaitable[Sequence[RecordOutcome]]]

EARLIER_RUN = "earlier-run"  # Reason.code of an outcome decided by what an earlier run did


@attrs.frozen(kw_only=True)
class EarlierAttempts:
    """How a resumed run treats the rows an earlier run may have sent: left ``unknown``, or
    with no line at all (the run was killed while their call was out).

    ``note`` is what the resume note says of them. ``resend=False`` never sends a row left
    ``unknown`` again (createDuplicate: each send makes a lead): it stays ``unknown``.
    ``evidence`` maps a code that a resend may be answered with when the first attempt
    applied (1005 for createOnly, 1004 for a delete) to the status it stands for; with
    ``confirm`` such rows are checked (the lead read back) before being reported that way.
    """

    note: str
    resend: bool = True
    evidence: Mapping[str, Status] = attrs.field(factory=dict)
    confirm: Callable[[Any], Confirm] | None = None  # given the client


class Stopper:
    """Counts stop requests: the first stops feeding input, the second cancels the run."""

    def __init__(self) -> None:
        self.requests = 0
        self.signal_name: str | None = None
        self.reason: str | None = None  # set when the run stops itself (not by a signal)
        self._scope: anyio.CancelScope | None = None

    @property
    def requested(self) -> bool:
        return self.requests > 0

    def attach(self, scope: anyio.CancelScope) -> None:
        self._scope = scope
        if self.requests >= 2:
            scope.cancel()

    def stop_feeding(self, reason: str) -> None:
        """Stop feeding input because every later call would fail too (no cancelling)."""
        if not self.requested:
            self.requests = 1
            self.reason = reason

    def request(self, signal_name: str | None = None) -> None:
        self.requests += 1
        if signal_name and self.signal_name is None:
            self.signal_name = signal_name
        if self.requests >= 2 and self._scope is not None:
            self._scope.cancel()


async def watch_signals(stopper: Stopper, notify: Callable[[str], None]) -> None:
    """Turn SIGINT/SIGTERM into stop requests until cancelled (main thread only)."""
    try:
        receiver = anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM)
        entered = receiver.__enter__()
    except (ValueError, RuntimeError, NotImplementedError):
        # Not the main thread, or a platform without signal handlers: Ctrl-C stays the
        # default KeyboardInterrupt, and the report is still flushed on the way out.
        await anyio.sleep_forever()
        return
    try:
        async for signum in entered:
            name = signal.Signals(signum).name
            stopper.request(name)
            if stopper.requests == 1:
                notify(
                    f"{name}: stopping - nothing more is sent; calls already sent finish. "
                    "Send it again to cancel those too."
                )
            else:
                notify(
                    f"{name}: cancelling the calls already sent (their rows are reported unknown)."
                )
    finally:
        receiver.__exit__(None, None, None)


class BulkRun:
    """Feeds ``rows`` to ``send``, writes one report line per row as results arrive."""

    def __init__(
        self,
        rows: Iterator[InputRow] | AsyncIterator[InputRow],
        send: Send,
        *,
        prepare: Prepare,
        report: ReportWriter,
        applied: AppliedRows | None = None,
        stopper: Stopper | None = None,
        earlier: EarlierAttempts | None = None,
        confirm: Confirm | None = None,
        kept_unknown: str | None = None,
    ) -> None:
        self._rows = rows
        # Told apart once, not per row: the rows as an iterator (None: an async iterator).
        self._row_iter = None if isinstance(rows, AsyncIterator) else rows
        self._row_stream = cast(AsyncIterator[InputRow], rows)  # read when _row_iter is None
        self._earlier = earlier
        # Why rows left unknown are never sent again by --resume (EarlierAttempts.resend=False:
        # a trigger, createDuplicate); None: a resume sends them again.
        self.kept_unknown = kept_unknown
        self._confirm = confirm
        # Outcomes of records an earlier run may have sent, held back until checked: a resend
        # answered "already exists" may be its own echo.
        self._held: Held[tuple[InputRow, Any, Any, RecordOutcome]] = Held()
        self._send = send
        self._prepare = prepare
        self._report = report
        self._applied = applied
        self.stopper = stopper if stopper is not None else Stopper()
        self.counts: Counter[str] = Counter()
        # Why rows did not apply: error or reasons -> rows (a few distinct ones, for the summary).
        self.why_not: Counter[str] = Counter()
        self.done = 0  # rows with a final status, resumed rows included
        self.resumed = 0  # rows skipped because an earlier run applied them
        self.set_aside = 0  # rows refused with Refused(set_aside=True): reported, not failures
        # Rows that did not apply but might if sent again: never sent, cut off, or whose call
        # failed (not rows refused for their own values, which a resend cannot change).
        self.resendable = 0
        self.batch_report: BatchReport | None = None
        self.error: Exception | None = None
        self.cancelled = False
        # The rows handed to the write, by record index, until their outcome arrives: each
        # with its key and, when an earlier run may have sent it, the payload (else _NOTHING).
        self._pending: Held[tuple[InputRow, Any, Any]] = Held()
        # The last call's records (outcomes since the last progress) and the one reason each
        # was refused with (None: applied, or not refused with exactly one reason).
        self._call_records = 0
        self._call_reasons: set[tuple[str, str] | None] = set()

    # ---- results

    @property
    def interrupted(self) -> bool:
        """Stopped by a signal (or a stop request), not by an error."""
        return self.stopper.requested and self.stopper.reason is None

    @property
    def stopped_by_error(self) -> str | None:
        """Why the run stopped feeding input by itself (bad credentials, no such list ...)."""
        return self.stopper.reason

    @property
    def not_applied(self) -> int:
        counted = sum(n for status, n in self.counts.items() if status in NOT_APPLIED_STATUSES)
        return counted - self.set_aside

    @property
    def ok(self) -> bool:
        stopped = self.batch_report is not None and self.batch_report.stopped is not None
        broken = self.report_failure is not None
        return not (self.not_applied or self.error or self.stopper.requested or stopped or broken)

    def _finish(
        self,
        item: InputRow,
        status: str,
        *,
        key: Any = None,
        id: int | None = None,
        reasons: tuple[tuple[str, str], ...] = (),
        error: str | None = None,
    ) -> None:
        self._report.write(
            row=item.row,
            line=item.line,
            status=status,
            key=key,
            id=id,
            reasons=reasons,
            error=error,
        )
        self.counts[status] += 1
        self.done += 1
        if status in NOT_APPLIED_STATUSES:
            self._not_applied(status, reasons, error)

    def _not_applied(
        self, status: str, reasons: tuple[tuple[str, str], ...], error: str | None
    ) -> None:
        """Count a row that did not apply: resendable or not, and why (for the summary)."""
        if status == "unknown" and self.kept_unknown is not None:
            pass  # a resume will not send it again: not advised as resendable
        elif status in _RESENDABLE or (status == "failed" and error is not None):
            self.resendable += 1
        if status != "not_attempted":
            why = error or "; ".join(f"{code} {message}" for code, message in reasons) or status
            why = _REQUEST_ID.sub("", why)  # one line per reason, not one per call
            why = _LINE.sub("", why)  # nor one per row (the report keeps each row's line)
            if why in self.why_not or len(self.why_not) < _MAX_REASONS:
                self.why_not[why] += 1

    def _on_outcome(self, outcome: RecordOutcome) -> None:
        pending = self._pending.release(outcome.index)
        if pending is None:
            return  # not one of ours (cannot happen unless the engine misnumbers)
        item, key, payload = pending
        if payload is not _NOTHING and self._is_evidence(outcome):
            self._held.hold(outcome.index, (item, key, payload, outcome))
            self._note_for_the_call("held", (), None)
            return
        self._report_outcome(item, key, outcome)

    def _is_evidence(self, outcome: RecordOutcome) -> bool:
        """Is this answer to a resend what the earlier run's applied call would cause?"""
        earlier = self._earlier
        if earlier is None or outcome.status != "skipped":
            return False
        return any(reason.code in earlier.evidence for reason in outcome.reasons)

    def _report_outcome(self, item: InputRow, key: Any, outcome: RecordOutcome) -> None:
        reasons: tuple[tuple[str, str], ...] = ()
        if outcome.reasons:
            # The engine's own messages name its record index; the report line has the row.
            prefix = f"record {outcome.index}: "
            reasons = tuple(
                (reason.code, reason.message.removeprefix(prefix)) for reason in outcome.reasons
            )
        error = None
        if outcome.error is not None:
            error = str(outcome.error) or type(outcome.error).__name__
            fix = systemic_fix(outcome.error)
            if fix is not None and not self.stopper.requested:
                self.stopper.stop_feeding(f"{error}. Fix: {fix}" if fix else error)
        if outcome.status == "not_attempted" and not reasons:
            reasons = self._why_not_attempted()
        if outcome.merged_into is not None and not reasons:
            reasons = (("coalesced", "sent merged into an earlier row with the same key"),)
        self._finish(item, outcome.status, key=key, id=outcome.id, reasons=reasons, error=error)
        self._note_for_the_call(outcome.status, reasons, error)

    def _note_for_the_call(
        self, status: str, reasons: tuple[tuple[str, str], ...], error: str | None
    ) -> None:
        refused = status in ("failed", "skipped") and error is None and len(reasons) == 1
        self._call_records += 1
        self._call_reasons.add(reasons[0] if refused else None)

    @property
    def report_failure(self) -> OSError | None:
        """Why the report could not be written (a full disk ...), or None."""
        return self._report.failure

    def _on_progress(self, done: int, total: int | None) -> None:
        # Called after each call's results: the report's lines for that call reach the disk.
        self._report.flush()
        failure = self._report.failure
        if failure is not None and not self.stopper.requested:
            # Rows sent from now on could not be told apart from rows never sent: send no more.
            self.stopper.stop_feeding(
                f"the report could not be written ({failure.strerror or failure})"
            )
        reasons, records = self._call_reasons, self._call_records
        self._call_reasons, self._call_records = set(), 0
        if len(reasons) != 1 or self.stopper.requested:
            return
        (reason,) = reasons
        fix = systemic_record_fix(reason, records) if reason is not None else None
        if reason is not None and fix is not None:
            code, message = reason
            self.stopper.stop_feeding(
                f"every record of a call ({records:,}) was refused with [{code}] {message}. "
                f"Fix: {fix}"
            )

    # ---- feeding

    def _read(self, item: InputRow) -> tuple[Any, Any, Any] | None:
        """``(payload, key, maybe_sent)`` of a row to send (``maybe_sent``: the payload again
        when an earlier run may have sent it, else _NOTHING); None when the row is settled
        here (already applied by an earlier run, unreadable, or refused by the command's
        checks)."""
        if item.record is None:
            self._finish(item, "failed", reasons=((BAD_INPUT, item.error or "unreadable"),))
            return None
        try:
            payload, key = self._prepare(item.record)
        except ValueError as exc:
            self._refuse(item, exc)
            return None
        applied = self._applied
        if applied is not None and applied.matches(item.row, item.line, key):
            self.resumed += 1
            self.done += 1
            return None
        if applied is not None and self._earlier is not None:
            if not self._earlier.resend and applied.was_unknown(item.row, item.line, key):
                why = (EARLIER_RUN, f"not sent again: {self._earlier.note}")
                self._finish(item, "unknown", key=key, reasons=(why,))
                return None
            if applied.maybe_sent(item.row, item.line, key):
                return payload, key, payload
        return payload, key, _NOTHING

    def _refuse(self, item: InputRow, refused: ValueError) -> None:
        if isinstance(refused, Refused):
            status = "skipped" if refused.set_aside else "failed"
            self._finish(item, status, key=refused.key, reasons=((refused.code, str(refused)),))
            self.set_aside += refused.set_aside
        else:
            self._finish(item, "failed", reasons=((INVALID_RECORD, str(refused)),))

    async def _feed(self) -> AsyncIterator[Any]:
        settled = 0
        rows, stream = self._row_iter, self._row_stream
        while not self.stopper.requested:
            item = next(rows, None) if rows is not None else await anext(stream, None)
            if item is None:
                return
            read = self._read(item)
            if read is None:
                settled += 1
                if settled % _CHECKPOINT_EVERY == 0:
                    await anyio.lowlevel.checkpoint()
                continue
            payload, key, maybe_sent = read
            self._pending.keep((item, key, maybe_sent))
            yield payload

    def _applied_before(self, item: InputRow) -> bool:
        if self._applied is None or item.record is None:
            return False
        try:
            _, key = self._prepare(item.record)
        except ValueError:
            return False
        return self._applied.matches(item.row, item.line, key)

    # ---- the run

    async def run(self) -> None:
        try:
            with anyio.CancelScope() as scope:
                self.stopper.attach(scope)
                try:
                    self.batch_report = await self._send(
                        self._feed(),
                        on_progress=self._on_progress,
                        on_outcome=self._on_outcome,
                        stop=lambda: self.stopper.requested,
                    )
                except Exception as exc:  # reported by the caller; the rows are accounted for
                    self.error = exc
            self.cancelled = scope.cancelled_caught
            if self._held and not self.cancelled:
                with anyio.CancelScope() as scope:
                    self.stopper.attach(scope)  # a second Ctrl-C cancels the read-back too
                    await self._settle_held()
            with anyio.CancelScope(shield=True):
                await self._account_for_the_rest()
        finally:
            self._report.flush()

    async def _settle_held(self) -> None:
        """Decide the rows whose resend was answered as if the earlier run had applied them."""
        earlier, held = self._earlier, self._held.release_all()
        assert earlier is not None
        outcomes = [outcome for *_, outcome in held]
        if self._confirm is not None:
            try:
                outcomes = list(await self._confirm([(payload, o) for *_, payload, o in held]))
            except MarketoError as error:
                note = Reason(EARLIER_RUN, f"could not check it against the earlier run ({error})")
                outcomes = [attrs.evolve(o, reasons=(*o.reasons, note)) for o in outcomes]
        else:
            outcomes = [_as_evidence(outcome, earlier.evidence) for outcome in outcomes]
        for (item, key, _, _), outcome in zip(held, outcomes, strict=True):
            self._report_outcome(item, key, outcome)
        self._report.flush()

    def _why_not_attempted(self) -> tuple[tuple[str, str], ...]:
        if self.stopper.reason is not None:
            return ((STOPPED, f"not sent: the run stopped after {self.stopper.reason}"),)
        if self.stopper.signal_name is not None:
            return ((INTERRUPTED, f"not sent: the run was stopped by {self.stopper.signal_name}"),)
        return ()

    async def _account_for_the_rest(self) -> None:
        # Handed to the engine but without an outcome: the run was cancelled or failed.
        for item, key, _, outcome in self._held.release_all():
            self._report_outcome(item, key, outcome)
        why = "the run was cancelled" if self.cancelled else "the run stopped with an error"
        for item, key, _ in self._pending.release_all():
            self._finish(
                item,
                "unknown",
                key=key,
                reasons=(
                    (
                        INTERRUPTED,
                        f"{why} before this row's result arrived; it may have been applied",
                    ),
                ),
            )
        # Never read: the run was stopped (or failed) before it got to them.
        if not (self.stopper.requested or self.error is not None or self.cancelled):
            return
        if not isinstance(self._rows, Iterator):
            return  # another API's records: what was never read is read by a resumed run
        for skipped, item in enumerate(self._rows, start=1):
            if self._applied_before(item):
                self.resumed += 1
                self.done += 1
            else:
                self._finish(item, "not_attempted", reasons=self._why_not_attempted())
            if skipped % _CHECKPOINT_EVERY == 0:
                await anyio.lowlevel.checkpoint()


_NOTHING = object()


def _as_evidence(outcome: RecordOutcome, evidence: Mapping[str, Status]) -> RecordOutcome:
    """A resend's answer that only the earlier run's applied call explains, as that status."""
    code = next(reason.code for reason in outcome.reasons if reason.code in evidence)
    note = Reason(
        EARLIER_RUN,
        f"an earlier run's call for this row applied it (its answer was lost); sent again, "
        f"it was answered {code}",
    )
    return attrs.evolve(outcome, status=evidence[code], reasons=(*outcome.reasons, note))


async def beside(
    work: Callable[[], Awaitable[T]], *helpers: Callable[[], Coroutine[Any, Any, Any]]
) -> T:
    """Await ``work`` while ``helpers`` (progress, signal watching) run; then stop them.

    An exception from ``work`` comes out as itself, not inside an ExceptionGroup.
    """
    outcome: list[T] = []
    failure: list[BaseException] = []
    async with anyio.create_task_group() as group:
        for helper in helpers:
            group.start_soon(helper)
        try:
            outcome.append(await work())
        except Exception as exc:
            failure.append(exc)
        finally:
            group.cancel_scope.cancel()
    if failure:
        raise failure[0]
    return outcome[0]
