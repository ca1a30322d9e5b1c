"""Several worker processes sharing one RedisLimiter key against one FakeMarketo HTTP server."""

from __future__ import annotations

import json
import signal
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import pytest

from marketo_async import RateLimits
from marketo_async.redis import RedisLimiter
from marketo_async.testing import BulkSettings, FakeMarketo

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
# Python start-up and imports, on a busy CI machine, before the workers begin together.
START_DELAY_S = 2.0
# The scenario with the period scaled down: 100 calls per 2 s, 10 in flight.
LIMITS = RateLimits(calls=100, period=2.0, concurrency=10, daily_quota=None, window_margin=0.25)


@pytest.fixture
def anyio_backend() -> str:
    """The test process serves the fake on asyncio; the workers run on asyncio and trio."""
    return "asyncio"


@asynccontextmanager
async def serving(fake: FakeMarketo) -> AsyncIterator[str]:
    """Serve ``fake`` over loopback HTTP; yields its base URL."""
    async with anyio.create_task_group() as tg:
        port = await tg.start(fake.serve, 0)
        yield f"http://127.0.0.1:{port}"
        tg.cancel_scope.cancel()


def worker(mode: str, backend: str, redis_url: str, key: str, *options: object) -> list[str]:
    return [
        sys.executable,
        "-m",
        "tests.redis._worker",
        mode,
        "--backend",
        backend,
        "--redis",
        redis_url,
        "--key",
        key,
        "--calls-per-period",
        str(LIMITS.calls),
        "--period",
        str(LIMITS.period),
        "--concurrency",
        str(LIMITS.concurrency),
        "--margin",
        str(LIMITS.window_margin),
        *map(str, options),
    ]


async def run_workers(commands: Sequence[list[str]]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = [{} for _ in commands]

    async def run(index: int, command: list[str]) -> None:
        done = await anyio.run_process(command, cwd=ROOT, check=False)
        assert done.returncode == 0, done.stderr.decode()[-3000:]
        results[index] = json.loads(done.stdout.decode().splitlines()[-1])

    async with anyio.create_task_group() as tg:
        for index, command in enumerate(commands):
            tg.start_soon(run, index, command)
    return results


async def test_four_processes_keep_within_the_instance_limits(redis_url: str, key: str) -> None:
    fake = FakeMarketo(latency=0.05, rate_limits=LIMITS)
    start_at = time.time() + START_DELAY_S
    options = ("--count", 250, "--tasks", 20, "--start-at", start_at)
    commands = [
        worker("calls", backend, redis_url, key, *options)
        for backend in ("asyncio", "trio", "asyncio", "trio")
    ]
    async with serving(fake) as base_url:
        for command in commands:
            command += ["--base-url", base_url]
        results = await run_workers(commands)
    assert [r["calls"] for r in results] == [250] * 4
    assert fake.stats.calls == 1000
    assert fake.stats.errors["606"] == 0
    assert fake.stats.errors["615"] == 0
    assert fake.stats.max_in_flight <= LIMITS.concurrency
    assert fake.stats.max_calls_in_window(LIMITS.period) <= LIMITS.calls
    # One token for the fleet.
    assert fake.stats.identity_calls == 1
    assert sum(r["tokens_fetched"] for r in results) == 1


async def test_slots_of_a_killed_process_come_back_within_the_lease(
    redis_url: str, key: str
) -> None:
    # A lease long enough that the holder's renewals (every third of it) and the ten admissions
    # after it lapses keep to it on a loaded machine; the bounds below are fractions of it.
    lease = 3.0
    command = worker("hold", "trio", redis_url, key, "--count", 10, "--lease", lease)
    async with RedisLimiter(redis_url, key=key, rate_limits=LIMITS) as limiter:
        async with await anyio.open_process(command, cwd=ROOT) as holder:
            await _wait_for_line(holder, "held")
            await anyio.sleep(1.5 * lease)  # the holder must renew to keep them
            assert (await limiter.usage()).in_flight == 10
            with anyio.move_on_after(0.2) as waited:
                async with limiter.slot():
                    pytest.fail("admitted while another process held every slot")
            assert waited.cancelled_caught
            holder.send_signal(signal.SIGKILL)
            await holder.wait()
            killed_at = anyio.current_time()
        async with anyio.create_task_group() as tg:
            taken = anyio.Event()
            count = 0

            async def take() -> None:
                nonlocal count
                async with limiter.slot():
                    count += 1
                    if count == 10:
                        taken.set()
                    await taken.wait()

            for _ in range(10):
                tg.start_soon(take)
            with anyio.fail_after(1.5 * lease):
                await taken.wait()
        assert anyio.current_time() - killed_at <= 1.5 * lease


async def test_two_processes_upserting_overlapping_keys_leave_no_duplicate(
    redis_url: str, key: str
) -> None:
    # A wide race window: Marketo looks the keys up on arrival and writes on completion.
    fake = FakeMarketo(latency=0.1, rate_limits=LIMITS)
    start_at = time.time() + START_DELAY_S
    common = ("--start-at", start_at, "--chunk", 4, "--tasks", 3)
    commands = [
        worker("upsert", "asyncio", redis_url, key, *common, "--first", 0, "--last", 40),
        worker("upsert", "trio", redis_url, key, *common, "--first", 20, "--last", 60),
    ]
    async with serving(fake) as base_url:
        for command in commands:
            command += ["--shared", "20", "40", "--base-url", base_url]
        results = await run_workers(commands)
    assert [r["overlaps"] for r in results] == [0, 0]
    assert sum(r["deferred"] + r["waits"] for r in results) > 0  # they did contend for keys
    assert len(fake.leads) == 60
    assert fake.duplicates() == []


@pytest.mark.parametrize("leases", [True, False], ids=["redis-limiter", "control-local"])
async def test_leads_sync_in_two_processes_takes_the_fleet_key_leases(
    redis_url: str, key: str, leases: bool
) -> None:
    # Calls long enough, and a start late enough, that the two processes' calls overlap even
    # when one of them is slow to start on a loaded machine (the control must race).
    fake = FakeMarketo(latency=0.4, rate_limits=LIMITS)
    start_at = time.time() + 2 * START_DELAY_S
    common: tuple[object, ...] = ("--start-at", start_at, "--chunk", 5, "--shared", 0, 30)
    if not leases:
        # Each process's own limiter allows half of the instance's in-flight calls, so the
        # control never meets a 615 that would push one process's calls after the other's.
        common += ("--no-leases", "--concurrency", LIMITS.concurrency // 2)
    commands = [
        worker("sync", "asyncio", redis_url, key, *common, "--first", 0, "--last", 60),
        worker("sync", "trio", redis_url, key, *common, "--first", 0, "--last", 30),
    ]
    async with serving(fake) as base_url:
        for command in commands:
            command += ["--base-url", base_url]
        results = await run_workers(commands)
    assert sum(sum(r["counts"].values()) for r in results) == 90
    if leases:
        assert fake.duplicates() == []
        assert len(fake.leads) == 60
    else:
        # Without the shared leases the same run does race (so the check above can fail).
        assert fake.duplicates() != []


@pytest.mark.parametrize("leases", [True, False], ids=["redis-limiter", "control-local"])
async def test_opportunity_roles_sync_in_two_processes_leases_compound_keys_fleet_wide(
    redis_url: str, key: str, leases: bool
) -> None:
    """Two processes writing the same opportunity roles (a three-field key, one of them
    giving leadId as text): with the fleet's leases no role is created twice."""
    fake = FakeMarketo(latency=0.4, rate_limits=LIMITS)
    start_at = time.time() + 2 * START_DELAY_S
    common: tuple[object, ...] = ("--roles", "--start-at", start_at, "--chunk", 5)
    common += ("--shared", 0, 30)
    if not leases:
        common += ("--no-leases", "--concurrency", LIMITS.concurrency // 2)
    commands = [
        worker("sync", "asyncio", redis_url, key, *common, "--first", 0, "--last", 60),
        worker("sync", "trio", redis_url, key, *common, "--first", 0, "--last", 30),
    ]
    async with serving(fake) as base_url:
        for command in commands:
            command += ["--base-url", base_url]
        results = await run_workers(commands)
    assert sum(sum(r["counts"].values()) for r in results) == 90
    if leases:
        assert fake.object_duplicates("opportunities/roles") == []
        assert len(fake.object_records("opportunities/roles")) == 60
    else:
        # Without the shared leases the same run does race (so the check above can fail).
        assert fake.object_duplicates("opportunities/roles") != []


@pytest.mark.parametrize("leases", [True, False], ids=["redis-limiter", "control-local"])
async def test_two_processes_bulk_importing_shared_emails_leave_no_duplicate(
    redis_url: str, key: str, leases: bool
) -> None:
    # 5,000 rows each, 2,000 emails shared (the trio worker writes them in upper case); jobs
    # of a second and more, so that the two workers' files would import side by side
    fake = FakeMarketo(latency=0.05, rate_limits=LIMITS, bulk=BulkSettings(import_seconds=1.5))
    start_at = time.time() + 2 * START_DELAY_S
    common: tuple[object, ...] = ("--start-at", start_at)
    if not leases:
        common += ("--no-leases",)
    commands = [
        worker("import", "asyncio", redis_url, key, *common, "--first", 0, "--last", 5_000),
        worker("import", "trio", redis_url, key, *common, "--first", 3_000, "--last", 8_000),
    ]
    async with serving(fake) as base_url:
        for command in commands:
            command += ["--base-url", base_url]
        results = await run_workers(commands)
    for result in results:  # one outcome per row, in order, in each worker
        assert result["indices"] == list(range(5_000))
        assert sum(result["counts"].values()) == 5_000
    if leases:
        assert [r["counts"] for r in results] == [{"imported": 5_000}] * 2
        assert fake.duplicates() == []
        assert len(fake.leads) == 8_000
    else:
        # Without the shared leases the same run does race (so the check above can fail).
        assert fake.duplicates() != []


async def _wait_for_line(process: anyio.abc.Process, line: str) -> None:
    assert process.stdout is not None
    seen = b""
    with anyio.fail_after(START_DELAY_S + 5):
        while line.encode() not in seen:
            seen += await process.stdout.receive()
