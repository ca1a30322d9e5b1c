"""How one batch run goes: the caller's :class:`WriteOptions`, and every option of
:func:`run_batches` checked once, defaults resolved (:class:`BatchOptions`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Generic, TypedDict, TypeVar, cast

import attrs

from ._outcomes import RecordOutcome
from ._results import MARKETO_RESULTS, ResultRules
from ._sizes import ENVELOPE_BYTES, MAX_BODY_BYTES, size_bound

if TYPE_CHECKING:
    from .._transport import KeyLeases

__all__ = [
    "BatchOptions",
    "Key",
    "OutcomeHook",
    "Progress",
    "StopHook",
    "WriteHooks",
    "WriteOptions",
]

T = TypeVar("T")
Key = str | int | None
# on_progress(done, total_or_None): called as records finish.
Progress = Callable[[int, int | None], None]
# on_outcome(outcome): once per input record, as soon as its outcome is known.
OutcomeHook = Callable[[RecordOutcome], None]
# stop(): asked before each call; True: start no new call.
StopHook = Callable[[], bool]


def _later_values_win(earlier: T, later: T) -> T:
    if isinstance(earlier, Mapping) and isinstance(later, Mapping):
        return cast(T, {**earlier, **later})
    return later


class WriteHooks(TypedDict, total=False):
    """The hooks every write of many records takes as keyword arguments.

    ``on_progress(done, total_or_None)`` as records finish; ``on_outcome(outcome)`` once per
    record, as soon as its outcome is known (not in input order); ``stop()`` asked before
    each call: once it answers True no new call starts, calls in flight finish and every
    record not sent is ``not_attempted``. A write method declares them as
    ``**hooks: Unpack[WriteHooks]`` and makes its :class:`WriteOptions` from them.

    Example::

        report = await client.static_lists.add_leads(1001, ids, on_outcome=print)
    """

    on_progress: Progress | None
    on_outcome: OutcomeHook | None
    stop: StopHook | None


@attrs.frozen(kw_only=True)
class WriteOptions:
    """What the caller of one write of many records asks of it, as one value.

    A public write method makes it from its keyword arguments (``WriteOptions(**hooks)``,
    see :class:`WriteHooks`) and hands it down unchanged to :func:`run_batches`:
    ``on_progress(done, total_or_None)`` as records finish, ``on_outcome(outcome)`` once
    per record as soon as its outcome is known, ``stop()`` asked before each call (True:
    no new call starts), ``batch_size`` records per call at most (None: the API's limit),
    ``coalesce`` consecutive same-key records into one.

    Example::

        options = WriteOptions(on_outcome=outcomes.append, stop=lambda: stopping)
        report = await run_batches(rows, send, options, key=email_key)
    """

    on_progress: Progress | None = None
    on_outcome: OutcomeHook | None = None
    stop: StopHook | None = None
    batch_size: int | None = None
    coalesce: bool = False


@attrs.frozen(kw_only=True)
class BatchOptions(Generic[T]):
    """The options of one run (see :func:`run_batches`); a bad combination is refused here.

    ``write`` is the caller's :class:`WriteOptions`; ``size_of``, ``max_buffered`` and
    ``merge`` may be left out. ``batch_size``, ``record_size``, ``look_ahead`` and
    ``merge_records`` are what the run uses.
    """

    write: WriteOptions = WriteOptions()
    key: Callable[[T], Key] | None = None
    validate: Callable[[int, T], str | None] | None = None
    max_body_bytes: int = MAX_BODY_BYTES
    size_of: Callable[[T], int] | None = None
    max_in_flight: int = 10
    max_buffered: int | None = None
    idempotent: bool = True
    merge: Callable[[T, T], T] | None = None
    key_leases: KeyLeases | None = None
    lease_scope: str = "records"
    results: ResultRules = MARKETO_RESULTS

    batch_size: int = attrs.field(init=False)
    record_size: Callable[[T], int] = attrs.field(init=False)
    look_ahead: int = attrs.field(init=False)
    merge_records: Callable[[T, T], T] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        batch_size = self.write.batch_size
        if batch_size is None:
            batch_size = self.results.max_records
        self._check(batch_size)
        # The look-ahead must hold enough to fill every call slot, plus records waiting on a key.
        look_ahead = (
            4 * batch_size * self.max_in_flight if self.max_buffered is None else self.max_buffered
        )
        if look_ahead < batch_size:
            raise ValueError("max_buffered must be at least batch_size")
        record_size = self.size_of
        if record_size is None:
            record_size = size_bound((self.max_body_bytes - ENVELOPE_BYTES) // batch_size - 1)
        # Frozen: the derived values are set once, here, and never change.
        object.__setattr__(self, "batch_size", batch_size)
        object.__setattr__(self, "look_ahead", look_ahead)
        object.__setattr__(self, "record_size", record_size)
        merge = self.merge if self.merge is not None else _later_values_win
        object.__setattr__(self, "merge_records", merge)

    def _check(self, batch_size: int) -> None:
        limit = self.results.max_records
        if not 1 <= batch_size <= limit:
            raise ValueError(f"batch_size must be 1 to {limit} (the API's limit per call)")
        if self.max_body_bytes <= ENVELOPE_BYTES:
            raise ValueError(f"max_body_bytes must be more than {ENVELOPE_BYTES}")
        if self.max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        if self.key_leases is not None and self.key is None:
            raise ValueError("key_leases needs a key to lease")
        coalesce = self.write.coalesce
        if coalesce and self.key is None:
            raise ValueError("coalesce=True needs a key to find records to merge")
        if self.merge is not None and not coalesce:
            raise ValueError("merge is used only with coalesce=True")
