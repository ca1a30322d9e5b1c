"""Benchmark 9, activities: reading one range of activities through the REST API
(``client.activities.list``) and through Bulk Extract (``client.bulk_export.activities``), in
the same run, against the benchmark server with Marketo's limits and latency (time-scaled).

The REST read's floor: Marketo gives at most 300 activities a call, so ``1 + ceil(n / 300)``
calls (the paging-token call, then full pages), and 100 calls per period; one token chain is
read a page after another, so a call's latency counts once per page too. We report activities
per second, the calls spent against that minimum, and the 606/615 the server sent (none).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import anyio

from ._common import WINDOW_CALLS, Context, Row, Stopwatch, bench_client, scaled_limits

__all__ = ["run"]

NAME = "9 activities"
ACTIVITIES = 100_000
QUICK_ACTIVITIES = 20_000
PAGE = 300
START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
STEP_S = 10.0  # one activity every 10 s: 100,000 span about 11.6 days (one Bulk Extract job)


def _reset(ctx: Context, count: int) -> None:
    settings = ctx.settings
    ctx.server.reset(
        calls=WINDOW_CALLS,
        period=settings.period,
        concurrency=10,
        latency=settings.latency,
        bulk_time_scale=settings.time_scale,
    )
    ctx.server.seed_activities(count, start=START.isoformat(), step_s=STEP_S)


async def _rest(ctx: Context) -> int:
    settings = ctx.settings
    async with bench_client(ctx.server, scaled_limits(settings), settings.time_scale) as client:
        read = 0
        async for _ in client.activities.list([1], since=START):
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


def _measure(ctx: Context, count: int, read: Any) -> dict[str, Any]:
    _reset(ctx, count)
    with Stopwatch() as watch:
        got = anyio.run(read)
    if got != count:
        raise RuntimeError(f"read {got:,} activities, expected {count:,}")
    stats = ctx.server.stats()
    return {
        "wall_s": watch.wall,
        "cpu_s": watch.cpu,
        "calls": stats["calls"],
        "errors": stats["errors"],
        "max_calls_in_window": stats["max_calls_in_window"],
    }


def run(ctx: Context) -> tuple[list[Row], dict[str, Any]]:
    settings = ctx.settings
    count = QUICK_ACTIVITIES if settings.quick else ACTIVITIES
    end = START + dt.timedelta(seconds=STEP_S * count)
    rest = _measure(ctx, count, lambda: _rest(ctx))
    bulk = _measure(ctx, count, lambda: _bulk(ctx, end))
    minimum_calls = 1 + math.ceil(count / PAGE)
    # Sequential pages: each call's latency once; the window allows 100 calls per period.
    floor_s = max(
        minimum_calls * settings.latency,
        (math.ceil(minimum_calls / WINDOW_CALLS) - 1) * settings.period + settings.latency,
    )
    limited = sum(
        rest["errors"].get(code, 0) + bulk["errors"].get(code, 0) for code in ("606", "615")
    )
    note = (
        f"{count:,} activities of one type, time factor {settings.time_scale:g} (period "
        f"{settings.period:g} s, latency {settings.latency:g} s); calls exclude identity"
    )
    rows = [
        Row(
            benchmark=NAME,
            measure="activities/s (REST)",
            value=f"{count / rest['wall_s']:,.0f}",
            baseline=f"{count / floor_s:,.0f} (floor)",
            ratio=floor_s / rest["wall_s"],
            note=f"floor: {minimum_calls} calls a page after another; " + note,
        ),
        Row(
            benchmark=NAME,
            measure="API calls (REST)",
            value=f"{rest['calls']:,}",
            baseline=f"{minimum_calls:,} (1 + ceil(n/300))",
            ratio=rest["calls"] / minimum_calls,
            target="<= 1.0",
            note=f"{rest['calls'] / count:.5f} calls per activity",
        ),
        Row(
            benchmark=NAME,
            measure="REST vs Bulk Extract",
            value=f"{rest['wall_s']:.1f} s, {rest['calls']:,} calls (REST)",
            baseline=f"{bulk['wall_s']:.1f} s, {bulk['calls']:,} calls (bulk)",
            ratio=rest["wall_s"] / bulk["wall_s"],
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
    return rows, {"activities": count, "rest": rest, "bulk": bulk, "minimum_calls": minimum_calls}
