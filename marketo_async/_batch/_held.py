"""Values held by record index until each record's outcome is known, then passed on."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Generic, TypeVar

import attrs

from ._options import WriteOptions
from ._outcomes import RecordOutcome

__all__ = ["Held", "keeping_unknown"]

V = TypeVar("V")


class Held(Mapping[int, V], Generic[V]):
    """Values held by record index: the record read, a report row, an outcome held back.

    The engine numbers records in the order it reads them, so :meth:`keep`, called as each
    record is read (in a converter or a generator feeding the write), holds a value under
    that record's index. :meth:`hold` holds one under an index already known (an outcome's);
    :meth:`release` lets one go. Iterating gives the indices held, in index order.

    Example (hold back unknown outcomes, pass them on once they are settled)::

        held: Held[RecordOutcome] = Held()

        def hear(outcome):
            if outcome.status == "unknown":
                held.hold(outcome.index, outcome)
            else:
                on_outcome(outcome)
    """

    def __init__(self) -> None:
        self._values: dict[int, V] = {}
        self._read = 0

    def keep(self, value: V) -> V:
        """Hold ``value`` under the next record's index (the records read so far); return it."""
        self._values[self._read] = value
        self._read += 1
        return value

    def hold(self, index: int, value: V) -> None:
        self._values[index] = value

    def release(self, index: int) -> V | None:
        """The value held for ``index``, no longer held (None when there is none)."""
        return self._values.pop(index, None)

    def release_all(self) -> list[V]:
        """Every value still held, in index order; none is held afterwards."""
        values = [self._values[index] for index in sorted(self._values)]
        self._values.clear()
        return values

    def __getitem__(self, index: int) -> V:
        return self._values[index]

    def __iter__(self) -> Iterator[int]:
        return iter(sorted(self._values))

    def __len__(self) -> int:
        return len(self._values)


def keeping_unknown(kept: Held[Any], options: WriteOptions) -> WriteOptions:
    """``options`` whose ``on_outcome`` lets go of each record held in ``kept`` (by
    :meth:`Held.keep` as it is read) once its outcome is not ``unknown``, then tells the
    caller's hook: what stays held is the look-ahead and the unknown ones, to read back."""
    on_outcome = options.on_outcome

    def heard(outcome: RecordOutcome) -> None:
        if outcome.status != "unknown":
            kept.release(outcome.index)
        if on_outcome is not None:
            on_outcome(outcome)

    return attrs.evolve(options, on_outcome=heard)
