"""Benchmark 4, memory: peak RSS of ``marketo-async leads upsert`` streaming a big CSV.

The CLI runs as a child process (``python -m marketo_async.cli``, what the ``marketo-async``
script runs) against the benchmark server in another process, limits off and no latency, with
a per-row report on disk. Every 20 ms we read its RSS and the kernel's high-water mark of it
(VmHWM, the peak) from ``/proc``. The same run on a tenth of the rows is the baseline: flat memory
means the peak does not grow with the input.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ._common import Context, Row, median
from ._data import write_csv
from ._server import CLIENT_ID, CLIENT_SECRET, REPO_ROOT

__all__ = ["run"]

NAME = "4 memory"
SAMPLE_EVERY_S = 0.02
TARGET_MB = 150
FLAT = 1.1  # "flat": the big input's peak within 10% of the small one's


def _memory_kb(pid: int) -> tuple[int, int] | None:
    """The process's (VmRSS, VmHWM) in KB: its resident set now, and its peak so far."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found: dict[str, int] = {}
    for line in status.splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            found[line[:5]] = int(line.split()[1])
    if len(found) != 2:
        return None
    return found["VmRSS"], found["VmHWM"]


def _run_cli(base_url: str, csv_path: Path, workdir: Path) -> dict[str, Any]:
    """Run the CLI once; its peak RSS (the kernel's VmHWM) and RSS samples meanwhile.

    Not ``wait4``'s ``ru_maxrss``: on Linux it keeps the high-water mark from before ``exec``,
    when the forked child still counted this (bigger) benchmark process's pages.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith("MARKETO_")}
    env.update(MARKETO_CLIENT_ID=CLIENT_ID, MARKETO_CLIENT_SECRET=CLIENT_SECRET)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    report = workdir / "report.jsonl"
    report.unlink(missing_ok=True)  # each run is a new run: the CLI never overwrites a report
    command = [
        sys.executable,
        "-m",
        "marketo_async.cli",
        "leads",
        "upsert",
        str(csv_path),
        "--base-url",
        base_url,
        "--report",
        str(report),
        "--progress",
        "off",
        "--rate-limit",
        "none",
        "--concurrency",
        "10",
    ]
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=errors
        )
        samples: list[tuple[float, int]] = []
        peak_kb = 0
        while process.poll() is None:
            memory = _memory_kb(process.pid)
            if memory is not None:
                samples.append((round(time.perf_counter() - started, 3), memory[0]))
                peak_kb = max(peak_kb, memory[1])
            time.sleep(SAMPLE_EVERY_S)
        wall = time.perf_counter() - started
        if process.returncode != 0:
            errors.seek(0)
            text = errors.read().decode(errors="replace")
            raise RuntimeError(f"marketo-async exited {process.returncode}:\n{text[-2000:]}")
    with report.open("rb") as handle:
        reported = sum(1 for _ in handle)
    return {
        "wall_s": wall,
        "peak_rss_mb": peak_kb / 1024,
        "rss_samples_kb": samples[:: max(1, len(samples) // 100)],
        "report_lines": reported,
    }


def _quartiles(samples: list[tuple[float, int]]) -> list[float]:
    """RSS (MB) at a quarter, half, three quarters and the end of the run."""
    if not samples:
        return []
    return [
        samples[min(len(samples) - 1, int(len(samples) * q))][1] / 1024
        for q in (0.25, 0.5, 0.75, 1.0)
    ]


def run(ctx: Context) -> tuple[list[Row], dict[str, Any]]:
    settings = ctx.settings
    results: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="marketo-bench-") as temp:
        workdir = Path(temp)
        for count in settings.memory_rows:
            csv_path = workdir / f"leads-{count}.csv"
            write_csv(csv_path, count)
            runs = []
            for _ in range(settings.memory_repeat):
                ctx.server.reset()
                one = _run_cli(ctx.server.url, csv_path, workdir)
                if one["report_lines"] != count:
                    raise RuntimeError(f"report has {one['report_lines']} lines for {count} rows")
                runs.append(one)
            csv_path.unlink()
            results[count] = {
                "peak_rss_mb": median([r["peak_rss_mb"] for r in runs]),
                "rows_per_s": count / median([r["wall_s"] for r in runs]),
                "rss_quartiles_mb": _quartiles(runs[-1]["rss_samples_kb"]),
                "runs": runs,
            }
    small, big = min(results), max(results)
    peak, base = results[big]["peak_rss_mb"], results[small]["peak_rss_mb"]
    growth = (peak - base) * 1024 * 1024 / (big - small)
    quartiles = ", ".join(f"{mb:.0f}" for mb in results[big]["rss_quartiles_mb"])
    rows = [
        Row(
            benchmark=NAME,
            measure=f"peak RSS, {big:,} rows vs {small:,}",
            value=f"{peak:.0f} MB",
            baseline=f"{base:.0f} MB",
            ratio=peak / base,
            target=f"flat, < {TARGET_MB} MB",
            ok=peak < TARGET_MB and peak / base <= FLAT,
            note=f"grows {growth:+.1f} bytes a row; RSS at 1/4, 1/2, 3/4, end: {quartiles} MB; "
            f"{results[big]['rows_per_s']:,.0f} rows/s",
        ),
    ]
    details = {
        str(count): {key: value for key, value in result.items()}
        for count, result in results.items()
    }
    return rows, {"target_mb": TARGET_MB, "growth_bytes_per_row": growth, "by_rows": details}
