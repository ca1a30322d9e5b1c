"""Pagers: ``await pager`` gives the first page, ``async for item in pager`` every item.

Marketo pages two ways: the lead database with ``nextPageToken``/``moreResult`` (up to 300
per page), the asset API with ``offset``/``maxReturn`` (up to 200 per page). A pager only
knows how to fetch pages; it never sleeps, retries or sees a token.
"""

from __future__ import annotations

from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterator,
    Mapping,
)
from typing import Any, Generic, TypeVar, overload

import attrs

from ._transport import BACKGROUND, lane

T = TypeVar("T")

__all__ = [
    "MAX_ASSET_PAGE",
    "MAX_BATCH_SIZE",
    "NO_ASSETS_FOUND",
    "Page",
    "Pager",
    "first_of",
    "offset_pages",
    "token_pages",
]

Fetch = Callable[[Mapping[str, Any]], Awaitable[dict[str, Any]]]
Parse = Callable[[dict[str, Any]], T]

# Marketo: batchSize is at most 300 on lead-database reads.
MAX_BATCH_SIZE = 300
# Marketo: maxReturn is at most 200 on asset browse endpoints.
MAX_ASSET_PAGE = 200
# The asset API's way of saying "nothing (more) here", as a warning on success.
NO_ASSETS_FOUND = "No assets found for the given search criteria."


@attrs.frozen
class Page(Generic[T]):
    """One page of results; iterable and indexable like a list of its items."""

    items: list[T]
    next_page_token: str | None = None
    more: bool = False
    warnings: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        return self.items[index]


async def first_of(pages: AsyncIterator[Page[T]]) -> Page[T]:
    """The first of ``pages`` (an empty page when there is none), the rest left unread and
    the iterator closed."""
    try:
        async for page in pages:
            return page
        return Page([])
    finally:
        closer = getattr(pages, "aclose", None)
        if closer is not None:
            await closer()


class Pager(Generic[T]):
    """A lazily fetched sequence of pages.

    The first page is an interactive call (someone awaits it); the pages after it are
    background work (see :class:`~marketo_async.Lanes`).

    Example::

        first = await client.leads.by_list(1001)        # the first page
        async for lead in client.leads.by_list(1001):    # every lead, page after page
            ...
    """

    def __init__(self, pages: Callable[[], AsyncIterator[Page[T]]]) -> None:
        self._pages = pages

    def __await__(self) -> Generator[Any, None, Page[T]]:
        return self.first_page().__await__()

    async def first_page(self) -> Page[T]:
        """Fetch only the first page."""
        return await first_of(self._pages())

    def pages(self) -> AsyncIterator[Page[T]]:
        """Every page, fetched one at a time as you iterate."""
        return _later_in_background(self._pages())

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for item in page.items:
                yield item

    async def collect(self, limit: int | None = None) -> list[T]:
        """Every item (or the first ``limit``) in a list."""
        found: list[T] = []
        async for item in self:
            if limit is not None and len(found) >= limit:
                break
            found.append(item)
        return found


async def _later_in_background(pages: AsyncIterator[Page[T]]) -> AsyncGenerator[Page[T], None]:
    """``pages``, each after the first fetched in the background lane.

    The lane is set only around each fetch (a step of ``pages``), never across a ``yield``:
    the caller's own calls between pages keep their lane.
    """
    try:
        async for page in pages:
            yield page
            break
        else:
            return
        while True:
            with lane(BACKGROUND):
                try:
                    page = await pages.__anext__()
                except StopAsyncIteration:
                    return
            yield page
    finally:
        closer = getattr(pages, "aclose", None)
        if closer is not None:
            await closer()


def _warning_texts(body: Mapping[str, Any]) -> tuple[str, ...]:
    texts = []
    for item in body.get("warnings") or ():
        texts.append(str(item.get("message", "")) if isinstance(item, dict) else str(item))
    return tuple(texts)


async def token_pages(
    fetch: Fetch, params: Mapping[str, Any], parse: Parse[T]
) -> AsyncGenerator[Page[T], None]:
    """Pages of a lead-database read: follow ``nextPageToken`` while ``moreResult`` is true.

    Marketo sometimes sends a token with ``moreResult`` left out; that means no more pages.
    """
    token: str | None = None
    while True:
        query = dict(params)
        if token is not None:
            query["nextPageToken"] = token
        body = await fetch(query)
        items = [parse(item) for item in body.get("result") or ()]
        token = body.get("nextPageToken")
        more = bool(body.get("moreResult")) and bool(token)
        yield Page(items, token, more, _warning_texts(body))
        if not more:
            return


async def offset_pages(
    fetch: Fetch, params: Mapping[str, Any], parse: Parse[T], *, max_return: int = MAX_ASSET_PAGE
) -> AsyncIterator[Page[T]]:
    """Pages of an asset browse: ``offset``/``maxReturn`` until nothing or a short page."""
    if not 1 <= max_return <= MAX_ASSET_PAGE:
        raise ValueError(f"max_return must be between 1 and {MAX_ASSET_PAGE}, got {max_return}")
    offset = 0
    while True:
        body = await fetch({**params, "offset": offset, "maxReturn": max_return})
        warnings = _warning_texts(body)
        raw = body.get("result") or []
        items = [parse(item) for item in raw]
        done = not raw or len(raw) < max_return or NO_ASSETS_FOUND in warnings
        if items or offset == 0:
            yield Page(items, None, not done, warnings)
        if done:
            return
        offset += len(raw)
