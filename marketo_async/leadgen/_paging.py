"""Reading every record of a Lead Gen & CRM listing: ``limit``/``offset`` pages, no total.

The end of a listing is a short page. There is no order and no cursor, so a record can come
twice while the data set changes under the pages: every pager drops records it already gave.

``getLeadsDateRange`` is disputed (research notes, section 5): it may honour the undocumented
``limit``/``offset``, cap its answer at 500 and ignore them, or return everything. A full page
whose next offset brings nothing new means the server ignored the offset; the window is then
split in two, and each half read the same way, until every half comes back short.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Any, TypeVar

from .._paging import Page

__all__ = ["MAX_PAGE", "date_range_pages", "offset_pages", "single_page"]

T = TypeVar("T")
Raw = Mapping[str, Any]
FetchPage = Callable[[int, int], Awaitable[Sequence[Raw]]]  # (offset, limit) -> records
FetchWindow = Callable[[dt.datetime, dt.datetime, int, int], Awaitable[Sequence[Raw]]]

logger = logging.getLogger("marketo_async.leadgen")

MAX_PAGE = 500  # Lead Gen & CRM: getLeads returns at most 500 records a call
ONE_SECOND = dt.timedelta(seconds=1)


class _Seen:
    """Identity of every record given so far (ids; a record without one is always new)."""

    def __init__(self, identity: Callable[[Raw], Hashable | None]) -> None:
        self._identity = identity
        self._seen: set[Hashable] = set()

    def new(self, raw: Sequence[Raw]) -> list[Raw]:
        fresh = []
        for record in raw:
            key = self._identity(record)
            if key is None:
                fresh.append(record)
            elif key not in self._seen:
                self._seen.add(key)
                fresh.append(record)
        return fresh


def record_id(record: Raw) -> Hashable | None:
    value = record.get("id")
    return None if value is None else str(value).strip()


async def offset_pages(
    fetch: FetchPage,
    parse: Callable[[Raw], T],
    *,
    page_size: int = MAX_PAGE,
    identity: Callable[[Raw], Hashable | None] = record_id,
) -> AsyncIterator[Page[T]]:
    """Pages until a short one; a full page with nothing new ends the listing too."""
    seen = _Seen(identity)
    offset = 0
    while True:
        raw = await fetch(offset, page_size)
        fresh = seen.new(raw)
        if fresh or offset == 0:
            yield Page([parse(record) for record in fresh], more=len(raw) >= page_size)
        if len(raw) < page_size or not fresh:
            return
        offset += len(raw)


async def single_page(
    fetch: Callable[[], Awaitable[Sequence[Raw]]], parse: Callable[[Raw], T]
) -> AsyncIterator[Page[T]]:
    """A listing the API answers in one call (no documented paging)."""
    yield Page([parse(record) for record in await fetch()])


async def date_range_pages(
    fetch: FetchWindow,
    parse: Callable[[Raw], T],
    start: dt.datetime,
    last: dt.datetime,
    *,
    page_size: int = MAX_PAGE,
) -> AsyncIterator[Page[T]]:
    """Every record of the inclusive window ``[start, last]`` (whole seconds), however the
    server pages (see the module docstring)."""
    seen = _Seen(record_id)
    windows = [(start, last)]
    offsets_work: bool | None = None  # unknown until a full page shows it
    while windows:
        low, high = windows.pop()
        raw = await fetch(low, high, 0, page_size)
        fresh = seen.new(raw)
        if fresh:
            yield Page([parse(record) for record in fresh])
        if len(raw) != page_size:
            continue  # short: the whole window; longer: the server ignored the limit
        offset = len(raw)
        while offsets_work is not False:
            raw = await fetch(low, high, offset, page_size)
            fresh = seen.new(raw)
            if not raw:
                break
            if not fresh:
                if offsets_work is None:
                    offsets_work = False  # the same records again: the offset was ignored
                break
            offsets_work = True
            yield Page([parse(record) for record in fresh])
            if len(raw) < page_size:
                break
            offset += len(raw)
        if offsets_work is False:
            if high - low < ONE_SECOND:
                logger.warning(
                    "getLeadsDateRange returned a full page for the single second %s and "
                    "ignores offset: leads beyond the first %d of that second cannot be read",
                    low.strftime("%Y-%m-%d %H:%M:%S"),
                    page_size,
                )
                continue
            middle = low + (high - low) // 2
            middle = middle.replace(microsecond=0)
            # Later half pushed first, so the earlier half is read first.
            windows.append((middle + ONE_SECOND, high))
            windows.append((low, middle))
