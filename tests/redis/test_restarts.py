"""Redis restarted at random moments while two workers sync overlapping leads: every worker
notices each restart (the epoch of Redis's data changed), nothing is admitted or leased until
the lost window has passed and holders took their leases back: no duplicate, no 606 or 615.

``MARKETO_ASYNC_RESTART_SOAK=1`` runs the full trial (20 restarts, 0.1 s to 10 s down);
by default (and in CI) 3 restarts of 0.1 s to 1 s.
"""

from __future__ import annotations

import os
import random
import time
from typing import Any

import anyio
import pytest

from marketo_async.testing import FakeMarketo

from .conftest import free_port, redis_process
from .test_processes import LIMITS, START_DELAY_S, run_workers, serving, worker

pytestmark = pytest.mark.anyio

SOAK = os.environ.get("MARKETO_ASYNC_RESTART_SOAK") == "1"
RESTARTS = 20 if SOAK else 3
LONGEST_DOWN_S = 10.0 if SOAK else 1.0
LEADS = 6_000 if SOAK else 1_500
LEASE_S = 2.0


@pytest.fixture
def anyio_backend() -> str:
    """The test process serves the fake on asyncio; the workers run on asyncio and trio."""
    return "asyncio"


async def _restart_redis_until(done: anyio.Event, port: int, seed: int) -> list[float]:
    """Kill and restart redis-server at random moments; returns each outage's length."""
    rng = random.Random(seed)
    downs: list[float] = []
    up = START_DELAY_S  # the workers start together after this
    while len(downs) < RESTARTS and not done.is_set():
        with redis_process(port=port) as (_, server):
            with anyio.move_on_after(up + rng.uniform(0.3, 2.5)):
                await done.wait()
            server.kill()  # no shutdown: the data is gone, as after a crash
            server.wait()
        if done.is_set():
            break
        up = 0.0
        down = rng.uniform(0.1, LONGEST_DOWN_S)
        downs.append(down)
        await anyio.sleep(down)
    with redis_process(port=port):  # up until the workers are done
        await done.wait()
    return downs


async def test_two_workers_make_no_duplicate_and_no_606_or_615_across_redis_restarts() -> None:
    fake = FakeMarketo(latency=0.05, rate_limits=LIMITS)
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    key = f"restarts-{port}"
    options: tuple[object, ...] = ("--start-at", time.time() + START_DELAY_S, "--chunk", 5)
    options += ("--first", 0, "--last", LEADS, "--shared", 0, LEADS, "--lease", LEASE_S)
    options += ("--fallback", "local", "--outage-wait", 3 * LONGEST_DOWN_S + 30)
    commands = [
        worker("sync", "asyncio", url, key, *options, "--shuffle", 1),
        worker("sync", "trio", url, key, *options, "--shuffle", 2),
    ]
    results: list[dict[str, Any]] = []
    downs: list[float] = []
    done = anyio.Event()
    async with serving(fake) as base_url:
        for command in commands:
            command += ["--base-url", base_url]

        async def run() -> None:
            results.extend(await run_workers(commands))
            done.set()

        async def restart() -> None:
            downs.extend(await _restart_redis_until(done, port, seed=port))

        async with anyio.create_task_group() as tg:
            tg.start_soon(restart)
            tg.start_soon(run)
    assert downs, "the workers finished before Redis was restarted even once"
    assert [sum(r["counts"].values()) for r in results] == [LEADS, LEADS]  # one per record
    assert all(set(r["counts"]) <= {"created", "updated"} for r in results), results
    assert fake.duplicates() == []
    assert len(fake.leads) == LEADS
    assert fake.stats.errors["606"] == 0 and fake.stats.errors["615"] == 0
    noticed = [sum("restarted" in m for m in r["warnings"]) for r in results]
    print(f"restarts {len(downs)} (down {min(downs):.1f}-{max(downs):.1f}s), noticed {noticed}")
