"""The run loop: read ahead, form calls, keep up to ``max_in_flight`` going, end cleanly."""

from __future__ import annotations

import contextlib
import enum
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping, Sequence, Sized
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import anyio
import anyio.abc
import anyio.lowlevel

from .._errors import AmbiguousWriteError, DailyQuotaExceeded, MarketoError
from .._transport._gate import CURRENT_GATE, CallNotSent, SendGate
from ._leases import LeaseGate
from ._options import BatchOptions, Key, WriteOptions
from ._outcomes import (
    DAILY_QUOTA,
    INTERRUPTED,
    LOCAL_VALIDATION,
    NO_KEY_LEASE,
    UNEXPECTED_ANSWER,
    BatchReport,
    Reason,
    Status,
)
from ._queue import Item, KeyedQueue
from ._reader import Reader
from ._recorder import Recorder
from ._results import MARKETO_RESULTS, EntryResult, ResultRules
from ._sizes import ENVELOPE_BYTES, MAX_BODY_BYTES, largest_field, unsendable

if TYPE_CHECKING:
    from .._transport import KeyLeases

__all__ = ["Send", "run_batches"]

T = TypeVar("T")

# How often a run given ``stop`` asks it while its calls wait (the limiter may hold a call
# for a whole rate window; a stop must not wait for that).
STOP_POLL_S = 0.1

_NOT_SENT = "not sent: the run was stopped before this record's call went out"
_CANCELLED_UNSENT = "the run was cancelled before this record was sent"
_CANCELLED_CUT_OFF = "the run was cancelled while this record's call was in flight"
_CALL_NOT_OUT = "the run was cancelled before this record's call went out"
_CUT_OFF_MAY_HAVE_APPLIED = " while this record's call was in flight; it may have applied"

# One API call with a batch of records; returns the API's per-record ``result[]``.
Send = Callable[[Sequence[T]], Awaitable[Sequence[Mapping[str, Any]]]]


class _Phase(enum.Enum):
    SENDING = "sending"  # calls start while there is input
    HALTED = "halted"  # a 607, or stop() said so: no new call starts; calls in flight finish
    GIVING_UP = "giving up"  # every record not sent, read yet or not, is not_attempted


class _Engine(Generic[T]):
    """One run of :func:`run_batches`. Single-threaded: only the event loop interleaves."""

    def __init__(
        self, records: Iterable[T] | AsyncIterable[T], send: Send[T], options: BatchOptions[T]
    ) -> None:
        self._send = send
        self._options = options
        total = len(records) if isinstance(records, Sized) else None
        self._recorder = Recorder(options.write, total=total)
        self._reader = Reader(records, options, self._recorder, self._admit)
        self._queue: KeyedQueue[T] = KeyedQueue(chain=options.results.keys_in_order)
        self._gate = (
            LeaseGate(options.key_leases, options.lease_scope)
            if options.key_leases is not None
            else None
        )
        self._in_flight = 0
        # Calls started but maybe not yet sent (waiting for the limiter or a slot).
        self._calls: dict[int, tuple[SendGate, anyio.CancelScope]] = {}
        self._returned = anyio.Event()  # set whenever a call returns or hands records back
        self._phase = _Phase.SENDING
        self._stopped: MarketoError | None = None  # the 607 that stopped sending
        # Why records left unsent after that 607 (or the daily counter) were not sent.
        self._stopped_reasons: tuple[Reason, ...] = ()
        self._bug: Exception | None = None

    # ---- the run

    async def run(self) -> BatchReport:
        try:
            try:
                async with anyio.create_task_group() as task_group:
                    task_group.start_soon(self._guard, task_group, self._dispatch, task_group)
            except anyio.get_cancelled_exc_class():
                self._end_early(_CANCELLED_UNSENT, _CANCELLED_CUT_OFF, unread=True)
                raise
            if self._bug is not None:
                why = f"the run stopped on an error ({type(self._bug).__name__}: {self._bug})"
                # When a hook raises again (it may be the bug itself), the records left have no
                # outcome and the caller accounts for them; the first bug is the one raised.
                with contextlib.suppress(Exception):
                    self._end_early(f"not sent: {why}", f"{why}{_CUT_OFF_MAY_HAVE_APPLIED}")
                raise self._bug
            if self._phase is _Phase.HALTED:
                await self._give_up()
            report = self._recorder.report(
                stopped=self._stopped, idempotent=self._options.idempotent
            )
        finally:
            await self._reader.aclose()
        self._recorder.progress()
        return report

    async def _guard(
        self,
        task_group: anyio.abc.TaskGroup,
        work: Callable[..., Awaitable[None]],
        *args: Any,
    ) -> None:
        # A bug (any non-Marketo exception, in send or in a callback) cancels the run and is
        # re-raised as itself rather than inside an ExceptionGroup.
        try:
            await work(*args)
        except Exception as bug:
            if self._bug is None:
                self._bug = bug
            task_group.cancel_scope.cancel()

    async def _dispatch(self, task_group: anyio.abc.TaskGroup) -> None:
        max_in_flight = self._options.max_in_flight
        while self._may_send():
            await self._reader.read(self._look_ahead_full)
            self._recorder.progress()
            while self._in_flight < max_in_flight and self._may_send():
                batch = self._next_call(force=self._in_flight == 0)
                if batch is None:
                    break
                self._in_flight += 1
                task_group.start_soon(self._guard, task_group, self._call, batch)
            # Calls in flight may still hand records back (keys another process holds).
            if self._reader.exhausted and self._queue.buffered == 0 and self._in_flight == 0:
                return
            if self._in_flight == 0 and not self._may_send():
                return  # stopped while reading, with no call out: nothing would wake us
            await self._wait_for_a_return()
            self._returned = anyio.Event()
        self._hold_unsent()

    async def _wait_for_a_return(self) -> None:
        if self._options.write.stop is None:
            await self._returned.wait()
            return
        # stop() is asked, never announced: look again soon even if no call returns.
        with anyio.move_on_after(STOP_POLL_S):
            await self._returned.wait()

    def _hold_unsent(self) -> None:
        """No new call may start: call back those still waiting to be sent (they never go)."""
        for gate, scope in self._calls.values():
            if gate.waiting:
                scope.cancel()

    def _may_send(self) -> bool:
        """May a new call start? Not after a 607, nor once ``stop()`` answered True."""
        stop = self._options.write.stop
        if self._phase is _Phase.SENDING and stop is not None and stop():
            self._phase = _Phase.HALTED
        return self._phase is _Phase.SENDING

    def _end_early(self, unsent: str, cut_off: str, *, unread: bool = False) -> None:
        """The run ends before its input (cancelled, or a bug): give every record read an
        outcome. Records not sent are ``not_attempted`` (``unread``: the rest of a collection
        too), never ``unknown``; records whose call was in flight (or about to go) are
        ``unknown``: their call may or may not have been applied."""
        self._reader.flush()
        not_sent = (Reason(INTERRUPTED, unsent),)
        self._drop_unsent(not_sent)
        if unread:
            for index in self._reader.number_the_rest():
                self._recorder.finish(index, index, "not_attempted", reasons=not_sent)
        self._recorder.finish_pending("unknown", (Reason(INTERRUPTED, cut_off),))

    def _drop_unsent(self, reasons: tuple[Reason, ...] = ()) -> None:
        for item in self._queue.drain():
            self._finish(item, "not_attempted", reasons=reasons)

    async def _give_up(self) -> None:
        """After a 607 or a ``stop``: every record not sent, read or not yet, is not_attempted."""
        self._phase = _Phase.GIVING_UP
        self._drop_unsent(self._stopped_reasons)
        # Read the rest too, so that no input is silently dropped (_admit marks each one).
        while not self._reader.exhausted:
            await self._reader.read(self._look_ahead_full, limit=self._options.look_ahead)
            self._recorder.progress()
            await anyio.lowlevel.checkpoint()

    # ---- reading and forming calls

    def _look_ahead_full(self) -> bool:
        return self._queue.buffered >= self._options.look_ahead

    def _admit(self, item: Item[T]) -> None:
        if self._phase is _Phase.GIVING_UP:
            self._finish(item, "not_attempted", reasons=self._stopped_reasons)
            return
        why = _sized(item, self._options)
        if why is None:
            self._queue.add(item)
        else:  # it cannot be sent at all: failed before any call, naming why
            refused = (Reason(LOCAL_VALIDATION, why),)
            self._recorder.finish(item.first, item.last, "failed", reasons=refused)

    def _next_call(self, *, force: bool) -> list[Item[T]] | None:
        """The next call's items, or None when the ready ones should wait for more.

        ``force`` sends a partial call anyway (nothing else is running to wake us up).
        """
        options = self._options
        batch, full = self._queue.take(options.batch_size, options.max_body_bytes - ENVELOPE_BYTES)
        if not batch:
            return None
        look_ahead_full = self._queue.buffered + len(batch) >= options.look_ahead
        if not (full or force or look_ahead_full or self._last_call(batch)):
            # A partial call while more input is coming would waste rate-limited calls.
            self._queue.give_back(batch)
            return None
        return batch

    def _last_call(self, batch: Sequence[Item[T]]) -> bool:
        """At the end of the input, may this partial call go now?

        Not while every record still waiting on a key waits for a call in flight: their
        return adds those records to this call, which saves a rate-limited call and costs no
        time (they could not go sooner). Yes when the call carries a record others wait for
        (urgent records come first, so the batch has one if any is ready).
        """
        if not self._reader.exhausted:
            return False
        return not self._queue.has_waiting or any(item.urgent for item in batch)

    # ---- one call

    async def _call(self, batch: list[Item[T]]) -> None:
        if self._gate is None:
            await self._send_batch(batch)
            return
        try:
            await self._gate.send(batch, self._send_batch, self._give_back)
        except MarketoError as error:
            # Taking the leases failed (the lease store is away): nothing was sent, and a keyed
            # write never goes without its fleet lease.
            refused = (Reason(NO_KEY_LEASE, f"no fleet key lease: {error.message}"),)
            for item in batch:
                self._finish(item, "not_attempted", reasons=refused, error=error)
            self._call_returned(batch)

    def _give_back(self, items: Sequence[Item[T]]) -> None:
        """Records whose key another process holds: they wait for a later call."""
        self._queue.give_back(items)
        self._returned.set()

    async def _send_batch(self, batch: Sequence[Item[T]]) -> None:
        gate = SendGate(self._options.write.stop)
        CURRENT_GATE.set(gate)  # this call's own task: the transport finds it there
        waiting = anyio.CancelScope()
        self._calls[id(gate)] = (gate, waiting)
        results: Sequence[Mapping[str, Any]] | None = None
        if self._phase is not _Phase.SENDING:  # halted before this call's task even ran
            self._calls.pop(id(gate))
            self._finish_unsent(batch, _NOT_SENT)
            self._call_returned(batch)
            return
        try:
            with waiting:
                results = await self._send([item.record for item in batch])
        except DailyQuotaExceeded as error:
            # 607: nothing more is sent today; the call itself was refused whole.
            if self._stopped is None:
                self._stopped = error
                why = f"not sent: {error.message}"
                self._stopped_reasons = (Reason(error.code or DAILY_QUOTA, why),)
                self._phase = _Phase.HALTED
            self._finish_all(batch, "not_attempted", error, self._stopped_reasons)
        except MarketoError as error:
            status, reasons = _after_error(error, departed=not gate.waiting)
            self._finish_all(batch, status, error, reasons)
        except CallNotSent:
            self._finish_unsent(batch, _NOT_SENT)
        except anyio.get_cancelled_exc_class():
            if gate.waiting:  # the whole run is cancelled; this call never went out
                self._finish_unsent(batch, _CALL_NOT_OUT)
            raise
        else:
            if results is None:  # called back by _hold_unsent before it was sent
                self._finish_unsent(batch, _NOT_SENT)
            else:
                answers = _read_answers(self._options.results, batch, results)
                self._recorder.finish_answered(batch, answers)
        finally:
            del self._calls[id(gate)]
            self._call_returned(batch)

    def _finish_unsent(self, batch: Sequence[Item[T]], why: str) -> None:
        # Held back because the daily quota is spent: that is the reason to give.
        reasons = self._stopped_reasons or (Reason(INTERRUPTED, why),)
        for item in batch:
            self._finish(item, "not_attempted", reasons=reasons)

    def _call_returned(self, batch: Sequence[Item[T]]) -> None:
        """A call slot is free again and the next record of each of ``batch``'s keys may go."""
        self._in_flight -= 1
        self._queue.release(batch)
        self._returned.set()
        self._recorder.progress()

    def _finish_all(
        self,
        batch: Sequence[Item[T]],
        status: Status,
        error: MarketoError,
        reasons: tuple[Reason, ...] = (),
    ) -> None:
        for item in batch:
            self._finish(item, status, reasons=reasons, error=error)

    def _finish(
        self,
        item: Item[T],
        status: Status,
        *,
        record_id: int | None = None,
        reasons: tuple[Reason, ...] = (),
        error: Exception | None = None,
    ) -> None:
        self._recorder.finish(
            item.first,
            item.last,
            status,
            record_id=record_id,
            reasons=reasons,
            error=error,
            key=item.key,
        )


def _after_error(error: MarketoError, *, departed: bool) -> tuple[Status, tuple[Reason, ...]]:
    """What a call that raised ``error`` leaves its records: ``unknown`` when it may have
    applied, ``not_attempted`` when it was refused before it departed, else ``failed``."""
    if error.may_have_applied or isinstance(error, AmbiguousWriteError):
        return "unknown", ()
    if not departed:
        # Refused before its first byte left (the limiter, a fleet lease, a token): nothing
        # of it was sent, and sending it later is the way to apply it.
        return "not_attempted", (Reason(INTERRUPTED, f"not sent: {error.message}"),)
    # Refused whole (no such list, 1003 ...): each record carries the call's entries as reasons.
    return "failed", tuple(Reason(entry.code, entry.message) for entry in error.errors)


def _read_answers(
    rules: ResultRules, batch: Sequence[Item[T]], results: Sequence[Mapping[str, Any]]
) -> list[EntryResult]:
    """Each record's result; an answer that cannot be read leaves every record of the call
    ``unknown`` (the call was sent), never an exception out of the run."""
    try:
        return rules.outcomes([item.key for item in batch], results)
    except Exception as exc:  # the API's answer, not this library, is at fault
        why = Reason(
            UNEXPECTED_ANSWER,
            f"the answer to this record's call could not be read ({type(exc).__name__}: "
            f"{exc}); the call may have applied",
        )
        return [("unknown", None, (why,))] * len(batch)


def _sized(item: Item[T], options: BatchOptions[T]) -> str | None:
    """Set ``item.size``; or say why the record cannot be sent in any call."""
    try:
        item.size = options.record_size(item.record) + 1  # +1: the comma between records
    except (TypeError, ValueError) as exc:
        why = unsendable(item.record) or f"it cannot be sent as JSON ({exc})"
        return f"record {item.first}: {why}"
    if item.size + ENVELOPE_BYTES <= options.max_body_bytes:
        return None
    largest = largest_field(item.record)
    detail = f"; its largest field is {largest[0]!r} ({largest[1]:,} bytes)" if largest else ""
    return (
        f"record {item.first}: {item.size:,} bytes of JSON is more than one call "
        f"may carry ({options.max_body_bytes:,} bytes; Marketo answers 413){detail}"
    )


async def run_batches(
    records: Iterable[T] | AsyncIterable[T],
    send: Send[T],
    options: WriteOptions | None = None,
    *,
    key: Callable[[T], Key] | None = None,
    validate: Callable[[int, T], str | None] | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    size_of: Callable[[T], int] | None = None,
    max_in_flight: int = 10,
    max_buffered: int | None = None,
    idempotent: bool = True,
    merge: Callable[[T, T], T] | None = None,
    key_leases: KeyLeases | None = None,
    lease_scope: str = "records",
    results: ResultRules = MARKETO_RESULTS,
) -> BatchReport:
    """Send ``records`` through ``send`` in API-sized calls; one outcome per record.

    ``send`` makes one API call with up to ``options.batch_size`` records (by default the
    API's limit) and returns the API's ``result[]`` (for Marketo: entries with ``status``,
    ``id``, ``reasons``, optional ``seq``). ``options`` is the caller's
    :class:`WriteOptions`, handed down unchanged from the public write method.
    ``key`` gives a record's normalised lookup key: records sharing a key never share a call
    nor overlap in flight, and go in input order. ``validate(index, record)`` refuses a
    record before it is sent (it returns why). ``options.coalesce`` merges consecutive
    same-key records into one (``merge``, by default later values win).
    ``idempotent`` says whether sending a record twice is harmless; it shapes the advice for
    records whose call may have applied (status ``unknown``).
    ``options.on_progress(done, total_or_None)`` is called as records finish;
    ``options.on_outcome(outcome)`` once per input record as soon as its outcome is known
    (not in input order), e.g. to stream a report to disk. ``key_leases`` (a fleet-wide
    :class:`KeyLeases`, e.g. ``RedisLimiter.key_leases``) extends the same-key rule to every
    process sharing it; ``lease_scope`` names the key space (``"leads:email"``).
    ``options.stop()`` is asked before each call: once it answers True no new call starts,
    calls in flight finish, and every record not sent is ``not_attempted`` (a clean Ctrl-C).
    Cancelling the run instead gives records not sent ``not_attempted`` and records whose
    call was cut off ``unknown`` (reason ``interrupted``), through ``on_outcome`` (the
    report is never returned). With a collection as input (a list, say) that is every
    record, read or not; from an iterator or a stream it is every record read, and records
    never read stay in it, unread and without an outcome (resume from the next one).
    ``results`` says how the API answers (see :class:`ResultRules`; Marketo's by default).

    >>> report = await run_batches(
    ...     rows, send_sync_leads, WriteOptions(on_progress=show),
    ...     key=lambda row: row["email"].strip().casefold(),
    ... )
    """
    batch_options: BatchOptions[T] = BatchOptions(
        write=WriteOptions() if options is None else options,
        key=key,
        validate=validate,
        max_body_bytes=max_body_bytes,
        size_of=size_of,
        max_in_flight=max_in_flight,
        max_buffered=max_buffered,
        idempotent=idempotent,
        merge=merge,
        key_leases=key_leases,
        lease_scope=lease_scope,
        results=results,
    )
    return await _Engine(records, send, batch_options).run()
