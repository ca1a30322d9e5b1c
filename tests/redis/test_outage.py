"""Redis dies mid-run under ``fallback="local"``: limits fall back per process, key leases don't.

Two worker processes sync the same leads (one in lower case, one in mixed case) through one
RedisLimiter key while the test kills their redis-server.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import anyio
import pytest

from marketo_async import RateLimits
from marketo_async.redis import RedisLimiter, RedisUnavailableError, _scripts
from marketo_async.redis._connection import Connection
from marketo_async.testing import FakeMarketo

from .conftest import free_port, redis_process
from .test_processes import LIMITS, START_DELAY_S, run_workers, serving, worker

pytestmark = pytest.mark.anyio

# Seconds after the workers start together when Redis is killed.
KILL_AFTER_S = 1.2
# ... and not before this many writes reached the server (the workers are sending).
KILL_AFTER_WRITES = 20


def _writes(fake: FakeMarketo) -> int:
    return sum(call.path == "/rest/v1/leads.json" for call in fake.stats.timeline)


LEADS = 1000
# Short leases: after an outage, new keys wait one lease for holders to take theirs back.
LEASE_S = 2.0
OUTAGE_STARTED = "per-process limits"
OUTAGE_OVER = "answers again after"


@pytest.fixture
def anyio_backend() -> str:
    """The test process serves the fake on asyncio; the workers run on asyncio and trio."""
    return "asyncio"


def outage_warnings(result: dict[str, Any]) -> tuple[int, int, int]:
    """(outage started, outage over, per-slot) warnings one worker logged."""
    messages: list[str] = result["warnings"]
    return (
        sum(OUTAGE_STARTED in m for m in messages),
        sum(OUTAGE_OVER in m for m in messages),
        sum("slot" in m for m in messages),
    )


async def sync_while_redis_dies(
    *, outage_wait: float, restart_after: float | None
) -> tuple[FakeMarketo, list[dict[str, Any]]]:
    fake = FakeMarketo(latency=0.1, rate_limits=LIMITS)
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    key = f"outage-{port}"
    start_at = time.time() + START_DELAY_S
    common: tuple[object, ...] = ("--start-at", start_at, "--chunk", 5, "--first", 0)
    common += ("--last", LEADS, "--shared", 0, LEADS)
    common += ("--fallback", "local", "--outage-wait", outage_wait, "--lease", LEASE_S)
    # The same leads in two random orders, the asyncio worker in lower case and the trio
    # worker in mixed case: without fleet leases they would send some keys at once.
    commands = [
        worker("sync", "asyncio", url, key, *common, "--shuffle", 1),
        worker("sync", "trio", url, key, *common, "--shuffle", 2),
    ]
    results: list[dict[str, Any]] = []
    with redis_process(port=port) as (_, server):
        async with serving(fake) as base_url:
            for command in commands:
                command += ["--base-url", base_url]
            done = anyio.Event()
            async with anyio.create_task_group() as tg:

                async def run() -> None:
                    results.extend(await run_workers(commands))
                    done.set()

                tg.start_soon(run)
                await anyio.sleep(start_at + KILL_AFTER_S - time.time())
                # Under load the workers may start late: kill Redis once they are writing.
                for _ in range(600):  # 30 s at most
                    if _writes(fake) >= KILL_AFTER_WRITES:
                        break
                    await anyio.sleep(0.05)
                server.kill()
                server.wait()
                if restart_after is not None:
                    await anyio.sleep(restart_after)
                    with redis_process(port=port):
                        # Serve until the workers are done; they need Redis back to finish.
                        await done.wait()
    return fake, results


async def test_keyed_writes_are_not_sent_without_a_fleet_lease_once_the_wait_runs_out() -> None:
    fake, results = await sync_while_redis_dies(outage_wait=1.0, restart_after=None)
    assert [sum(r["counts"].values()) for r in results] == [LEADS, LEADS]  # one per record
    assert fake.duplicates() == []
    assert len(fake.leads) < LEADS  # Redis died before the run could finish
    for result in results:
        counts = result["counts"]
        assert set(counts) <= {"created", "updated", "not_attempted"}
        assert counts.get("not_attempted", 0) > 0
        assert result["outage_named"] == counts["not_attempted"]  # each names the outage
        assert outage_warnings(result) == (1, 0, 0)


async def test_keyed_writes_wait_for_redis_and_go_on_when_it_comes_back() -> None:
    fake, results = await sync_while_redis_dies(outage_wait=30.0, restart_after=1.0)
    assert [sum(r["counts"].values()) for r in results] == [LEADS, LEADS]
    assert all(set(r["counts"]) <= {"created", "updated"} for r in results)
    assert fake.duplicates() == []
    assert len(fake.leads) == LEADS
    assert [outage_warnings(r) for r in results] == [(1, 1, 0), (1, 1, 0)]


async def test_acquire_waits_out_the_bound_then_names_the_outage(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="marketo_async")
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    limits = RateLimits(calls=100, period=1.0, concurrency=10, daily_quota=None)
    async with RedisLimiter(
        url, key="k", rate_limits=limits, fallback="local", outage_wait=0.5
    ) as limiter:
        asked_at = anyio.current_time()
        with pytest.raises(RedisUnavailableError, match="never sent without a fleet key lease"):
            await limiter.key_leases.acquire(["leads:email:a", "leads:email:b"])
        assert anyio.current_time() - asked_at >= 0.5
        assert limiter.key_leases.held == frozenset()
        for _ in range(20):  # slots still fall back to per-process limits, quietly
            async with limiter.slot():
                pass
        with pytest.raises(RedisUnavailableError):  # the wait is over for the next keys too
            await limiter.key_leases.acquire(["leads:email:c"])
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and OUTAGE_STARTED in warnings[0]


async def test_acquire_takes_the_keys_when_redis_comes_back_within_the_bound(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="marketo_async")
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    limits = RateLimits(calls=100, period=1.0, concurrency=10, daily_quota=None)
    async with RedisLimiter(
        url, key="k", rate_limits=limits, fallback="local", outage_wait=20.0, lease_seconds=0.5
    ) as limiter:
        taken: frozenset[str] = frozenset()
        took = anyio.Event()

        async def take() -> None:
            nonlocal taken
            taken = await limiter.key_leases.acquire(["leads:email:a"])
            took.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(take)
            await anyio.sleep(0.3)
            assert taken == frozenset()  # no key without Redis
            with redis_process(port=port):
                back_at = anyio.current_time()
                with anyio.fail_after(5):
                    await took.wait()
                # A lease period after Redis is back, for holders to take their keys back.
                assert anyio.current_time() - back_at >= 0.5
                await limiter.key_leases.release(taken)
                await limiter.aclose()
    assert taken == {"leads:email:a"}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert [OUTAGE_STARTED in w for w in warnings] == [True, False]
    assert OUTAGE_OVER in warnings[1]


async def test_a_failure_sent_before_redis_came_back_starts_no_second_outage(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="marketo_async")
    connection = Connection(f"redis://127.0.0.1:{free_port()}/0", fallback="local")

    def failure(started_at: float) -> RedisUnavailableError:
        error = RedisUnavailableError("cannot reach Redis")
        error.started_at = started_at
        return error

    before_recovery = anyio.current_time()
    connection.mark_down(failure(before_recovery))
    await anyio.sleep(0.01)
    connection.mark_up()
    # An operation sent during the outage fails after a later one succeeded (a loaded machine).
    connection.mark_down(failure(before_recovery))
    assert not connection.is_down()
    # A failure of an operation sent after the recovery is a new outage.
    connection.mark_down(failure(anyio.current_time()))
    assert connection.is_down()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert [OUTAGE_STARTED in w for w in warnings] == [True, False, True]
    assert OUTAGE_OVER in warnings[1]


async def test_an_answer_to_an_operation_sent_before_the_outage_does_not_end_it(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.WARNING, logger="marketo_async")
    connection = Connection(f"redis://127.0.0.1:{free_port()}/0", fallback="local")
    answer_now = anyio.Event()

    class SlowLink:
        async def run(self, *_: object) -> str:
            await answer_now.wait()
            return "OK"

    monkeypatch.setattr(connection, "_link", SlowLink)
    script = _scripts.PING

    async def operation() -> None:
        await connection.run(script, [], [])
        connection.mark_up()  # as every caller does right after an answer

    async with anyio.create_task_group() as tg:
        tg.start_soon(operation)  # sent before the outage, answered (resumed) after it began
        await anyio.sleep(0.01)
        connection.mark_down(RedisUnavailableError("cannot reach Redis"))
        answer_now.set()
    assert connection.is_down()
    await operation()  # sent during the outage: Redis really answers again
    assert not connection.is_down()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert [OUTAGE_STARTED in w for w in warnings] == [True, False]
    assert OUTAGE_OVER in warnings[1]
