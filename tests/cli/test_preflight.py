"""Before the first write: the header, the lookup field and the partition are checked once."""

from __future__ import annotations

from pathlib import Path

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
