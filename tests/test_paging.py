from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from marketo_async._paging import NO_ASSETS_FOUND, Pager, offset_pages, token_pages

pytestmark = pytest.mark.anyio


class TokenServer:
    def __init__(self, total: int, page: int, *, omit_more_on_last: bool = False) -> None:
        self.total = total
        self.page = page
        self.omit_more_on_last = omit_more_on_last
        self.queries: list[dict[str, Any]] = []

    async def fetch(self, params: Mapping[str, Any]) -> dict[str, Any]:
        self.queries.append(dict(params))
        start = int(params.get("nextPageToken", "0"))
        end = min(start + self.page, self.total)
        body: dict[str, Any] = {"success": True, "result": [{"n": i} for i in range(start, end)]}
        # Marketo hands out a token even on the last page; only moreResult tells.
        body["nextPageToken"] = str(end)
        if end < self.total:
            body["moreResult"] = True
        elif not self.omit_more_on_last:
            body["moreResult"] = False
        return body


def parse(item: dict[str, Any]) -> int:
    return int(item["n"])


async def test_token_pager_follows_next_page_token_until_more_result_is_false() -> None:
    server = TokenServer(total=650, page=300)
    pager = Pager(lambda: token_pages(server.fetch, {"batchSize": 300}, parse))
    items = [n async for n in pager]
    assert items == list(range(650))
    assert [q.get("nextPageToken") for q in server.queries] == [None, "300", "600"]
    assert all(q["batchSize"] == 300 for q in server.queries)


async def test_missing_more_result_means_no_more_pages() -> None:
    server = TokenServer(total=10, page=300, omit_more_on_last=True)
    pager = Pager(lambda: token_pages(server.fetch, {}, parse))
    assert await pager.collect() == list(range(10))
    assert len(server.queries) == 1


async def test_awaiting_a_pager_fetches_only_the_first_page() -> None:
    server = TokenServer(total=1000, page=300)
    page = await Pager(lambda: token_pages(server.fetch, {}, parse))
    assert list(page) == list(range(300))
    assert page.more and page.next_page_token == "300"
    assert len(page) == 300 and page[0] == 0
    assert len(server.queries) == 1


async def test_collect_stops_at_limit() -> None:
    server = TokenServer(total=1000, page=300)
    assert len(await Pager(lambda: token_pages(server.fetch, {}, parse)).collect(limit=301)) == 301
    assert len(server.queries) == 2


class OffsetServer:
    def __init__(self, total: int, *, warn_past_end: bool = True) -> None:
        self.total = total
        self.warn_past_end = warn_past_end
        self.queries: list[dict[str, Any]] = []

    async def fetch(self, params: Mapping[str, Any]) -> dict[str, Any]:
        self.queries.append(dict(params))
        offset, size = params["offset"], params["maxReturn"]
        rows = [{"n": i} for i in range(offset, min(offset + size, self.total))]
        if not rows and self.warn_past_end:
            return {"success": True, "errors": [], "warnings": [NO_ASSETS_FOUND]}
        return {"success": True, "errors": [], "warnings": [], "result": rows}


@pytest.mark.parametrize(("total", "calls"), [(0, 1), (150, 1), (200, 2), (450, 3)])
async def test_offset_pager_stops_on_short_page_or_no_assets_warning(
    total: int, calls: int
) -> None:
    server = OffsetServer(total)
    pager = Pager(lambda: offset_pages(server.fetch, {"folder": "x"}, parse))
    assert await pager.collect() == list(range(total))
    assert len(server.queries) == calls
    assert [q["offset"] for q in server.queries] == [200 * i for i in range(calls)]
    assert all(q["maxReturn"] == 200 and q["folder"] == "x" for q in server.queries)


async def test_offset_pager_first_page_of_nothing_carries_the_warning() -> None:
    page = await Pager(lambda: offset_pages(OffsetServer(0).fetch, {}, parse))
    assert list(page) == [] and page.warnings == (NO_ASSETS_FOUND,) and not page.more


async def test_offset_pager_refuses_a_page_size_over_200() -> None:
    with pytest.raises(ValueError, match="max_return"):
        await Pager(lambda: offset_pages(OffsetServer(0).fetch, {}, parse, max_return=201))
