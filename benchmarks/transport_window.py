"""300 concurrent calls against a MockTransport server enforcing 100 calls / 3 s and 10 in flight.

Prints calls made, 606/615 seen and the wall time against the window's floor, on real time.
Run: python -m benchmarks.transport_window [--calls N] [--latency S] [--repeat K]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import anyio

from marketo_async import MarketoClient, RateLimits, RetryPolicy
from tests.fake_server import Server

PERIOD_S = 3.0
WINDOW_CALLS = 100
IN_FLIGHT = 10


def floor_seconds(calls: int, latency: float) -> float:
    """The least wall time any client can take: whole windows, then in-flight rounds."""
    windows = math.ceil(calls / WINDOW_CALLS) - 1
    last = calls - windows * WINDOW_CALLS
    return max(
        windows * PERIOD_S + math.ceil(last / IN_FLIGHT) * latency,
        math.ceil(calls / IN_FLIGHT) * latency,
    )


async def one_run(calls: int, latency: float) -> tuple[float, Server, MarketoClient]:
    server = Server(calls=WINDOW_CALLS, period=PERIOD_S, concurrency=IN_FLIGHT, latency=latency)
    limits = RateLimits(
        calls=WINDOW_CALLS, period=PERIOD_S, concurrency=IN_FLIGHT, window_margin=0.05
    )
    client = MarketoClient(
        base_url="https://123-ABC-456.mktorest.com",
        client_id="cid",
        client_secret=server.secret,
        transport=server.transport,
        rate_limits=limits,
        retry=RetryPolicy(),
    )
    async with client:
        started = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for _ in range(calls):
                tg.start_soon(client.request, "GET", "/rest/v1/leads/describe.json")
        elapsed = time.perf_counter() - started
    return elapsed, server, client


async def main(calls: int, latency: float, repeat: int) -> None:
    floor = floor_seconds(calls, latency)
    times = []
    for _ in range(repeat):
        elapsed, server, client = await one_run(calls, latency)
        times.append(elapsed)
        print(
            f"calls={client.stats.calls} 606={server.codes['606']} 615={server.codes['615']} "
            f"max_in_flight={server.max_in_flight} wall={elapsed:.3f}s"
        )
    median = statistics.median(times)
    print(f"median wall {median:.3f}s, floor {floor:.3f}s, ratio {median / floor:.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    anyio.run(main, args.calls, args.latency, args.repeat)
