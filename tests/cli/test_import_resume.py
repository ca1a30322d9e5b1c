"""A ``leads import`` killed (SIGKILL) while its job imports, then resumed: the resumed run finds
the earlier job in ``REPORT.jobs`` and waits for it, so no row is uploaded while its earlier job
may still run (two jobs holding one key would create the lead twice)."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from anyio.from_thread import start_blocking_portal

from marketo_async.testing import BulkSettings, FakeMarketo
from tests.cli.conftest import by_row, read_report
from tests.cli_runner import child_command, child_env

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

ROWS = 3_000
IMPORT_S = 6.0  # the emulated job: long enough that the resumed run starts while it runs


def _source(tmp_path: Path) -> Path:
    path = tmp_path / "leads.csv"
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["email", "firstName"])
        for i in range(ROWS):
            writer.writerow([f"u{i}@example.com", f"U{i}"])
    return path


def _wait_for_job(jobs: Path, process: subprocess.Popen[str]) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if jobs.exists() and jobs.read_text(encoding="utf-8").strip():
            return int(json.loads(jobs.read_text(encoding="utf-8").splitlines()[0])["batchId"])
        if process.poll() is not None:
            pytest.fail(f"the run ended before its job was uploaded: {process.communicate()}")
        time.sleep(0.02)
    pytest.fail("the run uploaded no job")


def test_a_run_killed_while_its_job_imports_is_resumed_only_after_that_job_ended(
    tmp_path: Path,
) -> None:
    source = _source(tmp_path)
    fake = FakeMarketo(bulk=BulkSettings(import_seconds=IMPORT_S))
    report = tmp_path / "report.jsonl"
    with start_blocking_portal() as portal:
        server, port = portal.start_task(fake.serve, 0)
        common = ["--base-url", f"http://127.0.0.1:{port}", "--sandbox-credentials"]
        common += ["--rate-limit", "none"]
        common += ["--poll-interval", "0.2", "--progress", "off"]
        first = subprocess.Popen(
            child_command("leads", "import", source, "--report", report, *common),
            cwd=tmp_path,
            env=child_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        batch_id = _wait_for_job(Path(f"{report}.jobs"), first)
        first.send_signal(signal.SIGKILL)  # while its job imports: no outcome is written
        first.communicate(timeout=30)
        assert first.returncode == -signal.SIGKILL
        second = subprocess.run(
            child_command("leads", "import", source, "--resume", report, *common),
            cwd=tmp_path,
            env=child_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 0, (second.stdout, second.stderr)
        server.cancel()

    earlier = fake.bulk.jobs[str(batch_id)]
    uploads = [r for r in fake.stats.timeline if r.path == "/bulk/v1/leads.json"]
    assert len(uploads) == 2
    assert earlier.finished_at is not None
    assert uploads[1].start >= earlier.finished_at  # nothing uploaded while it ran
    assert f"waiting for job {batch_id} of the earlier run" in second.stderr
    rows = by_row(read_report(report))
    assert sorted(rows) == list(range(1, ROWS + 1))
    assert all([e["status"] for e in entries] == ["imported"] for entries in rows.values())
    assert fake.duplicates() == []
    assert len(fake.leads) == ROWS
