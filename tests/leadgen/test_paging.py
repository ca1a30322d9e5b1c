"""Date windows and offset pages return every record once, however the server pages."""

from __future__ import annotations

import collections
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import anyio
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from marketo_async.leadgen._paging import date_range_pages, offset_pages

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)


def _identity(raw: Mapping[str, Any]) -> str:
    return str(raw["id"])


@settings(max_examples=150, deadline=None)
@given(
    seconds=st.lists(st.integers(0, 600), max_size=200),
    page=st.integers(1, 40),
    mode=st.sampled_from(["offset", "capped", "unlimited"]),
)
def test_every_record_of_a_window_comes_once(seconds: list[int], page: int, mode: str) -> None:
    per_second = collections.Counter(seconds)
    # A server that neither pages nor takes more than a page cannot give more than a page
    # of one second; nobody can read those.
    assume(mode != "capped" or max(per_second.values(), default=0) <= page)
    records = [{"id": str(i), "at": T0 + dt.timedelta(seconds=s)} for i, s in enumerate(seconds)]
    calls = []

    async def fetch(
        low: dt.datetime, high: dt.datetime, offset: int, limit: int
    ) -> Sequence[Mapping[str, Any]]:
        calls.append((low, high, offset))
        rows = [r for r in records if low <= r["at"] <= high]
        if mode == "offset":
            return rows[offset : offset + limit]
        if mode == "capped":
            return rows[:page]
        return rows

    async def collect() -> list[str]:
        found = []
        pages = date_range_pages(
            fetch, _identity, T0, T0 + dt.timedelta(seconds=600), page_size=page
        )
        async for got in pages:
            found.extend(got.items)
        return found

    found = anyio.run(collect)
    assert sorted(found) == sorted(r["id"] for r in records)
    assert len(found) == len(set(found))
    # A full page is split at most log2(600 s) ~ 10 times, two calls (and a probe) a split.
    assert len(calls) <= 3 + 3 * 11 * (len(records) // page + 1)


@settings(max_examples=100, deadline=None)
@given(total=st.integers(0, 120), page=st.integers(1, 30), moved=st.integers(0, 200))
def test_offset_pages_drop_a_record_the_listing_repeats(total: int, page: int, moved: int) -> None:
    listing = [{"id": str(i)} for i in range(total)]
    fetched = 0

    async def fetch(offset: int, limit: int) -> Sequence[Mapping[str, Any]]:
        nonlocal fetched
        fetched += 1
        if fetched == 2 and listing:
            # Between pages one record is updated and moves to the end: it comes again.
            listing.append(listing.pop(moved % len(listing)))
        return listing[offset : offset + limit]

    async def collect() -> list[str]:
        return [item async for p in offset_pages(fetch, _identity, page_size=page) for item in p]

    found = anyio.run(collect)
    assert len(found) == len(set(found))
    assert len(found) >= total - 1  # one record may be skipped by the shift, none repeated
