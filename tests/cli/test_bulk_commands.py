"""``leads import`` and the Bulk Extract exports, against an in-process sandbox."""

from __future__ import annotations

import csv
import datetime as dt
import gc
import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from marketo_async.cli._bulk import RUN_GC_THRESHOLD
from marketo_async.testing import FakeMarketo

from .conftest import Invoke, read_report, write_csv

FAST = ("--sandbox", "--poll-interval", "0.01")


@pytest.fixture
def fake() -> FakeMarketo:
    fake = FakeMarketo()
    fake.bulk.settings.import_seconds = 0.0
    fake.bulk.settings.export_seconds = 0.0
    fake.bulk.settings.status_interval = 0.01
    return fake


def test_leads_import_reports_every_row_and_fails_on_rejections(
    invoke: Invoke, fake: FakeMarketo, tmp_path: Path
) -> None:
    rows = [
        {"email": "a@example.com", "firstName": "Smith, A"},
        {"email": "not-an-email", "firstName": "B"},
        {"email": "c@example.com", "firstName": 'say "hi"\nthere'},
        {"email": "", "firstName": "no email"},
    ]
    source = write_csv(tmp_path / "leads.csv", rows, ["email", "firstName"])
    report = tmp_path / "r.jsonl"
    list_id = fake.add_list("Imported")
    result = invoke(
        fake, "leads", "import", source, "--report", report, "--list-id", str(list_id), *FAST
    )
    assert result.exit_code == 1, result.output
    lines = sorted(read_report(report), key=lambda line: line["row"])  # written as answered
    assert [(line["row"], line["status"]) for line in lines] == [
        (1, "imported"),
        (2, "failed"),
        (3, "imported"),
        (4, "failed"),
    ]
    assert "email" in lines[1]["reasons"][0]["message"].lower()
    assert "lookup field 'email'" in lines[3]["reasons"][0]["message"]
    assert len(fake.list_members(list_id)) == 2
    assert "imported" in result.stdout and "failed" in result.stdout
    assert "API calls" in result.stderr


def test_leads_import_resume_skips_the_rows_already_imported(
    invoke: Invoke, fake: FakeMarketo, tmp_path: Path
) -> None:
    rows = [{"email": f"r{i}@example.com"} for i in range(5)] + [{"email": "bad"}]
    source = write_csv(tmp_path / "leads.csv", rows, ["email"])
    report = tmp_path / "r.jsonl"
    first = invoke(fake, "leads", "import", source, "--report", report, *FAST)
    assert first.exit_code == 1
    again = invoke(fake, "leads", "import", source, "--resume", report, *FAST)
    assert again.exit_code == 1
    jobs = [job for job in fake.bulk.jobs.values() if job.kind == "lead import"]
    # The five imported rows are not sent again; the bad email never is (refused locally).
    assert [job.records + len(job.details["outcome"].failures) for job in jobs] == [5]


def test_leads_import_exits_0_when_every_row_imported(
    invoke: Invoke, fake: FakeMarketo, tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "l.csv", [{"email": f"u{i}@x.com"} for i in range(50)], ["email"])
    result = invoke(fake, "leads", "import", source, *FAST)
    assert result.exit_code == 0, result.output
    assert len(fake.leads) == 50


def test_leads_import_of_rows_all_refused_here_says_no_file_was_sent(
    invoke: Invoke, fake: FakeMarketo, tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "l.csv", [{"email": "bad"}, {"email": ""}], ["email"])
    result = invoke(fake, "leads", "import", source, *FAST)
    assert result.exit_code == 1, result.output
    assert "import: no file sent" in result.stderr
    assert "import: done" not in result.stderr
    assert not [job for job in fake.bulk.jobs.values() if job.kind == "lead import"]


def _stamped(fake: FakeMarketo, count: int, start: dt.datetime, every: dt.timedelta) -> None:
    for i in range(count):
        lead_id = fake.add_lead(email=f"l{i}@example.com", firstName=f"L{i}" if i % 3 else None)
        moment = (start + i * every).strftime("%Y-%m-%dT%H:%M:%SZ")
        fake.store.leads[lead_id]["updatedAt"] = moment
        fake.store.leads[lead_id]["createdAt"] = moment


def test_leads_export_updated_since_until_uses_bulk_extract(
    invoke: Invoke, fake: FakeMarketo, tmp_path: Path
) -> None:
    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    _stamped(fake, 60, start - dt.timedelta(days=5), dt.timedelta(days=1))
    out = tmp_path / "out.csv"
    result = invoke(
        fake,
        "leads",
        "export",
        "--updated-since",
        "2024-01-01",
        "--until",
        "2024-02-15",
        "--fields",
        "email,firstName",
        "--out",
        out,
        *FAST,
    )
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["email", "firstName"]
    assert [row[0] for row in rows[1:]] == [f"l{i}@example.com" for i in range(5, 50)]
    assert rows[1] == ["l5@example.com", "L5"] and rows[2] == ["l6@example.com", ""]  # null
    assert fake.stats.by_path["/bulk/v1/leads/export/create.json"] == 2  # 45 days: 2 windows
    assert "Exported 45 leads" in result.stderr


def test_leads_export_list_via_bulk_and_created_since(
    invoke: Invoke, fake: FakeMarketo, tmp_path: Path
) -> None:
    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    _stamped(fake, 10, start, dt.timedelta(hours=1))
    list_id = fake.add_list("L", lead_ids=[1, 2, 3])
    out = tmp_path / "list.csv"
    result = invoke(
        fake,
        "leads",
        "export",
        "--list",
        str(list_id),
        "--via",
        "bulk",
        "--fields",
        "email",
        "--out",
        out,
        *FAST,
    )
    assert result.exit_code == 0, result.output
    assert out.read_text().splitlines() == ["email", *(f"l{i}@example.com" for i in range(3))]
    result = invoke(
        fake,
        "leads",
        "export",
        "--created-since",
        "2024-01-01T05:00:00Z",
        "--until",
        "2024-01-02",
        "--fields",
        "email",
        *FAST,
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:] == [f"l{i}@example.com" for i in range(5, 10)]


def test_program_members_and_activities_export(
    invoke: Invoke, fake: FakeMarketo, tmp_path: Path
) -> None:
    program_id = fake.add_program("Webinar")
    lead_id = fake.add_lead(email="m@example.com")
    fake.add_program_member(program_id, lead_id, "Registered")
    result = invoke(
        fake,
        "program-members",
        "export",
        str(program_id),
        "--fields",
        "leadId,email,statusName",
        *FAST,
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "leadId,email,statusName",
        f"{lead_id},m@example.com,Registered",
    ]
    fake.bulk.add_activity(
        lead_id, 12, activity_date=dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc)
    )
    result = invoke(
        fake,
        "activities",
        "export",
        "--created-since",
        "2024-01-01",
        "--until",
        "2024-01-03",
        "--type-ids",
        "12",
        *FAST,
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("marketoGUID,leadId,activityDate,activityTypeId")
    assert f",{lead_id},2024-01-02T00:00:00Z,12," in lines[1]


def test_rest_only_options_do_not_mix_with_bulk(invoke: Invoke, fake: FakeMarketo) -> None:
    result = invoke(
        fake, "leads", "export", "--updated-since", "2024-01-01", "--program", "1", *FAST
    )
    assert result.exit_code == 2
    result = invoke(fake, "leads", "export", "--list", "1", "--until", "2024-01-01", *FAST)
    assert result.exit_code == 2


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ("leads", "export", "--updated-since", "2024-03-01", "--until", "2024-01-01"),
            "--updated-since 2024-03-01 is not before --until 2024-01-01",
        ),
        (
            ("activities", "export", "--created-since", "2024-03-01", "--until", "2024-03-01"),
            "--created-since 2024-03-01 is not before --until 2024-03-01",
        ),
        (
            ("leads", "export", "--created-since", "2999-01-01"),
            "--created-since 2999-01-01 is not before now",
        ),
    ],
)
def test_an_empty_bulk_extract_range_names_the_options_before_any_call(
    invoke: Invoke, fake: FakeMarketo, args: tuple[str, ...], said: str
) -> None:
    result = invoke(fake, *args, *FAST)
    assert result.exit_code == 2, result.output
    assert f"{said}: nothing to export" in result.stderr
    assert fake.stats.calls == 0


@pytest.mark.parametrize("name", ["leads.ndjson", "leads.jsonl.gz"])
def test_a_bulk_export_takes_its_format_from_the_out_suffix_as_a_rest_export_does(
    invoke: Invoke, fake: FakeMarketo, tmp_path: Path, name: str
) -> None:
    fake.add_lead(email="a@x.com")
    out = tmp_path / name
    since = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)).date().isoformat()
    result = invoke(fake, "leads", "export", "--updated-since", since, "--out", out, *FAST)
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    text = gzip.decompress(data) if name.endswith(".gz") else data
    lines = [json.loads(line) for line in text.decode("utf-8").splitlines()]  # JSONL, not CSV
    assert [line["email"] for line in lines] == ["a@x.com"]


def test_program_members_import(invoke: Invoke, fake: FakeMarketo, tmp_path: Path) -> None:
    program_id = fake.add_program("Webinar")
    rows = [{"email": "p@example.com", "firstName": "P"}, {"email": "nope", "firstName": "Q"}]
    source = write_csv(tmp_path / "members.csv", rows, ["email", "firstName"])
    report = tmp_path / "r.jsonl"
    result = invoke(
        fake,
        "program-members",
        "import",
        str(program_id),
        "Registered",
        source,
        "--report",
        report,
        *FAST,
    )
    assert result.exit_code == 1, result.output
    statuses = {line["row"]: line["status"] for line in read_report(report)}
    assert statuses == {1: "imported", 2: "failed"}
    (lead,) = fake.find_leads("email", "p@example.com")
    assert fake.program_members(program_id) == {lead["id"]: "Registered"}


def test_sandbox_exports_finish_in_seconds_without_a_poll_interval(
    invoke: Invoke, tmp_path: Path
) -> None:
    from marketo_async.cli._connect import make_sandbox
    from marketo_async.testing import BulkSettings

    sandbox = make_sandbox(limits=True, latency=0.0, seed=None)
    assert sandbox.bulk.settings == BulkSettings.brisk()
    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    _stamped(sandbox, 3, start, dt.timedelta(hours=1))
    out = tmp_path / "out.csv"
    result = invoke(
        sandbox, "leads", "export", "--updated-since", "2024-01-01", "--until", "2024-01-02",
        "--fields", "email", "--out", out, "--sandbox",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(out.read_text(encoding="utf-8").splitlines()) == 4


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [("http://127.0.0.1:8765", 1.0), ("https://123-ABC-456.mktorest.com", 60.0)],
)
def test_an_export_from_an_emulator_on_loopback_polls_every_second_unless_told(
    base_url: str, expected: float
) -> None:
    from click.core import ParameterSource

    from marketo_async import MarketoClient
    from marketo_async.cli._bulk_api import _export_poll_interval
    from marketo_async.cli._connect import ConnectOptions

    client = MarketoClient(base_url=base_url, client_id="id", client_secret="secret")
    connect = ConnectOptions(base_url=base_url)
    default = ParameterSource.DEFAULT
    assert _export_poll_interval(client, connect, 60.0, chosen=default) == expected
    given = ParameterSource.COMMANDLINE
    assert _export_poll_interval(client, connect, 7.0, chosen=given) == 7.0


def test_a_bulk_run_collects_garbage_less_often_and_gives_the_settings_back(
    invoke: Invoke, fake: FakeMarketo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_csv(tmp_path / "leads.csv", [{"email": "a@example.com"}], ["email"])
    during: list[tuple[int, int, int]] = []
    handle = fake.handle

    async def seen(request: Any) -> Any:
        if request.path == "/bulk/v1/leads.json":
            during.append(gc.get_threshold())
        return await handle(request)

    monkeypatch.setattr(fake, "handle", seen)
    before = gc.get_threshold()
    result = invoke(fake, "leads", "import", source, "--report", tmp_path / "r.jsonl", *FAST)
    assert result.exit_code == 0, result.output
    assert during == [RUN_GC_THRESHOLD]
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
