"""Every command end to end against the sandbox (an in-process FakeMarketo)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from marketo_async.cli._report import RunIdentity
from marketo_async.testing import FakeMarketo
from tests.cli.conftest import EXAMPLES, Invoke, by_row, read_report, write_csv, write_lines

LEADS = ["email", "firstName", "lastName", "company"]


def _rows(count: int, start: int = 1) -> list[dict[str, str]]:
    return [
        {
            "email": f"user{i}@example.com",
            "firstName": f"F{i}",
            "lastName": f"L{i}",
            "company": "Acme",
        }
        for i in range(start, start + count)
    ]


# ---------------------------------------------------------------------------- leads upsert


def test_upsert_csv_reports_every_row(invoke: Invoke, tmp_path: Path) -> None:
    fake = FakeMarketo()
    rows = _rows(700)
    rows[10]["email"] = "USER1@Example.com"  # the same lead as row 1, in another case
    source = write_csv(tmp_path / "leads.csv", rows, LEADS)
    report = tmp_path / "report.jsonl"
    result = invoke(fake, "leads", "upsert", source, "--sandbox", "--report", report)
    assert result.exit_code == 0, result.output
    assert "created" in result.stdout and "699" in result.stdout and "700" in result.stdout
    entries = read_report(report)
    assert sorted(entry["row"] for entry in entries) == list(range(1, 701))
    assert {entry["status"] for entry in entries} == {"created", "updated"}
    rows_by_number = by_row(entries)
    assert rows_by_number[11][0] == {
        "row": 11,
        "line": 12,
        "status": "updated",
        "key": "USER1@Example.com",
        "id": rows_by_number[1][0]["id"],
    }
    assert len(fake.leads) == 699 and fake.duplicates() == []
    assert fake.find_leads("email", "user1@example.com")[0]["firstName"] == "F11"


def test_upsert_jsonl_with_options(invoke: Invoke, tmp_path: Path) -> None:
    fake = FakeMarketo()
    fake.add_partition("Europe")
    fake.add_lead_field("externalId")
    records = [
        {"externalId": "x1", "firstName": "A"},
        {"externalId": "x1", "lastName": "B"},
        {"externalId": "x2", "firstName": "C"},
    ]
    source = write_lines(tmp_path / "leads.jsonl", [json.dumps(r) for r in records])
    result = invoke(
        fake,
        "leads",
        "upsert",
        source,
        "--sandbox",
        "--lookup-field",
        "externalId",
        "--partition",
        "Europe",
        "--coalesce",
        "--action",
        "createOnly",
        "--report",
        tmp_path / "r.jsonl",
    )
    assert result.exit_code == 0, result.output
    assert len(fake.leads) == 2
    merged = fake.find_leads("externalId", "x1")[0]
    assert (merged["firstName"], merged["lastName"]) == ("A", "B")
    statuses = {e["row"]: e["status"] for e in read_report(tmp_path / "r.jsonl")}
    assert statuses == {1: "created", 2: "created", 3: "created"}


def test_bad_rows_are_reported_with_their_row_and_the_run_goes_on(
    invoke: Invoke, tmp_path: Path
) -> None:
    fake = FakeMarketo()
    source = tmp_path / "leads.csv"
    source.write_text(
        "email,firstName\n"
        "a@example.com,Ann\n"
        "b@example.com,Bo,extra cell\n"
        ",no email\n"
        "\u00e9@example.com,Non-ASCII\n"
        "c@example.com,Cy\n",
        encoding="utf-8",
    )
    report = tmp_path / "report.jsonl"
    result = invoke(fake, "leads", "upsert", source, "--sandbox", "--report", report)
    assert result.exit_code == 1
    assert "failed" in result.stdout and "3 rows:" not in result.stdout  # a line per reason
    entries = {e["row"]: e for e in read_report(report)}
    assert {row: e["status"] for row, e in entries.items()} == {
        1: "created",
        2: "failed",
        3: "failed",
        4: "failed",
        5: "created",
    }
    assert entries[2]["reasons"][0]["code"] == "bad-input"
    assert "line 3" in entries[2]["reasons"][0]["message"]
    assert entries[3]["reasons"][0]["code"] == "local-validation"
    assert "non-ASCII" in entries[4]["reasons"][0]["message"]
    assert sorted(lead["email"] for lead in fake.leads.values()) == [
        "a@example.com",
        "c@example.com",
    ]


def test_skipped_rows_make_the_exit_status_non_zero(invoke: Invoke, tmp_path: Path) -> None:
    fake = FakeMarketo()
    fake.add_lead(email="old@example.com")
    source = write_csv(
        tmp_path / "l.csv", [{"email": "old@example.com"}, {"email": "new@example.com"}], ["email"]
    )
    report = tmp_path / "r.jsonl"
    result = invoke(
        fake, "leads", "upsert", source, "--sandbox", "--action", "createOnly", "--report", report
    )
    assert result.exit_code == 1
    assert "skipped" in result.stdout
    # A resend would be skipped again: the summary says so instead of advising --resume.
    assert "--resume" not in result.stdout
    assert "1 row refused for reasons of its own" in result.stdout
    skipped = read_report(report)[0]
    assert skipped["status"] == "skipped" and skipped["reasons"][0]["code"] == "1005"


def test_resume_skips_applied_rows(invoke: Invoke, tmp_path: Path) -> None:
    fake = FakeMarketo()
    rows = _rows(50)
    source = write_csv(tmp_path / "leads.csv", rows, LEADS)
    report = tmp_path / "report.jsonl"
    # An earlier run of leads.csv applied rows 1-20 and failed 21-25: made here by a run of
    # its first 20 rows, whose report is then marked as belonging to leads.csv.
    first = write_csv(tmp_path / "first.csv", rows[:20], LEADS)
    assert invoke(fake, "leads", "upsert", first, "--sandbox", "--report", report).exit_code == 0
    identity = RunIdentity.of("leads upsert", {"lookup_field": "email"}, source)
    first_line, *lines = report.read_text("utf-8").splitlines()
    marked = json.dumps({**json.loads(first_line), **identity.to_json()})
    report.write_text("\n".join([marked, *lines]) + "\n", "utf-8")
    with report.open("a", encoding="utf-8") as handle:
        for row in range(21, 26):
            handle.write(json.dumps({"row": row, "status": "failed"}) + "\n")
    calls_before = fake.stats.records
    result = invoke(fake, "leads", "upsert", source, "--sandbox", "--resume", report)
    assert result.exit_code == 0, result.output
    assert "already applied (resumed)" in result.stdout and "20" in result.stdout
    assert fake.stats.records - calls_before == 30  # only rows 21-50 were sent
    applied = {e["row"] for e in read_report(report) if e["status"] in ("created", "updated")}
    assert applied == set(range(1, 51))
    assert len(fake.leads) == 50 and fake.duplicates() == []


def test_a_second_run_does_not_replace_a_report(invoke: Invoke, tmp_path: Path) -> None:
    fake = FakeMarketo()
    source = write_csv(tmp_path / "leads.csv", _rows(3), LEADS)
    report = tmp_path / "report.jsonl"
    results = [
        invoke(fake, "leads", "upsert", source, "--sandbox", "--report", report) for _ in range(2)
    ]
    assert [result.exit_code for result in results] == [0, 2]
    assert [e["status"] for e in read_report(report)] == ["created"] * 3


def test_the_example_file_with_a_fresh_sandbox(invoke: Invoke, tmp_path: Path) -> None:
    """`marketo-async leads upsert examples/leads.csv --sandbox --report report.jsonl`."""
    result = invoke(
        None, "leads", "upsert", EXAMPLES / "leads.csv", "--sandbox", "--report", "report.jsonl"
    )
    assert result.exit_code == 0, result.output
    entries = read_report(tmp_path / "report.jsonl")
    assert len(entries) == 3_000
    created = sum(e["status"] == "created" for e in entries)
    updated = sum(e["status"] == "updated" for e in entries)
    assert created + updated == 3_000 and updated >= 100  # the repeats in another case
    assert f"{created:,}" in result.stdout and "3,000" in result.stdout


def test_example_generator_is_deterministic(tmp_path: Path) -> None:
    import runpy
    import sys

    out = tmp_path / "again.csv"
    argv = sys.argv
    sys.argv = ["make_leads.py", "--out", str(out)]
    try:
        runpy.run_path(str(EXAMPLES / "make_leads.py"), run_name="__main__")
    finally:
        sys.argv = argv
    assert out.read_bytes() == (EXAMPLES / "leads.csv").read_bytes()
    with out.open(encoding="utf-8") as handle:
        emails = [row["email"] for row in csv.DictReader(handle)]
    assert len(emails) == 3_000 and len({e.casefold() for e in emails}) < len(set(emails))


# ---------------------------------------------------------------------------- leads delete


def test_delete(invoke: Invoke, tmp_path: Path) -> None:
    fake = FakeMarketo()
    ids = [fake.add_lead(email=f"d{i}@example.com") for i in range(5)]
    source = write_lines(tmp_path / "ids.txt", ["id", *map(str, ids[:3]), "999999", "abc"])
    report = tmp_path / "r.jsonl"
    result = invoke(fake, "leads", "delete", source, "--sandbox", "--report", report)
    assert result.exit_code == 1  # 999999 is skipped, abc is not an id
    assert sorted(fake.leads) == ids[3:]
    statuses = {e["row"]: (e["status"], e.get("key")) for e in read_report(report)}
    assert statuses == {
        1: ("deleted", ids[0]),
        2: ("deleted", ids[1]),
        3: ("deleted", ids[2]),
        4: ("skipped", 999999),
        5: ("failed", None),
    }


# ---------------------------------------------------------------------------- leads export


@pytest.fixture
def seeded() -> FakeMarketo:
    fake = FakeMarketo()
    ids = [
        fake.add_lead(email=f"e{i}@example.com", firstName=f"E{i}", company="Acme")
        for i in range(10)
    ]
    fake.add_list("Newsletter", id=1001, lead_ids=ids[:4])
    program = fake.add_program("Webinar", id=2001)
    for lead_id in ids[5:8]:
        fake.add_program_member(program, lead_id)
    return fake


def test_export_by_filter_as_csv(invoke: Invoke, seeded: FakeMarketo, tmp_path: Path) -> None:
    values = write_lines(
        tmp_path / "emails.txt", ["E1@example.com", "e2@example.com", "nobody@example.com"]
    )
    out = tmp_path / "out.csv"
    result = invoke(
        seeded,
        "leads",
        "export",
        "--sandbox",
        "--filter-type",
        "email",
        "--values",
        values,
        "--fields",
        "email,firstName",
        "--fields",
        "company",
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows == [
        {"email": "e1@example.com", "firstName": "E1", "company": "Acme"},
        {"email": "e2@example.com", "firstName": "E2", "company": "Acme"},
    ]
    assert "Exported 2 leads" in result.stderr


def test_export_by_list_and_program_as_jsonl(
    invoke: Invoke, seeded: FakeMarketo, tmp_path: Path
) -> None:
    out = tmp_path / "list.jsonl"
    result = invoke(seeded, "leads", "export", "--sandbox", "--list", "1001", "--out", out)
    assert result.exit_code == 0, result.output
    exported = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(lead["email"] for lead in exported) == [f"e{i}@example.com" for i in range(4)]
    assert {"id", "email", "firstName"} <= set(exported[0])
    result = invoke(
        seeded, "leads", "export", "--sandbox", "--program", "2001", "--fields", "email"
    )
    assert result.exit_code == 0, result.output
    printed = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(lead["email"] for lead in printed) == [f"e{i}@example.com" for i in (5, 6, 7)]


def test_export_needs_one_source(invoke: Invoke, seeded: FakeMarketo) -> None:
    result = invoke(seeded, "leads", "export", "--sandbox", "--list", "1", "--program", "2")
    assert result.exit_code == 2 and "exactly one" in result.output
    result = invoke(seeded, "leads", "export", "--sandbox", "--filter-type", "email")
    assert result.exit_code == 2


def test_export_of_a_missing_list_fails_cleanly(invoke: Invoke, seeded: FakeMarketo) -> None:
    result = invoke(seeded, "leads", "export", "--sandbox", "--list", "4040")
    assert result.exit_code == 1
    assert "Error:" in result.stderr


# ---------------------------------------------------------------------------- lists


def test_lists_add_and_remove(invoke: Invoke, seeded: FakeMarketo, tmp_path: Path) -> None:
    ids = sorted(seeded.leads)
    source = write_csv(tmp_path / "ids.csv", [{"id": i} for i in ids[4:9]], ["id"])
    report = tmp_path / "add.jsonl"
    result = invoke(seeded, "lists", "add", "1001", source, "--sandbox", "--report", report)
    assert result.exit_code == 0, result.output
    assert seeded.list_members(1001) == set(ids[:9])
    assert {e["status"] for e in read_report(report)} == {"added"}
    remove = write_lines(tmp_path / "remove.txt", map(str, ids[:2]))
    result = invoke(seeded, "lists", "remove", "1001", remove, "--sandbox")
    assert result.exit_code == 0, result.output
    assert "removed" in result.stdout
    assert seeded.list_members(1001) == set(ids[2:9])


# ---------------------------------------------------------------------------- program members


def test_program_members_status_and_update(
    invoke: Invoke, seeded: FakeMarketo, tmp_path: Path
) -> None:
    ids = sorted(seeded.leads)
    source = write_lines(tmp_path / "ids.txt", map(str, ids[:3]))
    report = tmp_path / "status.jsonl"
    result = invoke(
        seeded,
        "program-members",
        "status",
        "2001",
        "Registered",
        source,
        "--sandbox",
        "--report",
        report,
    )
    assert result.exit_code == 0, result.output
    members = seeded.program_members(2001)
    assert all(members[i] == "Registered" for i in ids[:3])
    assert {e["status"] for e in read_report(report)} == {"created"}

    seeded.add_program_member_field("registrationCode")
    data = write_csv(
        tmp_path / "members.csv",
        [
            {"leadId": ids[0], "registrationCode": "R0"},
            {"leadId": "nope", "registrationCode": "R1"},
            {"leadId": ids[9], "registrationCode": "R9"},  # not a member: skipped
        ],
        ["leadId", "registrationCode"],
    )
    report = tmp_path / "update.jsonl"
    result = invoke(
        seeded, "program-members", "update", "2001", data, "--sandbox", "--report", report
    )
    assert result.exit_code == 1
    statuses = {e["row"]: e["status"] for e in read_report(report)}
    assert statuses == {1: "updated", 2: "failed", 3: "skipped"}
    member = seeded.store.programs[2001].members[ids[0]]
    assert member.fields["registrationCode"] == "R0"


# ---------------------------------------------------------------------------- describe


def test_describe(invoke: Invoke) -> None:
    fake = FakeMarketo()
    fake.add_lead_field("acmeScore", "integer")
    result = invoke(fake, "describe", "--sandbox")
    assert result.exit_code == 0, result.output
    assert "firstName" in result.stdout and "acmeScore" in result.stdout
    result = invoke(fake, "describe", "--sandbox", "--json")
    fields = json.loads(result.stdout)
    assert any(field["rest"]["name"] == "acmeScore" for field in fields if field.get("rest"))


# ---------------------------------------------------------------------------- the sandbox


def test_a_seeded_in_process_sandbox(invoke: Invoke, tmp_path: Path) -> None:
    seed = ["--sandbox", "--sandbox-seed", EXAMPLES / "sandbox_seed.json"]
    ids = EXAMPLES / "lead_ids.csv"
    result = invoke(None, "lists", "add", "1001", ids, *seed)
    assert result.exit_code == 0, result.output
    assert "added" in result.stdout and "3" in result.stdout
    result = invoke(None, "program-members", "status", "2001", "Registered", ids, *seed)
    assert result.exit_code == 0, result.output
    result = invoke(None, "leads", "export", "--list", "1001", "--fields", "email", *seed)
    assert sorted(json.loads(line)["email"] for line in result.stdout.splitlines()) == [
        "ada@example.com",
        "alan@example.com",
    ]
    leads = tmp_path / "l.csv"
    leads.write_text("email\nada@example.com\nnew@example.com\n", encoding="utf-8")
    result = invoke(
        None,
        "leads",
        "upsert",
        leads,
        "--sandbox",
        "--sandbox-seed",
        leads,
        "--sandbox-latency",
        "0.01",
        "--no-sandbox-limits",
        "--report",
        "r.jsonl",
    )
    assert result.exit_code == 0, result.output
    assert [e["status"] for e in read_report(tmp_path / "r.jsonl")] == ["updated", "updated"]


def test_plain_progress_lines_when_not_a_terminal(invoke: Invoke, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "leads.csv", _rows(40), LEADS)
    result = invoke(
        None,
        "leads",
        "upsert",
        source,
        "--sandbox",
        "--sandbox-latency",
        "0.05",
        "--batch-size",
        "10",
        "--concurrency",
        "1",
        "--progress-interval",
        "0.02",
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if "rows/s" in line]
    assert lines and lines[0].startswith("leads upsert leads.csv: ")
    assert "/40 rows (" in lines[-1] and "ETA" in lines[-1]


def test_usage_errors(invoke: Invoke, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "leads.csv", _rows(1), LEADS)
    result = invoke(
        None,
        "leads",
        "upsert",
        source,
        "--sandbox",
        "--action",
        "updateOnly",
        "--partition",
        "Europe",
    )
    assert result.exit_code == 2 and "--partition" in result.output
    result = invoke(
        None, "leads", "upsert", source, "--sandbox", "--report", tmp_path / "missing" / "r.jsonl"
    )
    assert result.exit_code == 2 and "--report" in result.output and "missing" in result.output
    result = invoke(None, "leads", "upsert", source, "--sandbox", "--rate-limit", "fast")
    assert result.exit_code == 2 and "CALLS/SECONDS" in result.output


def test_the_entry_point() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", "from marketo_async.cli import main; main()", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=EXAMPLES,
    )
    assert done.returncode == 0
    for command in ("leads", "lists", "program-members", "describe", "config", "sandbox"):
        assert command in done.stdout


def test_a_call_every_later_call_would_repeat_stops_the_run(invoke: Invoke, tmp_path: Path) -> None:
    fake = FakeMarketo()
    fake.faults.script("/rest/v1/leads.json", code="603", times=1_000)  # access denied
    source = write_csv(tmp_path / "leads.csv", _rows(500), LEADS)
    report = tmp_path / "r.jsonl"
    result = invoke(
        fake,
        "leads",
        "upsert",
        source,
        "--sandbox",
        "--batch-size",
        "10",
        "--concurrency",
        "1",
        "--report",
        report,
    )
    assert result.exit_code == 1
    assert "Stopped early, as every later call would fail the same way" in result.stdout
    statuses = [entry["status"] for entry in read_report(report)]
    assert len(statuses) == 500
    assert statuses.count("failed") <= 30 and statuses.count("not_attempted") >= 470
    assert fake.stats.by_path["/rest/v1/leads.json"] <= 3


def test_verbose_shows_the_clients_retries(invoke: Invoke, tmp_path: Path) -> None:
    fake = FakeMarketo()
    fake.faults.script("/rest/v1/leads.json", code="604", times=1)  # transient: retried
    source = write_csv(tmp_path / "leads.csv", _rows(3), LEADS)
    quiet = invoke(fake, "leads", "upsert", source, "--sandbox")
    assert quiet.exit_code == 0 and "retry" not in quiet.stderr
    fake.faults.script("/rest/v1/leads.json", code="604", times=1)
    loud = invoke(fake, "leads", "upsert", source, "--sandbox", "-v")
    assert loud.exit_code == 0 and "WARNING" in loud.stderr and "retry" in loud.stderr


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("notaurl", "use redis://"),
        ("http://:hunter2@h/", "use redis://"),
        ("redis://:hunter2@h:port/0", "port must be a number"),
        ("unix://", "socket's path"),
    ],
)
def test_a_redis_url_redis_cannot_open_is_a_usage_error_naming_the_option_before_any_call(
    invoke: Invoke, tmp_path: Path, url: str, why: str
) -> None:
    fake = FakeMarketo()
    source = write_csv(tmp_path / "leads.csv", _rows(1), LEADS)
    result = invoke(fake, "leads", "upsert", source, "--sandbox", "--redis", url)
    assert result.exit_code == 2, result.output
    assert "'--redis'" in result.output and why in result.output
    assert "hunter2" not in result.output and "Traceback" not in result.output
    assert fake.stats.calls == 0


def test_a_redis_url_from_the_environment_that_redis_cannot_open_is_one_line(
    invoke: Invoke, tmp_path: Path
) -> None:
    fake = FakeMarketo()
    source = write_csv(tmp_path / "leads.csv", _rows(1), LEADS)
    env = {"MARKETO_REDIS_URL": "http://:hunter2@h/"}
    result = invoke(fake, "leads", "upsert", source, "--sandbox", env=env)
    assert result.exit_code == 2, result.output
    assert "Redis URL 'http://:********@h/'" in result.output
    assert "hunter2" not in result.output
    assert fake.stats.calls == 0
