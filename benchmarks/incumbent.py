"""Benchmark 3, the incumbent: ``marketorestpython`` upserting the same leads, same server.

Used the way its README shows: ``mc.execute(method='create_update_leads', leads=chunk,
action='createOrUpdate', lookupField='email')`` on chunks of 300, one after another. Teams that
need it faster run those calls from threads, so we also measure it driven by 10 threads (one
shared client), which is where Marketo's duplicate race bites.

Time scaling: the server's period and latency are scaled by the run's time factor, so the
incumbent's own clock is scaled too, or it would be judged on a different world: its built-in
throttle (at most one call per 0.2 s, i.e. 100 calls per 20 s) and its ``backoff`` retry sleeps
see a clock running ``1 / time_scale`` times faster. Nothing else of it is changed; its host is
pointed at the server through its ``host`` attribute.
"""

from __future__ import annotations

import contextlib
import importlib
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ._common import BATCH, IN_FLIGHT, Context, Row, Stopwatch, median, quiet_gc, spread
from ._data import lead_rows, repeated_rows
from ._server import CLIENT_ID, CLIENT_SECRET, MUNCHKIN_ID

__all__ = ["run"]

NAME = "3 incumbent"


class _ScaledClock:
    """A stand-in for the ``time`` module whose seconds last ``scale`` real seconds."""

    def __init__(self, scale: float) -> None:
        self._scale = scale

    def time(self) -> float:
        return time.time() / self._scale

    def sleep(self, seconds: float) -> None:
        time.sleep(max(seconds, 0.0) * self._scale)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


@contextlib.contextmanager
def _scaled_time(scale: float) -> Iterator[None]:
    """Scale the clocks marketorestpython waits on (its throttle and backoff's sleeps)."""
    modules = [
        importlib.import_module(name)
        for name in ("marketorestpython.helper.http_lib", "backoff._sync")
    ]
    saved = [module.time for module in modules]
    try:
        for module in modules:
            setattr(module, "time", _ScaledClock(scale))  # noqa: B010
        yield
    finally:
        for module, original in zip(modules, saved, strict=True):
            setattr(module, "time", original)  # noqa: B010


def _incumbent(base_url: str) -> Any:
    client_module = importlib.import_module("marketorestpython.client")
    mc = client_module.MarketoClient(MUNCHKIN_ID, CLIENT_ID, CLIENT_SECRET)
    mc.host = base_url  # it builds https://{munchkin}.mktorest.com; point it at the server
    return mc


def _chunks(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [rows[start : start + BATCH] for start in range(0, len(rows), BATCH)]


def _upsert(mc: Any, chunk: list[dict[str, Any]]) -> int:
    """One README-style call; returns the records that did not apply (a raise: all of them)."""
    try:
        result = mc.execute(
            method="create_update_leads", leads=chunk, action="createOrUpdate", lookupField="email"
        )
    except Exception:
        return len(chunk)
    return sum(1 for entry in result if entry.get("status") == "skipped")


def _sequential(mc: Any, chunks: list[list[dict[str, Any]]]) -> int:
    return sum(_upsert(mc, chunk) for chunk in chunks)


def _threaded(mc: Any, chunks: list[list[dict[str, Any]]]) -> int:
    with ThreadPoolExecutor(max_workers=IN_FLIGHT) as pool:
        return sum(pool.map(lambda chunk: _upsert(mc, chunk), chunks))


def _measure(
    ctx: Context,
    drive: Callable[[Any, list[list[dict[str, Any]]]], int],
    rows: list[dict[str, Any]],
) -> dict[str, Any]:
    settings = ctx.settings
    ctx.server.reset(calls=100, period=settings.period, concurrency=10, latency=settings.latency)
    chunks = _chunks(rows)
    with _scaled_time(settings.time_scale), quiet_gc(), Stopwatch() as watch:
        mc = _incumbent(ctx.server.url)
        not_applied = drive(mc, chunks)
    stats = ctx.server.stats()
    return {
        "wall_s": watch.wall,
        "calls": stats["calls"],
        "errors": stats["errors"],
        "606": stats["errors"].get("606", 0),
        "615": stats["errors"].get("615", 0),
        "records_not_applied": not_applied,
        "skip_reasons": stats["reasons"],
        "leads_stored": stats["leads"],
        "duplicate_leads": stats["duplicate_leads"],
    }


def _codes(runs: list[dict[str, Any]]) -> str:
    """Error codes the server sent, summed over the runs: "606 x100, 600 x100"."""
    total: dict[str, int] = {}
    for one in runs:
        for code, count in one["errors"].items():
            total[code] = total.get(code, 0) + count
    return ", ".join(f"{code} x{count}" for code, count in sorted(total.items())) or "none"


def _ours(ctx: Context) -> list[dict[str, Any]]:
    """marketo_async on the same leads, same limits (benchmark 1's runs when it ran)."""
    from .budget import measure_marketo_async

    return measure_marketo_async(ctx, repeats=True)


def run(ctx: Context) -> tuple[list[Row], dict[str, Any]]:
    settings = ctx.settings
    ours = _ours(ctx)
    ours_wall = median([r["wall_s"] for r in ours])
    ours_duplicates = max(r["duplicate_leads"] for r in ours)
    rows_in = list(lead_rows(settings.upsert_leads, repeats=True))
    rows: list[Row] = []
    details: dict[str, Any] = {
        "records": settings.upsert_leads,
        "repeated_rows": repeated_rows(settings.upsert_leads),
        "marketo_async_wall_s": ours_wall,
        "marketo_async_duplicate_leads": ours_duplicates,
    }
    for label, drive in (("sequential (README)", _sequential), ("10 threads", _threaded)):
        runs = [_measure(ctx, drive, rows_in) for _ in range(settings.incumbent_repeat)]
        wall = median([r["wall_s"] for r in runs])
        duplicates = max(r["duplicate_leads"] for r in runs)
        not_applied = max(r["records_not_applied"] for r in runs)
        errors_606 = sum(r["606"] for r in runs)
        errors_615 = sum(r["615"] for r in runs)
        rows.append(
            Row(
                benchmark=NAME,
                measure=f"{label}: wall, vs marketo_async",
                value=f"{wall:.2f} s",
                baseline=f"{ours_wall:.2f} s",
                ratio=wall / ours_wall,
                note=(
                    f"{not_applied:,} of {settings.upsert_leads:,} records not applied"
                    if not_applied
                    else f"all {settings.upsert_leads:,} records applied"
                )
                + (f"; runs {spread([r['wall_s'] for r in runs])} s" if len(runs) > 1 else ""),
            )
        )
        rows.append(
            Row(
                benchmark=NAME,
                measure=f"{label}: duplicates, not applied, 606/615",
                value=f"{duplicates:,}, {not_applied:,}, {errors_606}/{errors_615}",
                baseline=f"{ours_duplicates}, 0, 0/0",
                note=f"server's error codes: {_codes(runs)}",
            )
        )
        details[label] = {
            "median_wall_s": wall,
            "ratio_vs_marketo_async": wall / ours_wall,
            "duplicate_leads_max": duplicates,
            "runs": runs,
        }
    return rows, details
