"""Reading Marketo's date-based token streams (activities, lead changes, deleted leads) as one
stream with a cursor that is right after every item.

Marketo takes at most 10 activity type ids and 30 lead ids per call, so one read may be several
*streams* (one per combination of chunks), each following its own ``nextPageToken``. They are
merged by activity date, and each activity belongs to exactly one stream.

Several streams' pages come in rounds of calls made at once: the streams that ran dry, and
beside them the next page of the streams the merge will run dry soonest (read ahead, never
more than a read would make anyway, at most ``MAX_CALLS_AT_ONCE`` a round). One stream is
read a page after another: the next token is only known from the page before.

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
import heapq
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Mapping, Sequence
from typing import Any, Generic, TypeVar

import anyio
import attrs

from .._errors import MarketoError
from .._paging import Page, first_of
from ..models.activities import Activity

__all__ = ["ActivityPager", "Query", "decode_cursor", "encode_cursor"]

A = TypeVar("A", bound=Activity)
Fetch = Callable[[str, Mapping[str, Any]], Awaitable[dict[str, Any]]]

CURSOR_PREFIX = "mkc1."
# The same token answered with nothing and the same token again this many times in a row
# means Marketo is not moving; stop rather than call forever.
MAX_STALLED_PAGES = 50
# Marketo's concurrent-call limit: a round of calls for several streams (the ones that ran
# dry, and pages read ahead for others) is at most this many; the limiter still has the say.
MAX_CALLS_AT_ONCE = 10


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


@attrs.frozen
class _Read(Generic[A]):
    """What reading at a position gave: the token of the page the items came from, how many
    of that page's items were handed out before (``skip``), the rest, and the page's
    ``nextPageToken`` and ``moreResult``."""

    token: str
    skip: int
    items: list[A]
    next_token: str
    more: bool


async def _read(
    fetch: Fetch, query: Query, token: str, skip: int, parse: Callable[[Any], A]
) -> _Read[A]:
    """The items at ``(token, skip)``: the first page with something not handed out yet, or
    the last page (``moreResult`` false) when there is nothing more."""
    stalled = 0
    while True:
        body = await fetch(query.path, {**query.params, "nextPageToken": token})
        result = body.get("result") or ()
        next_token = body.get("nextPageToken")
        more = bool(body.get("moreResult"))
        if not isinstance(next_token, str) or not next_token:
            raise MarketoError(
                "Marketo answered an activity read without a nextPageToken",
                request_id=body.get("requestId"),
                path=query.path,
            )
        stalled = stalled + 1 if not result and more and next_token == token else 0
        if stalled >= MAX_STALLED_PAGES:
            raise MarketoError(
                f"Marketo answered the same paging token {stalled} times with nothing and "
                "more to come; stopping (the cursor is still right: try again later)",
                path=query.path,
            )
        if len(result) <= skip and more:
            # Already handed out: carry what is left to skip over to the next page.
            skip -= len(result)
            token = next_token
            continue
        return _Read(token, skip, [parse(item) for item in result[skip:]], next_token, more)


class _Stream(Generic[A]):
    """One query's token chain: its position, the unread rest of the page in hand, and
    perhaps the page after it, read ahead."""

    def __init__(self, query: Query, token: str, skip: int) -> None:
        self.query = query
        self.token = token
        self.skip = skip
        self.buffer: collections.deque[A] = collections.deque()
        self.next_token: str | None = None
        self.more = True  # Marketo may have more after the position
        self.ahead: _Read[A] | None = None  # the page at next_token, when read ahead

    @property
    def dry(self) -> bool:
        """Nothing in hand and more to read: no item can be handed out before a call."""
        return not self.buffer and self.more

    @property
    def can_read_ahead(self) -> bool:
        return bool(self.buffer) and self.more and self.ahead is None

    def land(self, page: _Read[A]) -> None:
        """Take a page read at the position (or read ahead at ``next_token``) into hand."""
        self.token, self.skip = page.token, page.skip
        self.buffer.extend(page.items)
        self.next_token, self.more = page.next_token, page.more
        if not self.buffer:
            # The last page, all of it handed out before: its token is the place to resume.
            self.token, self.skip = page.next_token, 0

    def take(self) -> A:
        """The next item; the position moves past it at once."""
        item = self.buffer.popleft()
        self.skip += 1
        if not self.buffer:
            if self.next_token is not None:
                self.token, self.skip = self.next_token, 0
            if self.ahead is not None:
                page, self.ahead = self.ahead, None
                self.land(page)
        return item


def _order(item: Activity) -> tuple[bool, Any, int]:
    """Merge order: by activity date (undated last), then id."""
    return (item.activity_date is None, item.activity_date, item.id or 0)


def _read_ahead(streams: Sequence[_Stream[A]], room: int) -> list[_Stream[A]]:
    """Up to ``room`` streams whose next page to read ahead: those whose page in hand ends
    earliest, as the merge will run them dry first."""
    if room <= 0:
        return []
    candidates = [s for s in streams if s.can_read_ahead]
    return sorted(candidates, key=lambda s: _order(s.buffer[-1]))[:room]


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

    async def _refill(self) -> bool:
        """Call Marketo for every stream that ran dry (and, beside them, read ahead for the
        streams that will run dry soonest); False when nothing is left to hand out."""
        if self._streams is None:
            positions = await self._start()
            self._streams = [
                _Stream(query, token, skip)
                for query, (token, skip) in zip(self._queries, positions, strict=True)
            ]
        streams = self._streams
        dry = [s for s in streams if s.dry]
        if dry:
            await self._read_round(dry, _read_ahead(streams, MAX_CALLS_AT_ONCE - len(dry)))
        return any(s.buffer for s in streams)

    async def _read_round(self, dry: list[_Stream[A]], ahead: list[_Stream[A]]) -> None:
        async def position(stream: _Stream[A]) -> None:
            stream.land(await _read(self._fetch, stream.query, stream.token, stream.skip, parse))

        async def next_page(stream: _Stream[A]) -> None:
            assert stream.next_token is not None
            stream.ahead = await _read(self._fetch, stream.query, stream.next_token, 0, parse)

        parse = self._parse
        if len(dry) == 1 and not ahead:
            await position(dry[0])
            return
        # Streams are independent token chains: their pages can come at once. The first
        # failure comes out as itself, not inside an exception group.
        failures: list[Exception] = []

        async def run(read: Callable[[_Stream[A]], Awaitable[None]], stream: _Stream[A]) -> None:
            try:
                await read(stream)
            except Exception as error:
                failures.append(error)

        async with anyio.create_task_group() as group:
            for stream in dry:
                group.start_soon(run, position, stream)
            for stream in ahead:
                group.start_soon(run, next_page, stream)
        if failures:
            raise failures[0]

    def _drain(self) -> Generator[A, None, None]:
        """The items in hand, in merge order, until a stream runs dry (the position moves
        past each item the moment it is handed out)."""
        assert self._streams is not None
        streams = self._streams
        if len(streams) == 1:
            [stream] = streams
            while stream.buffer:
                yield stream.take()
            return
        heads = [(_order(s.buffer[0]), index) for index, s in enumerate(streams) if s.buffer]
        heapq.heapify(heads)
        while heads:
            _, index = heads[0]
            stream = streams[index]
            item = stream.take()
            if stream.buffer:
                heapq.heapreplace(heads, (_order(stream.buffer[0]), index))
            elif stream.more:
                yield item
                return  # its next items may come before the other streams' heads
            else:
                heapq.heappop(heads)
            yield item

    async def __aiter__(self) -> AsyncIterator[A]:
        while await self._refill():
            for item in self._drain():
                yield item

    async def pages(self) -> AsyncIterator[Page[A]]:
        """The items in pages: each page is what was handed out between two rounds of calls."""
        while await self._refill():
            yield Page(list(self._drain()), None, True)
        yield Page([], None, False)

    def __await__(self) -> Generator[Any, None, Page[A]]:
        return self.first_page().__await__()

    async def first_page(self) -> Page[A]:
        """The first page (the cursor then stands after it)."""
        return await first_of(self.pages())

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
