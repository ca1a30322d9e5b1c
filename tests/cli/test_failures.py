"""Failures a user can cause end in one clear line and the right exit status, never a traceback.

Exit statuses and the absence of tracebacks are checked on the real process.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from marketo_async.cli import _program_members
from marketo_async.cli._run import systemic_record_fix
from marketo_async.testing import FakeMarketo
from tests.cli.conftest import Invoke, read_report, write_csv

LEADS = ["email", "firstName"]


def _cli(
    *args: str | Path, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "marketo_async.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )


def _leads(path: Path, count: int) -> Path:
    rows = [{"email": f"u{i}@example.com", "firstName": f"F{i}"} for i in range(1, count + 1)]
    return write_csv(path, rows, LEADS)


@pytest.mark.parametrize("value", ["0/20", "100/0", "fast"])
def test_a_rate_limit_outside_its_domain_is_a_usage_error(tmp_path: Path, value: str) -> None:
    done = _cli(
        "leads",
        "upsert",
        _leads(tmp_path / "l.csv", 1),
        "--sandbox",
        "--rate-limit",
        value,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "Invalid value for --rate-limit" in done.stderr and "Traceback" not in done.stderr


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_nothing_listening_at_the_base_url_fails_at_once_naming_the_host(tmp_path: Path) -> None:
    done = _cli(
        "leads",
        "upsert",
        _leads(tmp_path / "l.csv", 10),
        "--base-url",
        f"http://127.0.0.1:{_closed_port()}",
        "--report",
        "r.jsonl",
        cwd=tmp_path,
        env={"MARKETO_CLIENT_ID": "id", "MARKETO_CLIENT_SECRET": "secret"},
    )
    assert done.returncode == 1
    assert done.stderr.startswith("Error: cannot reach 127.0.0.1: Connection refused")
    assert "Traceback" not in done.stderr and "secret" not in done.stderr + done.stdout


def test_sandbox_serve_on_a_busy_port_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = _cli("sandbox", "serve", "--port", port, cwd=tmp_path)
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"Error: cannot serve on 127.0.0.1:{port}: ")
    assert "in use" in line


@pytest.mark.parametrize(
    ("code", "fix"),
    [
        ("1011", "pass a --lookup-field"),
        ("1008", "pass a --partition"),
        ("1009", "pass --partition"),
    ],
)
def test_an_error_no_row_can_avoid_stops_after_the_calls_in_flight(
    invoke: Invoke, tmp_path: Path, code: str, fix: str
) -> None:
    # The preflight catches these options up front; a call refused this way anyway (the
    # instance changed under the run) still stops the run.
    fake = FakeMarketo()
    fake.faults.script("/rest/v1/leads.json", code=code, times=1_000)
    source = _leads(tmp_path / "leads.csv", 30_000)  # 100 calls of 300
    report = tmp_path / "r.jsonl"
    result = invoke(fake, "leads", "upsert", source, "--sandbox", "--report", report)
    assert result.exit_code == 1
    assert "Stopped early" in result.stdout and f"Fix: {fix}" in result.stdout
    # One summary line for the reason, however many calls (and request ids) carried it.
    counted = [line for line in result.stdout.splitlines() if line[:1].isdigit()]
    assert [line for line in counted if f"[{code}]" in line] == counted[:1]
    _assert_stopped_after_the_calls_in_flight(
        report, fake.stats.by_path["/rest/v1/leads.json"], rows=30_000, status="failed"
    )


def _assert_stopped_after_the_calls_in_flight(
    report: Path, calls: int, *, rows: int, status: str
) -> None:
    """Only the calls in flight when the first refusal came back (10 at once) went out;
    each of their 300 rows has ``status``, every other row is not_attempted, saying why."""
    assert calls <= 10
    entries = read_report(report)
    assert len(entries) == rows
    statuses = Counter(entry["status"] for entry in entries)
    assert statuses == {status: calls * 300, "not_attempted": rows - calls * 300}
    unsent = next(entry for entry in entries if entry["status"] == "not_attempted")
    assert unsent.get("reasons") or unsent.get("error"), unsent


def _members(fake: FakeMarketo, count: int) -> list[int]:
    fake.add_program("Webinar", id=2001)
    ids = fake.add_leads({"email": f"m{i}@example.com"} for i in range(count))
    for lead_id in ids:
        fake.add_program_member(2001, lead_id)
    return ids


async def _no_check(client: object, *, columns: object) -> None:
    return None


@pytest.mark.parametrize(
    ("column", "code", "fix"),
    [
        ("nope", "1006", "Fix: drop or rename the column"),  # a field Marketo does not know
        ("statusReason", "1003", "Fix: fix what the reason names"),  # the same reason for all
    ],
)
def test_every_record_of_a_call_refused_for_one_reason_stops_the_run(
    invoke: Invoke,
    tmp_path: Path,
    column: str,
    code: str,
    fix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The preflight refuses such a header up front; a field deleted or locked under the run
    # (after the preflight read describe) still stops it.
    monkeypatch.setattr(_program_members, "check_member_update", _no_check)
    fake = FakeMarketo()
    ids = _members(fake, 9_000)  # 30 calls of 300
    rows = [{"leadId": lead_id, column: "x"} for lead_id in ids]
    source = write_csv(tmp_path / "members.csv", rows, ["leadId", column])
    report = tmp_path / "r.jsonl"
    result = invoke(
        fake, "program-members", "update", "2001", source, "--sandbox", "--report", report
    )
    assert result.exit_code == 1
    stop = [line for line in result.stdout.splitlines() if line.startswith("Stopped early")]
    assert len(stop) == 1 and f"[{code}]" in stop[0] and fix in stop[0], result.stdout
    calls = fake.stats.by_path["/rest/v1/programs/2001/members.json"]
    _assert_stopped_after_the_calls_in_flight(report, calls, rows=9_000, status="skipped")


def test_every_record_refused_for_its_own_reason_does_not_stop_the_run(
    invoke: Invoke, tmp_path: Path
) -> None:
    fake = FakeMarketo()
    fake.add_list("Missing leads", id=1001)
    # No such lead, for each id: about each record, not the call; every call is sent.
    source = write_csv(tmp_path / "ids.csv", [{"id": 50_000 + i} for i in range(9_000)], ["id"])
    report = tmp_path / "r.jsonl"
    result = invoke(fake, "lists", "add", "1001", source, "--sandbox", "--report", report)
    assert result.exit_code == 1
    assert "Stopped early" not in result.stdout, result.stdout
    assert fake.stats.by_path["/rest/v1/lists/1001/leads.json"] == 30
    entries = read_report(report)
    assert Counter(entry["status"] for entry in entries) == {"skipped": 9_000}
    assert {entry["reasons"][0]["code"] for entry in entries} == {"1004"}


def test_a_status_the_program_lacks_is_refused_before_any_row_is_sent(tmp_path: Path) -> None:
    # The real process, seeded from a file: a status the program's channel lacks would be
    # refused (1025) for every record; the channel's statuses are read first instead.
    count = 600
    seed = {
        "leads": [{"id": i, "email": f"m{i}@example.com"} for i in range(1, count + 1)],
        "programs": [
            {
                "id": 2001,
                "name": "Webinar",
                "statuses": ["Not in Program", "Invited", "Registered", "Attended"],
                "members": [{"leadId": i, "statusName": "Invited"} for i in range(1, count + 1)],
            }
        ],
    }
    (tmp_path / "seed.json").write_text(json.dumps(seed), encoding="utf-8")
    ids = write_csv(tmp_path / "ids.csv", [{"id": i} for i in range(1, count + 1)], ["id"])
    done = _cli(
        "program-members",
        "status",
        "2001",
        "Atended",
        ids,
        "--sandbox",
        "--sandbox-seed",
        "seed.json",
        "--report",
        "r.jsonl",
        "--progress",
        "off",
        cwd=tmp_path,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "nothing was sent" in done.stderr
    assert "'Atended' is not a status of program 2001" in done.stderr
    assert "'Not in Program', 'Invited', 'Registered', 'Attended'" in done.stderr
    assert "Did you mean 'Attended'?" in done.stderr
    report = tmp_path / "r.jsonl"
    assert not report.exists() or read_report(report) == []


@pytest.mark.parametrize(
    ("reason", "records", "stops"),
    [
        (("1006", "Field 'nope' not found"), 1, True),  # no record can avoid it, however few
        (("1025", "Program status 'X' not found"), 1, True),
        (("1003", "Field 'statusReason' is not updateable"), 300, True),
        (("1003", "Field 'statusReason' is not updateable"), 9, False),  # too few to tell
        *(((code, "about this record"), 300, False) for code in ("1004", "1005", "1007")),
        *(((code, "about this record"), 300, False) for code in ("1013", "1037", "301")),
        (("invalid-record", "the run's own check"), 300, False),  # not Marketo's
    ],
)
def test_which_reasons_shared_by_a_whole_call_stop_the_run(
    reason: tuple[str, str], records: int, stops: bool
) -> None:
    assert (systemic_record_fix(reason, records) is not None) is stops
