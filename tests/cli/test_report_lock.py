"""One run per report: a second run, or a resume, on a report a live run holds is refused
naming its pid; the lock goes with the process, kill -9 included."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from marketo_async.cli._lock import ReportBusy, ReportLock
from marketo_async.cli._report import ReportWriter
from marketo_async.testing import FakeMarketo
from tests.cli.conftest import Invoke, read_report, write_csv

LEADS = ["email", "firstName"]


def _leads(path: Path, count: int) -> Path:
    rows = [{"email": f"u{i}@example.com", "firstName": f"F{i}"} for i in range(count)]
    return write_csv(path, rows, LEADS)


_HOLDER = """
import sys, time
from pathlib import Path
from marketo_async.cli._lock import ReportLock
ReportLock(Path(sys.argv[1])).acquire()
print("held", flush=True)
time.sleep(120)
"""


def _hold_in_another_process(report: Path) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(report)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


@pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX")
def test_a_second_run_on_a_held_report_is_refused_naming_the_pid(
    invoke: Invoke, tmp_path: Path
) -> None:
    fake = FakeMarketo()
    source = _leads(tmp_path / "leads.csv", 20)
    report = tmp_path / "same.jsonl"
    holder = _hold_in_another_process(report)
    try:
        for extra in (("--report", report), ("--resume", report)):
            result = invoke(fake, "leads", "upsert", source, "--sandbox", *extra)
            assert result.exit_code == 2, result.output
            assert f"is in use by another run (pid {holder.pid})" in result.output
            assert "Traceback" not in result.output
        assert fake.leads == {} and not report.exists()
    finally:
        holder.send_signal(signal.SIGKILL)  # kill -9: the kernel drops its lock
        holder.wait()
    result = invoke(fake, "leads", "upsert", source, "--sandbox", "--report", report)
    assert result.exit_code == 0, result.output
    assert len(read_report(report)) == 20 and len(fake.leads) == 20
    assert not Path(f"{report}.lock").exists()  # removed when the run ended


@pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX")
def test_a_report_read_by_a_resume_is_locked_too(tmp_path: Path) -> None:
    report, earlier = tmp_path / "new.jsonl", tmp_path / "earlier.jsonl"
    with ReportWriter(report, also_lock=[earlier]), pytest.raises(ReportBusy) as refused:
        ReportLock(earlier, role="--resume").acquire()
    assert f"--resume {earlier} is in use by another run (pid {os.getpid()})" in str(
        refused.value.message
    )
    ReportLock(earlier).acquire().release()  # released with the writer


def test_a_device_report_is_not_locked(tmp_path: Path) -> None:
    lock = ReportLock(Path("/dev/null")).acquire()
    assert not Path("/dev/null.lock").exists()
    lock.release()


def test_a_run_that_writes_no_line_leaves_no_report(invoke: Invoke, tmp_path: Path) -> None:
    fake = FakeMarketo()
    source = write_csv(tmp_path / "empty.csv", [], LEADS)
    report = tmp_path / "report.jsonl"
    invoke(fake, "leads", "upsert", source, "--sandbox", "--report", report)
    assert not report.exists() and not Path(f"{report}.lock").exists()
