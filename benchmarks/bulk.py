"""Benchmark 6, choosing the path: ``leads import`` (Bulk Lead Import) against ``leads upsert``
(300-record REST calls) on the same 100,000 rows, in one run.

Both are the real command line in a child process, against the benchmark server in another
process with Marketo's limits (100 calls per period, 10 in flight, the latency per call) and
the same time factor as the other benchmarks; the emulated import job's own duration (5 s plus
20,000 rows a second, at full scale) is scaled too. We report the API calls each path spent,
its wall time, the leads stored and the duplicates left. The rows repeat 5% of their emails
(in another letter case for half), so both paths must keep same-key rows apart.

Then, at Marketo's own bulk pace (the job takes 5 s plus 20,000 rows a second: 10 s for
100,000 rows), the same ``leads import`` against a plain fixed 5-second poller in this
process: it uploads the same file as it is, asks the job's status every 5 s until it is
complete, and fetches the failures and warnings files if any. The two alternate (which goes
first too) for the run's repetitions; we report the median wall times, their ratio, each one's
status calls, and the command's CPU time (its child process: user + system) against the CPU
of ``leads upsert`` on the same rows.
"""

from __future__ import annotations

import functools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from ._common import Context, Row, median, spread
from ._data import repeated_rows, write_csv
from ._server import CLIENT_ID, CLIENT_SECRET, REPO_ROOT

__all__ = ["run"]

NAME = "6 bulk vs REST"
ROWS = 100_000
QUICK_ROWS = 20_000
IMPORT_FIRST_POLL_S = 5.0  # the command's default, scaled with the rest
FIXED_POLL_S = 5.0  # the plain poller: Marketo's fastest suggested status rate


def _cli(ctx: Context, args: list[str], workdir: Path) -> dict[str, Any]:
    """Run ``marketo-async`` once against the server; wall time, report statuses, server stats."""
    settings = ctx.settings
    env = {key: value for key, value in os.environ.items() if not key.startswith("MARKETO_")}
    env.update(MARKETO_CLIENT_ID=CLIENT_ID, MARKETO_CLIENT_SECRET=CLIENT_SECRET)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    report = workdir / f"{args[1]}-{len(list(workdir.glob('*.jsonl')))}.jsonl"  # a new one
    command = [
        sys.executable,
        "-m",
        "marketo_async.cli",
        *args,
        "--base-url",
        ctx.server.url,
        "--report",
        str(report),
        "--rate-limit",
        f"100/{settings.period:g}",
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"marketo-async exited {done.returncode}:\n{done.stderr[-2000:]}")
    statuses = Counter(
        json.loads(line)["status"] for line in report.read_text(encoding="utf-8").splitlines()
    )
    return {"wall_s": wall, "cpu_s": cpu, "exit": done.returncode, "statuses": dict(statuses)}


def _reset(ctx: Context, bulk_time_scale: float) -> None:
    settings = ctx.settings
    ctx.server.reset(
        calls=100,
        period=settings.period,
        concurrency=10,
        latency=settings.latency,
        bulk_time_scale=bulk_time_scale,
    )


def _one(
    ctx: Context, args: list[str], workdir: Path, bulk_time_scale: float | None = None
) -> dict[str, Any]:
    _reset(ctx, ctx.settings.time_scale if bulk_time_scale is None else bulk_time_scale)
    result = _cli(ctx, args, workdir)
    stats = ctx.server.stats()
    result.update(
        calls=stats["calls"],
        errors=stats["errors"],
        leads_stored=stats["leads"],
        duplicate_leads=stats["duplicate_leads"],
        by_path={path: n for path, n in stats["by_path"].items() if path.startswith("/bulk/")},
    )
    return result


def _status_calls(result: dict[str, Any]) -> int:
    return sum(
        n for path, n in result["by_path"].items() if "/batch/" in path and path.count("/") == 5
    )


def _fixed_poller(ctx: Context, source: Path) -> dict[str, Any]:
    """Upload ``source`` as it is and ask the job's status every 5 s until it is over."""
    _reset(ctx, 1.0)
    started = time.perf_counter()
    polls = 0
    with httpx.Client(base_url=ctx.server.url, timeout=120.0) as http:
        token = http.post(
            "/identity/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            },
        ).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        created = http.post(
            "/bulk/v1/leads.json",
            params={"format": "csv", "lookupField": "email"},
            files={"file": (source.name, source.read_bytes(), "text/csv")},
        ).json()
        batch = created["result"][0]["batchId"]
        while True:
            time.sleep(FIXED_POLL_S)
            polls += 1
            status = http.get(f"/bulk/v1/leads/batch/{batch}.json").json()["result"][0]
            if status["status"] in {"Complete", "Failed"}:
                break
        for which, count in (("failures", "numOfRowsFailed"), ("warnings", "numOfRowsWithWarning")):
            if status.get(count):
                http.get(f"/bulk/v1/leads/batch/{batch}/{which}.json").raise_for_status()
    return {"wall_s": time.perf_counter() - started, "status_calls": polls}


def _against_poller(ctx: Context, source: Path, workdir: Path) -> tuple[list[Row], dict[str, Any]]:
    """``leads import`` and the fixed 5-second poller over the same job, at Marketo's pace,
    alternating for the run's repetitions; medians."""
    pollers: list[dict[str, Any]] = []
    commands: list[dict[str, Any]] = []
    for repetition in range(ctx.settings.repeat):
        for which in ("poller", "command") if repetition % 2 == 0 else ("command", "poller"):
            if which == "poller":
                pollers.append(_fixed_poller(ctx, source))
                continue
            command = _one(ctx, ["leads", "import", str(source)], workdir, bulk_time_scale=1.0)
            command["status_calls"] = _status_calls(command)
            commands.append(command)
    walls = [command["wall_s"] for command in commands]
    poller_walls = [poller["wall_s"] for poller in pollers]
    wall, poller_wall = median(walls), median(poller_walls)
    status_calls = median([command["status_calls"] for command in commands])
    poller_calls = median([poller["status_calls"] for poller in pollers])
    note = "same file, job at Marketo's pace (5 s + 20,000 rows/s); the command's whole run"
    if len(walls) > 1:
        note += (
            f"; medians of {len(walls)} (import {spread(walls)} s, poller {spread(poller_walls)} s)"
        )
    rows = [
        Row(
            benchmark=NAME,
            measure="import vs fixed 5 s poller",
            value=f"{wall:.1f} s (leads import)",
            baseline=f"{poller_wall:.1f} s (poller)",
            ratio=wall / poller_wall,
            target="<= 1.2",
            note=note,
        ),
        Row(
            benchmark=NAME,
            measure="status calls vs fixed poller",
            value=f"{status_calls:g} (leads import)",
            baseline=f"{poller_calls:g} (poller)",
            ok=status_calls <= poller_calls,
            target="<= poller",
        ),
    ]
    return rows, {"pollers": pollers, "imports_at_marketo_pace": commands}


def _import_vs_upsert(
    bulk: dict[str, Any],
    rest: dict[str, Any],
    measure: str,
    figure: str,
    shown: str,
    *,
    target: str = "",
    note: str = "",
) -> Row:
    """One figure of ``leads import`` against the same figure of ``leads upsert``."""
    return Row(
        benchmark=NAME,
        measure=measure,
        value=f"{shown.format(bulk[figure])} (import)",
        baseline=f"{shown.format(rest[figure])} (upsert)",
        ratio=bulk[figure] / rest[figure],
        target=target,
        note=note,
    )


def run(ctx: Context) -> tuple[list[Row], dict[str, Any]]:
    settings = ctx.settings
    count = QUICK_ROWS if settings.quick else ROWS
    with tempfile.TemporaryDirectory(prefix="marketo-bulk-bench-") as name:
        workdir = Path(name)
        source = workdir / "leads.csv"
        write_csv(source, count)
        rest = _one(ctx, ["leads", "upsert", str(source), "--progress", "off"], workdir)
        poll = f"{IMPORT_FIRST_POLL_S * settings.time_scale:g}"
        bulk = _one(ctx, ["leads", "import", str(source), "--poll-interval", poll], workdir)
        paced, figures = _against_poller(ctx, source, workdir)
    unique = count - repeated_rows(count)
    note = (
        f"{count:,} rows ({unique:,} distinct emails), time factor {settings.time_scale:g}; "
        "calls exclude identity"
    )
    versus = functools.partial(_import_vs_upsert, bulk, rest)
    rows = [
        versus("API calls", "calls", "{:,}", target="<= 0.2", note=note),
        versus(
            "wall time",
            "wall_s",
            "{:.1f} s",
            note="the import: the emulated job (5 s + 20,000 rows/s, scaled) and CSV work",
        ),
        versus(
            "CPU of the command",
            "cpu_s",
            "{:.1f} s",
            note="the child process's user + system time, same rows",
        ),
        Row(
            benchmark=NAME,
            measure="leads stored / duplicates",
            value=f"{bulk['leads_stored']:,} / {bulk['duplicate_leads']}",
            baseline=f"{rest['leads_stored']:,} / {rest['duplicate_leads']}",
            ok=bulk["duplicate_leads"] == 0
            and rest["duplicate_leads"] == 0
            and bulk["leads_stored"] == unique,
            target=f"{unique:,} / 0",
        ),
    ]
    rows.extend(paced)
    details = {"rows": count, "distinct_emails": unique, "upsert": rest, "import": bulk}
    return rows, {**details, **figures}
