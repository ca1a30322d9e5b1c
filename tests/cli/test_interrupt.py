"""Stopping a run: clean on the first signal, cancelled on the second; resuming from the report.

The kill-and-resume test runs the real command in a subprocess against a loopback
FakeMarketo server, interrupts it with SIGINT mid-run, resumes from its report, and checks
that every row was applied exactly once and no lead was duplicated.
"""

from __future__ import annotations

import contextlib
import csv
import json
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.from_thread import start_blocking_portal

from marketo_async import RateLimits
from marketo_async._batch import RecordOutcome, WriteOptions, run_batches
from marketo_async.cli._input import InputRow
from marketo_async.cli._report import APPLIED, ReportWriter
from marketo_async.cli._run import BulkRun, Stopper
from marketo_async.testing import FakeMarketo
from tests.cli.conftest import EXAMPLES, Invoke, by_row, read_report
from tests.cli_runner import child_command, child_env

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def _input(count: int) -> Iterator[InputRow]:
    return iter([InputRow(i, {"email": f"u{i}@example.com"}) for i in range(1, count + 1)])


def _run_in_process(fake: FakeMarketo, report: Path, *, stop_after: int, requests: int) -> BulkRun:
    stopper = Stopper()
    limits = RateLimits(calls=10**9, period=1.0, concurrency=2, daily_quota=None, window_margin=0.0)

    async def main() -> BulkRun:
        async with fake.client(rate_limits=limits) as client:
            with ReportWriter(report) as writer:

                def send(
                    records: Any,
                    *,
                    on_progress: Any,
                    on_outcome: Callable[[RecordOutcome], None],
                    stop: Callable[[], bool],
                ) -> Any:
                    def outcome(result: RecordOutcome) -> None:
                        on_outcome(result)
                        if run.done >= stop_after and stopper.requests < requests:
                            for _ in range(requests):
                                stopper.request("SIGINT")

                    return client.leads.sync(
                        records,
                        batch_size=50,
                        on_progress=on_progress,
                        on_outcome=outcome,
                        stop=stop,
                    )

                run = BulkRun(
                    _input(1_000),
                    send,
                    prepare=lambda r: (r, r["email"]),
                    report=writer,
                    stopper=stopper,
                )
                await run.run()
                return run

    return anyio.run(main)


def test_first_stop_request_finishes_calls_and_reports_the_rest(tmp_path: Path) -> None:
    fake = FakeMarketo(latency=0.005)
    report = tmp_path / "report.jsonl"
    run = _run_in_process(fake, report, stop_after=100, requests=1)
    assert run.interrupted and not run.cancelled and not run.ok
    created, not_attempted = run.counts["created"], run.counts["not_attempted"]
    assert 100 <= created < 1_000 and created + not_attempted == 1_000
    assert set(run.counts) == {"created", "not_attempted"}  # nothing left in doubt
    rows = by_row(read_report(report))
    assert sorted(rows) == list(range(1, 1_001)) and all(len(v) == 1 for v in rows.values())
    assert len(fake.leads) == created


def test_second_stop_request_cancels_calls_in_flight(tmp_path: Path) -> None:
    report = tmp_path / "report.jsonl"
    stopper = Stopper()
    calls: list[int] = []

    async def call(batch: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        calls.append(len(batch))
        number = len(calls)
        await anyio.sleep(0.01 if number == 1 else 30)  # the second call hangs
        return [{"status": "created", "id": 1000 * number + i} for i in range(len(batch))]

    def send(
        records: Any,
        *,
        on_progress: Any,
        on_outcome: Callable[[RecordOutcome], None],
        stop: Callable[[], bool],
    ) -> Any:
        def outcome(result: RecordOutcome) -> None:
            on_outcome(result)
            if run.done == 50:
                stopper.request("SIGINT")
                stopper.request("SIGINT")

        return run_batches(
            records,
            call,
            WriteOptions(batch_size=50, on_progress=on_progress, on_outcome=outcome, stop=stop),
            max_in_flight=2,
        )

    async def main() -> None:
        await run.run()

    with ReportWriter(report) as writer:
        run = BulkRun(
            _input(1_000), send, prepare=lambda r: (r, r["email"]), report=writer, stopper=stopper
        )
        started = time.monotonic()
        anyio.run(main)
    assert time.monotonic() - started < 5
    assert run.cancelled and not run.ok
    assert dict(run.counts) == {"created": 50, "unknown": 50, "not_attempted": 900}
    entries = read_report(report)
    rows = by_row(entries)
    assert sorted(rows) == list(range(1, 1_001)) and all(len(v) == 1 for v in rows.values())
    unknown = [e for e in entries if e["status"] == "unknown"]
    assert [e["row"] for e in unknown] == list(range(51, 101))
    assert unknown[0]["key"] == "u51@example.com"
    assert unknown[0]["reasons"][0]["code"] == "interrupted"


def _wait_for_lines(path: Path, count: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if path.exists() and path.read_text(encoding="utf-8").count("\n") >= count:
            return
        if process.poll() is not None:
            pytest.fail(f"the run ended before it was interrupted: {process.communicate()}")
        time.sleep(0.02)
    pytest.fail("the run did not write its report")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_killed_mid_run_and_resumed_applies_every_row_once(
    tmp_path: Path, signum: signal.Signals
) -> None:
    source = EXAMPLES / "leads.csv"
    with source.open(encoding="utf-8") as handle:
        emails = [row["email"] for row in csv.DictReader(handle)]
    fake = FakeMarketo(latency=0.04)
    report = tmp_path / "report.jsonl"
    with start_blocking_portal() as portal:
        server, port = portal.start_task(fake.serve, 0)
        url = f"http://127.0.0.1:{port}"
        common = [
            "--base-url",
            url,
            "--sandbox-credentials",
            "--concurrency",
            "1",
            "--rate-limit",
            "none",
            "--batch-size",
            "100",
            "--progress",
            "lines",
            "--progress-interval",
            "0.2",
        ]
        first = subprocess.Popen(
            child_command("leads", "upsert", source, "--report", report, *common),
            cwd=tmp_path,
            env=child_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        _wait_for_lines(report, 600, first)
        first.send_signal(signum)
        out, err = first.communicate(timeout=30)
        assert first.returncode == 128 + signum, (out, err)
        assert f"{signum.name}: stopping" in err and "not_attempted" in out
        assert f"--resume {report}" in out
        interrupted = by_row(read_report(report))
        assert sorted(interrupted) == list(range(1, 3_001))  # every row has its line
        statuses = {entries[0]["status"] for entries in interrupted.values()}
        assert statuses == {"created", "updated", "not_attempted"}
        sent_first = sum(e[0]["status"] in APPLIED for e in interrupted.values())
        assert 600 <= sent_first < 3_000

        second = subprocess.run(
            child_command("leads", "upsert", source, "--resume", report, *common),
            cwd=tmp_path,
            env=child_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 0, (second.stdout, second.stderr)
        assert "already applied (resumed)" in second.stdout
        server.cancel()

    applied = {
        row: [e for e in entries if e["status"] in APPLIED]
        for row, entries in by_row(read_report(report)).items()
    }
    assert sorted(applied) == list(range(1, 3_001))
    assert all(len(lines) == 1 for lines in applied.values())  # each row applied exactly once
    assert fake.duplicates() == []
    assert len(fake.leads) == len({email.casefold() for email in emails})
    ids = {lead["email"].casefold(): lead_id for lead_id, lead in fake.leads.items()}
    for row, (line,) in applied.items():
        assert line["id"] == ids[emails[row - 1].casefold()]


def test_sandbox_serve_is_a_persistent_target(invoke: Invoke, tmp_path: Path) -> None:
    seed_leads = tmp_path / "seed.csv"
    seed_leads.write_text("email,firstName\nold@example.com,Old\n", encoding="utf-8")
    dump = tmp_path / "dump.json"
    server = subprocess.Popen(
        child_command("sandbox", "serve", "--port", "0", "--leads", seed_leads, "--dump", dump),
        cwd=tmp_path,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        banner = server.stdout.readline()
        assert banner.startswith("Sandbox serving http://127.0.0.1:"), banner
        url = banner.split()[2]
        leads = tmp_path / "leads.csv"
        leads.write_text(
            "email,firstName\nOLD@example.com,New\nnew@example.com,N\n", encoding="utf-8"
        )
        result = invoke(
            None,
            "leads",
            "upsert",
            leads,
            "--base-url",
            url,
            "--sandbox-credentials",
            "--report",
            tmp_path / "r.jsonl",
        )
        assert result.exit_code == 0, result.output
        assert [e["status"] for e in read_report(tmp_path / "r.jsonl")] == ["updated", "created"]
        result = invoke(None, "describe", "--base-url", url, "--sandbox-credentials")
        assert result.exit_code == 0 and "firstName" in result.stdout
        result = invoke(
            None,
            "leads",
            "export",
            "--base-url",
            url,
            "--sandbox-credentials",
            "--filter-type",
            "email",
            "--values",
            leads,
            "--fields",
            "email,firstName",
        )
        assert result.exit_code == 0, result.output
        exported = [json.loads(line) for line in result.stdout.splitlines()]
        assert sorted((lead["email"].lower(), lead["firstName"]) for lead in exported) == [
            ("new@example.com", "N"),
            ("old@example.com", "New"),
        ]
    finally:
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=10)
    assert server.returncode == 143, err  # stopped by SIGTERM: its status, as every command
    assert "Sandbox stopped (2 leads)" in out
    assert "fake-client-secret" not in out + err
    state = json.loads(dump.read_text(encoding="utf-8"))
    assert sorted(lead["email"].lower() for lead in state["leads"]) == [
        "new@example.com",
        "old@example.com",
    ]
    assert state["duplicates"] == []


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_sandbox_serve_stopped_by_a_signal_exits_with_its_status_after_the_dump(
    tmp_path: Path, signum: int, status: int
) -> None:
    dump = tmp_path / "dump.json"
    server = subprocess.Popen(
        child_command("sandbox", "serve", "--port", "0", "--dump", dump),
        cwd=tmp_path,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    assert server.stdout.readline().startswith("Sandbox serving http://127.0.0.1:")
    server.send_signal(signum)
    out, err = server.communicate(timeout=30)
    assert server.returncode == status, err
    assert "Sandbox stopped (0 leads)." in out and "Traceback" not in err
    assert json.loads(dump.read_text(encoding="utf-8"))["leads"] == []


@contextlib.contextmanager
def _served_upsert(
    tmp_path: Path, fake: FakeMarketo, report: Path
) -> Iterator[subprocess.Popen[str]]:
    """``leads upsert`` of 3,000 rows against ``fake``, 100 a call, 5 calls per 20 s: the
    preflight's describe, the daily counter's stats/usage read and three writes, then a wait
    for the window."""
    source = tmp_path / "leads.csv"
    source.write_text(
        "email\n" + "".join(f"u{i}@example.com\n" for i in range(1, 3_001)), encoding="utf-8"
    )
    with start_blocking_portal() as portal:
        server, port = portal.start_task(fake.serve, 0)
        try:
            yield _upsert_process(tmp_path, source, report, port)
        finally:
            server.cancel()


def _upsert_process(tmp_path: Path, source: Path, report: Path, port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        child_command(
            "leads",
            "upsert",
            source,
            "--base-url",
            f"http://127.0.0.1:{port}",
            "--sandbox-credentials",
            "--rate-limit",
            "5/20",
            "--batch-size",
            "100",
            "--report",
            report,
            "--progress",
            "lines",
            "--progress-interval",
            "0.1",
        ),
        cwd=tmp_path,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_ctrl_c_during_a_window_wait_sends_nothing_more_and_exits_at_once(
    tmp_path: Path,
) -> None:
    fake = FakeMarketo()
    report = tmp_path / "report.jsonl"
    with _served_upsert(tmp_path, fake, report) as run:
        _wait_for_lines(report, 300, run)  # three calls answered; the fourth waits 20 s
        assert run.stderr is not None
        # Without a terminal, the wait gets a line of its own when it starts.
        notice = "waiting for Marketo's rate window: 5 calls per 20 s, next call in"
        while notice not in (line := run.stderr.readline()):
            assert line, "the run ended without saying it waits for the window"
        run.send_signal(signal.SIGINT)
        signalled = time.monotonic()
        out, err = run.communicate(timeout=60)
        took = time.monotonic() - signalled
        calls = fake.stats.by_path["/rest/v1/leads.json"]
    assert run.returncode == 130, (out, err)
    assert calls == 3  # nothing was sent after the signal
    assert took < 10  # the window had 20 s to go: the waiting calls were dropped, not sent
    statuses = Counter(entry["status"] for entry in read_report(report))
    assert statuses == {"created": 300, "not_attempted": 2_700}
    unsent = read_report(report)[-1]
    assert unsent["reasons"][0]["code"] == "interrupted"
    assert "nothing more is sent" in err


def test_a_second_ctrl_c_marks_unknown_only_the_rows_of_calls_on_the_wire(
    tmp_path: Path,
) -> None:
    fake = FakeMarketo(latency=4.0)  # long calls: three stay on the wire, seven wait
    report = tmp_path / "report.jsonl"
    with _served_upsert(tmp_path, fake, report) as run:
        deadline = time.monotonic() + 20
        while fake.stats.by_path["/rest/v1/leads.json"] < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        run.send_signal(signal.SIGINT)
        time.sleep(0.3)
        run.send_signal(signal.SIGINT)
        out, err = run.communicate(timeout=60)
        calls = fake.stats.by_path["/rest/v1/leads.json"]
    assert run.returncode == 130, (out, err)
    assert calls == 3
    entries = read_report(report)
    assert sorted(entry["row"] for entry in entries) == list(range(1, 3_001))
    statuses = Counter(entry["status"] for entry in entries)
    assert statuses == {"unknown": 300, "not_attempted": 2_700}
