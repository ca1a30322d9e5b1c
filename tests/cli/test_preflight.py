"""Before the first write: the header, the lookup field and the partition are checked once."""

from __future__ import annotations

from pathlib import Path

from click.testing import Result

from marketo_async.cli._preflight import LeadChecks, lead_transform
from marketo_async.testing import FakeMarketo
from tests.cli.conftest import Invoke, write_lines

WRITES = "/rest/v1/leads.json"


def _file(tmp_path: Path, header: str, *rows: str) -> Path:
    return write_lines(tmp_path / "leads.csv", [header, *rows])


def test_unknown_columns_are_refused_with_the_closest_names(invoke: Invoke, tmp_path: Path) -> None:
    fake = FakeMarketo()
    source = _file(tmp_path, "emial,FirstName,lastName", "a@example.com,Ann,Lee")
    result = invoke(fake, "leads", "upsert", source, "--sandbox")
    assert result.exit_code == 2
    assert "'emial' (did you mean 'email'?)" in result.stderr
    assert "'FirstName' (did you mean 'firstName'?)" in result.stderr
    assert "--drop-unknown-fields" in result.stderr
    assert fake.stats.by_path[WRITES] == 0
    assert fake.stats.by_path["/rest/v1/leads/describe2.json"] == 1


def test_drop_unknown_fields_leaves_them_out(invoke: Invoke, tmp_path: Path) -> None:
    fake = FakeMarketo()
    source = _file(tmp_path, "email,shoeSize", "a@example.com,42")
    result = invoke(fake, "leads", "upsert", source, "--sandbox", "--drop-unknown-fields")
    assert result.exit_code == 0, result.output
    (lead,) = fake.leads.values()
    assert lead["email"] == "a@example.com" and "shoeSize" not in lead


def test_a_lookup_field_marketo_cannot_use_is_refused_before_any_write(
    invoke: Invoke, tmp_path: Path
) -> None:
    fake = FakeMarketo()
    source = _file(tmp_path, "email,firstName", "a@example.com,Ann")
    result = invoke(fake, "leads", "upsert", source, "--sandbox", "--lookup-field", "firstName")
    assert result.exit_code == 2
    assert "--lookup-field 'firstName': Marketo cannot look leads up by it" in result.stderr
    assert fake.stats.by_path[WRITES] == 0


def test_a_missing_partition_is_refused_with_the_ones_there_are(
    invoke: Invoke, tmp_path: Path
) -> None:
    fake = FakeMarketo()
    fake.add_partition("Europe")
    source = _file(tmp_path, "email", "a@example.com")
    result = invoke(fake, "leads", "upsert", source, "--sandbox", "--partition", "Eurpoe")
    assert result.exit_code == 2
    assert "--partition 'Eurpoe' does not exist (did you mean 'Europe'?)" in result.stderr
    assert fake.stats.by_path[WRITES] == 0


def test_dry_run_checks_every_row_and_writes_nothing(invoke: Invoke, tmp_path: Path) -> None:
    fake = FakeMarketo()
    source = _file(tmp_path, "email,firstName", "a@example.com,Ann", ",NoEmail", "b@example.com,Bo")
    result = invoke(fake, "leads", "upsert", source, "--sandbox", "--dry-run")
    assert result.exit_code == 1, result.output
    assert "Dry run: 2 rows would be sent, 1 refused before sending." in result.stdout
    assert "no value for lookup field 'email'" in result.stdout
    assert fake.stats.by_path[WRITES] == 0 and not fake.leads


# ------------------------------------------------------------------ leads import, the same checks

IMPORTS = "/bulk/v1/leads.json"


def _import(invoke: Invoke, fake: FakeMarketo, source: Path, *args: str) -> Result:
    return invoke(fake, "leads", "import", source, "--sandbox", "--poll-interval", "0.01", *args)


def test_leads_import_refuses_a_lookup_field_marketo_would_refuse_before_any_upload(
    invoke: Invoke, tmp_path: Path
) -> None:
    fake = FakeMarketo()
    source = _file(tmp_path, "email,firstName", "a@example.com,Ann")
    result = _import(invoke, fake, source, "--lookup-field", "firstName")
    assert result.exit_code == 2
    assert "--lookup-field 'firstName': Marketo cannot look leads up by it" in result.stderr
    assert fake.stats.by_path[IMPORTS] == 0 and not fake.leads


def test_leads_import_dry_run_of_a_misspelt_header_refuses_it_with_the_closest_name(
    invoke: Invoke, tmp_path: Path
) -> None:
    fake = FakeMarketo()
    source = _file(tmp_path, "emial,firstName", "a@example.com,Ann", "b@example.com,Bo")
    result = _import(invoke, fake, source, "--dry-run")
    assert result.exit_code == 2
    assert "'emial' (did you mean 'email'?)" in result.stderr
    assert "would be sent" not in result.stdout


def test_leads_import_describes_the_lead_fields_once_for_its_checks_and_its_rows(
    invoke: Invoke, tmp_path: Path
) -> None:
    fake = FakeMarketo()
    source = _file(tmp_path, "email,firstName", "a@example.com,Ann", "b@example.com,Bo")
    result = _import(invoke, fake, source)
    assert result.exit_code == 0, result.output
    assert fake.stats.by_path["/rest/v1/leads/describe2.json"] == 1
    assert fake.stats.by_path[IMPORTS] == 1
    assert sorted(lead["firstName"] for lead in fake.leads.values()) == ["Ann", "Bo"]


def test_leads_import_refuses_a_missing_partition_and_a_missing_list_before_any_upload(
    invoke: Invoke, tmp_path: Path
) -> None:
    fake = FakeMarketo()
    fake.add_partition("Europe")
    source = _file(tmp_path, "email", "a@example.com")
    result = _import(invoke, fake, source, "--partition", "Nope", "--list-id", "1042")
    assert result.exit_code == 2
    assert "--partition 'Nope' does not exist" in result.stderr
    assert "--list-id 1042: Marketo has no static list with that id" in result.stderr
    assert fake.stats.by_path[IMPORTS] == 0


def test_leads_import_from_stdin_is_checked_before_any_upload_too(invoke: Invoke) -> None:
    fake = FakeMarketo()
    text = "email\na@example.com\n"
    result = invoke(fake, "leads", "import", "-", "--sandbox", "--partition", "Nope", input=text)
    assert result.exit_code == 2
    assert "--partition 'Nope' does not exist" in result.stderr
    assert fake.stats.by_path[IMPORTS] == 0


def test_a_header_without_the_lookup_column_is_refused_up_front(
    invoke: Invoke, tmp_path: Path
) -> None:
    fake = FakeMarketo()
    source = _file(tmp_path, "firstName,lastName", *(f"A{i},B{i}" for i in range(50)))
    for command in ("upsert", "import"):
        result = invoke(fake, "leads", command, source, "--sandbox")
        assert result.exit_code == 2, result.output
        assert "the header has no 'email' column" in result.stderr
        assert "--resume" not in result.output
    assert fake.stats.by_path[IMPORTS] == fake.stats.by_path[WRITES] == 0


def test_drop_unknown_fields_dropping_the_lookup_column_is_refused_up_front(
    invoke: Invoke, tmp_path: Path
) -> None:
    fake = FakeMarketo()
    source = _file(tmp_path, "emial,firstName", "a@example.com,Ann")
    result = invoke(fake, "leads", "upsert", source, "--sandbox", "--drop-unknown-fields")
    assert result.exit_code == 2
    assert "the header has no 'email' column" in result.stderr
    assert "--drop-unknown-fields left out the rest" in result.stderr
    assert fake.stats.by_path[WRITES] == 0


def test_values_marketo_would_refuse_for_their_type_are_refused_per_row_naming_the_field(
    invoke: Invoke, tmp_path: Path
) -> None:
    fake = FakeMarketo()
    source = _file(
        tmp_path,
        "email,leadScore,dateOfBirth",
        "a@example.com,12,1990-02-28",
        "b@example.com,n/a,",
        "c@example.com,,31/02/1990",
        "not-an-email,,",
    )
    for command in ("upsert", "import"):
        result = invoke(fake, "leads", command, source, "--sandbox", "--dry-run")
        assert result.exit_code == 1, result.output
        assert "Dry run: 1 row would be sent, 3 refused before sending." in result.stdout
        assert "field 'leadScore' is integer: 'n/a'" in result.stdout
        assert "field 'dateOfBirth'" in result.stdout
        assert "field 'email': Invalid value 'not-an-email'" in result.stdout
    assert fake.stats.by_path[IMPORTS] == fake.stats.by_path[WRITES] == 0


def test_upsert_sends_cells_of_typed_fields_as_their_type_and_import_keeps_the_text() -> None:
    checks = LeadChecks(columns=["email", "leadScore"], lookup_field="email")
    checks.types = {"email": "email", "leadScore": "integer", "unsubscribed": "boolean"}
    record = {"email": "a@example.com", "leadScore": "68", "unsubscribed": "yes"}
    upsert = lead_transform(checks, convert=True, key_field="email")
    bulk = lead_transform(checks, convert=False, key_field="email")
    assert upsert is not None and bulk is not None
    assert upsert(dict(record)) == {"email": "a@example.com", "leadScore": 68, "unsubscribed": True}
    assert bulk(dict(record)) == record


def test_the_record_changes_never_alter_the_row_they_are_given() -> None:
    checks = LeadChecks(columns=["email", "leadScore", "extra"], lookup_field="email")
    checks.types = {"email": "email", "leadScore": "integer"}
    row = {"email": "a@example.com", "leadScore": "68", "extra": "x"}
    for dropped in (frozenset(), frozenset({"extra"})):
        checks.dropped = dropped
        for convert in (True, False):
            lead_transform(checks, convert=convert, key_field="email")(row)
            assert row == {"email": "a@example.com", "leadScore": "68", "extra": "x"}


def test_program_members_import_refuses_a_bad_status_a_header_without_email_and_unknown_columns(
    invoke: Invoke, tmp_path: Path
) -> None:
    fake = FakeMarketo()
    program_id = fake.add_program("Webinar", statuses=["Invited", "Registered"])
    source = _file(tmp_path, "emial,firstName,registrationCde", "a@example.com,Ann,X1")
    result = invoke(
        fake, "program-members", "import", str(program_id), "Registerd", source, "--sandbox"
    )
    assert result.exit_code == 2, result.output
    assert "Did you mean 'Registered'?" in result.stderr
    assert "the header has no 'email' column" in result.stderr
    assert "'emial' (did you mean 'email'?)" in result.stderr
    assert fake.stats.by_path[f"/bulk/v1/program/{program_id}/members/import.json"] == 0


def test_program_members_import_refuses_per_row_a_lead_value_of_the_wrong_type(
    invoke: Invoke, tmp_path: Path
) -> None:
    fake = FakeMarketo()
    program_id = fake.add_program("Webinar", statuses=["Invited", "Registered"])
    source = _file(tmp_path, "email,leadScore", "a@example.com,3", "b@example.com,n/a")
    result = invoke(
        fake,
        *("program-members", "import", str(program_id), "Registered", source),
        *("--sandbox", "--dry-run"),
    )
    assert result.exit_code == 1, result.output
    assert "Dry run: 1 row would be sent, 1 refused before sending." in result.stdout
    assert "field 'leadScore' is integer: 'n/a'" in result.stdout


def test_program_members_update_refuses_a_column_a_write_cannot_change_before_any_call(
    invoke: Invoke, tmp_path: Path
) -> None:
    fake = FakeMarketo()
    program_id = fake.add_program("Webinar", statuses=["Invited", "Registered"])
    lead_id = fake.add_lead(email="a@example.com")
    fake.add_program_member(program_id, lead_id, "Invited")
    for header, said in [
        ("leadId,status", "columns that name no program member field: 'status'"),
        ("leadId,registrationCde", "'registrationCde' (did you mean 'registrationCode'?)"),
        ("leadId,statusReason", "program member fields a write cannot change: statusReason"),
        ("id,webinarUrl", "the header has no 'leadId' column"),
    ]:
        source = _file(tmp_path, header, f"{lead_id},x")
        result = invoke(fake, "program-members", "update", str(program_id), source, "--sandbox")
        assert result.exit_code == 2, result.output
        assert said in result.stderr, result.stderr
        assert "the fields it can change: registrationCode, webinarUrl" in result.stderr
        status_hint = "program-members status PROGRAM_ID STATUS FILE" in result.stderr
        assert status_hint == header.endswith("status")
    assert fake.stats.by_path[f"/rest/v1/programs/{program_id}/members.json"] == 0
