"""``migrate leadgen-to-marketo`` end to end on FakeLeadGen and FakeMarketo (in-process)."""

from __future__ import annotations

import json
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from marketo_async.testing import FakeLeadGen, FakeMarketo
from marketo_async.testing._wire import FakeReply, FakeRequest
from tests.migrate.conftest import (
    LEADGEN_SECRET,
    MARKETO_SECRET,
    Migrate,
    by_key,
    read_report,
)


def test_case_variant_emails_update_one_lead_in_source_order(
    lg: FakeLeadGen, mk: FakeMarketo, migrate: Migrate, tmp_path: Path
) -> None:
    first = lg.add_lead(emailAddress="ann@example.com", firstName="Ann", lastName="One")
    second = lg.add_lead(emailAddress="ANN@Example.com", firstName="Annie")
    third = lg.add_lead(emailAddress="Ann@example.COM", lastName="Three")
    report = tmp_path / "r.jsonl"

    result = migrate(lg, mk, "--report", report)

    assert result.exit_code == 0, result.output
    assert mk.duplicates() == []
    [lead] = mk.find_leads("email", "ann@example.com")
    # Applied one after another, in source order: the last value of each field wins, and a
    # field a later lead leaves empty keeps the earlier value.
    assert (lead["firstName"], lead["lastName"]) == ("Annie", "Three")
    lines = {line["row"]: line for line in read_report(report)}
    assert [lines[n]["status"] for n in (first, second, third)] == ["created", "updated", "updated"]
    assert {lines[n]["id"] for n in (first, second, third)} == {lead["id"]}
    assert [lines[n]["key"] for n in (first, second, third)] == [
        "ann@example.com",
        "ANN@Example.com",
        "Ann@example.COM",
    ]


def test_html_encoded_values_arrive_decoded_once(
    lg: FakeLeadGen, mk: FakeMarketo, migrate: Migrate
) -> None:
    # Typed in the Lead Gen & CRM UI: the API sends them HTML-encoded, as stored here.
    lg.add_lead(
        ui=False,
        emailAddress="ob@example.com",
        lastName="O&#039;Brien",
        companyName="Smith &amp; Sons",
        title="&amp;lt;b&amp;gt; literally",
    )
    lg.add_lead(emailAddress="ui@example.com", firstName="Zoë", lastName="D'Arcy & Co")

    result = migrate(lg, mk)

    assert result.exit_code == 0, result.output
    [lead] = mk.find_leads("email", "ob@example.com")
    assert lead["lastName"] == "O'Brien"
    assert lead["company"] == "Smith & Sons"
    assert lead["title"] == "&lt;b&gt; literally"  # decoded once, not twice
    [typed] = mk.find_leads("email", "ui@example.com")
    assert (typed["firstName"], typed["lastName"]) == ("Zoë", "D'Arcy & Co")


@pytest.mark.parametrize(
    ("email", "why"),
    [
        ("", "no email address"),
        ("   ", "no email address"),
        ("no-at-sign.example.com", "not an address"),
        ("two@@example.com", "not an address"),
        ("a@b@example.com", "not an address"),
        ("trailing@", "not an address"),
        ("@leading.example.com", "not an address"),
        ("spaced out@example.com", "whitespace"),
    ],
)
def test_dirty_emails_are_reported_not_sent_and_do_not_fail_the_run(
    lg: FakeLeadGen, mk: FakeMarketo, migrate: Migrate, tmp_path: Path, email: str, why: str
) -> None:
    dirty = lg.add_lead(emailAddress=email, firstName="Dirty")
    lg.add_lead(emailAddress="clean@example.com", firstName="Clean")
    report = tmp_path / "r.jsonl"

    result = migrate(lg, mk, "--report", report)

    assert result.exit_code == 0, result.output
    lines = {line["row"]: line for line in read_report(report)}
    assert len(lines) == 2
    assert lines[dirty]["status"] == "skipped"
    assert [r["code"] for r in lines[dirty]["reasons"]] == ["no-usable-email"]
    assert why in lines[dirty]["reasons"][0]["message"]
    assert [lead["firstName"] for lead in mk.leads.values()] == ["Clean"]
    assert mk.stats.records == 1  # the dirty lead never reached Marketo


def test_a_value_its_target_cannot_hold_fails_that_lead_naming_the_field(
    lg: FakeLeadGen, mk: FakeMarketo, migrate: Migrate, tmp_path: Path
) -> None:
    bad = lg.add_lead(emailAddress="bad@example.com", leadScore="n/a")
    lg.add_lead(emailAddress="good@example.com", leadScore="42", isUnsubscribed="1")
    report = tmp_path / "r.jsonl"

    result = migrate(lg, mk, "--report", report)

    assert result.exit_code == 1
    line = by_key(read_report(report))["bad@example.com"]
    assert line["row"] == bad and line["status"] == "failed"
    assert "leadScore" in line["reasons"][0]["message"]
    assert "'n/a' is not a valid integer" in line["reasons"][0]["message"]
    [good] = mk.find_leads("email", "good@example.com")
    assert good["leadScore"] == 42 and good["unsubscribed"] is True
    assert mk.find_leads("email", "bad@example.com") == []


def test_custom_mapping_adds_renames_and_drops_fields(
    lg: FakeLeadGen, mk: FakeMarketo, migrate: Migrate, tmp_path: Path
) -> None:
    mk.add_lead_field("leadRole")
    color = lg.add_field("Favorite Color")
    lg.add_lead(emailAddress="c@example.com", title="CTO", persona="Buyer", **{color: "teal"})
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"persona": "leadRole", color: "leadSource", "title": None}))

    result = migrate(lg, mk, "--mapping", mapping)

    assert result.exit_code == 0, result.output
    [lead] = mk.find_leads("email", "c@example.com")
    assert lead["leadRole"] == "Buyer"
    assert lead["leadSource"] == "teal"
    assert lead.get("title") in (None, "")


def test_mapping_to_a_field_marketo_lacks_stops_before_any_lead_is_read(
    lg: FakeLeadGen, mk: FakeMarketo, migrate: Migrate, tmp_path: Path
) -> None:
    lg.add_lead(emailAddress="c@example.com", persona="Buyer")
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"persona": "noSuchField"}))

    result = migrate(lg, mk, "--mapping", mapping, "--report", tmp_path / "r.jsonl")

    assert result.exit_code == 2
    assert "noSuchField" in result.output
    assert lg.stats.by_path["getLeads"] == 0
    assert mk.leads == {}


def test_plan_prints_the_map_against_describe_and_writes_nothing(
    lg: FakeLeadGen, mk: FakeMarketo, migrate: Migrate
) -> None:
    lg.add_lead(emailAddress="p@example.com")

    result = migrate(lg, mk, "--plan")

    assert result.exit_code == 0, result.output
    assert "companyName" in result.output and "company" in result.output
    assert "industry: not in Marketo" in result.output  # FakeMarketo has no industry field
    assert "Source fields with no target" in result.output and "persona" in result.output
    assert lg.stats.by_path["getLeads"] == 0
    assert mk.leads == {}


def test_lists_become_static_lists_of_the_same_name(
    lg: FakeLeadGen, mk: FakeMarketo, migrate: Migrate
) -> None:
    a = lg.add_lead(emailAddress="a@example.com")
    b = lg.add_lead(emailAddress="b@example.com")
    c = lg.add_lead(emailAddress="")  # no email: never in Marketo, so in no list there
    lg.add_list(11, [a, b, c], name="Newsletter & friends")
    lg.add_list(12, [b], name="Customers")
    existing = mk.add_list("Customers")

    result = migrate(lg, mk, "--lists")

    assert result.exit_code == 0, result.output
    ids = {
        email: mk.find_leads("email", email)[0]["id"]
        for email in ("a@example.com", "b@example.com")
    }
    [newsletter] = [s for s in mk.store.lists.values() if s.name == "Newsletter & friends"]
    assert set(newsletter.members) == {ids["a@example.com"], ids["b@example.com"]}
    assert set(mk.list_members(existing)) == {ids["b@example.com"]}
    assert sorted(s.name for s in mk.store.lists.values()) == ["Customers", "Newsletter & friends"]
    assert "(created)" in result.output


def test_updated_since_reads_only_the_delta(
    mk: FakeMarketo, migrate: Migrate, tmp_path: Path
) -> None:
    import datetime as dt

    now = [dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)]
    lg = FakeLeadGen(secret_key=LEADGEN_SECRET, clock=lambda: now[0])
    lg.add_lead(emailAddress="old@example.com")
    now[0] = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
    lg.add_lead(emailAddress="new@example.com")
    report = tmp_path / "r.jsonl"

    result = migrate(lg, mk, "--updated-since", "2026-02-01", "--report", report)

    assert result.exit_code == 0, result.output
    assert [line["key"] for line in read_report(report)] == ["new@example.com"]
    assert [lead["email"] for lead in mk.leads.values()] == ["new@example.com"]


def test_interrupted_then_resumed_applies_every_lead_exactly_once(
    lg: FakeLeadGen, migrate: Migrate, tmp_path: Path
) -> None:
    emails = [f"u{n}@example.com" for n in range(6_000)]
    for n, email in enumerate(emails):
        # Every tenth lead repeats the one before it, its email in another letter case.
        lg.add_lead(emailAddress=emails[n - 1].upper() if n % 10 == 9 else email)
    lg.add_lead(emailAddress="")
    mk = _InterruptedMarketo(after_syncs=3, client_secret=MARKETO_SECRET)
    report = tmp_path / "r.jsonl"

    first = migrate(lg, mk, "--report", report)

    assert first.exit_code == 130, first.output
    stopped = Counter(line["status"] for line in read_report(report))
    assert stopped["created"] + stopped["updated"] >= 300  # some applied before the stop
    assert stopped["not_attempted"] > 0
    assert set(stopped) <= {"created", "updated", "not_attempted", "skipped"}
    mk.after_syncs = None

    second = migrate(lg, mk, "--resume", report)

    assert second.exit_code == 0, second.output
    assert "already applied are skipped" in second.output
    lines = read_report(report)
    applied = [line["row"] for line in lines if line["status"] in ("created", "updated")]
    assert len(applied) == len(set(applied)) == 6_000  # every lead with an email, once
    assert sorted(lead["email"].lower() for lead in mk.leads.values()) == sorted(
        email for n, email in enumerate(emails) if n % 10 != 9
    )
    assert mk.duplicates() == []
    # Nothing applied in the first run went again: each lead reached Marketo once in all.
    assert mk.stats.records == 6_000


class _InterruptedMarketo(FakeMarketo):
    """Ctrl-C (a real SIGINT to this process) once ``after_syncs`` Sync Leads calls answered."""

    def __init__(self, *, after_syncs: int | None, **options: Any) -> None:
        super().__init__(**options)
        self.after_syncs = after_syncs
        self._syncs = 0

    async def handle(self, request: FakeRequest) -> FakeReply:
        reply = await super().handle(request)
        if request.path == "/rest/v1/leads.json" and self.after_syncs is not None:
            self._syncs += 1
            if self._syncs == self.after_syncs:
                signal.raise_signal(signal.SIGINT)
        return reply


def test_neither_secret_is_printed_or_written_even_verbose(
    lg: FakeLeadGen, mk: FakeMarketo, migrate: Migrate, tmp_path: Path, capfd: Any
) -> None:
    lg.add_lead(emailAddress="s@example.com")
    lg.add_lead(emailAddress="bad")
    lg.add_list(1, [next(iter(lg.leads))], name="L")
    report = tmp_path / "r.jsonl"

    result = migrate(lg, mk, "--report", report, "--lists", "-vv")

    captured = capfd.readouterr()
    everything = result.output + captured.out + captured.err + report.read_text()
    assert "s@example.com" in everything  # the output is really there
    assert LEADGEN_SECRET not in everything
    assert MARKETO_SECRET not in everything


def test_sandbox_shows_the_whole_job_on_a_dirty_account(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from marketo_async.cli import cli

    report = tmp_path / "r.jsonl"
    result = CliRunner().invoke(
        cli,
        ["migrate", "leadgen-to-marketo", "--sandbox", "--lists", "--report", str(report)],
        catch_exceptions=False,
    )

    lines = read_report(report)
    statuses = {line["status"] for line in lines}
    assert len(lines) == 240
    assert {"created", "updated", "skipped", "failed"} <= statuses
    assert result.exit_code == 1  # the account holds values Marketo's types cannot take
    assert "Newsletter" in result.output


def test_a_mapping_that_loses_the_email_is_refused_before_any_call(
    lg: FakeLeadGen, mk: FakeMarketo, migrate: Migrate, tmp_path: Path
) -> None:
    lg.add_lead(emailAddress="c@example.com")
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"emailAddress": None}))

    result = migrate(lg, mk, "--mapping", mapping)

    assert result.exit_code == 2
    assert "emailAddress must map to email" in result.output
    assert lg.stats.calls == 0 and mk.stats.calls == 0


def test_resume_refuses_a_report_of_another_command(
    lg: FakeLeadGen, mk: FakeMarketo, migrate: Migrate, tmp_path: Path
) -> None:
    lg.add_lead(emailAddress="a@example.com")
    other = tmp_path / "upsert.jsonl"
    other.write_text(
        json.dumps(
            {
                "row": 1,
                "status": "created",
                "key": "a@example.com",
                "run": {"command": "leads upsert", "settings": {}, "input": {"path": "x.csv"}},
            }
        )
        + "\n"
    )

    result = migrate(lg, mk, "--resume", other)

    assert result.exit_code == 2
    assert "does not belong to this run" in result.output
    assert mk.leads == {}


def test_a_sandbox_run_with_an_existing_report_is_told_to_name_another_not_to_resume(
    lg: FakeLeadGen, mk: FakeMarketo, migrate: Migrate, tmp_path: Path
) -> None:
    lg.add_lead(emailAddress="a@example.com")
    report = tmp_path / "r.jsonl"
    assert migrate(lg, mk, "--report", report).exit_code == 0
    before = report.read_bytes()

    result = migrate(lg, mk, "--report", report)

    # Each --sandbox run starts from new emulators: resuming would skip leads the new
    # Marketo emulator never got.
    assert result.exit_code == 2
    assert "name another --report" in result.output and "--resume" not in result.output
    assert report.read_bytes() == before
