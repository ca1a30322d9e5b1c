"""``marketo-async leads upsert --redis`` beside a service process on the same Redis and
Marketo instance: one budget, no 606/615, and the service's awaited calls answered at once."""

from __future__ import annotations

import functools
import json
import statistics
import sys
from pathlib import Path

import anyio
import anyio.to_thread
import pytest

from marketo_async import RateLimits, RetryPolicy
from marketo_async.cli._state import CliState
from marketo_async.redis import RedisLimiter
from marketo_async.testing import FakeMarketo, Latency
from tests.cli_runner import isolate, run_cli

from .conftest import free_port
from .test_processes import ROOT, serving, worker

pytestmark = pytest.mark.anyio

# Marketo's period and latency x 0.25 (5 s, 0.125 s a call), 10 in flight, and half its calls
# per period (50, of which lanes keep 12 for interactive calls): half the CPU time of a full
# window for the emulator and the CLI on a busy CI machine, the same contest for the window.
SCALE = 0.25
PERIOD_S = 20.0 * SCALE
LATENCY_S = 0.5 * SCALE
CALLS = 50
ROWS = 22_500  # 75 calls of 300: one and a half windows' worth
# An awaited call every 0.6 s: about 9 in a window, within the 12 places kept for them.
INTERVAL_S = 0.6
# The targets for the awaited calls, not scaled: the emulator serves the load in this
# process, and on a busy CI machine its CPU time is not scaled either. Without lanes the
# service's calls wait for the window, seconds at a time (up to a period).
P99_TARGET_S = 1.2
MAX_TARGET_S = 2.0


@pytest.fixture
def anyio_backend() -> str:
    """The test process serves the fake on asyncio; the CLI and the service are processes."""
    return "asyncio"


async def test_the_cli_shares_the_budget_with_a_service_through_redis(
    redis_url: str, tmp_path: Path
) -> None:
    limits = RateLimits(calls=CALLS, period=PERIOD_S, concurrency=10, window_margin=0.0)
    fake = FakeMarketo(latency=Latency(base=LATENCY_S), rate_limits=limits)
    lead = fake.add_lead(email="service@example.com")
    source = tmp_path / "leads.csv"
    source.write_text("email\n" + "".join(f"l{n}@example.com\n" for n in range(ROWS)))
    report = tmp_path / "report.jsonl"
    stop = tmp_path / "stop"
    async with serving(fake) as url:
        # The CLI's default key is the instance's host and port: the service names it.
        key = url.removeprefix("http://")
        service_command = worker(
            "service", "asyncio", redis_url, key,
            "--base-url", url, "--period", PERIOD_S, "--margin", 0.1,
            "--lead", lead, "--interval", INTERVAL_S, "--until-file", stop,
            "--calls-per-period", CALLS,
        )  # fmt: skip
        cli = [
            sys.executable, "-m", "marketo_async.cli", "leads", "upsert", str(source),
            "--base-url", url, "--sandbox-credentials", "--redis", redis_url,
            "--rate-limit", f"{CALLS}/{PERIOD_S:g}",
            "--report", str(report), "--progress", "off", "-v",
        ]  # fmt: skip
        async with await anyio.open_process(service_command, cwd=ROOT) as service:
            assert service.stdout is not None
            assert (await service.stdout.receive()).startswith(b"serving")
            upsert = await anyio.run_process(cli, cwd=tmp_path, check=False)
            stop.touch()
            output = b""
            async for chunk in service.stdout:
                output += chunk
            await service.wait()
    assert upsert.returncode == 0, upsert.stderr.decode()[-3000:]
    served = json.loads(output.decode().splitlines()[-1])
    lines = [json.loads(line) for line in report.read_text().splitlines()]
    assert sum(line.get("status") == "created" for line in lines) == ROWS
    assert fake.stats.errors["606"] == 0 and fake.stats.errors["615"] == 0
    assert served["rate_limited"] == served["concurrency_limited"] == 0
    waits = served["waits"]
    assert len(waits) >= 10
    assert served["max_admission_wait_s"] < 0.5  # the limiter itself never held them back
    p99 = statistics.quantiles(waits, n=100, method="inclusive")[98]
    assert p99 <= P99_TARGET_S, sorted(waits)[-5:]
    assert max(waits) <= MAX_TARGET_S, sorted(waits)[-5:]
    # -v says how long the load stood back for the service.
    assert "waited" in upsert.stderr.decode() and "interactive calls" in upsert.stderr.decode()


async def test_the_cli_joins_the_fleet_key_of_a_sandbox_and_leaves_no_slot_behind(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolate(monkeypatch, tmp_path)
    fake = FakeMarketo()
    source = tmp_path / "leads.csv"
    source.write_text("email\na@example.com\nb@example.com\n")
    state = CliState(sandbox=fake, client_options={"retry": RetryPolicy.no_wait()})
    result = await anyio.to_thread.run_sync(
        functools.partial(
            run_cli,
            state,
            ["leads", "upsert", source, "--sandbox", "--progress", "off"],
            env={"MARKETO_REDIS_URL": redis_url, "MARKETO_REDIS_KEY": "shared-by-env"},
        )
    )
    assert result.exit_code == 0, result.output
    assert len(fake.leads) == 2
    # The run's calls went through the fleet's window under the key from the environment.
    async with RedisLimiter(redis_url, key="shared-by-env", rate_limits=RateLimits()) as fleet:
        usage = await fleet.usage()
    assert usage.calls_in_window >= 2 and usage.in_flight == 0


def test_an_unreachable_redis_stops_the_command_before_any_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolate(monkeypatch, tmp_path)
    fake = FakeMarketo()
    source = tmp_path / "leads.csv"
    source.write_text("email\na@example.com\n")
    state = CliState(sandbox=fake, client_options={"retry": RetryPolicy.no_wait()})
    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    result = run_cli(state, ["leads", "upsert", source, "--sandbox", "--redis", url])
    assert result.exit_code != 0
    assert "Redis" in result.output and "hunter2" not in result.output
    assert fake.stats.calls == 0
