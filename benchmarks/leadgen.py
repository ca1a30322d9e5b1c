"""``python -m benchmarks.leadgen [--quick]``: the Lead Gen & CRM client against its floor.

FakeLeadGen runs in its own process (``python -m marketo_async.testing serve-leadgen``) on
loopback HTTP, at the API's 10 calls per sliding second, with a fixed latency per call (0.1 s).
The client creates N leads of which R repeat an earlier email in another letter case, reads
every lead back, and then the CLI exports them with ``-vv``. The floor of each phase is
``ceil(calls / 10)`` seconds: no client can make those calls faster without a 107.

Every line the client logs (at DEBUG, httpx's included), the per-row report, the CLI's output
and its export are kept in a work directory and searched for the secret key, which must
appear nowhere. Results go to ``benchmarks/leadgen_results.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import random
import re
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio

from marketo_async import RecordOutcome
from marketo_async.leadgen import LeadGenClient

from ._common import Context, Row

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "leadgen_results.json"
CALLS_PER_SECOND = 10  # Lead Gen & CRM: 10 calls per second
ACCOUNT = "bench-account"
NAME = "7 leadgen"


@contextmanager
def served(secret: str, latency: float) -> Iterator[str]:
    """FakeLeadGen in another process; yields its endpoint URL."""
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "marketo_async.testing", "serve-leadgen", "--port", "0"),
            *("--latency", str(latency), "--calls", str(CALLS_PER_SECOND)),
            *("--account-id", ACCOUNT, "--secret-key", secret),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/pubapi/v1\.2/)", line)
        if match is None:
            raise RuntimeError(f"the emulator did not start: {line!r}")
        yield match.group(1)
    finally:
        process.terminate()
        process.wait(timeout=10)


def make_rows(total: int, repeats: int, seed: int = 16) -> list[dict[str, str]]:
    """``total`` leads; ``repeats`` of them repeat an earlier email in another letter case."""
    rng = random.Random(seed)
    unique = total - repeats
    rows = [
        {
            "emailAddress": f"lead{i:05d}@example.com",
            "firstName": f"First{i}",
            "lastName": f"Last{i}",
            "companyName": f"Company {i % 97} & Co",
        }
        for i in range(unique)
    ]
    for _ in range(repeats):
        position = rng.randrange(1, len(rows) + 1)
        earlier = rows[rng.randrange(0, min(position, unique))]
        rows.insert(position, {**earlier, "emailAddress": earlier["emailAddress"].upper()})
    return rows


def floor_s(calls: int) -> int:
    return math.ceil(calls / CALLS_PER_SECOND)


async def run_library(
    url: str, secret: str, rows: Sequence[dict[str, str]], report: Path
) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with report.open("w", encoding="utf-8") as handle:

        def write(outcome: RecordOutcome) -> None:
            line = {
                "row": outcome.index + 1,
                "status": outcome.status,
                "id": outcome.id,
                "reasons": [[r.code, r.message] for r in outcome.reasons],
                "error": None if outcome.error is None else str(outcome.error),
            }
            handle.write(json.dumps(line) + "\n")

        async with LeadGenClient(account_id=ACCOUNT, secret_key=secret, base_url=url) as lg:
            started = time.perf_counter()
            created = await lg.leads.create(rows, on_outcome=write)
            create_s = time.perf_counter() - started
            create_calls = lg.stats.calls
            started = time.perf_counter()
            read_back = [lead.id async for lead in lg.leads.query({})]
            read_s = time.perf_counter() - started
            read_calls = lg.stats.calls - create_calls
            figures.update(
                outcomes=dict(sorted(created.counts.items())),
                reasons=_reason_counts(created.failed),
                read_back=len(read_back),
                read_back_unique=len(set(read_back)),
                create_calls=create_calls,
                create_wall_s=round(create_s, 3),
                create_floor_s=floor_s(create_calls),
                read_calls=read_calls,
                read_wall_s=round(read_s, 3),
                read_floor_s=floor_s(read_calls),
                calls=lg.stats.calls,
                wall_s=round(create_s + read_s, 3),
                floor_s=floor_s(lg.stats.calls),
                errors_107=lg.stats.errors.get("107", 0),
                retries=lg.stats.retries,
                max_in_flight=lg.stats.max_in_flight,
            )
    return figures


def _reason_counts(failed: Sequence[RecordOutcome]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for outcome in failed:
        for reason in outcome.reasons:
            counts[reason.code] = counts.get(reason.code, 0) + 1
    return counts


def run_cli_export(url: str, secret: str, work: Path) -> dict[str, Any]:
    env = {
        **os.environ,
        "LEADGEN_BASE_URL": url,
        "LEADGEN_ACCOUNT_ID": ACCOUNT,
        "LEADGEN_SECRET_KEY": secret,
    }
    out = work / "export.csv"
    started = time.perf_counter()
    done = subprocess.run(
        [
            *(sys.executable, "-m", "marketo_async.cli", "leadgen", "leads", "export"),
            *("--out", str(out), "-vv", "--progress", "off"),
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=work,
        check=False,
    )
    wall = time.perf_counter() - started
    (work / "cli-stdout.txt").write_text(done.stdout, encoding="utf-8")
    (work / "cli-stderr.txt").write_text(done.stderr, encoding="utf-8")
    calls = done.stderr.count("DEBUG leadgen getLeads")
    return {
        "exit_status": done.returncode,
        "rows": max(len(out.read_text(encoding="utf-8").splitlines()) - 1, 0),
        "calls": calls,
        "wall_s": round(wall, 3),
        "masked_url_lines": done.stderr.count("secretKey=********"),
    }


def _errors_107(path: Path) -> int:
    return path.read_text(encoding="utf-8").count("error 107")


def grep_secret(secret: str, work: Path) -> dict[str, Any]:
    """``grep -rc SECRET work/``: the files searched and the matches (must be 0)."""
    done = subprocess.run(
        ["grep", "-rcF", secret, str(work)], capture_output=True, text=True, check=False
    )
    counts = {
        Path(path).name: int(count)
        for path, _, count in (line.rpartition(":") for line in done.stdout.splitlines())
    }
    return {
        "command": f"grep -rcF <secret> {work}",
        "files": counts,
        "matches": sum(counts.values()),
    }


def measure(leads: int, repeats: int, latency: float) -> dict[str, Any]:
    """One run: the library's creates and read-back, the CLI's export, the secret grep."""
    secret = "sk-" + secrets.token_hex(16)
    rows = make_rows(leads, repeats)
    with tempfile.TemporaryDirectory(prefix="leadgen-bench-") as directory:
        work = Path(directory)
        log = logging.FileHandler(work / "client.log", encoding="utf-8")
        log.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        root = logging.getLogger()
        level = root.level
        root.addHandler(log)
        root.setLevel(logging.DEBUG)  # every library's records: marketo_async, httpx, httpcore
        try:
            with served(secret, latency) as url:
                library = anyio.run(run_library, url, secret, rows, work / "report.jsonl")
                # The CLI is another client of the same account: let the library's last calls
                # leave the server's 1-second window, so its figures are its own.
                time.sleep(1.0 + latency)
                cli = run_cli_export(url, secret, work)
                cli["errors_107"] = _errors_107(work / "cli-stderr.txt")
        finally:
            root.removeHandler(log)
            root.setLevel(level)
            log.close()
        grep = grep_secret(secret, work)
        log_lines = len((work / "client.log").read_text(encoding="utf-8").splitlines())
    return {
        "setup": {
            "server": "FakeLeadGen via `python -m marketo_async.testing serve-leadgen`, "
            "another process, loopback HTTP",
            "calls_per_second": CALLS_PER_SECOND,
            "latency_s": latency,
            "leads": leads,
            "repeated_emails": repeats,
        },
        "library": library,
        "cli_export": cli,
        "client_log_lines": log_lines,
        "secret_grep": grep,
    }


def table(ctx: Context) -> tuple[list[Row], dict[str, Any]]:
    """``python -m benchmarks --only leadgen``: the run above as rows of the shared table."""
    leads, repeats = (1_000, 20) if ctx.settings.quick else (5_000, 100)
    results = measure(leads, repeats, latency=0.1)
    library, cli = results["library"], results["cli_export"]
    note = f"{leads:,} creates ({repeats} repeated emails), FakeLeadGen served, 10 calls/s"
    rows = [
        Row(
            benchmark=NAME,
            measure="create + read-back wall time",
            value=f"{library['wall_s']:.2f} s ({library['calls']} calls)",
            baseline=f"{library['floor_s']} s floor",
            ratio=library["wall_s"] / max(library["floor_s"], 1),
            note=note + "; the floor is ceil(calls / 10) s",
        ),
        Row(
            benchmark=NAME,
            measure="read back / 107 caused",
            value=f"{library['read_back_unique']:,} / {library['errors_107']}",
            target=f"{leads - repeats:,} / 0",
            ok=library["read_back_unique"] == leads - repeats and library["errors_107"] == 0,
        ),
        Row(
            benchmark=NAME,
            measure="CLI export rows / secret in output",
            value=f"{cli['rows']:,} / {results['secret_grep']['matches']}",
            target=f"{leads - repeats:,} / 0",
            ok=cli["rows"] == leads - repeats and results["secret_grep"]["matches"] == 0,
        ),
    ]
    return rows, results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.leadgen", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1,000 leads, 20 repeats")
    parser.add_argument("--leads", type=int, default=5_000)
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    if args.quick:
        args.leads, args.repeats = 1_000, 20
    results = measure(args.leads, args.repeats, args.latency)
    library, cli, grep = results["library"], results["cli_export"], results["secret_grep"]
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))
    ok = (
        library["errors_107"] == 0
        and grep["matches"] == 0
        and library["read_back"] == args.leads - args.repeats
        and cli["exit_status"] == 0
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
