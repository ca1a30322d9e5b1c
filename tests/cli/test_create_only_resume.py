"""A resumed createOnly run knows which rows the earlier run may have applied: a 1005 answer
to their resend is checked by reading the lead back, never reported as the row's own skip."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import start_blocking_portal

from marketo_async.testing import FakeMarketo
from tests.cli.conftest import Invoke, by_row, read_report, write_csv
from tests.cli_runner import child_command, child_env

FIELDS = ["email", "firstName"]


def _rows(count: int) -> list[dict[str, str]]:
    return [{"email": f"c{n}@example.com", "firstName": f"C{n}"} for n in range(count)]


def _final(report: Path) -> dict[int, dict[str, Any]]:
    """Each row's last line (a resumed row has the earlier run's line first)."""
    return {row: entries[-1] for row, entries in by_row(read_report(report)).items()}


def _skipped_1005(final: dict[int, dict[str, Any]]) -> int:
    return sum(
        entry["status"] == "skipped"
        and any(reason["code"] == "1005" for reason in entry.get("reasons", ()))
        for entry in final.values()
    )


def _upsert(invoke: Invoke, fake: FakeMarketo, source: Path, *more: str | Path) -> Any:
    return invoke(fake, "leads", "upsert", source, "--sandbox", "--action", "createOnly", *more)


@pytest.mark.parametrize("settle", [False, True], ids=["resume", "resume-settle"])
def test_create_only_resume_reports_what_the_server_created(
    invoke: Invoke, tmp_path: Path, settle: bool
) -> None:
    fake = FakeMarketo()
    fake.faults.randomly(0.05, codes=("604",), seed=11, paths="leads.json", after_apply=True)
    source = write_csv(tmp_path / "leads.csv", _rows(20_000), FIELDS)
    report = tmp_path / "r.jsonl"
    first = _upsert(invoke, fake, source, "--report", report)
    unknown = Counter(entry["status"] for entry in _final(report).values())["unknown"]
    assert first.exit_code == 1 and unknown >= 300, first.output
    fake.faults.clear()
    more = ("--settle",) if settle else ()
    second = _upsert(invoke, fake, source, "--resume", report, *more)
    assert second.exit_code == 0, second.output
    assert f"{unknown:,} rows were left 'unknown'" in second.stderr
    assert "checked by reading the lead back" in second.stderr
    final = _final(report)
    assert sorted(final) == list(range(1, 20_001))
    statuses = Counter(entry["status"] for entry in final.values())
    assert statuses == {"created": len(fake.leads)} and len(fake.leads) == 20_000
    assert _skipped_1005(final) == 0
    confirmed = [
        e for e in final.values() if any(r["code"] == "earlier-run" for r in e.get("reasons", ()))
    ]
    assert len(confirmed) == unknown  # each one said why it counts as created
    assert fake.duplicates() == []


def test_a_lead_that_was_there_before_stays_skipped(invoke: Invoke, tmp_path: Path) -> None:
    fake = FakeMarketo()
    fake.add_lead(email="c1@example.com", firstName="Someone else")  # there before the run
    fake.faults.script("/rest/v1/leads.json", code="604", times=1)  # not applied: unknown
    source = write_csv(tmp_path / "leads.csv", _rows(3), FIELDS)
    report = tmp_path / "r.jsonl"
    _upsert(invoke, fake, source, "--report", report)
    assert {entry["status"] for entry in read_report(report)} == {"unknown"}
    _upsert(invoke, fake, source, "--resume", report)
    final = _final(report)
    assert [final[row]["status"] for row in (1, 2, 3)] == ["created", "skipped", "created"]
    reasons = [reason["code"] for reason in final[2]["reasons"]]
    assert reasons[0] == "1005" and "read-back" in reasons


def test_create_duplicate_unknown_rows_are_not_sent_again(invoke: Invoke, tmp_path: Path) -> None:
    fake = FakeMarketo()
    fake.faults.script("/rest/v1/leads.json", code="604", after_apply=True, times=1)
    source = write_csv(tmp_path / "leads.csv", _rows(3), FIELDS)
    report = tmp_path / "r.jsonl"
    invoke(fake, "leads", "upsert", source, "--sandbox", "--action", "createDuplicate",
           "--report", report)  # fmt: skip
    assert len(fake.leads) == 3
    second = invoke(fake, "leads", "upsert", source, "--sandbox", "--action", "createDuplicate",
                    "--resume", report)  # fmt: skip
    assert "are NOT sent again" in second.stderr
    assert len(fake.leads) == 3  # no second lead for any row
    assert {entry["status"] for entry in _final(report).values()} == {"unknown"}


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_create_only_killed_with_kill_9_then_resumed_reports_what_the_server_created(
    tmp_path: Path,
) -> None:
    source = write_csv(tmp_path / "leads.csv", _rows(3_000), FIELDS)
    fake = FakeMarketo(latency=0.02)
    report = tmp_path / "r.jsonl"
    client_pid: list[int] = []
    handle = fake.handle

    async def kill_after_the_tenth_write(request: Any) -> Any:
        # The 10th write is applied on the server, then the client dies before its answer.
        reply = await handle(request)
        writes = [call for call in fake.stats.timeline if call.path == "/rest/v1/leads.json"]
        if request.path == "/rest/v1/leads.json" and len(writes) == 10 and client_pid:
            os.kill(client_pid[0], signal.SIGKILL)
        return reply

    fake.handle = kill_after_the_tenth_write  # type: ignore[method-assign]
    with start_blocking_portal() as portal:
        server, port = portal.start_task(fake.serve, 0)
        common = ["--base-url", f"http://127.0.0.1:{port}", "--sandbox-credentials",
                  "--action", "createOnly",
                  "--concurrency", "3", "--rate-limit", "none", "--batch-size", "100",
                  "--progress", "lines"]  # fmt: skip
        first = subprocess.Popen(
            child_command("leads", "upsert", source, "--report", report, *common),
            cwd=tmp_path, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        client_pid.append(first.pid)
        first.communicate(timeout=60)
        assert first.returncode == -signal.SIGKILL
        time.sleep(0.3)  # calls the killed run had out finish on the server
        assert len(read_report(report)) < len(fake.leads)  # leads it created without a line
        second = subprocess.run(
            child_command("leads", "upsert", source, "--resume", report, *common),
            cwd=tmp_path, env=child_env(), capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        server.cancel()
    assert second.returncode == 0, (second.stdout, second.stderr)
    final = _final(report)
    assert sorted(final) == list(range(1, 3_001))
    assert Counter(entry["status"] for entry in final.values()) == {"created": len(fake.leads)}
    assert _skipped_1005(final) == 0 and fake.duplicates() == []
