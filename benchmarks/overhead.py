"""Benchmark 2, client overhead: the same upsert with the limits off and no latency.

marketo_async (``client.leads.sync``, 10 calls in flight) against the least a client can do: a
hand-written httpx loop, 10 workers posting the same 300-record batches with one token, only
checking ``success``. Runs alternate between the two. Besides records/s (which includes the
server's time, the same for both) we report each side's CPU seconds in this process: the
server runs in another process, so that is the client's own cost.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import httpx

from ._common import (
    BATCH,
    IN_FLIGHT,
    Context,
    Row,
    Stopwatch,
    bench_client,
    median,
    quiet_gc,
    spread,
    unlimited_limits,
)
from ._data import lead_rows
from ._server import CLIENT_ID, CLIENT_SECRET

__all__ = ["raw_token", "run"]

NAME = "2 client overhead"


async def raw_token(http: httpx.AsyncClient) -> str:
    response = await http.get(
        "/identity/oauth/token",
        params={
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


async def _raw_loop(base_url: str, rows: list[dict[str, Any]]) -> int:
    """The floor: 10 workers, each posting the next 300 records until none are left."""
    applied = 0
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    async with httpx.AsyncClient(base_url=base_url, limits=limits) as http:
        headers = {"Authorization": f"Bearer {await raw_token(http)}"}
        batches: Iterator[list[dict[str, Any]]] = (
            rows[start : start + BATCH] for start in range(0, len(rows), BATCH)
        )

        async def worker() -> None:
            nonlocal applied
            for batch in batches:
                response = await http.post(
                    "/rest/v1/leads.json",
                    headers=headers,
                    json={"action": "createOrUpdate", "lookupField": "email", "input": batch},
                )
                body = response.json()
                if not body.get("success"):
                    raise RuntimeError(f"raw loop: call failed: {body.get('errors')}")
                applied += len(body["result"])

        async with anyio.create_task_group() as tg:
            for _ in range(IN_FLIGHT):
                tg.start_soon(worker)
    return applied


async def _client_run(ctx: Context, rows: list[dict[str, Any]]) -> dict[str, Any]:
    ctx.server.reset()
    with quiet_gc(), Stopwatch() as watch:
        async with bench_client(ctx.server, unlimited_limits()) as client:
            report = await client.leads.sync(rows, action="createOrUpdate", lookup_field="email")
    if not report.ok:
        raise RuntimeError(f"marketo_async run did not apply every record:\n{report}")
    return {
        "wall_s": watch.wall,
        "cpu_s": watch.cpu,
        "records_per_s": len(rows) / watch.wall,
        "calls": ctx.server.stats()["calls"],
    }


async def _raw_run(ctx: Context, rows: list[dict[str, Any]]) -> dict[str, Any]:
    ctx.server.reset()
    with quiet_gc(), Stopwatch() as watch:
        applied = await _raw_loop(ctx.server.url, rows)
    if applied != len(rows):
        raise RuntimeError(f"raw loop: {applied} results for {len(rows)} records")
    return {
        "wall_s": watch.wall,
        "cpu_s": watch.cpu,
        "records_per_s": len(rows) / watch.wall,
        "calls": ctx.server.stats()["calls"],
    }


def run(ctx: Context) -> tuple[list[Row], dict[str, Any]]:
    settings = ctx.settings
    # Unique emails: with repeats the raw loop would race itself into 1007 skips.
    rows = list(lead_rows(settings.upsert_leads, repeats=False))
    anyio.run(_raw_run, ctx, rows)  # warm-up: imports, the server's first calls
    client_runs: list[dict[str, Any]] = []
    raw_runs: list[dict[str, Any]] = []
    for _ in range(settings.repeat):
        raw_runs.append(anyio.run(_raw_run, ctx, rows))
        client_runs.append(anyio.run(_client_run, ctx, rows))
    client_rps = median([r["records_per_s"] for r in client_runs])
    raw_rps = median([r["records_per_s"] for r in raw_runs])
    client_cpu = median([r["cpu_s"] for r in client_runs])
    raw_cpu = median([r["cpu_s"] for r in raw_runs])
    n = len(rows)
    rows_out = [
        Row(
            benchmark=NAME,
            measure="records/s, raw loop / marketo_async",
            value=f"{client_rps:,.0f}/s",
            baseline=f"{raw_rps:,.0f}/s",
            ratio=raw_rps / client_rps,
            target="<= 1.25",
            note=f"{n:,} leads, 10 in flight, no limits, no latency"
            + (
                f"; runs {spread([r['records_per_s'] for r in client_runs])}/s"
                if len(client_runs) > 1
                else ""
            ),
        ),
        Row(
            benchmark=NAME,
            measure="client CPU per 1,000 records",
            value=f"{client_cpu / n * 1e6:.1f} ms",
            baseline=f"{raw_cpu / n * 1e6:.1f} ms",
            ratio=client_cpu / raw_cpu,
            note="CPU seconds in the client process (the server runs in another)",
        ),
    ]
    details = {
        "records": n,
        "client_records_per_s": client_rps,
        "raw_records_per_s": raw_rps,
        "ratio_records_per_s": raw_rps / client_rps,
        "client_cpu_s": client_cpu,
        "raw_cpu_s": raw_cpu,
        "ratio_cpu": client_cpu / raw_cpu,
        "client_runs": client_runs,
        "raw_runs": raw_runs,
    }
    return rows_out, details
