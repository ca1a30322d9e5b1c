"""Benchmark 10, lanes: awaited calls answered in one round trip beside a saturating load.

The server enforces Marketo's real window (100 calls per 20 s, 10 in flight) and answers every
call in 0.5 s (``--quick``: all times x 0.1, and calls of 30 records, so that the client's and
the emulator's CPU time stays small beside the scaled latency). A 45,000-record
``leads.sync`` (150 calls; ``--quick``: 4,500 records, still 150 calls) runs
while a service awaits one ``leads.get`` a second, first on one client, then split across two
processes sharing a ``RedisLimiter`` (the sync in a child process). Each is run with lanes on
(the default) and off (``Lanes.off()``: one first-come, first-served queue). Reported: the
awaited calls' p50/p99/max, the sync's wall time against its floor (the least time its 150
calls can take under the limits, :func:`~benchmarks._common.floor_exact`), the 606/615 the
server sent; and, without the service, the sync with lanes on against lanes off.

``python -m benchmarks.lanes sync ...`` is the child process of the two-process runs.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import math
import shutil
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import anyio
import anyio.abc
import attrs
from anyio.streams.text import TextReceiveStream

from marketo_async import Lanes, MarketoClient, RateLimits, RetryPolicy
from marketo_async._transport import Limiter

from ._common import BATCH, IN_FLIGHT, MARKETO_LATENCY, MARKETO_PERIOD, Context, Row, floor_exact
from ._data import lead_rows
from ._server import CLIENT_ID, CLIENT_SECRET, REPO_ROOT

__all__ = ["run"]

NAME = "10 lanes"
RECORDS = 45_000
QUICK_BATCH = 30  # --quick: the same 150 calls, a tenth of the records each
FULL_SCALE = 1.0  # the real window: the targets are Marketo's seconds
QUICK_SCALE = 0.1
SERVICE_INTERVAL_S = 1.0  # one awaited call a second (time-scaled)
P99_TARGET_S = 1.2
MAX_TARGET_S = 2.0
WALL_TARGET = 1.15  # the sync against its floor, beside the service
ALONE_TARGET = 1.03  # the sync alone, lanes on against lanes off
WINDOW_MARGIN_S = 0.25  # time-scaled like the period
REDIS_START_TIMEOUT_S = 10.0


@attrs.frozen
class Shape:
    """One run's time scale and size."""

    scale: float
    records: int
    batch: int = BATCH

    @property
    def period(self) -> float:
        return MARKETO_PERIOD * self.scale

    @property
    def latency(self) -> float:
        return MARKETO_LATENCY * self.scale

    @property
    def floor(self) -> float:
        return floor_exact(math.ceil(self.records / self.batch), self.period, self.latency)

    def limits(self, lanes: bool) -> RateLimits:
        return RateLimits(
            calls=100,
            period=self.period,
            concurrency=IN_FLIGHT,
            daily_quota=None,
            window_margin=WINDOW_MARGIN_S * self.scale,
            lanes=Lanes() if lanes else Lanes.off(),
        )


def _client(url: str, shape: Shape, lanes: bool, limiter: Limiter | None = None) -> MarketoClient:
    return MarketoClient(
        base_url=url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        rate_limits=shape.limits(lanes),
        retry=RetryPolicy(wait_scale=shape.scale),
        limiter=limiter,
    )


async def _service(
    client: MarketoClient, lead_id: int, interval: float, done: anyio.Event, waits: list[float]
) -> None:
    """One awaited ``leads.get`` every ``interval`` seconds until ``done``, each timed."""

    async def one() -> None:
        asked = anyio.current_time()
        await client.leads.get(lead_id)
        waits.append(anyio.current_time() - asked)

    async with anyio.create_task_group() as tg:
        while not done.is_set():
            tg.start_soon(one)
            with anyio.move_on_after(interval):
                await done.wait()


async def _sync(
    client: MarketoClient, shape: Shape, rows: list[dict[str, Any]]
) -> tuple[float, dict[str, int]]:
    began = anyio.current_time()
    report = await client.leads.sync(
        rows, action="createOrUpdate", lookup_field="email", batch_size=shape.batch
    )
    return anyio.current_time() - began, dict(report.counts)


async def _one_client(ctx: Context, shape: Shape, *, lanes: bool, service: bool) -> dict[str, Any]:
    server = ctx.server
    server.reset(calls=100, period=shape.period, concurrency=IN_FLIGHT, latency=shape.latency)
    server.seed_list(1)  # lead 1, for the service to read
    waits: list[float] = []
    # Made before the service starts: their CPU time would delay its calls, not the limiter.
    rows = list(lead_rows(shape.records, repeats=False))
    async with _client(server.url, shape, lanes) as client:
        done = anyio.Event()
        async with anyio.create_task_group() as tg:
            if service:
                tg.start_soon(_service, client, 1, SERVICE_INTERVAL_S * shape.scale, done, waits)
            wall, counts = await _sync(client, shape, rows)
            done.set()
        yielded = getattr(client.limiter, "yielded_s", 0.0)
    return _result(server.stats(), wall, counts, waits, yielded)


def _result(
    stats: dict[str, Any],
    wall: float,
    counts: dict[str, int],
    waits: list[float],
    yielded: float,
) -> dict[str, Any]:
    return {
        "wall_s": wall,
        "counts": counts,
        "waits_s": waits,
        "yielded_s": yielded,
        "606": stats["errors"].get("606", 0),
        "615": stats["errors"].get("615", 0),
        "calls": stats["calls"],
        "max_in_flight": stats["max_in_flight"],
        "max_calls_in_window": stats["max_calls_in_window"],
    }


# ------------------------------------------------------------------ two processes, one Redis


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def _redis_server() -> Iterator[str | None]:
    """``redis://`` of a throwaway redis-server, or None when there is none to start."""
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + REDIS_START_TIMEOUT_S
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
                break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def _lines(process: anyio.abc.Process) -> Any:
    assert process.stdout is not None
    buffered = ""
    async for chunk in TextReceiveStream(process.stdout):
        buffered += chunk
        while "\n" in buffered:
            line, buffered = buffered.split("\n", 1)
            yield line


async def _two_processes(
    ctx: Context, shape: Shape, redis_url: str, *, lanes: bool
) -> dict[str, Any]:
    """The sync in a child process, the service here; both on one RedisLimiter key."""
    from marketo_async.redis import RedisLimiter

    server = ctx.server
    server.reset(calls=100, period=shape.period, concurrency=IN_FLIGHT, latency=shape.latency)
    server.seed_list(1)
    key = f"bench-{uuid.uuid4().hex[:8]}"
    command = [
        sys.executable,
        "-m",
        "benchmarks.lanes",
        "sync",
        "--server",
        server.url,
        "--redis",
        redis_url,
        "--key",
        key,
        "--records",
        str(shape.records),
        "--scale",
        str(shape.scale),
        "--batch",
        str(shape.batch),
        "--lanes",
        "on" if lanes else "off",
    ]
    waits: list[float] = []
    child: dict[str, Any] = {}
    limiter = RedisLimiter(redis_url, key=key, rate_limits=shape.limits(lanes))
    async with limiter, _client(server.url, shape, lanes, limiter) as client:
        async with await anyio.open_process(command, cwd=REPO_ROOT) as process:
            done = anyio.Event()
            async with anyio.create_task_group() as tg:
                async for line in _lines(process):
                    if line == "START":
                        interval = SERVICE_INTERVAL_S * shape.scale
                        tg.start_soon(_service, client, 1, interval, done, waits)
                    elif line.startswith("{"):
                        child = json.loads(line)
                        break
                done.set()
            await process.wait()
        if not child:
            raise RuntimeError(
                f"the sync process ended without a result (status {process.returncode})"
            )
    return _result(server.stats(), child["wall_s"], child["counts"], waits, child["yielded_s"])


async def _child_sync(args: argparse.Namespace) -> None:
    from marketo_async.redis import RedisLimiter

    shape = Shape(scale=args.scale, records=args.records, batch=args.batch)
    lanes = args.lanes == "on"
    limiter = RedisLimiter(args.redis, key=args.key, rate_limits=shape.limits(lanes))
    rows = list(lead_rows(shape.records, repeats=False))
    async with limiter, _client(args.server, shape, lanes, limiter) as client:
        await limiter.check()
        print("START", flush=True)
        wall, counts = await _sync(client, shape, rows)
        result = {"wall_s": wall, "counts": counts, "yielded_s": limiter.yielded_s}
        print(json.dumps(result), flush=True)


# ------------------------------------------------------------------------------ the table


def _percentile(values: Sequence[float], share: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


def _latency_text(waits: Sequence[float]) -> str:
    if not waits:
        return "no calls"
    return f"{statistics.median(waits):.2f} / {_percentile(waits, 0.99):.2f} / {max(waits):.2f} s"


def _rows_for(
    label: str, shape: Shape, on: dict[str, Any], off: dict[str, Any], alone: dict[str, Any]
) -> list[Row]:
    waits = on["waits_s"]
    p99_target = P99_TARGET_S * shape.scale
    max_target = MAX_TARGET_S * shape.scale
    met = bool(waits) and _percentile(waits, 0.99) <= p99_target and max(waits) <= max_target
    errors = (on["606"], on["615"])
    return [
        Row(
            benchmark=NAME,
            measure=f"{label}: awaited leads.get p50 / p99 / max (time x {shape.scale:g})",
            value=_latency_text(waits),
            baseline=_latency_text(off["waits_s"]),
            target=f"p99 <= {p99_target:g} s, max <= {max_target:g} s",
            ok=met,
            note=f"{len(waits)} calls; baseline: lanes off",
        ),
        Row(
            benchmark=NAME,
            measure=f"{label}: sync wall vs floor",
            value=f"{on['wall_s']:.2f} s",
            baseline=f"{shape.floor:.2f} s",
            ratio=on["wall_s"] / shape.floor,
            target=f"<= {WALL_TARGET}",
            note=f"lanes off: {off['wall_s']:.2f} s; background yielded {on['yielded_s']:.1f} s",
        ),
        Row(
            benchmark=NAME,
            measure=f"{label}: sync wall vs the sync alone, lanes off",
            value=f"{on['wall_s']:.2f} s",
            baseline=f"{alone['wall_s']:.2f} s",
            ratio=on["wall_s"] / alone["wall_s"],
            target=f"<= {WALL_TARGET}",
            note="what the reserve costs the load, this machine's own overhead taken out "
            "(baseline: one client)",
        ),
        Row(
            benchmark=NAME,
            measure=f"{label}: 606 / 615 (lanes on, off)",
            value=f"{errors[0]} / {errors[1]}",
            baseline=f"{off['606']} / {off['615']}",
            target="0 / 0",
            ok=errors == (0, 0) and (off["606"], off["615"]) == (0, 0),
            note=f"most calls in one period {on['max_calls_in_window']}, in flight "
            f"{on['max_in_flight']}",
        ),
    ]


def run(ctx: Context) -> tuple[list[Row], dict[str, Any]]:
    if ctx.settings.quick:
        shape = Shape(scale=QUICK_SCALE, records=RECORDS // 10, batch=QUICK_BATCH)
    else:
        shape = Shape(scale=FULL_SCALE, records=RECORDS)
    runs: dict[str, dict[str, Any]] = {}
    for lanes in (True, False):
        name = "on" if lanes else "off"
        runs[f"one client, lanes {name}"] = anyio.run(
            functools.partial(_one_client, ctx, shape, lanes=lanes, service=True)
        )
        runs[f"sync alone, lanes {name}"] = anyio.run(
            functools.partial(_one_client, ctx, shape, lanes=lanes, service=False)
        )
    alone_on, alone_off = runs["sync alone, lanes on"], runs["sync alone, lanes off"]
    rows = _rows_for(
        "one client",
        shape,
        runs["one client, lanes on"],
        runs["one client, lanes off"],
        alone_off,
    )
    rows.append(
        Row(
            benchmark=NAME,
            measure="sync alone: lanes on vs off",
            value=f"{alone_on['wall_s']:.2f} s",
            baseline=f"{alone_off['wall_s']:.2f} s",
            ratio=alone_on["wall_s"] / alone_off["wall_s"],
            target=f"<= {ALONE_TARGET}",
            note=f"floor {shape.floor:.2f} s",
        )
    )
    with _redis_server() as redis_url:
        if redis_url is None:
            rows.append(
                Row(
                    benchmark=NAME,
                    measure="two processes: skipped",
                    value="",
                    note="redis-server is not installed",
                )
            )
        else:
            for lanes in (True, False):
                name = f"two processes, lanes {'on' if lanes else 'off'}"
                runs[name] = anyio.run(
                    functools.partial(_two_processes, ctx, shape, redis_url, lanes=lanes)
                )
            rows += _rows_for(
                "two processes (Redis)",
                shape,
                runs["two processes, lanes on"],
                runs["two processes, lanes off"],
                alone_off,
            )
    details = {
        "records": shape.records,
        "time_scale": shape.scale,
        "period_s": shape.period,
        "latency_s": shape.latency,
        "floor_s": shape.floor,
        "runs": runs,
    }
    return rows, details


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.lanes")
    commands = parser.add_subparsers(dest="command", required=True)
    sync = commands.add_parser("sync", help="the sync of a two-process run (a child process)")
    sync.add_argument("--server", required=True)
    sync.add_argument("--redis", required=True)
    sync.add_argument("--key", required=True)
    sync.add_argument("--records", type=int, default=RECORDS)
    sync.add_argument("--scale", type=float, default=FULL_SCALE)
    sync.add_argument("--batch", type=int, default=BATCH)
    sync.add_argument("--lanes", choices=("on", "off"), default="on")
    args = parser.parse_args(argv)
    anyio.run(_child_sync, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
