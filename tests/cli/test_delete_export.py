"""`leads delete` asks first on a terminal; a program export flattens nested values."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from marketo_async.cli import _bulk
from marketo_async.cli._export import RecordWriter
from marketo_async.testing import FakeMarketo
from tests.cli.conftest import Invoke, write_lines


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_bulk, "_interactive", lambda: True)


@pytest.mark.usefixtures("terminal")
def test_delete_on_a_terminal_asks_and_no_deletes_nothing(invoke: Invoke, tmp_path: Path) -> None:
    fake = FakeMarketo()
    ids = [fake.add_lead(email=f"u{i}@example.com") for i in range(3)]
    source = write_lines(tmp_path / "ids.txt", map(str, ids))
    refused = invoke(fake, "leads", "delete", source, "--sandbox", input="n\n")
    assert refused.exit_code == 1 and "Delete from Marketo every lead whose id" in refused.stderr
    assert len(fake.leads) == 3 and fake.stats.calls == 0
    agreed = invoke(fake, "leads", "delete", source, "--sandbox", input="y\n")
    assert agreed.exit_code == 0, agreed.output
    assert len(fake.leads) == 0


@pytest.mark.usefixtures("terminal")
def test_delete_with_yes_does_not_ask(invoke: Invoke, tmp_path: Path) -> None:
    fake = FakeMarketo()
    source = write_lines(tmp_path / "ids.txt", [str(fake.add_lead(email="a@example.com"))])
    result = invoke(fake, "leads", "delete", source, "--sandbox", "--yes")
    assert result.exit_code == 0 and "Delete from" not in result.output
    assert len(fake.leads) == 0


def test_delete_in_a_script_is_not_asked(invoke: Invoke, tmp_path: Path) -> None:
    fake = FakeMarketo()
    source = write_lines(tmp_path / "ids.txt", [str(fake.add_lead(email="a@example.com"))])
    assert invoke(fake, "leads", "delete", source, "--sandbox").exit_code == 0
    assert len(fake.leads) == 0


def test_a_program_export_puts_membership_in_columns(invoke: Invoke, tmp_path: Path) -> None:
    fake = FakeMarketo()
    program_id = fake.add_program("Webinar", statuses=["Invited", "Attended"])
    lead_id = fake.add_lead(email="ada@example.com")
    fake.add_program_member(program_id, lead_id, "Attended")
    out = tmp_path / "members.csv"
    result = invoke(
        fake,
        "leads",
        "export",
        "--program",
        str(program_id),
        "--sandbox",
        "--out",
        out,
        "--fields",
        "email,membership",
    )
    assert result.exit_code == 0, result.output
    (row,) = list(csv.DictReader(out.open(encoding="utf-8")))
    assert row["email"] == "ada@example.com"
    assert row["membership.progressionStatus"] == "Attended"
    assert not any(value.startswith("{") for value in row.values())


def test_csv_columns_of_nested_values() -> None:
    handle = io.StringIO()
    writer = RecordWriter(handle, format="csv")
    writer.write({"id": 1, "membership": {"progressionStatus": "Member", "reachedSuccess": True}})
    writer.write({"id": 2, "membership": {"progressionStatus": "Attended"}})
    assert handle.getvalue().splitlines() == [
        "id,membership.progressionStatus,membership.reachedSuccess",
        "1,Member,true",
        "2,Attended,",
    ]
