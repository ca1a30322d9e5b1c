"""``python -m benchmarks [--quick]``: run the benchmarks, print a table, write results.json.

Every figure is measured against its baseline in the same run (the limits' floor, a hand-written
httpx loop, the incumbent client, a smaller input), repeated, and the median reported. Timing
never fails the run: the exit status is 1 only when a benchmark could not run at all.
"""

from __future__ import annotations

import argparse
import compileall
import datetime as dt
import importlib
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs

from ._common import Context, Row, Settings
from ._server import REPO_ROOT, ServerProcess

# name -> "module" (its ``run(ctx)``) or "module:function"; each returns (rows, details).
BENCHMARKS: dict[str, str] = {
    "budget": "budget",
    "overhead": "overhead",
    "incumbent": "incumbent",
    "memory": "memory",
    "read": "read_path",
    "bulk": "bulk",
    "activities": "activities",
    "leadgen": "leadgen:table",
    "migrate": "migrate:table",
    "lanes": "lanes",
}
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results.json"
COLUMNS = ("benchmark", "measure", "value", "baseline", "ratio", "target", "met", "note")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run (under a minute): one repetition, smaller inputs, time factor 0.05",
    )
    parser.add_argument(
        "--only", metavar="NAMES", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}"
    )
    parser.add_argument("--repeat", type=int, help="repetitions per figure (median reported)")
    parser.add_argument(
        "--time-scale",
        type=float,
        help="factor applied to Marketo's 20 s period and 0.5 s latency "
        "(full run: 0.25, --quick: 0.05)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help="where to write the JSON results [default: benchmarks/results.json]",
    )
    parser.add_argument(
        "--markdown", action="store_true", help="also print the table as Markdown (for the README)"
    )
    return parser


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb: float | None = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": model,
        "cpus": cpus,
        "memory_gb": memory_gb,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except OSError:
        return None
    return out.stdout.strip() or None


def _cells(row: Row) -> list[str]:
    ratio = "" if row.ratio is None else f"{row.ratio:.2f}"
    return [
        row.benchmark,
        row.measure,
        row.value,
        row.baseline,
        ratio,
        row.target,
        row.met(),
        row.note,
    ]


def format_table(rows: Sequence[Row]) -> str:
    """A plain-text table (the note column last, unpadded)."""
    lines = [list(COLUMNS)] + [_cells(row) for row in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(COLUMNS) - 1)]
    out = []
    for number, line in enumerate(lines):
        out.append(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=False))
            + "  "
            + line[-1]
        )
        if number == 0:
            out.append("  ".join("-" * width for width in widths) + "  " + "-" * 4)
    return "\n".join(text.rstrip() for text in out)


def format_markdown(rows: Sequence[Row]) -> str:
    header = [
        "Benchmark",
        "Measure",
        "marketo_async",
        "Baseline",
        "Ratio",
        "Target",
        "Met",
        "Notes",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [cell.replace("|", "\\|") for cell in _cells(row)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _selected(only: str | None) -> list[str]:
    if not only:
        return list(BENCHMARKS)
    names = [name.strip() for name in only.split(",") if name.strip()]
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        raise SystemExit(
            f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}"
        )
    return names


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings.smoke() if args.quick else Settings.full()
    if args.repeat is not None:
        settings = attrs.evolve(
            settings, repeat=max(1, args.repeat), incumbent_repeat=max(1, args.repeat)
        )
    if args.time_scale is not None:
        settings = attrs.evolve(settings, time_scale=args.time_scale)
    names = _selected(args.only)
    info = machine()
    print(
        f"marketo_async benchmarks ({'quick' if settings.quick else 'full'} run, "
        f"time factor {settings.time_scale:g}: period {settings.period:g} s, "
        f"latency {settings.latency:g} s; {settings.repeat} repetition(s))",
        flush=True,
    )
    print(
        f"machine: {info['cpu']}, {info['cpus']} CPUs, {info['memory_gb']} GB, "
        f"Python {info['python']}",
        flush=True,
    )
    # Byte-compiled, as `pip install` leaves an installed package: a command started as a child
    # process then loads the package as users' installs do, even where the environment forbids
    # writing bytecode (PYTHONDONTWRITEBYTECODE), which would compile it from source every run.
    compileall.compile_dir(REPO_ROOT / "marketo_async", quiet=1)
    started = time.perf_counter()
    rows: list[Row] = []
    details: dict[str, Any] = {}
    failed: list[str] = []
    with ServerProcess() as server:
        ctx = Context(settings=settings, server=server)
        for name in names:
            if name == "incumbent" and importlib.util.find_spec("marketorestpython") is None:
                rows.append(
                    Row(
                        benchmark="3 incumbent",
                        measure="skipped",
                        value="",
                        note="marketorestpython is not installed: pip install -e '.[bench]'",
                    )
                )
                details[name] = {"skipped": "marketorestpython is not installed"}
                continue
            print(f"... {name}", flush=True)
            begun = time.perf_counter()
            module_name, _, function = BENCHMARKS[name].partition(":")
            module = importlib.import_module(f"benchmarks.{module_name}")
            bench: Callable[[Context], tuple[list[Row], dict[str, Any]]] = getattr(
                module, function or "run"
            )
            try:
                found, more = bench(ctx)
            except Exception as error:  # a benchmark that cannot run is reported, not fatal
                traceback.print_exc()
                failed.append(name)
                rows.append(
                    Row(
                        benchmark=name,
                        measure="error",
                        value=type(error).__name__,
                        note=str(error).splitlines()[0][:120] if str(error) else "",
                    )
                )
                details[name] = {"error": repr(error)}
                continue
            rows += found
            details[name] = {**more, "seconds": round(time.perf_counter() - begun, 1)}
    elapsed = time.perf_counter() - started
    print()
    print(format_table(rows))
    if args.markdown:
        print()
        print(format_markdown(rows))
    print(f"\n{elapsed:.0f} s in all")
    results = {
        "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": "python -m benchmarks" + (" --quick" if settings.quick else ""),
        "argv": list(sys.argv[1:] if argv is None else argv),
        "git_commit": _git_commit(),
        "machine": info,
        "settings": attrs.asdict(settings),
        "seconds": round(elapsed, 1),
        "table": [attrs.asdict(row) | {"met": row.met()} for row in rows],
        "details": details,
    }
    args.output.write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")
    print(f"wrote {args.output}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
