"""How one batch run goes: every option of :func:`run_batches`, checked once, defaults resolved."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Generic, TypeVar, cast

import attrs

from ._outcomes import RecordOutcome
from ._results import MARKETO_RESULTS, ResultRules
from ._sizes import ENVELOPE_BYTES, MAX_BATCH_SIZE, MAX_BODY_BYTES, size_bound

if TYPE_CHECKING:
    from .._transport import KeyLeases

__all__ = ["BatchOptions", "Key"]

T = TypeVar("T")
Key = str | int | None


def _later_values_win(earlier: T, later: T) -> T:
    if isinstance(earlier, Mapping) and isinstance(later, Mapping):
        return cast(T, {**earlier, **later})
    return later


@attrs.frozen(kw_only=True)
class BatchOptions(Generic[T]):
    """The options of one run (see :func:`run_batches`); a bad combination is refused here.

    ``size_of``, ``max_buffered`` and ``merge`` may be left out; ``record_size``,
    ``look_ahead`` and ``merge_records`` are what the run uses.
    """

    key: Callable[[T], Key] | None = None
    validate: Callable[[int, T], str | None] | None = None
    batch_size: int = MAX_BATCH_SIZE
    max_body_bytes: int = MAX_BODY_BYTES
    size_of: Callable[[T], int] | None = None
    max_in_flight: int = 10
    max_buffered: int | None = None
    idempotent: bool = True
    coalesce: bool = False
    merge: Callable[[T, T], T] | None = None
    on_progress: Callable[[int, int | None], None] | None = None
    on_outcome: Callable[[RecordOutcome], None] | None = None
    key_leases: KeyLeases | None = None
    lease_scope: str = "records"
    stop: Callable[[], bool] | None = None
    results: ResultRules = MARKETO_RESULTS

    record_size: Callable[[T], int] = attrs.field(init=False)
    look_ahead: int = attrs.field(init=False)
    merge_records: Callable[[T, T], T] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self._check()
        # The look-ahead must hold enough to fill every call slot, plus records waiting on a key.
        look_ahead = (
            4 * self.batch_size * self.max_in_flight
            if self.max_buffered is None
            else self.max_buffered
        )
        if look_ahead < self.batch_size:
            raise ValueError("max_buffered must be at least batch_size")
        record_size = self.size_of
        if record_size is None:
            record_size = size_bound((self.max_body_bytes - ENVELOPE_BYTES) // self.batch_size - 1)
        # Frozen: the derived values are set once, here, and never change.
        object.__setattr__(self, "look_ahead", look_ahead)
        object.__setattr__(self, "record_size", record_size)
        merge = self.merge if self.merge is not None else _later_values_win
        object.__setattr__(self, "merge_records", merge)

    def _check(self) -> None:
        limit = self.results.max_records
        if not 1 <= self.batch_size <= limit:
            raise ValueError(f"batch_size must be 1 to {limit} (the API's limit per call)")
        if self.max_body_bytes <= ENVELOPE_BYTES:
            raise ValueError(f"max_body_bytes must be more than {ENVELOPE_BYTES}")
        if self.max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        if self.key_leases is not None and self.key is None:
            raise ValueError("key_leases needs a key to lease")
        if self.coalesce and self.key is None:
            raise ValueError("coalesce=True needs a key to find records to merge")
        if self.merge is not None and not self.coalesce:
            raise ValueError("merge is used only with coalesce=True")
