"""Benchmark 6, choosing the path: ``leads import`` (Bulk Lead Import) against ``leads upsert``
(300-record REST calls) on the same 100,000 rows, in one run.

Both are the real command line in a child process, against the benchmark server in another
process with Marketo's limits (100 calls per period, 10 in flight, the latency per call) and
the same time factor as the other benchmarks; the emulated import job's own duration (5 s plus
20,000 rows a second, at full scale) is scaled too. We report the API calls each path spent,
its wall time, the leads stored and the duplicates left. The rows repeat 5% of their emails
(in another letter case for half), so both paths must keep same-key rows apart.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from ._common import Context, Row
from ._data import repeated_rows, write_csv
from ._server import CLIENT_ID, CLIENT_SECRET, REPO_ROOT

__all__ = ["run"]

NAME = "6 bulk vs REST"
ROWS = 100_000
QUICK_ROWS = 20_000
IMPORT_FIRST_POLL_S = 5.0  # the command's default, scaled with the rest


def _cli(ctx: Context, args: list[str], workdir: Path) -> dict[str, Any]:
    """Run ``marketo-async`` once against the server; wall time, report statuses, server stats."""
    settings = ctx.settings
    env = {key: value for key, value in os.environ.items() if not key.startswith("MARKETO_")}
    env.update(MARKETO_CLIENT_ID=CLIENT_ID, MARKETO_CLIENT_SECRET=CLIENT_SECRET)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    report = workdir / f"{args[1]}.jsonl"
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
    started = time.perf_counter()
    done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise RuntimeError(f"marketo-async exited {done.returncode}:\n{done.stderr[-2000:]}")
    statuses = Counter(
        json.loads(line)["status"] for line in report.read_text(encoding="utf-8").splitlines()
    )
    return {"wall_s": wall, "exit": done.returncode, "statuses": dict(statuses)}


def _one(ctx: Context, args: list[str], workdir: Path) -> dict[str, Any]:
    settings = ctx.settings
    ctx.server.reset(
        calls=100,
        period=settings.period,
        concurrency=10,
        latency=settings.latency,
        bulk_time_scale=settings.time_scale,
    )
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
    unique = count - repeated_rows(count)
    note = (
        f"{count:,} rows ({unique:,} distinct emails), time factor {settings.time_scale:g}; "
        "calls exclude identity"
    )
    rows = [
        Row(
            benchmark=NAME,
            measure="API calls",
            value=f"{bulk['calls']:,} (import)",
            baseline=f"{rest['calls']:,} (upsert)",
            ratio=bulk["calls"] / rest["calls"],
            target="<= 0.2",
            note=note,
        ),
        Row(
            benchmark=NAME,
            measure="wall time",
            value=f"{bulk['wall_s']:.1f} s (import)",
            baseline=f"{rest['wall_s']:.1f} s (upsert)",
            ratio=bulk["wall_s"] / rest["wall_s"],
            note="the import: the emulated job (5 s + 20,000 rows/s, scaled) and CSV work",
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
    return rows, {"rows": count, "distinct_emails": unique, "upsert": rest, "import": bulk}
