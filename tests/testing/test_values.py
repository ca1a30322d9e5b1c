"""FakeMarketo checks values against each field's type as Marketo does, and stores them typed."""

from __future__ import annotations

import pytest

from marketo_async import MarketoError
from marketo_async.models._field_values import typed_value, value_problem
from marketo_async.testing import BulkSettings, FakeMarketo

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("data_type", "value"),
    [
        ("integer", "n/a"),
        ("integer", "12.5"),
        ("integer", str(2**31)),
        ("integer", True),
        ("score", "high"),
        ("float", "nan"),
        ("currency", "12,50"),
        ("boolean", "maybe"),
        ("date", "31/02/1990"),
        ("date", "1990-02-31"),
        ("datetime", "yesterday"),
        ("email", "not-an-email"),
        ("email", "ada@exämple.com"),
        ("email", "two@@example.com"),
    ],
)
def test_a_value_that_does_not_fit_its_type_gets_marketos_1001_message(
    data_type: str, value: object
) -> None:
    problem = value_problem(data_type, value)
    assert problem is not None
    assert problem.startswith("Invalid value") and f"Required of type '{data_type}'" in problem


@pytest.mark.parametrize(
    ("data_type", "value", "stored"),
    [
        ("integer", " 68 ", 68),
        ("integer", 68, 68),
        ("score", "-3", -3),
        ("float", "12.5", 12.5),
        ("currency", 3, 3.0),
        ("boolean", "yes", True),
        ("boolean", "FALSE", False),
        ("boolean", "0", False),
        ("date", "1990-02-28", "1990-02-28"),
        ("datetime", "2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z"),
        ("datetime", "2024-05-01", "2024-05-01"),
        ("email", " ada@example.com", "ada@example.com"),
        ("string", "68", "68"),
        ("integer", "", ""),
        ("integer", None, None),
    ],
)
def test_a_value_that_fits_is_stored_as_its_type(
    data_type: str, value: object, stored: object
) -> None:
    assert value_problem(data_type, value) is None
    assert typed_value(data_type, value) == stored


async def test_sync_skips_each_record_with_a_value_marketo_refuses_and_applies_the_rest() -> None:
    fake = FakeMarketo()
    rows = [
        {"email": "ada@example.com", "leadScore": "68"},
        {"email": "bob@example.com", "leadScore": "n/a"},
        {"email": "cy@example.com", "dateOfBirth": "31/02/1990"},
        {"email": "not-an-email"},
        {"email": "dee@example.com", "unsubscribed": "maybe"},
    ]
    async with fake.client() as client:
        report = await client.leads.sync(rows)
    assert [outcome.status for outcome in report.outcomes] == [
        "created",
        "skipped",
        "skipped",
        "skipped",
        "skipped",
    ]
    reasons = [outcome.reasons[0] for outcome in report.outcomes[1:]]
    assert {reason.code for reason in reasons} == {"1001"}
    assert reasons[0].message == "Invalid value 'n/a'. Required of type 'integer'"
    assert "'date'" in reasons[1].message and "'email'" in reasons[2].message
    assert len(fake.leads) == 1


async def test_an_integer_sent_as_text_is_read_back_as_a_number() -> None:
    fake = FakeMarketo()
    async with fake.client() as client:
        report = await client.leads.sync([{"email": "ada@example.com", "leadScore": "68"}])
        lead_id = report.outcomes[0].id
        assert lead_id is not None
        body = await client.request(
            "GET", f"/rest/v1/lead/{lead_id}.json", params={"fields": "leadScore"}
        )
    assert body["result"][0]["leadScore"] == 68


async def test_bulk_import_fails_the_rows_whose_values_do_not_fit_and_stores_the_rest_typed() -> (
    None
):
    fake = FakeMarketo(bulk=BulkSettings.brisk())
    rows = [
        {"email": "ada@example.com", "leadScore": "68", "dateOfBirth": "1990-02-28"},
        {"email": "bob@example.com", "leadScore": "n/a", "dateOfBirth": ""},
        {"email": "cy@example.com", "leadScore": "", "dateOfBirth": "1990-02-31"},
    ]
    async with fake.client() as client:
        report = await client.bulk_import.leads(rows)
    assert [outcome.status for outcome in report.outcomes] == ["imported", "failed", "failed"]
    assert "Required of type 'integer'" in report.outcomes[1].reasons[0].message
    assert "Required of type 'date'" in report.outcomes[2].reasons[0].message
    (ada,) = fake.leads.values()
    assert ada["leadScore"] == 68


async def test_bulk_import_refuses_a_standard_field_marketo_cannot_look_leads_up_by() -> None:
    fake = FakeMarketo(bulk=BulkSettings.brisk())
    async with fake.client() as client:
        report = await client.bulk_import.leads(
            [{"email": "ada@example.com", "firstName": "Ada"}], lookup_field="firstName"
        )
    (outcome,) = report.outcomes
    assert outcome.status == "failed"
    assert isinstance(outcome.error, MarketoError) and outcome.error.code == "1003"
    assert "lookupField" in str(outcome.error)
    assert fake.leads == {}


async def test_bulk_import_takes_a_custom_string_field_as_lookup_field() -> None:
    fake = FakeMarketo(bulk=BulkSettings.brisk())
    fake.add_lead_field("externalKey", data_type="string")
    async with fake.client() as client:
        report = await client.bulk_import.leads(
            [{"externalKey": "k-1", "email": "ada@example.com"}], lookup_field="externalKey"
        )
    assert report.counts == {"imported": 1}


async def test_program_member_import_fails_a_row_whose_lead_value_does_not_fit() -> None:
    fake = FakeMarketo(bulk=BulkSettings.brisk())
    program_id = fake.add_program("Webinar", statuses=["Invited", "Registered"])
    rows = [
        {"email": "ada@example.com", "leadScore": "7"},
        {"email": "bob@example.com", "leadScore": "n/a"},
    ]
    async with fake.client() as client:
        report = await client.bulk_import.program_members(
            rows, program_id=program_id, status="Registered"
        )
    assert [outcome.status for outcome in report.outcomes] == ["imported", "failed"]
    assert "Required of type 'integer'" in report.outcomes[1].reasons[0].message
    (ada,) = fake.leads.values()
    assert ada["leadScore"] == 7
