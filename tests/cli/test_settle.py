"""``leads upsert --settle``: rows cut off after sending are read back and reported as found."""

from __future__ import annotations

from pathlib import Path

from click.testing import Result

from marketo_async.testing import FakeMarketo

from .conftest import Invoke, read_report, write_csv

FIELDS = ["email", "firstName"]


def rows(count: int) -> list[dict[str, str]]:
    return [{"email": f"s{n}@example.com", "firstName": f"S{n}"} for n in range(count)]


def upsert(invoke: Invoke, fake: FakeMarketo, source: Path, report: Path, *more: str) -> Result:
    return invoke(
        fake,
        "leads",
        "upsert",
        source,
        "--sandbox",
        "--action",
        "createOnly",
        "--batch-size",
        "100",
        "--report",
        report,
        *more,
    )


def test_settle_reports_unknown_rows_as_read_back_one_line_each(
    invoke: Invoke, tmp_path: Path
) -> None:
    fake = FakeMarketo()
    fake.faults.script("/rest/v1/leads.json", code="604", after_apply=True, times=1)
    fake.faults.script("/rest/v1/leads.json", code="604", times=1)  # did not apply
    source = write_csv(tmp_path / "leads.csv", rows(300), FIELDS)
    report = tmp_path / "r.jsonl"
    result = upsert(invoke, fake, source, report, "--settle")
    entries = read_report(report)
    assert sorted(entry["row"] for entry in entries) == list(range(1, 301))
    statuses = [entry["status"] for entry in entries]
    assert statuses.count("created") == 200 and statuses.count("not_applied") == 100
    assert "--settle: read 200 rows with an unknown result back" in result.stderr
    assert "100 created, 100 not_applied" in result.stderr
    assert result.exit_code == 1  # rows did not apply


def test_without_settle_the_same_rows_stay_unknown(invoke: Invoke, tmp_path: Path) -> None:
    fake = FakeMarketo()
    fake.faults.script("/rest/v1/leads.json", code="604", after_apply=True, times=1)
    source = write_csv(tmp_path / "leads.csv", rows(200), FIELDS)
    report = tmp_path / "r.jsonl"
    upsert(invoke, fake, source, report)
    statuses = [entry["status"] for entry in read_report(report)]
    assert statuses.count("unknown") == 100 and statuses.count("created") == 100
