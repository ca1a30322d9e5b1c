"""The command as users run it: its own process, both emulators served over loopback HTTP,
credentials from the environment only; killed with SIGINT mid-run, then resumed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from anyio.from_thread import start_blocking_portal

from marketo_async.migrate import dirty_account
from marketo_async.testing import FakeLeadGen, FakeMarketo
from tests.migrate.conftest import LEADGEN_SECRET, MARKETO_SECRET, read_report

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

REPO = Path(__file__).resolve().parents[2]


@contextmanager
def served(lg: FakeLeadGen, mk: FakeMarketo) -> Iterator[dict[str, str]]:
    """Both fakes on loopback ports; yields the command's environment."""
    with start_blocking_portal() as portal:
        lg_task, lg_port = portal.start_task(lg.serve, 0)
        mk_task, mk_port = portal.start_task(mk.serve, 0)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MARKETO_", "LEADGEN_"))}
        env.update(
            PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
            LEADGEN_BASE_URL=f"http://127.0.0.1:{lg_port}/pubapi/v1.2/",
            LEADGEN_ACCOUNT_ID=lg.account_id,
            LEADGEN_SECRET_KEY=LEADGEN_SECRET,
            MARKETO_BASE_URL=f"http://127.0.0.1:{mk_port}",
            MARKETO_CLIENT_ID=mk.client_id,
            MARKETO_CLIENT_SECRET=MARKETO_SECRET,
        )
        try:
            yield env
        finally:
            lg_task.cancel()
            mk_task.cancel()


def _command(tmp_path: Path, *args: str) -> list[str]:
    return [
        *(sys.executable, "-m", "marketo_async.cli", "migrate", "leadgen-to-marketo"),
        *("--lists", "--lists-folder", "1", "--progress", "lines", "--progress-interval", "0.2"),
        *("-vv", *args),
    ]


def _wait_for_created(path: Path, count: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        if path.exists() and path.read_text(encoding="utf-8").count('"created"') >= count:
            return
        time.sleep(0.02)
    raise AssertionError("the first run created too few leads before it ended")


def test_killed_then_resumed_against_served_emulators(tmp_path: Path) -> None:
    lg = FakeLeadGen(secret_key=LEADGEN_SECRET, latency=0.05)
    lg.seed(dirty_account(10_000))
    mk = FakeMarketo(client_secret=MARKETO_SECRET, latency=0.5)
    report = tmp_path / "report.jsonl"
    with served(lg, mk) as env:
        first = subprocess.Popen(
            _command(tmp_path, "--report", str(report)),
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        _wait_for_created(report, 300, first)
        first.send_signal(signal.SIGINT)
        out1, err1 = first.communicate(timeout=60)
        stopped = Counter(line["status"] for line in read_report(report))
        second = subprocess.run(
            _command(tmp_path, "--resume", str(report)),
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert first.returncode == 130, err1
    assert stopped["created"] > 0
    assert stopped["not_attempted"] > 0 or sum(stopped.values()) < 10_000  # stopped midway
    assert "already applied are skipped" in second.stderr
    assert second.returncode == 1, second.stderr  # the account's n/a lead scores fail
    lines = read_report(report)
    applied = [line["row"] for line in lines if line["status"] in ("created", "updated")]
    assert len(applied) == len(set(applied))  # no lead applied twice
    final = {line["row"]: line["status"] for line in lines}
    assert len(final) == 10_000
    # The seed spoils leads by position in cycles of 24: 417 case variants of an earlier lead
    # and 416 more, 417 empty and 417 malformed emails, 417 lead scores of "n/a".
    expected = {"created": 7_916, "updated": 833, "skipped": 834, "failed": 417}
    assert Counter(final.values()) == expected
    assert mk.duplicates() == []
    assert len(mk.leads) == 7_916
    assert lg.stats.errors["107"] == 0
    assert mk.stats.errors["606"] == mk.stats.errors["615"] == 0
    everything = out1 + err1 + second.stdout + second.stderr + report.read_text()
    assert "secretKey=********" in everything  # -vv logged the Lead Gen & CRM calls
    assert LEADGEN_SECRET not in everything
    assert MARKETO_SECRET not in everything
