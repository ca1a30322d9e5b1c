"""Reading the input on demand: each record numbered, checked, keyed, and merged when asked."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Sized
from typing import Generic, TypeVar, cast

from ._options import BatchOptions
from ._outcomes import LOCAL_VALIDATION, Reason
from ._queue import Item
from ._recorder import Recorder

__all__ = ["Reader"]

T = TypeVar("T")


class Reader(Generic[T]):
    """The run's input (an iterable or an async iterable), read as the look-ahead has room.

    A record ``validate`` refuses is ``failed`` at once. With ``coalesce``, consecutive
    records sharing a key become one item (``merge``); the item is handed on once a record
    with another key, a refused record or the end of the input closes the run of same-key
    records.
    """

    def __init__(
        self,
        records: Iterable[T] | AsyncIterable[T],
        options: BatchOptions[T],
        recorder: Recorder,
        admit: Callable[[Item[T]], None],
    ) -> None:
        self._source: Iterator[T] | AsyncIterator[T] = (
            aiter(records) if isinstance(records, AsyncIterable) else iter(records)
        )
        # A collection (a list, say) can be read to its end without waiting or side effects.
        self._collection = isinstance(records, Sized) and not isinstance(records, AsyncIterable)
        self._validate = options.validate
        self._key = options.key
        self._coalesce = options.write.coalesce
        self._merge = options.merge_records
        self._recorder = recorder
        self._admit = admit
        self._held: Item[T] | None = None  # the item a following same-key record may merge into
        self.exhausted = False

    async def read(self, full: Callable[[], bool], *, limit: int | None = None) -> None:
        """Read until ``full()`` says the look-ahead is full, ``limit`` records, or the end."""
        read = 0
        source = self._source
        synchronous = source if isinstance(source, Iterator) else None
        stream = cast(AsyncIterator[T], source)
        while not (self.exhausted or full()):
            if limit is not None and read >= limit:
                return
            read += 1
            if synchronous is not None:
                try:
                    record = next(synchronous)
                except StopIteration:
                    self._end()
                    return
            else:
                try:
                    record = await anext(stream)
                except StopAsyncIteration:
                    self._end()
                    return
            self._take(record)

    def flush(self) -> None:
        """Hand on the item being merged into, if any."""
        if self._held is not None:
            held, self._held = self._held, None
            self._admit(held)

    def number_the_rest(self) -> list[int]:
        """The run is being cancelled: number every record of a collection not read yet (so
        each can be given an outcome) and return their indices. An iterator or a stream is
        left as it is: its records never read stay unread, and get no outcome."""
        if not self._collection or self.exhausted:
            return []
        rest = [self._recorder.add() for _ in cast(Iterator[T], self._source)]
        self.exhausted = True
        return rest

    async def aclose(self) -> None:
        """Close the input when it can be closed (an async generator, say)."""
        aclose = getattr(self._source, "aclose", None)
        if aclose is not None:
            await aclose()

    def _end(self) -> None:
        self.exhausted = True
        self.flush()

    def _take(self, record: T) -> None:
        index = self._recorder.add()
        if self._validate is not None:
            problem = self._validate(index, record)
            if problem is not None:
                refused = (Reason(LOCAL_VALIDATION, problem),)
                self._recorder.finish(index, index, "failed", reasons=refused)
                self.flush()  # a refused record ends a run of same-key records
                return
        key = self._key(record) if self._key is not None else None
        held = self._held
        if held is not None and key is not None and held.key == key and held.last == index - 1:
            held.record = self._merge(held.record, record)
            held.last = index
            return
        if held is not None:
            self.flush()
        item = Item(index, index, key, record)
        if self._coalesce and key is not None:
            self._held = item
        else:
            self._admit(item)
