"""Benchmark 1, budget use: 60,000 leads through Marketo's limits, against the floor.

The server enforces 100 calls per period and 10 in flight; every call takes the latency. The
period (20 s), the latency (0.5 s) and the client's window margin are all multiplied by one
time factor. The client is ``client.leads.sync`` with the same limits; we report the median
wall time against two floors (see :func:`~benchmarks._common.floor_exact`), the 606/615 the
server sent, and the duplicate leads left behind.
"""

from __future__ import annotations

import math
from typing import Any

import anyio

from ._common import (
    BATCH,
    Context,
    Row,
    Settings,
    Stopwatch,
    bench_client,
    floor_exact,
    floor_issue,
    median,
    quiet_gc,
    scaled_limits,
    spread,
)
from ._data import lead_rows, repeated_rows

__all__ = ["measure_marketo_async", "run"]

NAME = "1 budget use"


async def _one_run(ctx: Context, rows: list[dict[str, Any]]) -> dict[str, Any]:
    settings = ctx.settings
    ctx.server.reset(calls=100, period=settings.period, concurrency=10, latency=settings.latency)
    client = bench_client(ctx.server, scaled_limits(settings), settings.time_scale)
    with quiet_gc(), Stopwatch() as watch:
        async with client:
            report = await client.leads.sync(rows, action="createOrUpdate", lookup_field="email")
    stats = ctx.server.stats()
    return {
        "wall_s": watch.wall,
        "client_cpu_s": watch.cpu,
        "calls": stats["calls"],
        "errors": stats["errors"],
        "606": stats["errors"].get("606", 0),
        "615": stats["errors"].get("615", 0),
        "max_in_flight": stats["max_in_flight"],
        "max_calls_in_window": stats["max_calls_in_window"],
        "client_retries": client.stats.retries,
        "leads_stored": stats["leads"],
        "duplicate_leads": stats["duplicate_leads"],
        "outcomes": dict(report.counts),
    }


def measure_marketo_async(ctx: Context, *, repeats: bool) -> list[dict[str, Any]]:
    """marketo_async's runs under the scaled limits (cached: benchmark 3 compares with them)."""
    key = f"budget_runs_repeats={repeats}"
    cached: list[dict[str, Any]] | None = ctx.shared.get(key)
    if cached is not None:
        return cached
    rows = list(lead_rows(ctx.settings.upsert_leads, repeats=repeats))
    runs = [anyio.run(_one_run, ctx, rows) for _ in range(ctx.settings.repeat)]
    ctx.shared[key] = runs
    return runs


def floors(settings: Settings, records: int) -> tuple[int, float, float]:
    calls = math.ceil(records / BATCH)
    return (
        calls,
        floor_issue(calls, settings.period, settings.latency),
        floor_exact(calls, settings.period, settings.latency),
    )


def _rows_for(
    settings: Settings, label: str, runs: list[dict[str, Any]]
) -> tuple[list[Row], dict[str, Any]]:
    walls = [r["wall_s"] for r in runs]
    wall = median(walls)
    calls, issue, exact = floors(settings, settings.upsert_leads)
    errors_606 = sum(r["606"] for r in runs)
    errors_615 = sum(r["615"] for r in runs)
    duplicates = max(r["duplicate_leads"] for r in runs)
    made = sorted(r["calls"] for r in runs)
    rows = [
        Row(
            benchmark=NAME,
            measure=f"{label}: wall vs floor (issue formula)",
            value=f"{wall:.2f} s",
            baseline=f"{issue:.2f} s",
            ratio=wall / issue,
            target="<= 1.1",
            note=f"runs {spread(walls)} s" if len(walls) > 1 else "",
        ),
        Row(
            benchmark=NAME,
            measure=f"{label}: wall vs floor (exact)",
            value=f"{wall:.2f} s",
            baseline=f"{exact:.2f} s",
            ratio=wall / exact,
            target="<= 1.1",
            note=f"calls made {made[0]}-{made[-1]} (least possible {calls})",
        ),
        Row(
            benchmark=NAME,
            measure=f"{label}: 606 / 615, duplicates",
            value=f"{errors_606} / {errors_615}, {duplicates}",
            baseline="0 / 0, 0",
            target="0 / 0, 0",
            ok=errors_606 == errors_615 == duplicates == 0,
            note=f"606/615 summed over {len(runs)} runs; most calls in one period "
            f"{max(r['max_calls_in_window'] for r in runs)}, most in flight "
            f"{max(r['max_in_flight'] for r in runs)}",
        ),
    ]
    details = {
        "median_wall_s": wall,
        "ratio_issue_floor": wall / issue,
        "ratio_exact_floor": wall / exact,
        "606_total": errors_606,
        "615_total": errors_615,
        "duplicate_leads_max": duplicates,
        "runs": runs,
    }
    return rows, details


def run(ctx: Context) -> tuple[list[Row], dict[str, Any]]:
    settings = ctx.settings
    calls, issue, exact = floors(settings, settings.upsert_leads)
    rows: list[Row] = []
    details: dict[str, Any] = {
        "records": settings.upsert_leads,
        "time_scale": settings.time_scale,
        "period_s": settings.period,
        "latency_s": settings.latency,
        "window_margin_s": scaled_limits(settings).window_margin,
        "min_calls": calls,
        "floor_issue_s": issue,
        "floor_exact_s": exact,
    }
    repeated = repeated_rows(settings.upsert_leads)
    for label, repeats, key in (
        ("unique emails", False, "unique_emails"),
        (f"{repeated:,} repeated emails", True, "repeated_emails"),
    ):
        more_rows, more = _rows_for(settings, label, measure_marketo_async(ctx, repeats=repeats))
        rows += more_rows
        details[key] = more
    return rows, details
