"""``marketo-async leadgen leads upsert|export`` against FakeLeadGen (in-process or served)."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from marketo_async import RetryPolicy
from marketo_async.cli import cli
from marketo_async.cli._leadgen import LeadGenCliState
from marketo_async.testing import FakeLeadGen

SECRET = "cli-secret-7c1d-do-not-print"


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("LEADGEN_BASE_URL", "LEADGEN_ACCOUNT_ID", "LEADGEN_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _invoke(fake: FakeLeadGen | None, *args: Any, env: dict[str, str] | None = None) -> Result:
    state = LeadGenCliState(leadgen=fake, client_options={"retry": RetryPolicy.no_wait()})
    return CliRunner().invoke(
        cli, [str(a) for a in args], obj=state, env=env or {}, catch_exceptions=False
    )


def _csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def _report(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def test_upsert_reports_each_row_created_updated_or_failed(tmp_path: Path) -> None:
    fake = FakeLeadGen(secret_key=SECRET)
    old = fake.add_lead(emailAddress="old@example.com", firstName="Before")
    source = _csv(
        tmp_path / "leads.csv",
        [
            {"emailAddress": "OLD@example.com", "firstName": "After"},
            {"emailAddress": "new@example.com", "firstName": "New"},
            {"emailAddress": "New@Example.com", "firstName": "Newer"},
            {"emailAddress": "", "firstName": "NoEmail"},
        ],
    )
    result = _invoke(fake, "leadgen", "leads", "upsert", source, "--sandbox", "--report", "r.jsonl")
    assert result.exit_code == 1, result.output  # one row did not apply
    entries = {entry["row"]: entry for entry in _report(tmp_path / "r.jsonl")}
    assert [entries[row]["status"] for row in (1, 2, 3, 4)] == [
        "updated",
        "created",
        "updated",
        "failed",
    ]
    assert entries[2]["id"] == fake.find("new@example.com")[0]
    assert entries[4]["line"] == 5
    assert "emailAddress" in entries[4]["reasons"][0]["message"]
    assert fake.leads[old]["firstName"] == "After"
    assert fake.leads[fake.find("new@example.com")[0]]["firstName"] == "Newer"
    assert fake.stats.errors["107"] == 0
    assert SECRET not in result.output


def test_upsert_resume_skips_applied_rows(tmp_path: Path) -> None:
    fake = FakeLeadGen()
    rows = [{"emailAddress": f"r{i}@example.com"} for i in range(30)]
    source = _csv(tmp_path / "leads.csv", rows)
    first = _invoke(fake, "leadgen", "leads", "upsert", source, "--sandbox", "--report", "r.jsonl")
    assert first.exit_code == 0, first.output
    calls = fake.stats.calls
    again = _invoke(fake, "leadgen", "leads", "upsert", source, "--sandbox", "--resume", "r.jsonl")
    assert again.exit_code == 0
    assert "30 rows already applied are skipped" in again.output
    assert fake.stats.calls == calls
    assert len(fake.leads) == 30


def test_export_writes_the_contract_header_and_decoded_values(tmp_path: Path) -> None:
    fake = FakeLeadGen()
    color = fake.add_field("Color")
    fake.add_lead(
        emailAddress="a@example.com", firstName="Ann & Bo", lastName="<Lee>", **{color: "red"}
    )
    fake.add_lead(emailAddress="off@example.com", active=False)
    result = _invoke(
        fake, "leadgen", "leads", "export", "--sandbox", "--out", "out.csv", "--fields", color
    )
    assert result.exit_code == 0, result.output
    with (tmp_path / "out.csv").open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["id", "emailAddress", "firstName", "lastName", color]
    assert rows[1][1:] == ["a@example.com", "Ann & Bo", "&lt;Lee>", "red"]
    assert int(rows[1][0]) > 0
    assert len(rows) == 2  # the inactive lead is not listed


def test_export_of_a_misspelt_field_is_refused_with_the_closest_name(tmp_path: Path) -> None:
    fake = FakeLeadGen()
    fake.add_lead(emailAddress="a@example.com", companyName="Acme")
    result = CliRunner().invoke(
        cli,
        ["leadgen", "leads", "export", "--sandbox", "--out", "out.csv", "--fields", "companyNmae"],
        obj=LeadGenCliState(leadgen=fake, client_options={"retry": RetryPolicy.no_wait()}),
    )
    assert result.exit_code == 2, result.output
    assert "'companyNmae' (did you mean 'companyName'?)" in result.output
    assert not (tmp_path / "out.csv").exists() or "Acme" not in (tmp_path / "out.csv").read_text()


def test_export_updated_since_reads_a_date_window(tmp_path: Path) -> None:
    import datetime as dt

    now = [dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)]
    fake = FakeLeadGen(clock=lambda: now[0], date_range_paging="capped")
    for day in range(1, 11):
        now[0] = dt.datetime(2024, 1, day, 12, tzinfo=dt.timezone.utc)
        for i in range(120):
            fake.add_lead(emailAddress=f"d{day}-{i}@example.com")
    result = _invoke(
        fake,
        *("leadgen", "leads", "export", "--sandbox", "--out", "out.jsonl"),
        *("--updated-since", "2024-01-04", "--until", "2024-01-09"),
    )
    assert result.exit_code == 0, result.output
    lines = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    emails = {json.loads(line)["emailAddress"].split("-")[0] for line in lines}
    assert len(lines) == 5 * 120 and emails == {"d4", "d5", "d6", "d7", "d8"}


def test_without_settings_it_names_what_is_missing() -> None:
    result = _invoke(None, "leadgen", "leads", "export", "--out", "x.csv")
    assert result.exit_code == 2
    assert "LEADGEN_ACCOUNT_ID" in result.output and "LEADGEN_SECRET_KEY" in result.output


@pytest.fixture
def served() -> Iterator[str]:
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "marketo_async.testing", "serve-leadgen", "--port", "0"),
            *("--account-id", "acct-1", "--secret-key", SECRET),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        match = re.search(r"(http://127\.0\.0\.1:\d+/pubapi/v1\.2/)", process.stdout.readline())
        assert match
        yield match.group(1)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_verbose_run_against_a_served_emulator_never_prints_the_secret(
    served: str, tmp_path: Path
) -> None:
    source = _csv(
        tmp_path / "leads.csv", [{"emailAddress": f"v{i}@example.com"} for i in range(20)]
    )
    env = {"LEADGEN_BASE_URL": served, "LEADGEN_ACCOUNT_ID": "acct-1", "LEADGEN_SECRET_KEY": SECRET}
    upsert = _invoke(
        None, "leadgen", "leads", "upsert", source, "--report", "r.jsonl", "-vv", env=env
    )
    export = _invoke(None, "leadgen", "leads", "export", "--out", "out.csv", "-vv", env=env)
    assert upsert.exit_code == 0 and export.exit_code == 0, upsert.output + export.output
    assert "secretKey=********" in upsert.output
    for text in (upsert.output, export.output, *(p.read_text() for p in tmp_path.iterdir())):
        assert SECRET not in text
    assert len((tmp_path / "out.csv").read_text().splitlines()) == 21
