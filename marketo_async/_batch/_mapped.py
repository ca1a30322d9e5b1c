"""A write's input with each record converted as the engine reads it, its kind kept."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Collection, Iterable, Iterator
from typing import Any, Generic, TypeVar

__all__ = ["mapped"]

T = TypeVar("T")
U = TypeVar("U")


class _MappedCollection(Generic[T, U]):
    """``map`` that keeps ``len`` (the engine reports progress against it)."""

    def __init__(self, items: Collection[T], convert: Callable[[T], U]) -> None:
        self._items = items
        self._convert = convert

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[U]:
        return map(self._convert, self._items)


async def _mapped_async(items: AsyncIterable[T], convert: Callable[[T], U]) -> AsyncIterator[U]:
    iterator = aiter(items)
    try:
        async for item in iterator:
            yield convert(item)
    finally:  # the run ended (or left early): close the caller's stream too
        aclose: Any = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()


def mapped(
    records: Iterable[T] | AsyncIterable[T], convert: Callable[[T], U]
) -> Iterable[U] | AsyncIterable[U]:
    """``records`` with ``convert`` applied to each as it is read: a collection keeps its
    length (so progress knows the total), an async iterable stays async and is closed when
    the run ends, any other iterable is read lazily."""
    if isinstance(records, AsyncIterable):
        return _mapped_async(records, convert)
    if isinstance(records, Collection):
        return _MappedCollection(records, convert)
    return map(convert, records)
