"""The batch engine: any-size writes sent as Marketo-sized calls, one outcome per input record.

Every write that takes many records (``leads.sync``, ``static_lists.add_leads``, ...) hands its
input and a one-call ``send`` to :func:`run_batches`, which:

- streams the input (list, iterable or async iterable) through a bounded look-ahead buffer;
- sends calls of at most ``batch_size`` records and ``max_body_bytes`` of JSON;
- never lets two records with the same lookup key share a call or be in flight together, and
  keeps same-key records in input order (Marketo creates duplicate leads otherwise);
- keeps up to ``max_in_flight`` calls running while repeated keys wait their turn;
- returns a :class:`BatchReport` with one :class:`RecordOutcome` per input record.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import logging
from array import array
from collections import deque
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
    Sized,
)
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, cast, get_args, overload

import anyio
import anyio.abc
import anyio.lowlevel
import attrs

from ._errors import AmbiguousWriteError, DailyQuotaExceeded, MarketoError

if TYPE_CHECKING:
    from ._transport import KeyLeases

__all__ = [
    "MAX_BATCH_SIZE",
    "MAX_BODY_BYTES",
    "NOT_APPLIED_STATUSES",
    "STATUSES",
    "BatchReport",
    "Reason",
    "RecordOutcome",
    "Status",
    "lookup_key",
    "run_batches",
    "validate_lead",
]

T = TypeVar("T")

logger = logging.getLogger("marketo_async")

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
    # the library's
    "failed",
    "not_attempted",
    "unknown",
]
STATUSES: tuple[Status, ...] = get_args(Status)
NOT_APPLIED_STATUSES: frozenset[Status] = frozenset(
    {"skipped", "failed", "not_attempted", "unknown"}
)

MAX_BATCH_SIZE = 300  # Marketo: 300 records per Lead Database write
MAX_BODY_BYTES = 1_000_000  # Marketo: 1 MB body (HTTP 413 above); kept under 1 MiB on purpose
ENVELOPE_BYTES = 1_024  # room for the call's own fields (action, lookupField, partitionName...)

LOCAL_VALIDATION = "local-validation"  # Reason.code of a record refused before sending
INTERRUPTED = "interrupted"  # Reason.code of a record whose run was cancelled
NO_RESULT = "no-result"  # Reason.code of a record Marketo's result[] did not mention
UNEXPECTED_STATUS = "unexpected-status"  # Reason.code of a result status this library doesn't know


# --------------------------------------------------------------------------- public types


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
    """

    index: int
    status: Status
    id: int | None = None
    reasons: tuple[Reason, ...] = ()
    error: Exception | None = attrs.field(default=None, eq=False, repr=_short_error)
    key: str | int | None = None
    merged_into: int | None = None

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
        """Every outcome that did not apply: skipped, failed, not_attempted or unknown."""
        return [self.outcomes[i] for i in self._failed_indices]

    @property
    def ok(self) -> bool:
        """True when every record applied and sending was never stopped."""
        return self.stopped is None and not self._failed_indices

    def summary(self) -> str:
        """Counts by status, and what to do about records that did not apply."""
        total = len(self.outcomes)
        by_status = ", ".join(
            f"{self.counts[status]:,} {status}" for status in STATUSES if self.counts.get(status)
        )
        lines = [f"{total:,} records" + (f": {by_status}" if by_status else "")]
        if self.stopped is not None:
            what = (
                "Marketo's daily API quota ran out (607)"
                if isinstance(self.stopped, DailyQuotaExceeded)
                else f"sending stopped ({self.stopped})"
            )
            lines.append(
                f"Stopped early: {what}; {self.counts.get('not_attempted', 0):,} records were "
                "not attempted."
            )
            if self.resume_from is not None:
                lines.append(
                    "To resume after the quota resets (midnight US Central time), send again "
                    f"from record {self.resume_from:,} (report.resume_from), skipping later "
                    "records whose status is not 'not_attempted': they were already sent."
                )
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
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


# ----------------------------------------------------------------- key and validation helpers

_INTEGER_FIELDS = frozenset({"id", "leadId"})


def lookup_key(record: Mapping[str, Any], field: str) -> str | int | None:
    """The normalised lookup key of ``record`` for ``field``, or None when it has no value.

    Emails are stripped and casefolded (Marketo matches them case-insensitively), ids become
    integers, anything else a stripped string.

    >>> lookup_key({"email": " Ann@Example.com"}, "email")
    'ann@example.com'
    """
    value = record.get(field)
    if type(value) is str:  # the common case first
        text = value.strip()
    elif value is None or isinstance(value, bool):
        return None
    elif isinstance(value, int):
        return value
    else:
        text = str(value).strip()
    if not text:
        return None
    if field == "email":
        return text.casefold()
    if field in _INTEGER_FIELDS and text.isdigit():
        return int(text)
    return text


def _is_integer(value: object) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit())


def validate_lead(action: str, lookup_field: str) -> Callable[[int, Mapping[str, Any]], str | None]:
    """A validator for lead upserts: refuses, before sending, a record Marketo would skip.

    >>> check = validate_lead("createOrUpdate", "email")
    >>> check(17, {"firstName": "Ann"})
    "record 17: no value for lookup field 'email'"
    """

    def validate(index: int, record: Mapping[str, Any]) -> str | None:
        if lookup_key(record, lookup_field) is None:
            return f"record {index}: no value for lookup field {lookup_field!r}"
        email = record.get("email")
        if isinstance(email, str) and not email.isascii():
            return (
                f"record {index}: field 'email' has non-ASCII characters ({email!r}); "
                "Marketo accepts ASCII email addresses only"
            )
        lead_id = record.get("id")
        if lookup_field == "id" and not _is_integer(lead_id):
            return f"record {index}: field 'id' must be an integer lead id, not {lead_id!r}"
        if lead_id is not None and action != "updateOnly":
            return (
                f"record {index}: field 'id' is allowed only with action 'updateOnly', "
                f"not {action!r} (Marketo answers 1003)"
            )
        return None

    return validate


def json_size(record: object) -> int:
    """Bytes ``record`` takes in a JSON body (the default ``size_of``)."""
    if isinstance(record, int):
        return len(str(record))
    # ensure_ascii (the default) makes len(str) the byte count
    return len(json.dumps(record, separators=(",", ":")))


# Worst case of one character in a JSON body: a surrogate pair escaped as two \\uXXXX.
_MAX_BYTES_PER_CHAR = 12
_SCALAR_BOUND = 24  # characters of any JSON int (within 64 bits), float, bool or null


def size_bound(cap: int) -> Callable[[object], int]:
    """A ``size_of`` that bounds a flat record's JSON size without encoding it.

    Exact encoding costs microseconds a record; an upper bound costs a fraction of that. The
    bound is used while it is at most ``cap`` (a call's share of the body limit), so calls of
    bounded records can never pass the limit; larger or nested records are measured exactly.
    """

    def size_of(record: object) -> int:
        if type(record) is dict:
            chars = 2
            for name, value in record.items():
                kind = type(value)
                if kind is str:
                    chars += len(name) + len(value) + 6
                elif (kind is int and -(2**63) <= value < 2**63) or kind in _SCALARS:
                    chars += len(name) + _SCALAR_BOUND + 4
                else:
                    return json_size(record)
            bound = chars * _MAX_BYTES_PER_CHAR
            if bound <= cap:
                return bound
        return json_size(record)

    return size_of


_SCALARS: frozenset[type] = frozenset({float, bool, type(None)})


def _merge_mappings(earlier: T, later: T) -> T:
    if isinstance(earlier, Mapping) and isinstance(later, Mapping):
        return cast(T, {**earlier, **later})
    return later


# ----------------------------------------------------------------------- the outcome store

_PENDING = 0
_CODE: dict[str, int] = {status: code for code, status in enumerate(STATUSES, start=1)}
_NOT_APPLIED_CODES = frozenset(_CODE[status] for status in NOT_APPLIED_STATUSES)
_NO_ID = -1
_MARKETO_STATUSES: frozenset[object] = frozenset(STATUSES[:8])


class _OutcomeList(Sequence[RecordOutcome]):
    """Outcomes kept by column (a status byte and an id per record; the rest sparse).

    A million ``RecordOutcome`` objects would take hundreds of MB; these columns take ~9 bytes
    a record, and outcomes are built when read.
    """

    def __init__(self) -> None:
        self._status = bytearray()
        self._ids = array("q")
        self._reasons: dict[int, tuple[Reason, ...]] = {}
        self._errors: dict[int, Exception] = {}
        self._keys: dict[int, str | int] = {}
        self._merged_into: dict[int, int] = {}
        self.not_applied: list[int] = []

    def __len__(self) -> int:
        return len(self._status)

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

    def __repr__(self) -> str:
        return f"<{len(self):,} outcomes>"

    def _outcome(self, index: int) -> RecordOutcome:
        code = self._status[index]
        if code == _PENDING:
            raise RuntimeError(f"record {index} has no outcome yet")
        record_id = self._ids[index]
        return RecordOutcome(
            index=index,
            status=STATUSES[code - 1],
            id=None if record_id == _NO_ID else record_id,
            reasons=self._reasons.get(index, ()),
            error=self._errors.get(index),
            key=self._keys.get(index),
            merged_into=self._merged_into.get(index),
        )

    def add_pending(self) -> int:
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

    def first_pending(self, start: int = 0) -> int | None:
        index = self._status.find(_PENDING, start)
        return None if index < 0 else index

    def counts(self) -> dict[str, int]:
        counts = {status: self._status.count(code) for status, code in _CODE.items()}
        return {status: n for status, n in counts.items() if n}

    def first_with(self, status: Status) -> int | None:
        index = self._status.find(_CODE[status])
        return None if index < 0 else index


# ----------------------------------------------------------------------------- the engine


@attrs.define(eq=False)
class _Item(Generic[T]):
    """A record waiting to be sent: input records ``first..last`` (coalesced) as one."""

    first: int
    last: int
    key: str | int | None
    record: T
    size: int = 0
    queued: bool = False  # in the ready heap (entries of items no longer queued are stale)
    urgent: bool = False  # later records wait on this one's key: send it ahead of the rest


class _Engine(Generic[T]):
    """One run of :func:`run_batches`. Single-threaded: only the event loop interleaves."""

    def __init__(
        self,
        send: Callable[[Sequence[T]], Awaitable[Sequence[Mapping[str, Any]]]],
        *,
        key: Callable[[T], str | int | None] | None,
        validate: Callable[[int, T], str | None] | None,
        batch_size: int,
        max_body_bytes: int,
        size_of: Callable[[T], int],
        max_in_flight: int,
        max_buffered: int,
        coalesce: bool,
        merge: Callable[[T, T], T],
        on_progress: Callable[[int, int | None], None] | None,
        on_outcome: Callable[[RecordOutcome], None] | None,
        total: int | None,
        idempotent: bool,
        key_leases: KeyLeases | None,
        lease_scope: str,
        stop: Callable[[], bool] | None,
    ) -> None:
        self._send = send
        self._key = key
        self._validate = validate
        self._batch_size = batch_size
        self._max_body_bytes = max_body_bytes
        self._size_of = size_of
        self._max_in_flight = max_in_flight
        self._max_buffered = max_buffered
        self._coalesce = coalesce
        self._merge = merge
        self._on_progress = on_progress
        self._on_outcome = on_outcome
        self._key_leases = key_leases
        self._lease_scope = lease_scope
        self._stop = stop
        self._halted = False
        self._total = total
        self._idempotent = idempotent

        self.outcomes = _OutcomeList()
        self.stopped: MarketoError | None = None
        self._done = 0
        self._reported_done = -1
        # Ready to send: at most one item per key; urgent ones first, then by input index.
        # An item made urgent gets a second entry; the first becomes stale and is skipped.
        self._ready: list[tuple[int, int, _Item[T]]] = []
        self._ready_count = 0
        # The item (ready or in flight) holding each key; later items with the key wait here.
        self._owners: dict[str | int, _Item[T]] = {}
        self._waiting: dict[str | int, deque[_Item[T]]] = {}
        self._buffered = 0  # items in _ready and _waiting (the look-ahead)
        self._held: _Item[T] | None = None  # the item a following same-key record may merge into
        self._in_flight = 0
        self._exhausted = False
        self._giving_up = False
        self._returned = anyio.Event()
        self._bug: Exception | None = None

    # ---- reading the input

    def _read(self, record: T) -> None:
        index = self.outcomes.add_pending()
        if self._validate is not None:
            reason = self._validate(index, record)
            if reason is not None:
                self._finish(index, index, "failed", reasons=(Reason(LOCAL_VALIDATION, reason),))
                self._flush_held()  # a refused record ends a run of same-key records
                return
        key = self._key(record) if self._key is not None else None
        held = self._held
        if held is not None and key is not None and held.key == key and held.last == index - 1:
            held.record = self._merge(held.record, record)
            held.last = index
            return
        self._flush_held()
        item = _Item(index, index, key, record)
        if self._coalesce and key is not None:
            self._held = item
        else:
            self._admit(item)

    def _flush_held(self) -> None:
        if self._held is not None:
            held, self._held = self._held, None
            self._admit(held)

    def _admit(self, item: _Item[T]) -> None:
        if self._giving_up:
            self._finish(item.first, item.last, "not_attempted", key=item.key)
            return
        item.size = self._size_of(item.record) + 1  # +1: the comma between records
        if item.size + ENVELOPE_BYTES > self._max_body_bytes:
            message = (
                f"record {item.first}: {item.size:,} bytes of JSON is more than one call "
                f"may carry ({self._max_body_bytes:,} bytes; Marketo answers 413)"
            )
            self._finish(
                item.first, item.last, "failed", reasons=(Reason(LOCAL_VALIDATION, message),)
            )
            return
        self._buffered += 1
        key = item.key
        if key is None:
            self._push_ready(item)
            return
        owner = self._owners.get(key)
        if owner is None:
            self._owners[key] = item
            self._push_ready(item)
            return
        self._waiting.setdefault(key, deque()).append(item)
        if owner.queued and not owner.urgent:
            # Send the owner sooner, so that this record is not left for a straggler call.
            owner.urgent = True
            heapq.heappush(self._ready, (0, owner.first, owner))

    def _push_ready(self, item: _Item[T]) -> None:
        item.queued = True
        self._ready_count += 1
        heapq.heappush(self._ready, (0 if item.urgent else 1, item.first, item))

    def _peek_ready(self) -> _Item[T] | None:
        ready = self._ready
        while ready:
            rank, _, item = ready[0]
            if item.queued and rank == (0 if item.urgent else 1):
                return item
            heapq.heappop(ready)  # stale
        return None

    def _pop_ready(self) -> None:
        _, _, item = heapq.heappop(self._ready)
        item.queued = False
        self._ready_count -= 1

    async def _refill(
        self, source: Iterator[T] | AsyncIterator[T], *, limit: int | None = None
    ) -> None:
        """Read until the look-ahead is full or the input ends.

        A deep look-ahead finds repeated keys early: their first record is made urgent and
        sent ahead, so the repeat is not left over for an extra call at the end.
        """
        read = 0
        synchronous = isinstance(source, Iterator)
        while not (self._exhausted or self._buffered >= self._max_buffered):
            if limit is not None and read >= limit:
                return
            read += 1
            if synchronous:
                try:
                    record = next(cast(Iterator[T], source))
                except StopIteration:
                    self._end_of_input()
                    return
            else:
                try:
                    record = await anext(cast(AsyncIterator[T], source))
                except StopAsyncIteration:
                    self._end_of_input()
                    return
            self._read(record)

    def _end_of_input(self) -> None:
        self._exhausted = True
        self._flush_held()

    # ---- forming calls

    def _take_batch(self, *, force: bool = False) -> list[_Item[T]] | None:
        """The next call's items, or None when the ready ones should wait for more.

        ``force`` sends a partial call anyway (nothing else is running to wake us up).
        """
        batch: list[_Item[T]] = []
        body = ENVELOPE_BYTES
        full = False
        while (item := self._peek_ready()) is not None:
            if len(batch) == self._batch_size or body + item.size > self._max_body_bytes:
                full = True
                break
            self._pop_ready()
            batch.append(item)
            body += item.size
        if not batch:
            return None
        full = full or len(batch) == self._batch_size
        buffer_full = self._buffered >= self._max_buffered
        if not full and not (force or buffer_full or self._last_call(batch)):
            # A partial call while more input is coming would waste rate-limited calls.
            for item in batch:
                self._push_ready(item)
            return None
        self._buffered -= len(batch)
        return batch

    def _last_call(self, batch: Sequence[_Item[T]]) -> bool:
        """At the end of the input, may this partial call go now?

        Not while every record still waiting on a key waits for a call in flight: their
        return adds those records to this call, which saves a rate-limited call and costs no
        time (they could not go sooner). Yes when the call carries a record others wait for
        (urgent records come first, so the batch has one if any is ready).
        """
        if not self._exhausted:
            return False
        return not self._waiting or any(item.urgent for item in batch)

    def _release(self, batch: Sequence[_Item[T]]) -> None:
        """The call carrying ``batch`` returned: the next record of each of its keys may go."""
        for item in batch:
            key = item.key
            if key is None:
                continue
            queue = self._waiting.get(key)
            if queue:
                following = queue.popleft()
                if queue:
                    following.urgent = True
                else:
                    del self._waiting[key]
                self._owners[key] = following
                self._push_ready(following)
            else:
                del self._owners[key]

    # ---- one call

    async def _call(self, batch: list[_Item[T]]) -> None:
        leases = self._key_leases
        names = (
            {self._lease_name(item.key): item for item in batch if item.key is not None}
            if leases is not None
            else {}
        )
        if leases is None or not names:
            await self._send_batch(batch)
            return
        # Other processes may hold some of these keys: send the records whose key this process
        # now holds, and put the others back to wait for a later call.
        sent = False
        try:
            async with leases.holding(names.keys()) as held:
                deferred = [item for name, item in names.items() if name not in held]
                if deferred:
                    for item in deferred:
                        self._push_ready(item)
                    self._buffered += len(deferred)
                    self._returned.set()
                    later = {id(item) for item in deferred}
                    batch = [item for item in batch if id(item) not in later]
                sent = True
                await self._send_batch(batch)
        except MarketoError as error:
            if sent:
                logger.warning(
                    "could not give back key leases (they expire by themselves): %s", error
                )
            else:  # taking the leases failed (the lease store is down): nothing was sent
                self._finish_all(batch, "failed", error)
                self._call_returned(batch)

    def _lease_name(self, key: str | int) -> str:
        # Hashed: record keys (emails) are personal data and need not sit in a shared store.
        digest = hashlib.blake2b(repr(key).encode(), digest_size=16).hexdigest()
        return f"{self._lease_scope}:{digest}"

    async def _send_batch(self, batch: list[_Item[T]]) -> None:
        try:
            results = await self._send([item.record for item in batch])
        except DailyQuotaExceeded as error:
            # 607: nothing more is sent today; the call itself was refused whole.
            if self.stopped is None:
                self.stopped = error
            self._finish_all(batch, "not_attempted", error)
        except MarketoError as error:
            applied = error.may_have_applied or isinstance(error, AmbiguousWriteError)
            self._finish_all(batch, "unknown" if applied else "failed", error)
        else:
            self._match_results(batch, results)
        finally:
            self._call_returned(batch)

    def _call_returned(self, batch: Sequence[_Item[T]]) -> None:
        """A call slot is free again and the next record of each of ``batch``'s keys may go."""
        self._in_flight -= 1
        self._release(batch)
        self._returned.set()
        self._progress()

    def _finish_all(self, batch: Sequence[_Item[T]], status: Status, error: MarketoError) -> None:
        for item in batch:
            self._finish(item.first, item.last, status, error=error, key=item.key)

    def _match_results(
        self, batch: Sequence[_Item[T]], results: Sequence[Mapping[str, Any]]
    ) -> None:
        # Marketo answers in input order; non-lead objects also carry seq (the input position).
        entries: list[Mapping[str, Any] | None] = [None] * len(batch)
        for position, entry in enumerate(results):
            seq = entry.get("seq")
            target = seq if isinstance(seq, int) and not isinstance(seq, bool) else position
            if 0 <= target < len(entries) and entries[target] is None:
                entries[target] = entry
        for item, matched in zip(batch, entries, strict=True):
            if matched is None:
                reason = Reason(NO_RESULT, "Marketo's answer had no result for this record")
                self._finish(item.first, item.last, "unknown", reasons=(reason,), key=item.key)
                continue
            reasons = _reasons_of(matched)
            status = matched.get("status")
            if status not in _MARKETO_STATUSES:
                reason = Reason(UNEXPECTED_STATUS, f"Marketo answered status {status!r}")
                status, reasons = "unknown", (*reasons, reason)
            record_id = matched.get("id", matched.get("leadId"))
            self._finish(
                item.first,
                item.last,
                cast(Status, status),
                record_id=record_id if type(record_id) is int else None,
                reasons=reasons,
                key=item.key,
            )

    def _finish(
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
        self.outcomes.finish(
            first, last, status, record_id=record_id, reasons=reasons, error=error, key=key
        )
        self._done += last - first + 1
        if self._on_outcome is not None:
            for index in range(first, last + 1):
                self._on_outcome(self.outcomes[index])

    def _progress(self) -> None:
        if self._on_progress is not None and self._done != self._reported_done:
            self._reported_done = self._done
            self._on_progress(self._done, self._total)

    # ---- the run

    async def run(self, records: Iterable[T] | AsyncIterable[T]) -> BatchReport:
        source: Iterator[T] | AsyncIterator[T] = (
            aiter(records) if isinstance(records, AsyncIterable) else iter(records)
        )
        try:
            try:
                async with anyio.create_task_group() as task_group:
                    task_group.start_soon(
                        self._guard, task_group, self._dispatch, task_group, source
                    )
            except anyio.get_cancelled_exc_class():
                self._abandon()
                raise
            if self._bug is not None:
                raise self._bug
            if self.stopped is not None or self._halted:
                await self._give_up(source)
            if self._done != len(self.outcomes):  # never expected: say so rather than lose one
                raise RuntimeError(
                    f"batch engine bug: {len(self.outcomes) - self._done} records have no outcome"
                )
        finally:
            aclose = getattr(source, "aclose", None)
            if aclose is not None:
                await aclose()
        self._progress()
        return BatchReport(
            outcomes=self.outcomes,
            counts=self.outcomes.counts(),
            stopped=self.stopped,
            resume_from=self.outcomes.first_with("not_attempted"),
            idempotent=self._idempotent,
            failed_indices=sorted(self.outcomes.not_applied),
        )

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

    async def _dispatch(
        self, task_group: anyio.abc.TaskGroup, source: Iterator[T] | AsyncIterator[T]
    ) -> None:
        while self.stopped is None and not self._halting():
            await self._refill(source)
            self._progress()
            while (
                self.stopped is None
                and self._in_flight < self._max_in_flight
                and not self._halting()
            ):
                batch = self._take_batch(force=self._in_flight == 0)
                if batch is None:
                    break
                self._in_flight += 1
                task_group.start_soon(self._guard, task_group, self._call, batch)
            # Calls in flight may still hand records back (keys another process holds).
            if self._exhausted and self._buffered == 0 and self._in_flight == 0:
                return
            await self._returned.wait()
            self._returned = anyio.Event()

    def _halting(self) -> bool:
        """Has the caller asked (``stop``) that no new call start?"""
        if not self._halted and self._stop is not None and self._stop():
            self._halted = True
        return self._halted

    def _abandon(self) -> None:
        """The run is being cancelled: give every record read an outcome before it ends.

        Records not sent are ``not_attempted``; records whose call was in flight (or about to
        go) are ``unknown``: their call may or may not have been applied.
        """
        self._flush_held()
        self._drop_unsent(
            (Reason(INTERRUPTED, "the run was cancelled before this record was sent"),)
        )
        cut_off = (
            Reason(INTERRUPTED, "the run was cancelled while this record's call was in flight"),
        )
        index = self.outcomes.first_pending()
        while index is not None:
            self._finish(index, index, "unknown", reasons=cut_off)
            index = self.outcomes.first_pending(index + 1)

    def _drop_unsent(self, reasons: tuple[Reason, ...] = ()) -> None:
        for _, _, item in self._ready:
            if item.queued:
                item.queued = False
                self._finish(item.first, item.last, "not_attempted", reasons=reasons, key=item.key)
        for queue in self._waiting.values():
            for item in queue:
                self._finish(item.first, item.last, "not_attempted", reasons=reasons, key=item.key)
        self._ready.clear()
        self._ready_count = 0
        self._waiting.clear()
        self._owners.clear()
        self._buffered = 0

    async def _give_up(self, source: Iterator[T] | AsyncIterator[T]) -> None:
        """After a 607 or a ``stop``: every record not sent, read or not yet, is not_attempted."""
        self._giving_up = True
        self._drop_unsent()
        # Read the rest too, so that no input is silently dropped (_admit marks each one).
        while not self._exhausted:
            await self._refill(source, limit=self._max_buffered)
            self._progress()
            await anyio.lowlevel.checkpoint()


def _reasons_of(entry: Mapping[str, Any]) -> tuple[Reason, ...]:
    raw = entry.get("reasons")
    if not raw:
        return ()
    return tuple(
        _reason(str(reason.get("code", "")), str(reason.get("message", "")))
        for reason in raw
        if isinstance(reason, Mapping)
    )


_REASON_CACHE: dict[tuple[str, str], Reason] = {}


def _reason(code: str, message: str) -> Reason:
    # Thousands of skipped records usually share a handful of reasons: keep one copy of each.
    reason = _REASON_CACHE.get((code, message))
    if reason is None:
        reason = Reason(code, message)
        if len(_REASON_CACHE) < 1_000:
            _REASON_CACHE[(code, message)] = reason
    return reason


async def run_batches(
    records: Iterable[T] | AsyncIterable[T],
    send: Callable[[Sequence[T]], Awaitable[Sequence[Mapping[str, Any]]]],
    *,
    key: Callable[[T], str | int | None] | None = None,
    validate: Callable[[int, T], str | None] | None = None,
    batch_size: int = MAX_BATCH_SIZE,
    max_body_bytes: int = MAX_BODY_BYTES,
    size_of: Callable[[T], int] | None = None,
    max_in_flight: int = 10,
    max_buffered: int | None = None,
    idempotent: bool = True,
    coalesce: bool = False,
    merge: Callable[[T, T], T] | None = None,
    on_progress: Callable[[int, int | None], None] | None = None,
    on_outcome: Callable[[RecordOutcome], None] | None = None,
    key_leases: KeyLeases | None = None,
    lease_scope: str = "records",
    stop: Callable[[], bool] | None = None,
) -> BatchReport:
    """Send ``records`` through ``send`` in Marketo-sized calls; one outcome per record.

    ``send`` makes one API call with up to ``batch_size`` records and returns Marketo's
    ``result[]`` (entries with ``status``, ``id``, ``reasons``, optional ``seq``).
    ``key`` gives a record's normalised lookup key (see :func:`lookup_key`): records sharing a
    key never share a call nor overlap in flight, and go in input order. ``validate`` refuses
    a record before it is sent (see :func:`validate_lead`). ``coalesce`` merges consecutive
    same-key records into one (``merge``, by default later values win).
    ``idempotent`` says whether sending a record twice is harmless; it shapes the advice for
    records whose call may have applied (status ``unknown``).
    ``on_progress(done, total_or_None)`` is called as records finish; ``on_outcome(outcome)``
    once per input record as soon as its outcome is known (not in input order), e.g. to
    stream a report to disk. ``key_leases`` (a fleet-wide :class:`KeyLeases`, e.g.
    ``RedisLimiter.key_leases``) extends the same-key rule to every process sharing it;
    ``lease_scope`` names the key space (``"leads:email"``).
    ``stop()`` is asked before each call: once it answers True no new call starts, calls in
    flight finish, and every record not sent is ``not_attempted`` (a clean Ctrl-C).
    Cancelling the run instead gives records not sent ``not_attempted`` and records whose
    call was cut off ``unknown`` (reason ``interrupted``), through ``on_outcome`` too.

    >>> report = await run_batches(
    ...     rows, send_sync_leads, key=lambda row: lookup_key(row, "email"),
    ...     validate=validate_lead("createOrUpdate", "email"),
    ... )
    """
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ValueError(f"batch_size must be 1 to {MAX_BATCH_SIZE} (Marketo's limit)")
    if max_body_bytes <= ENVELOPE_BYTES:
        raise ValueError(f"max_body_bytes must be more than {ENVELOPE_BYTES}")
    if max_in_flight < 1:
        raise ValueError("max_in_flight must be at least 1")
    if key_leases is not None and key is None:
        raise ValueError("key_leases needs a key to lease")
    if coalesce and key is None:
        raise ValueError("coalesce=True needs a key to find records to merge")
    if merge is not None and not coalesce:
        raise ValueError("merge is used only with coalesce=True")
    # The look-ahead must hold enough to fill every call slot, plus records waiting on a key.
    buffered = 4 * batch_size * max_in_flight if max_buffered is None else max_buffered
    if buffered < batch_size:
        raise ValueError("max_buffered must be at least batch_size")
    total = len(records) if isinstance(records, Sized) else None
    engine: _Engine[T] = _Engine(
        send,
        key=key,
        validate=validate,
        batch_size=batch_size,
        max_body_bytes=max_body_bytes,
        size_of=(
            size_of
            if size_of is not None
            else size_bound((max_body_bytes - ENVELOPE_BYTES) // batch_size - 1)
        ),
        max_in_flight=max_in_flight,
        max_buffered=buffered,
        coalesce=coalesce,
        merge=merge if merge is not None else _merge_mappings,
        on_progress=on_progress,
        on_outcome=on_outcome,
        total=total,
        idempotent=idempotent,
        key_leases=key_leases,
        lease_scope=lease_scope,
        stop=stop,
    )
    return await engine.run(records)
