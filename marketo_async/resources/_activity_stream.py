"""Reading Marketo's date-based token streams (activities, lead changes, deleted leads) as one
stream with a cursor that is right after every item.

Marketo takes at most 10 activity type ids and 30 lead ids per call, so one read may be several
*streams* (one per combination of chunks), each following its own ``nextPageToken``. They are
merged by activity date, and each activity belongs to exactly one stream.

A stream's position is ``(token, skip)``: the items of the page ``token`` fetches, less the
first ``skip`` of them, and everything after. Marketo may answer the same token with a different
number of items (pages come back short), so ``skip`` is spent across pages: when a re-fetched
page holds fewer than ``skip`` items, the rest is skipped from the next page. After a stream's
page is used up its position is the page's ``nextPageToken`` with nothing to skip, which is
also where activities recorded later will appear: that is what makes a saved cursor an
incremental sync.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Mapping, Sequence
from typing import Any, Generic, TypeVar

import anyio
import attrs

from .._errors import MarketoError
from .._paging import Page
from ..models.activities import Activity

__all__ = ["ActivityPager", "Query", "decode_cursor", "encode_cursor"]

A = TypeVar("A", bound=Activity)
Fetch = Callable[[str, Mapping[str, Any]], Awaitable[dict[str, Any]]]

CURSOR_PREFIX = "mkc1."
# The same token answered with nothing and the same token again this many times in a row
# means Marketo is not moving; stop rather than call forever.
MAX_STALLED_PAGES = 50


@attrs.frozen
class Query:
    """One stream's fixed parameters: the endpoint and its filters (without the token)."""

    path: str
    params: Mapping[str, Any]


def _fingerprint(kind: str, queries: Sequence[Query]) -> str:
    layout = json.dumps([kind, [[q.path, dict(q.params)] for q in queries]], sort_keys=True)
    return hashlib.sha256(layout.encode()).hexdigest()[:16]


def encode_cursor(kind: str, queries: Sequence[Query], positions: Sequence[tuple[str, int]]) -> str:
    """The cursor text: which read it belongs to and every stream's ``(token, skip)``."""
    payload = {"k": kind, "f": _fingerprint(kind, queries), "s": [list(p) for p in positions]}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return CURSOR_PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str, queries: Sequence[Query]) -> list[tuple[str, int]]:
    """Every stream's ``(token, skip)``; ValueError when the cursor is not one of this read's."""
    if not isinstance(cursor, str) or not cursor.startswith(CURSOR_PREFIX):
        raise ValueError(f"cursor must be a string a pager's .cursor gave, got {cursor!r}")
    try:
        text = cursor[len(CURSOR_PREFIX) :]
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        payload = json.loads(raw)
        positions = [(str(token), int(skip)) for token, skip in payload["s"]]
        made_for, fingerprint = payload["k"], payload["f"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError("cursor is damaged: it cannot be read") from exc
    if made_for != kind:
        raise ValueError(f"this cursor was made by {made_for}, not {kind}")
    if fingerprint != _fingerprint(kind, queries) or len(positions) != len(queries):
        raise ValueError(
            f"this cursor was made for a {kind} read with other filters (type ids, lead ids, "
            "list, assets or fields): pass the same ones it was made with"
        )
    if any(skip < 0 for _, skip in positions):
        raise ValueError("cursor is damaged: negative position")
    return positions


class _Stream(Generic[A]):
    """One query's token chain: its position and the unread rest of the page in hand."""

    def __init__(self, query: Query, token: str, skip: int, parse: Callable[[Any], A]) -> None:
        self.query = query
        self.token = token
        self.skip = skip
        self._parse = parse
        self.buffer: collections.deque[A] = collections.deque()
        self.next_token: str | None = None
        self.more = True  # Marketo may have more after the position
        self.fetched = False

    @property
    def needs_fetch(self) -> bool:
        return not self.buffer and self.more

    async def fetch(self, fetch: Fetch) -> None:
        """Fetch the page at the position, skipping what was already handed out."""
        stalled = 0
        while not self.buffer and self.more:
            body = await fetch(self.query.path, {**self.query.params, "nextPageToken": self.token})
            items = [self._parse(item) for item in body.get("result") or ()]
            next_token = body.get("nextPageToken")
            more = bool(body.get("moreResult"))
            if not isinstance(next_token, str) or not next_token:
                raise MarketoError(
                    "Marketo answered an activity read without a nextPageToken",
                    request_id=body.get("requestId"),
                    path=self.query.path,
                )
            stalled = stalled + 1 if not items and more and next_token == self.token else 0
            if stalled >= MAX_STALLED_PAGES:
                raise MarketoError(
                    f"Marketo answered the same paging token {stalled} times with nothing and "
                    "more to come; stopping (the cursor is still right: try again later)",
                    path=self.query.path,
                )
            if len(items) <= self.skip and more:
                # Already handed out: carry what is left to skip over to the next page.
                self.skip -= len(items)
                self.token = next_token
                continue
            self.buffer.extend(items[self.skip :])
            self.next_token, self.more = next_token, more
            if not self.buffer:
                # The last page, all of it handed out before: its token is the place to resume.
                self.token, self.skip = next_token, 0

    def take(self) -> A:
        """The next item; the position moves past it at once."""
        item = self.buffer.popleft()
        self.skip += 1
        if not self.buffer and self.next_token is not None:
            self.token, self.skip = self.next_token, 0
        return item

    def head_key(self) -> tuple[Any, ...]:
        item = self.buffer[0]
        return (item.activity_date is None, item.activity_date, item.id or 0)


class _Fetching:
    """Marks the moment between items when the stream is about to call Marketo."""


_FETCHING = _Fetching()


class ActivityPager(Generic[A]):
    """Activities (or lead changes, deleted leads) from one or more token streams, merged.

    ``async for`` gives every item; ``await pager`` the first page; ``pager.cursor`` is right
    after the last item handed out, and stays valid after the end: save it, and
    ``list(..., cursor=saved)`` later gives exactly what came after, new activities included.

    Example::

        pager = client.activities.list([1, 12], since=last_run)
        async for activity in pager:
            store(activity)
            save(pager.cursor)     # a crash after this line repeats nothing and loses nothing
    """

    def __init__(
        self,
        *,
        kind: str,
        queries: Sequence[Query],
        start: Callable[[], Awaitable[list[tuple[str, int]]]],
        fetch: Fetch,
        parse: Callable[[Any], A],
        cursor: str | None = None,
    ) -> None:
        self._given_cursor = cursor
        self._kind = kind
        self._queries = list(queries)
        self._start = start
        self._fetch = fetch
        self._parse = parse
        self._streams: list[_Stream[A]] | None = None

    def __repr__(self) -> str:
        return f"ActivityPager(kind={self._kind!r}, streams={len(self._queries)})"

    @property
    def cursor(self) -> str | None:
        """Where to resume: right after the last item handed out (before the first: the cursor
        the pager was made from, or None when it starts from a date)."""
        if self._streams is None:
            return self._given_cursor
        positions = [(s.token, s.skip) for s in self._streams]
        return encode_cursor(self._kind, self._queries, positions)

    async def _begin(self) -> list[_Stream[A]]:
        if self._streams is None:
            positions = await self._start()
            self._streams = [
                _Stream(query, token, skip, self._parse)
                for query, (token, skip) in zip(self._queries, positions, strict=True)
            ]
        return self._streams

    async def _items(self) -> AsyncIterator[A | _Fetching]:
        streams = await self._begin()
        while True:
            waiting = [s for s in streams if s.needs_fetch]
            if waiting:
                yield _FETCHING
                await self._fetch_all(waiting)
            ready = [s for s in streams if s.buffer]
            if not ready:
                return
            yield min(ready, key=lambda s: s.head_key()).take()

    async def _fetch_all(self, waiting: list[_Stream[A]]) -> None:
        if len(waiting) == 1:
            await waiting[0].fetch(self._fetch)
            return
        # Streams are independent token chains: their pages can come at once. The first
        # failure comes out as itself, not inside an exception group.
        failures: list[Exception] = []

        async def fetch(stream: _Stream[A]) -> None:
            try:
                await stream.fetch(self._fetch)
            except Exception as error:
                failures.append(error)

        async with anyio.create_task_group() as group:
            for stream in waiting:
                group.start_soon(fetch, stream)
        if failures:
            raise failures[0]

    async def __aiter__(self) -> AsyncIterator[A]:
        async for item in self._items():
            if not isinstance(item, _Fetching):
                yield item

    async def pages(self) -> AsyncIterator[Page[A]]:
        """The items in pages: each page is what was handed out between two calls."""
        found: list[A] = []
        async for item in self._items():
            if isinstance(item, _Fetching):
                if found:
                    yield Page(found, None, True)
                found = []
            else:
                found.append(item)
        yield Page(found, None, False)

    def __await__(self) -> Generator[Any, None, Page[A]]:
        return self.first_page().__await__()

    async def first_page(self) -> Page[A]:
        """The first page (the cursor then stands after it)."""
        pages = self.pages()
        try:
            async for page in pages:
                return page
            return Page([])
        finally:
            await pages.aclose()  # type: ignore[attr-defined]

    async def collect(self, limit: int | None = None) -> list[A]:
        """Every item (or the first ``limit``) in a list; the cursor stands after the last."""
        found: list[A] = []
        if limit is not None and limit <= 0:
            return found
        async for item in self:
            found.append(item)
            if limit is not None and len(found) >= limit:
                break
        return found
