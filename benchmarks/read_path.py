"""Benchmark 5, read path: paging 100,000 leads out of a static list.

``client.leads.by_list`` (typed ``Lead`` objects) and ``client.static_lists.leads`` (plain dicts)
against a raw httpx loop that follows ``nextPageToken`` and only decodes the JSON. Same fields,
300 per page, limits off, no latency; runs alternate. Records/s include the server's time (the
same for all three); the client's own CPU seconds are reported beside them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import httpx

from ._common import Context, Row, Stopwatch, bench_client, median, quiet_gc, unlimited_limits
from .overhead import raw_token

__all__ = ["run"]

NAME = "5 read path"
FIELDS = ["email", "firstName", "lastName", "company", "title", "city"]
PAGE = 300


async def _raw(base_url: str, list_id: int) -> int:
    read = 0
    async with httpx.AsyncClient(base_url=base_url) as http:
        headers = {"Authorization": f"Bearer {await raw_token(http)}"}
        params: dict[str, Any] = {"batchSize": PAGE, "fields": ",".join(FIELDS)}
        while True:
            response = await http.get(
                f"/rest/v1/lists/{list_id}/leads.json", params=params, headers=headers
            )
            body = response.json()
            if not body.get("success"):
                raise RuntimeError(f"raw read: call failed: {body.get('errors')}")
            read += len(body.get("result", ()))
            token = body.get("nextPageToken")
            if not body.get("moreResult") or not token:
                return read
            params["nextPageToken"] = token


async def _count(items: AsyncIterator[Any]) -> int:
    read = 0
    async for _ in items:
        read += 1
    return read


async def _typed(ctx: Context, list_id: int) -> int:
    async with bench_client(ctx.server, unlimited_limits()) as client:
        return await _count(aiter(client.leads.by_list(list_id, fields=FIELDS, batch_size=PAGE)))


async def _dicts(ctx: Context, list_id: int) -> int:
    async with bench_client(ctx.server, unlimited_limits()) as client:
        pager = client.static_lists.leads(list_id, fields=FIELDS, batch_size=PAGE)
        return await _count(aiter(pager))


async def _timed(read: Callable[[], Awaitable[int]], expected: int) -> dict[str, Any]:
    with quiet_gc(), Stopwatch() as watch:
        count = await read()
    if count != expected:
        raise RuntimeError(f"read {count} leads, expected {expected}")
    return {"wall_s": watch.wall, "cpu_s": watch.cpu, "records_per_s": count / watch.wall}


def run(ctx: Context) -> tuple[list[Row], dict[str, Any]]:
    settings = ctx.settings
    n = settings.read_leads
    ctx.server.reset()
    list_id = ctx.server.seed_list(n)
    url = ctx.server.url
    readers: dict[str, Callable[[], Awaitable[int]]] = {
        "raw": lambda: _raw(url, list_id),
        "leads.by_list": lambda: _typed(ctx, list_id),
        "static_lists.leads": lambda: _dicts(ctx, list_id),
    }
    anyio.run(_timed, readers["raw"], n)  # warm-up
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in readers}
    for _ in range(settings.repeat):
        for name, read in readers.items():
            runs[name].append(anyio.run(_timed, read, n))
    rps = {name: median([r["records_per_s"] for r in found]) for name, found in runs.items()}
    cpu = {name: median([r["cpu_s"] for r in found]) for name, found in runs.items()}
    rows: list[Row] = []
    for name in ("leads.by_list", "static_lists.leads"):
        rows.append(
            Row(
                benchmark=NAME,
                measure=f"records/s, raw loop / {name}",
                value=f"{rps[name]:,.0f}/s",
                baseline=f"{rps['raw']:,.0f}/s",
                ratio=rps["raw"] / rps[name],
                note=f"{n:,} leads, {len(FIELDS)} fields, 300 a page; client CPU per 1,000: "
                f"{cpu[name] / n * 1e6:.1f} ms vs {cpu['raw'] / n * 1e6:.1f} ms",
            )
        )
    details = {
        "records": n,
        "fields": FIELDS,
        "records_per_s": rps,
        "client_cpu_s": cpu,
        "ratios": {name: rps["raw"] / rps[name] for name in rps},
        "runs": runs,
    }
    return rows, details
