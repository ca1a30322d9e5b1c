"""``marketo-async campaigns trigger|schedule|list`` and ``usage``: the real command in its own
process, against FakeMarketo served over loopback HTTP by the test."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from anyio.from_thread import start_blocking_portal

from marketo_async.testing import FakeMarketo
from tests.cli.conftest import Invoke
from tests.cli_runner import read_report

REPO = Path(__file__).resolve().parents[2]
TRIGGER = "/rest/v1/campaigns/{}/trigger.json"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MARKETO_", "LEADGEN_"))}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    # The served emulator's credentials (FakeMarketo's defaults).
    fake = FakeMarketo()
    env["MARKETO_CLIENT_ID"] = fake.client_id
    env["MARKETO_CLIENT_SECRET"] = fake.client_secret
    return env


def _run(cwd: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "marketo_async.cli", *args, "--base-url", url]
    return subprocess.run(
        command, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def served() -> Iterator[tuple[FakeMarketo, str]]:
    fake = FakeMarketo()
    with start_blocking_portal() as portal:
        server, port = portal.start_task(fake.serve, 0)
        try:
            yield fake, f"http://127.0.0.1:{port}"
        finally:
            server.cancel()


def test_campaigns_trigger_with_a_file_of_emails(
    served: tuple[FakeMarketo, str], tmp_path: Path
) -> None:
    fake, url = served
    emails = [f"lead{n}@example.com" for n in range(250)]
    ids = [fake.add_lead(email=email) for email in emails]
    campaign = fake.add_smart_campaign("Send welcome email")
    # Emails in any letter case, and one no lead has.
    lines = [email.upper() if n % 10 == 0 else email for n, email in enumerate(emails)]
    (tmp_path / "leads.txt").write_text("\n".join([*lines, "nobody@example.com"]) + "\n")

    done = _run(
        tmp_path,
        url,
        "campaigns",
        "trigger",
        str(campaign),
        "leads.txt",
        "--token",
        "{{my.Offer}}=Spring sale",
        "--report",
        "r.jsonl",
        "--progress",
        "off",
    )

    assert done.returncode == 1, done.stderr  # one row did not apply
    assert "Traceback" not in done.stderr
    entries = [e for e in read_report(tmp_path / "r.jsonl") if "row" in e]
    assert Counter(e["status"] for e in entries) == {"triggered": 250, "failed": 1}
    by_row = {e["row"]: e for e in entries}
    assert [by_row[row]["id"] for row in range(1, 251)] == ids
    assert "'nobody@example.com' is an email address, not a lead id" in str(by_row[251])
    runs = fake.campaign_runs(campaign)
    assert sorted(lead for run in runs for lead in run.lead_ids) == ids
    assert all(run.tokens == {"{{my.Offer}}": "Spring sale"} for run in runs)
    # One lookup of the 251 emails, three triggers of at most 100 leads.
    assert fake.stats.by_path["/rest/v1/leads.json"] == 1
    assert fake.stats.by_path[TRIGGER.format(campaign)] == 3


def test_campaigns_trigger_on_a_campaign_that_cannot_be_requested_sends_no_trigger(
    served: tuple[FakeMarketo, str], tmp_path: Path
) -> None:
    fake, url = served
    inactive = fake.add_smart_campaign("Old welcome", active=False)
    batch = fake.add_smart_campaign("Newsletter", type="batch")
    (tmp_path / "ids.txt").write_text("\n".join(str(n) for n in range(1, 1_001)) + "\n")
    for campaign, said in (
        (inactive, f"campaign {inactive} ('Old welcome') cannot be requested"),
        (batch, "is a batch campaign: Marketo runs it on a schedule, never on request"),
        (99_999, "campaign 99999: Marketo has no smart campaign with that id"),
    ):
        done = _run(
            tmp_path, url, "campaigns", "trigger", str(campaign), "ids.txt", "--progress", "off"
        )
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr and "nothing was sent" in done.stderr
        assert said in done.stderr
        assert fake.stats.by_path[TRIGGER.format(campaign)] == 0


def test_campaigns_schedule_list_and_usage(served: tuple[FakeMarketo, str], tmp_path: Path) -> None:
    fake, url = served
    newsletter = fake.add_smart_campaign("Monthly newsletter", type="batch")
    fake.add_smart_campaign("Send welcome email")
    fake.other_integration_calls = 1_234
    central = dt.timezone(dt.timedelta(hours=-6))
    run_at = (dt.datetime.now(central) + dt.timedelta(days=30)).replace(microsecond=0)

    scheduled = _run(
        tmp_path,
        url,
        "campaigns",
        "schedule",
        str(newsletter),
        "--run-at",
        run_at.isoformat(),
        "--clone-to",
        "Newsletter January",
        "--token",
        "{{my.Subject}}=Happy new year",
    )
    assert scheduled.returncode == 0, scheduled.stderr
    (run,) = fake.campaign_runs(newsletter)
    assert run.run_at == run_at
    assert (run.clone_to_program_name, run.tokens) == (
        "Newsletter January",
        {"{{my.Subject}}": "Happy new year"},
    )

    listed = _run(tmp_path, url, "campaigns", "list")
    assert listed.returncode == 0, listed.stderr
    assert "Monthly newsletter" in listed.stdout and "Send welcome email" in listed.stdout

    usage = _run(tmp_path, url, "usage")
    assert usage.returncode == 0, usage.stderr
    assert "1,234" in usage.stdout  # the other integration's calls today
    assert "Quota left today:" in usage.stdout


def test_a_bad_token_is_a_usage_error_before_anything_is_sent(
    served: tuple[FakeMarketo, str], tmp_path: Path
) -> None:
    fake, url = served
    (tmp_path / "ids.txt").write_text("1\n")
    done = _run(tmp_path, url, "campaigns", "trigger", "1001", "ids.txt", "--token", "my.x=1")
    assert done.returncode == 2
    assert "{{my.name}}" in done.stderr
    assert fake.stats.calls == 0


def test_a_trigger_left_unknown_is_not_triggered_again_by_resume(
    invoke: Invoke, tmp_path: Path
) -> None:
    fake = FakeMarketo()
    ids = [fake.add_lead(email=f"lead{n}@example.com") for n in range(5)]
    campaign = fake.add_smart_campaign("Send welcome email")
    fake.faults.script(TRIGGER.format(campaign), code="604", after_apply=True, times=1)
    leads = tmp_path / "leads.txt"
    leads.write_text("".join(f"{lead}\n" for lead in ids), encoding="utf-8")
    report = tmp_path / "r.jsonl"
    first = invoke(fake, "campaigns", "trigger", str(campaign), leads, "--sandbox",
                   "--report", report)  # fmt: skip
    assert first.exit_code == 1, first.output
    runs = len(fake.campaign_runs(campaign))
    assert {entry["status"] for entry in read_report(report)} == {"unknown"}
    assert "--resume does not send the 5 rows left unknown" in first.output
    assert "Send the" not in first.output and "refused for reasons" not in first.output

    again = invoke(fake, "campaigns", "trigger", str(campaign), leads, "--sandbox",
                   "--resume", report)  # fmt: skip
    assert "are NOT sent again" in again.output
    assert len(fake.campaign_runs(campaign)) == runs  # no lead's flow ran twice
    final = {entry["row"]: entry["status"] for entry in read_report(report)}
    assert set(final.values()) == {"unknown"} and len(final) == 5


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("trigger", "1001", "ids.txt", "--token", "{{my.A}}=1", "--token", "{{my.A}}=2"),
         "{{my.A}} is given twice"),
        (("schedule", "1001", "--run-at", "2020-01-01T00:00:00Z"), "is in the past"),
    ],
)  # fmt: skip
def test_a_repeated_token_or_a_past_run_at_is_refused_before_any_call(
    invoke: Invoke, tmp_path: Path, args: tuple[str, ...], said: str
) -> None:
    fake = FakeMarketo()
    (tmp_path / "ids.txt").write_text("1\n")
    done = invoke(fake, "campaigns", *(tmp_path / a if a == "ids.txt" else a for a in args),
                  "--sandbox")  # fmt: skip
    assert done.exit_code == 2 and said in done.output
    assert fake.stats.calls == 0
