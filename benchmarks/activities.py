"""Benchmark 9, activities: reading one range of activities through the REST API
(``client.activities.list``) against a plain httpx loop fetching the same pages one after
another, and through Bulk Extract (``client.bulk_export.activities``), in the same run, against
the benchmark server with Marketo's limits and latency (time-scaled).

The REST read's floor: Marketo gives at most 300 activities a call, so ``1 + ceil(n / 300)``
calls (the paging-token call, then full pages), and 100 calls per period; one token chain is
read a page after another, so a call's latency counts once per page too. The floor leaves out
the server's own time per page; the plain loop pays it like the client does, so the loop is the
like-for-like baseline. Several streams (more than 30 lead ids) are read in rounds of calls at
once; their baseline is the same loop reading the streams one after another. We report
activities per second, the calls spent against that minimum, and the 606/615 the server sent.
Runs alternate, in reverse order every other repetition; each figure is the median of the
repetitions.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx

from ._common import (
    WINDOW_CALLS,
    Context,
    Row,
    Stopwatch,
    bench_client,
    median,
    quiet_gc,
    scaled_limits,
    spread,
)
from .overhead import raw_token

__all__ = ["run"]

NAME = "9 activities"
ACTIVITIES = 30_000
QUICK_ACTIVITIES = 10_000
PAGE = 300
LEADS = 1_000  # the seeded activities belong to leads 1..1000, one after another
STREAM_LEADS = 30  # Marketo's lead ids per call: one stream per 30
MANY_LEADS = list(range(1, 301))  # 10 streams
START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
STEP_S = 10.0  # one activity every 10 s
ACTIVITIES_PATH = "/rest/v1/activities.json"

Read = Callable[[], Awaitable[int]]


def _seed(ctx: Context, count: int) -> None:
    settings = ctx.settings
    ctx.server.reset(
        calls=WINDOW_CALLS,
        period=settings.period,
        concurrency=10,
        latency=settings.latency,
        bulk_time_scale=settings.time_scale,
    )
    ctx.server.seed_activities(count, start=START.isoformat(), step_s=STEP_S)


async def _loop(url: str, lead_chunks: list[list[int]] | None) -> int:
    """The baseline: one paging token, then each stream's pages one after another, decoding
    the JSON and counting (no models, no merge, no cursor)."""
    read = 0
    async with httpx.AsyncClient(base_url=url, timeout=300.0) as http:
        headers = {"Authorization": f"Bearer {await raw_token(http)}"}
        answer = await http.get(
            "/rest/v1/activities/pagingtoken.json",
            params={"sinceDatetime": START.strftime("%Y-%m-%dT%H:%M:%SZ")},
            headers=headers,
        )
        start = answer.json()["nextPageToken"]
        chunks: list[list[int] | None] = [*lead_chunks] if lead_chunks else [None]
        for chunk in chunks:
            params: dict[str, Any] = {"activityTypeIds": "1", "nextPageToken": start}
            if chunk is not None:
                params["leadIds"] = ",".join(map(str, chunk))
            while True:
                body = (await http.get(ACTIVITIES_PATH, params=params, headers=headers)).json()
                if not body.get("success"):
                    raise RuntimeError(f"plain loop: call failed: {body.get('errors')}")
                read += len(body.get("result") or ())
                params["nextPageToken"] = body["nextPageToken"]
                if not body.get("moreResult"):
                    break
    return read


async def _rest(ctx: Context, lead_ids: list[int] | None) -> int:
    settings = ctx.settings
    async with bench_client(ctx.server, scaled_limits(settings), settings.time_scale) as client:
        read = 0
        async for _ in client.activities.list([1], since=START, lead_ids=lead_ids):
            read += 1
        return read


async def _bulk(ctx: Context, end: dt.datetime) -> int:
    settings = ctx.settings
    async with bench_client(ctx.server, scaled_limits(settings), settings.time_scale) as client:
        client.bulk_export.poll_interval = 60.0 * settings.time_scale
        client.bulk_export.max_poll_interval = 300.0 * settings.time_scale
        read = 0
        async for _ in client.bulk_export.activities(
            created_at=(START, end), activity_type_ids=[1]
        ):
            read += 1
        return read


def _measure(ctx: Context, read: Read, expected: int) -> dict[str, Any]:
    """One timed read; the server's calls and 606/615 during it (the log is read, not
    changed, so runs share one seeded server)."""
    before = ctx.server.stats()
    with quiet_gc(), Stopwatch() as watch:
        got = anyio.run(read)
    if got != expected:
        raise RuntimeError(f"read {got:,} activities, expected {expected:,}")
    after = ctx.server.stats()
    limited = sum(
        after["errors"].get(code, 0) - before["errors"].get(code, 0) for code in ("606", "615")
    )
    return {
        "wall_s": watch.wall,
        "cpu_s": watch.cpu,
        "calls": after["calls"] - before["calls"],
        "limited": limited,
        "max_in_flight": after["max_in_flight"],
    }


def _repeat(ctx: Context, readers: dict[str, tuple[Read, int]]) -> dict[str, list[dict[str, Any]]]:
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in readers}
    order = list(readers)
    for _ in range(ctx.settings.repeat):
        for name in order:
            read, expected = readers[name]
            runs[name].append(_measure(ctx, read, expected))
        order.reverse()  # each reader goes first as often as it goes last
    return runs


def _wall(found: list[dict[str, Any]]) -> float:
    return median([r["wall_s"] for r in found])


def _rate_row(
    measure: str, count: int, ours: list[dict[str, Any]], base: list[dict[str, Any]], note: str
) -> Row:
    walls = [r["wall_s"] for r in ours]
    return Row(
        benchmark=NAME,
        measure=measure,
        value=f"{count / _wall(ours):,.0f}/s",
        baseline=f"{count / _wall(base):,.0f}/s",
        ratio=_wall(ours) / _wall(base),
        target="<= 1.05",
        note=f"{note}; wall {_wall(ours):.2f} s vs {_wall(base):.2f} s"
        + (f" (runs {spread(walls)} s)" if len(walls) > 1 else ""),
    )


def _rows(ctx: Context, count: int, runs: dict[str, list[dict[str, Any]]]) -> list[Row]:
    settings = ctx.settings
    streams = len(MANY_LEADS) // STREAM_LEADS
    in_streams = count * len(MANY_LEADS) // LEADS
    minimum_calls = 1 + math.ceil(count / PAGE)
    calls = median([r["calls"] for r in runs["list"]])
    # Sequential pages: each call's latency once; the window allows 100 calls per period.
    floor_s = max(
        minimum_calls * settings.latency,
        (math.ceil(minimum_calls / WINDOW_CALLS) - 1) * settings.period + settings.latency,
    )
    limited = sum(r["limited"] for found in runs.values() for r in found)
    note = (
        f"{count:,} activities of one type, time factor {settings.time_scale:g} (period "
        f"{settings.period:g} s, latency {settings.latency:g} s); calls exclude identity"
    )
    bulk = runs["bulk"]
    return [
        _rate_row(
            "activities/s, list() vs plain loop",
            count,
            runs["list"],
            runs["loop"],
            "the loop: the same pages one after another, JSON only",
        ),
        Row(
            benchmark=NAME,
            measure="activities/s (REST) vs the floor",
            value=f"{count / _wall(runs['list']):,.0f}/s",
            baseline=f"{count / floor_s:,.0f}/s (floor)",
            ratio=floor_s / _wall(runs["list"]),
            note=f"floor: {minimum_calls} calls a page after another, latency only; " + note,
        ),
        _rate_row(
            f"activities/s, {len(MANY_LEADS)} lead ids ({streams} streams) vs loop",
            in_streams,
            runs["list, lead ids"],
            runs["loop, lead ids"],
            "the loop reads the streams one after another; list() in rounds of calls at once "
            f"(at most {max(r['max_in_flight'] for r in runs['list, lead ids'])} in flight seen)",
        ),
        Row(
            benchmark=NAME,
            measure="API calls (REST)",
            value=f"{calls:,.0f}",
            baseline=f"{minimum_calls:,} (1 + ceil(n/300))",
            ratio=calls / minimum_calls,
            target="<= 1.0",
            note=f"{calls / count:.5f} calls per activity",
        ),
        Row(
            benchmark=NAME,
            measure="REST vs Bulk Extract",
            value=f"{_wall(runs['list']):.1f} s, {calls:,.0f} calls (REST)",
            baseline=f"{_wall(bulk):.1f} s, {median([r['calls'] for r in bulk]):,.0f} calls (bulk)",
            ratio=_wall(runs["list"]) / _wall(bulk),
            note="the same range; Bulk Extract: job create, enqueue, status polls, file",
        ),
        Row(
            benchmark=NAME,
            measure="606/615 sent by the server",
            value=str(limited),
            target="0",
            ok=limited == 0,
        ),
    ]


def run(ctx: Context) -> tuple[list[Row], dict[str, Any]]:
    settings = ctx.settings
    count = QUICK_ACTIVITIES if settings.quick else ACTIVITIES
    end = START + dt.timedelta(seconds=STEP_S * count)
    chunks = [MANY_LEADS[i : i + STREAM_LEADS] for i in range(0, len(MANY_LEADS), STREAM_LEADS)]
    in_streams = count * len(MANY_LEADS) // LEADS
    url = ctx.server.url
    _seed(ctx, count)
    readers: dict[str, tuple[Read, int]] = {
        "loop": (lambda: _loop(url, None), count),
        "list": (lambda: _rest(ctx, None), count),
        "loop, lead ids": (lambda: _loop(url, chunks), in_streams),
        "list, lead ids": (lambda: _rest(ctx, MANY_LEADS), in_streams),
        "bulk": (lambda: _bulk(ctx, end), count),
    }
    runs = _repeat(ctx, readers)
    details = {
        "activities": count,
        "minimum_calls": 1 + math.ceil(count / PAGE),
        "wall_s": {name: _wall(found) for name, found in runs.items()},
        "runs": runs,
    }
    return _rows(ctx, count, runs), details
