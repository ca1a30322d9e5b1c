"""``python -m benchmarks.migrate [--leads N]``: one migration between two served emulators.

FakeLeadGen (10 calls per second, 0.1 s a call) and FakeMarketo (100 calls per 3 s, 10 in
flight, 0.2 s a call plus 1 ms a record) each run in their own process on loopback HTTP; the
Lead Gen & CRM account is the sandbox's dirty one (case-variant emails, empty and malformed
emails, unconvertible lead scores, three lists). ``marketo-async migrate leadgen-to-marketo
--lists -v`` runs in a third process with both secrets in its environment.

Printed and written to ``benchmarks/migrate_results.json``: leads read, Marketo leads created,
duplicate Marketo leads (must be 0), report lines by status, API calls on each side, the
errors the emulators sent that limit breaches cause (107, 606, 615: must be 0), the wall time,
and whether either secret appears in the command's output or its report (must not).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio

from ._common import Context, Row

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "migrate_results.json"
LEADGEN_SECRET = "bench-leadgen-secret-2b7f91"
MARKETO_SECRET = "bench-marketo-secret-c04e6a"
LIMIT_ERRORS = ("107", "606", "615")
NAME = "8 migrate"


# --------------------------------------------------------------------------- served side


def _leadgen(seed: Path) -> Any:
    from marketo_async.testing import FakeLeadGen, Latency

    fake = FakeLeadGen(latency=Latency(base=0.1), calls_per_second=10, secret_key=LEADGEN_SECRET)
    fake.seed_file(seed)
    return fake


def _marketo() -> Any:
    from marketo_async import RateLimits
    from marketo_async.testing import FakeMarketo, Latency

    limits = RateLimits(calls=100, period=3.0, concurrency=10, daily_quota=None, window_margin=0)
    return FakeMarketo(
        latency=Latency(base=0.2, per_record=0.001),
        rate_limits=limits,
        client_secret=MARKETO_SECRET,
    )


def _stats(kind: str, fake: Any) -> dict[str, Any]:
    stats = fake.stats
    found: dict[str, Any] = {
        "calls": stats.calls,
        "errors": dict(stats.errors),
        "by_path": dict(stats.by_path),
        "max_in_flight": stats.max_in_flight,
    }
    if kind == "marketo":
        found["leads"] = len(fake.leads)
        found["duplicate_groups"] = len(fake.duplicates())
        found["max_calls_in_3s"] = stats.max_calls_in_window(3.0)
        found["lists"] = {s.name: len(s.members) for s in fake.store.lists.values()}
    else:
        found["max_calls_in_1s"] = stats.max_calls_in_window(1.0)
    return found


async def _serve(kind: str, seed: Path | None) -> dict[str, Any]:
    """Serve until SIGTERM; then the emulator's figures."""
    fake = _leadgen(seed) if kind == "leadgen" and seed is not None else _marketo()
    async with anyio.create_task_group() as group:
        port = await group.start(fake.serve, 0)
        print(f"PORT {port}", flush=True)
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for _ in signals:
                break
        group.cancel_scope.cancel()
    return _stats(kind, fake)


@contextmanager
def _served(kind: str, work: Path, seed: Path | None) -> Iterator[tuple[int, Path]]:
    stats_out = work / f"{kind}-stats.json"
    command = [sys.executable, "-m", "benchmarks.migrate", "serve", kind, str(stats_out)]
    if seed is not None:
        command.append(str(seed))
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert process.stdout is not None
        match = re.match(r"PORT (\d+)", process.stdout.readline())
        if match is None:
            raise RuntimeError(f"the {kind} emulator did not start")
        yield int(match[1]), stats_out
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


# --------------------------------------------------------------------------- the run


def _count_statuses(report: Path) -> dict[str, int]:
    counts: collections.Counter[str] = collections.Counter()
    for line in report.read_text(encoding="utf-8").splitlines():
        counts[json.loads(line)["status"]] += 1
    return dict(counts)


def run(leads: int, output: Path) -> dict[str, Any]:
    from marketo_async.migrate import dirty_account

    with tempfile.TemporaryDirectory(prefix="migrate-bench-") as directory:
        work = Path(directory)
        seed = work / "account.json"
        seed.write_text(json.dumps(dirty_account(leads)), encoding="utf-8")
        report = work / "report.jsonl"
        with _served("leadgen", work, seed) as (lg_port, lg_stats):
            with _served("marketo", work, None) as (mk_port, mk_stats):
                env = {
                    **os.environ,
                    "LEADGEN_BASE_URL": f"http://127.0.0.1:{lg_port}/pubapi/v1.2/",
                    "LEADGEN_ACCOUNT_ID": "fake-account",
                    "LEADGEN_SECRET_KEY": LEADGEN_SECRET,
                    "MARKETO_BASE_URL": f"http://127.0.0.1:{mk_port}",
                    "MARKETO_CLIENT_ID": "fake-client-id",
                    "MARKETO_CLIENT_SECRET": MARKETO_SECRET,
                }
                command = [
                    *(sys.executable, "-m", "marketo_async.cli"),
                    *("migrate", "leadgen-to-marketo", "--report", str(report)),
                    *("--lists", "--lists-folder", "1", "--progress", "lines"),
                    *("--progress-interval", "2", "-v"),
                ]
                started = time.monotonic()
                done = subprocess.run(
                    command, env=env, cwd=work, capture_output=True, text=True, timeout=900
                )
                wall = time.monotonic() - started
        source = json.loads(lg_stats.read_text(encoding="utf-8"))
        target = json.loads(mk_stats.read_text(encoding="utf-8"))
        written = done.stdout + done.stderr + report.read_text(encoding="utf-8")
        statuses = _count_statuses(report)
    results = {
        "source_leads": leads,
        "exit_code": done.returncode,
        "report_lines": sum(statuses.values()),
        "report_by_status": statuses,
        "marketo_leads_created": target["leads"],
        "marketo_duplicate_groups": target["duplicate_groups"],
        "marketo_lists": target["lists"],
        "calls": {"leadgen": source["calls"], "marketo": target["calls"]},
        "calls_by_method": {"leadgen": source["by_path"], "marketo": target["by_path"]},
        "limit_errors_caused": {
            "107": source["errors"].get("107", 0),
            "606": target["errors"].get("606", 0),
            "615": target["errors"].get("615", 0),
        },
        "max_calls_in_any_window": {
            "leadgen_per_1s": source["max_calls_in_1s"],
            "marketo_per_3s": target["max_calls_in_3s"],
        },
        "max_in_flight": {"leadgen": source["max_in_flight"], "marketo": target["max_in_flight"]},
        "wall_time_s": round(wall, 2),
        "secret_in_output_or_report": {
            "leadgen": LEADGEN_SECRET in written,
            "marketo": MARKETO_SECRET in written,
        },
        "command_output_tail": done.stdout.splitlines()[-12:],
        "progress_sample": [line for line in done.stderr.splitlines() if "calls/s" in line][-2:],
    }
    output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return results


def table(ctx: Context) -> tuple[list[Row], dict[str, Any]]:
    """``python -m benchmarks --only migrate``: one migration as rows of the shared table."""
    leads = 500 if ctx.settings.quick else 5_000
    with tempfile.TemporaryDirectory(prefix="migrate-bench-out-") as directory:
        results = run(leads, Path(directory) / "migrate_results.json")
    calls = results["calls"]
    limit_errors = sum(results["limit_errors_caused"].values())
    secrets_written = any(results["secret_in_output_or_report"].values())
    note = f"{leads:,} dirty source leads, both emulators served, --lists"
    rows = [
        Row(
            benchmark=NAME,
            measure="wall time / calls",
            value=f"{results['wall_time_s']:.1f} s",
            baseline=f"{calls['leadgen']} Lead Gen + {calls['marketo']} Marketo calls",
            note=note,
        ),
        Row(
            benchmark=NAME,
            measure="duplicates / 107+606+615 / secrets",
            value=f"{results['marketo_duplicate_groups']} / {limit_errors} / {secrets_written}",
            target="0 / 0 / False",
            ok=results["marketo_duplicate_groups"] == 0
            and limit_errors == 0
            and not secrets_written
            and results["report_lines"] == leads,
        ),
    ]
    return rows, results


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["serve"]:
        kind, stats_out, *seed = arguments[1:]
        figures = anyio.run(_serve, kind, Path(seed[0]) if seed else None)
        Path(stats_out).write_text(json.dumps(figures), encoding="utf-8")
        return 0
    parser = argparse.ArgumentParser(prog="python -m benchmarks.migrate")
    parser.add_argument("--leads", type=int, default=5_000)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    options = parser.parse_args(arguments)
    results = run(options.leads, options.output)
    print(json.dumps({k: v for k, v in results.items() if k != "command_output_tail"}, indent=2))
    ok = (
        results["marketo_duplicate_groups"] == 0
        and not any(results["limit_errors_caused"].values())
        and not any(results["secret_in_output_or_report"].values())
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
