"""``marketo-async objects upsert|delete|export|describe`` against a sandbox FakeMarketo."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from marketo_async.testing import BulkSettings, FakeMarketo
from tests.cli.conftest import Invoke, by_row, read_report, write_csv, write_lines


def _fake() -> FakeMarketo:
    fake = FakeMarketo()
    fake.add_custom_object_type(
        "car_c",
        {"vin": "string", "color": "string", "miles": "integer", "leadId": "integer"},
        dedupe_fields=["vin"],
    )
    return fake


def test_upsert_of_a_custom_object_reports_each_row_with_its_guid_and_types_cells(
    invoke: Invoke, tmp_path: Path
) -> None:
    fake = _fake()
    rows = [{"vin": f"V{n}", "color": "red", "miles": str(n * 10)} for n in range(700)]
    rows.append({"vin": "V3", "color": "blue", "miles": ""})  # the same key again, later
    rows.append({"vin": "V9000", "color": "green", "miles": "far"})  # not an integer
    source = write_csv(tmp_path / "cars.csv", rows, ["vin", "color", "miles"])
    report = tmp_path / "report.jsonl"
    result = invoke(fake, "objects", "upsert", "car_c", source, "--sandbox", "--report", report)
    assert result.exit_code == 1, result.output  # one row failed
    lines = by_row(read_report(report))
    assert len(lines) == 702 and all(len(entries) == 1 for entries in lines.values())
    statuses = [entries[0]["status"] for _, entries in sorted(lines.items())]
    assert statuses[:700] == ["created"] * 700
    assert statuses[700] == "updated" and statuses[701] == "failed"
    assert "'miles'" in json.dumps(lines[max(lines)][0]["reasons"])
    assert lines[1][0]["key"] == "V0"
    stored = {car["vin"]: car for car in fake.object_records("car_c")}
    assert len(stored) == 700 and stored["V3"]["color"] == "blue" and stored["V3"]["miles"] == 30
    assert stored["V7"]["miles"] == 70  # typed from the CSV text


def test_upsert_refuses_a_column_the_object_lacks_before_any_write(
    invoke: Invoke, tmp_path: Path
) -> None:
    fake = _fake()
    source = write_csv(tmp_path / "cars.csv", [{"vin": "V1", "wheels": "4"}], ["vin", "wheels"])
    result = invoke(fake, "objects", "upsert", "car_c", source, "--sandbox")
    assert result.exit_code != 0 and "'wheels'" in result.output
    assert fake.object_records("car_c") == []
    assert fake.stats.by_path["/rest/v1/customobjects/car_c.json"] == 0


def test_upsert_resume_skips_rows_already_applied(invoke: Invoke, tmp_path: Path) -> None:
    fake = _fake()
    rows = [{"vin": f"V{n}", "color": "red"} for n in range(50)]
    source = write_csv(tmp_path / "cars.csv", rows, ["vin", "color"])
    report = tmp_path / "report.jsonl"
    first = invoke(fake, "objects", "upsert", "car_c", source, "--sandbox", "--report", report)
    assert first.exit_code == 0, first.output
    writes = fake.stats.by_path["/rest/v1/customobjects/car_c.json"]
    again = invoke(fake, "objects", "upsert", "car_c", source, "--sandbox", "--resume", report)
    assert again.exit_code == 0, again.output
    assert fake.stats.by_path["/rest/v1/customobjects/car_c.json"] == writes


def test_opportunity_roles_upsert_export_and_delete_by_compound_key(
    invoke: Invoke, tmp_path: Path
) -> None:
    fake = _fake()
    rows = [
        {"externalOpportunityId": f"o{n % 3}", "leadId": str(n), "role": "Buyer"}
        for n in range(1, 31)
    ]
    fields = ["externalOpportunityId", "leadId", "role"]
    source = write_csv(tmp_path / "roles.csv", rows, fields)
    upsert = invoke(fake, "objects", "upsert", "opportunity_roles", source, "--sandbox")
    assert upsert.exit_code == 0, upsert.output
    assert len(fake.object_records("opportunities/roles")) == 30
    keys = write_lines(
        tmp_path / "keys.jsonl",
        [json.dumps({**row, "leadId": int(row["leadId"])}) for row in rows[:10]],
    )
    out = tmp_path / "roles_out.csv"
    export = invoke(
        fake, "objects", "export", "opportunity_roles", "--filter-type", "dedupeFields",
        "--values", keys, "--fields", "leadId,role", "--out", out, "--sandbox",
    )  # fmt: skip
    assert export.exit_code == 0, export.output
    with out.open(encoding="utf-8") as handle:
        exported = list(csv.DictReader(handle))
    assert sorted(int(row["leadId"]) for row in exported) == list(range(1, 11))
    delete = invoke(fake, "objects", "delete", "opportunity_roles", source, "--sandbox")
    assert delete.exit_code == 0, delete.output
    assert fake.object_records("opportunities/roles") == []


def test_describe_prints_keys_and_fields(invoke: Invoke) -> None:
    result = invoke(_fake(), "objects", "describe", "opportunities", "--sandbox")
    assert result.exit_code == 0, result.output
    assert "dedupe fields: externalOpportunityId" in result.output
    assert "externalCompanyId" in result.output and "Company.externalCompanyId" in result.output


def test_import_of_a_custom_object_reports_each_row_and_keeps_a_job_log(
    invoke: Invoke, tmp_path: Path
) -> None:
    fake = FakeMarketo(bulk=BulkSettings.brisk())
    fake.add_custom_object_type(
        "car_c", {"vin": "string", "color": "string", "miles": "integer"}, dedupe_fields=["vin"]
    )
    rows = [{"vin": f"V{n}", "color": "red", "miles": str(n)} for n in range(3_000)]
    rows[5] = {"vin": "", "color": "red", "miles": "1"}  # no key
    rows[6] = {"vin": "V6", "color": "red", "miles": "lots"}  # Marketo refuses it
    source = write_csv(tmp_path / "cars.csv", rows, ["vin", "color", "miles"])
    report = tmp_path / "report.jsonl"
    result = invoke(
        fake, "objects", "import", "car_c", source, "--sandbox", "--report", report,
        "--poll-interval", "0",
    )  # fmt: skip
    assert result.exit_code == 1, result.output  # two rows failed
    lines = by_row(read_report(report))
    assert len(lines) == 3_000 and all(len(entries) == 1 for entries in lines.values())
    failed = sorted(row for row, entries in lines.items() if entries[0]["status"] == "failed")
    assert len(failed) == 2
    assert sum(entries[0]["status"] == "imported" for entries in lines.values()) == 2_998
    assert len(fake.object_records("car_c")) == 2_998
    assert (tmp_path / "report.jsonl.jobs").exists()


def test_import_of_a_standard_object_is_refused_before_any_call_pointing_to_upsert(
    invoke: Invoke, tmp_path: Path
) -> None:
    fake = _fake()
    source = write_csv(
        tmp_path / "companies.csv", [{"externalCompanyId": "A1"}], ["externalCompanyId"]
    )
    result = invoke(fake, "objects", "import", "companies", source, "--sandbox")
    assert result.exit_code == 2, result.output
    assert "Bulk Import takes custom objects, not companies" in result.stderr
    assert "objects upsert companies" in result.stderr
    assert fake.stats.calls == 0


def test_create_only_resume_reports_records_its_earlier_run_created_not_skipped_1017(
    invoke: Invoke, tmp_path: Path
) -> None:
    fake = _fake()
    rows = [{"vin": f"V{n}", "color": "red"} for n in range(600)]
    source = write_csv(tmp_path / "cars.csv", rows, ["vin", "color"])
    fake.faults.script("/rest/v1/customobjects/car_c.json", code="604", after_apply=True)
    report = tmp_path / "r.jsonl"
    first = invoke(
        fake, "objects", "upsert", "car_c", source, "--sandbox", "--action", "createOnly",
        "--report", report,
    )  # fmt: skip
    unknown = [e for e in read_report(report) if e["status"] == "unknown"]
    assert first.exit_code == 1 and len(unknown) == 300, first.output
    again = invoke(
        fake, "objects", "upsert", "car_c", source, "--sandbox", "--action", "createOnly",
        "--resume", report,
    )  # fmt: skip
    assert again.exit_code == 0, again.output
    assert "checked by reading the record back" in again.stderr
    final = {row: entries[-1] for row, entries in by_row(read_report(report)).items()}
    assert sorted(final) == list(range(1, 601))
    assert {entry["status"] for entry in final.values()} == {"created"}
    confirmed = [
        e for e in final.values() if any(r["code"] == "earlier-run" for r in e.get("reasons", ()))
    ]
    assert len(confirmed) == 300
    assert len(fake.object_records("car_c")) == 600 and fake.object_duplicates("car_c") == []
