"""`leads upsert` sends each CSV cell as its field's type from describe, and refuses per row,
naming the field, a value that does not convert (or an id outside 1..2**31-1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from marketo_async.cli._typed import TypeMismatch, record_check, typed_record
from marketo_async.testing import FakeMarketo
from tests.cli.conftest import Invoke, by_row, read_report, write_csv, write_lines

TYPES = {
    "id": "integer",
    "leadScore": "integer",
    "rating": "float",
    "unsubscribed": "boolean",
    "dateOfBirth": "date",
    "createdAt": "datetime",
    "city": "string",
}


@pytest.mark.parametrize(
    ("record", "typed"),
    [
        ({"id": "1005"}, {"id": 1005}),
        ({"leadScore": " -12 "}, {"leadScore": -12}),
        ({"leadScore": "40.0"}, {"leadScore": 40}),
        ({"rating": "2.5"}, {"rating": 2.5}),
        ({"unsubscribed": "Yes"}, {"unsubscribed": True}),
        ({"unsubscribed": "0"}, {"unsubscribed": False}),
        ({"dateOfBirth": "1990-02-28"}, {"dateOfBirth": "1990-02-28"}),
        ({"createdAt": "2024-05-01T09:30:00Z"}, {"createdAt": "2024-05-01T09:30:00Z"}),
        ({"city": "0042"}, {"city": "0042"}),
        ({"unknownField": "7"}, {"unknownField": "7"}),
    ],
)
def test_a_cell_becomes_its_field_type(record: dict[str, Any], typed: dict[str, Any]) -> None:
    assert typed_record(TYPES)(record) == typed


@pytest.mark.parametrize(
    ("record", "named"),
    [
        ({"leadScore": str(2**70)}, "field 'leadScore' is integer"),
        ({"leadScore": 2**31}, "field 'leadScore' is integer"),
        ({"leadScore": "n/a"}, "'n/a' is not an integer"),
        ({"rating": "n/a"}, "field 'rating' is float"),
        ({"rating": "nan"}, "field 'rating' is float"),
        ({"unsubscribed": "maybe"}, "field 'unsubscribed' is boolean"),
        ({"dateOfBirth": "31/02/1990"}, "'31/02/1990' is not a date as YYYY-MM-DD"),
        ({"dateOfBirth": "1990-02-31"}, "field 'dateOfBirth' is date"),
        ({"createdAt": "yesterday"}, "field 'createdAt' is datetime"),
        ({"city": {"name": "Oslo"}}, "field 'city' holds a dict"),
        ({"leadScore": [1, 2]}, "field 'leadScore' holds a list"),
        ({"leadScore": True}, "field 'leadScore' is integer"),
    ],
)
def test_a_value_that_does_not_convert_is_refused_naming_the_field(
    record: dict[str, Any], named: str
) -> None:
    with pytest.raises(TypeMismatch, match=named.replace("(", r"\(").replace("?", r"\?")):
        typed_record(TYPES)(record)
    with pytest.raises(TypeMismatch, match=named.replace("(", r"\(").replace("?", r"\?")):
        record_check(TYPES)({"city": "Oslo", **record, "unknownField": "7"})


def test_the_check_alone_names_the_first_field_in_record_order_as_the_typed_record_does() -> None:
    record = {"city": "Oslo", "rating": "n/a", "leadScore": "n/a", "note": ["x"]}
    with pytest.raises(TypeMismatch) as typed:
        typed_record(TYPES)(record)
    with pytest.raises(TypeMismatch) as checked:
        record_check(TYPES)(record)
    assert str(checked.value) == str(typed.value) and "'rating'" in str(typed.value)
    # text in fields that take any text (and in unknown fields) passes, as typed_record keeps it
    record_check(TYPES)({"city": "0042", "unknownField": "7", "email": "a@example.com"})


def test_csv_ids_go_as_numbers_and_bad_cells_fail_their_row(invoke: Invoke, tmp_path: Path) -> None:
    fake = FakeMarketo()
    ids = [fake.add_lead(email=f"u{i}@x.com") for i in range(3)]
    rows = [
        {"id": ids[0], "leadScore": "10", "dateOfBirth": "1990-01-31"},
        {"id": ids[1], "leadScore": str(2**70), "dateOfBirth": ""},
        {"id": ids[2], "leadScore": "n/a", "dateOfBirth": ""},
        {"id": ids[2], "leadScore": "3", "dateOfBirth": "31/02/1990"},
        {"id": "0", "leadScore": "1", "dateOfBirth": ""},
        {"id": str(2**63), "leadScore": "1", "dateOfBirth": ""},
    ]
    source = write_csv(tmp_path / "in.csv", rows, ["id", "leadScore", "dateOfBirth"])
    report = tmp_path / "report.jsonl"
    result = invoke(
        fake, "leads", "upsert", source, "--sandbox", "--report", report,
        "--action", "updateOnly", "--lookup-field", "id",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    rows_by_number = by_row(read_report(report))
    assert rows_by_number[1][0]["status"] == "updated"
    lead = fake.leads[ids[0]]
    assert lead["leadScore"] == 10 and lead["dateOfBirth"] == "1990-01-31"
    expected = {
        2: "field 'leadScore' is integer",
        3: "'n/a' is not an integer",
        4: "'31/02/1990' is not a date",
        5: "field 'id' must be a positive integer id",
        6: "field 'id' must be a positive integer id",
    }
    for row, named in expected.items():
        (entry,) = rows_by_number[row]
        assert entry["status"] == "failed" and named in entry["reasons"][0]["message"], entry
    writes = [call for call in fake.stats.timeline if call.path == "/rest/v1/leads.json"]
    assert len(writes) == 1  # only the good row was sent


def test_jsonl_containers_and_huge_integers_are_refused(invoke: Invoke, tmp_path: Path) -> None:
    fake = FakeMarketo()
    lines = [
        json.dumps({"email": "a@x.com", "leadScore": 5}),
        json.dumps({"email": "b@x.com", "leadScore": 2**70}),
        json.dumps({"email": "c@x.com", "city": {"name": "Oslo"}}),
        json.dumps({"email": "d@x.com", "city": ["Oslo"]}),
    ]
    source = write_lines(tmp_path / "in.jsonl", lines)
    report = tmp_path / "report.jsonl"
    result = invoke(fake, "leads", "upsert", source, "--sandbox", "--report", report)
    assert result.exit_code == 1, result.output
    statuses = {entry["row"]: entry for entry in read_report(report)}
    assert statuses[1]["status"] == "created"
    assert [statuses[row]["status"] for row in (2, 3, 4)] == ["failed"] * 3
    assert (
        statuses[3]["key"] == "c@x.com" and "field 'city'" in statuses[3]["reasons"][0]["message"]
    )
    assert len(fake.leads) == 1
