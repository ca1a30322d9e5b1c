"""client.lead_fields and the shared schema-field rules, pinned with respx and the seed examples.

What lead and program member fields do alike (unknown names, page sizes, the create and update
bodies) is pinned for both in test_schema_fields.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx

from marketo_async import MarketoClient
from marketo_async._batch import Reason
from marketo_async.models import strict_converter
from marketo_async.models.leads import LeadField
from marketo_async.resources._schema_fields import (
    NewField,
    check_field_name,
    field_changes,
    new_field_records,
)

from .conftest import no_api_calls, ok, schema_field, skipped

pytestmark = pytest.mark.anyio

# ---- the seed page's examples -----------------------------------------------------------------

EMAIL_FIELD = schema_field("Email Address", "email", "email", 255, html=True, sensitive=True)


def _standard(display: str, name: str, data_type: str, length: int | None = 255) -> dict[str, Any]:
    html = data_type not in {"boolean", "date"}
    return schema_field(display, name, data_type, length, html=html, sensitive=True)


BROWSED = [
    _standard("Salutation", "salutation", "string"),
    _standard("First Name", "firstName", "string"),
    _standard("Middle Name", "middleName", "string"),
    _standard("Last Name", "lastName", "string"),
    _standard("Date of Birth", "dateOfBirth", "date", None),
    EMAIL_FIELD,
    _standard("Phone Number", "phone", "phone"),
    _standard("Mobile Phone Number", "mobilePhone", "phone"),
    _standard("Fax Number", "fax", "phone"),
    _standard("Job Title", "title", "string"),
    _standard("Unsubscribed", "unsubscribed", "boolean", None),
]


@pytest.fixture
async def fields(mk: MarketoClient) -> AsyncIterator[Any]:
    yield mk.lead_fields


# ---- get, list --------------------------------------------------------------------------------


async def test_get_decodes_the_seed_field(router: respx.Router, fields: Any) -> None:
    route = router.get("/rest/v1/leads/schema/fields/email.json").respond(
        json={"requestId": "cd97#1793ee0fec4", "result": [EMAIL_FIELD], "success": True}
    )
    field = await fields.get("email")
    assert field == LeadField(
        name="email",
        display_name="Email Address",
        data_type="email",
        description=None,
        length=255,
        is_hidden=False,
        is_html_encoding_in_email=True,
        is_sensitive=True,
        is_custom=False,
    )
    assert strict_converter.structure(EMAIL_FIELD, LeadField) == field
    assert route.calls.last.request.url.params.multi_items() == []


@pytest.mark.parametrize("bad", ["", "1abc", "a-b", "a b", "../x", None])
async def test_get_refuses_a_bad_name(router: respx.Router, fields: Any, bad: Any) -> None:
    with pytest.raises(ValueError, match=r"^name must be a field API name"):
        await fields.get(bad)
    assert no_api_calls(router)


async def test_list_pages_until_more_result_is_false(router: respx.Router, fields: Any) -> None:
    route = router.get("/rest/v1/leads/schema/fields.json").mock(
        side_effect=[
            httpx.Response(200, json=ok(BROWSED[:6], moreResult=True, nextPageToken="P2")),
            httpx.Response(
                200,
                json={
                    "requestId": "142c3#1793eb976d8",
                    "result": BROWSED[6:],
                    "success": True,
                    "moreResult": False,
                },
            ),
        ]
    )
    found = await fields.list(batch_size=6).collect()
    assert [field.name for field in found] == [raw["name"] for raw in BROWSED]
    assert found[4].data_type == "date" and found[4].length is None
    assert [strict_converter.structure(raw, LeadField) for raw in BROWSED] == found
    first, second = (dict(call.request.url.params.multi_items()) for call in route.calls)
    assert first == {"batchSize": "6"}
    assert second == {"batchSize": "6", "nextPageToken": "P2"}


# ---- create -----------------------------------------------------------------------------------


async def test_create_reports_skipped_fields(router: respx.Router, fields: Any) -> None:
    router.post("/rest/v1/leads/schema/fields.json").respond(
        json=ok([skipped("1017", "Field 'acmeAccessCode' already exists", name="acmeAccessCode")])
    )
    report = await fields.create(
        [
            {
                "name": "acmeAccessCode",
                "display_name": "Acme",
                "data_type": "string",
                "is_hidden": True,
            }
        ]
    )
    (outcome,) = report.failed
    assert outcome.reasons == (Reason("1017", "Field 'acmeAccessCode' already exists"),)


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([], "^fields must hold at least one"),
        ({"name": "x"}, "^fields must be a list"),
        ([{"name": "1st", "displayName": "First", "dataType": "string"}], r"^fields\[0\]\.name"),
        ([{"name": "a b", "displayName": "A", "dataType": "string"}], r"^fields\[0\]\.name"),
        ([{"name": "ok", "dataType": "string"}], r"^fields\[0\] has no displayName"),
        ([{"name": "ok", "displayName": "Ok", "dataType": "blob"}], r"^fields\[0\]\.data_type"),
        ([{"name": "ok", "displayName": "Ok", "dataType": "string", "length": 9}], "length"),
        (
            [{"name": "ok", "displayName": "Ok", "dataType": "string", "isHidden": "yes"}],
            "isHidden",
        ),
        (
            [
                {"name": "ok", "displayName": "Ok", "dataType": "string"},
                {"name": "OK", "displayName": "Ok2", "dataType": "string"},
            ],
            r"^fields\[1\]\.name 'OK' is given twice",
        ),
    ],
)
async def test_create_refuses_bad_fields_before_any_call(
    router: respx.Router, fields: Any, items: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await fields.create(items)
    assert no_api_calls(router)


# ---- update -----------------------------------------------------------------------------------


async def test_update_skipped_by_marketo_is_data(router: respx.Router, fields: Any) -> None:
    router.post("/rest/v1/leads/schema/fields/email.json").respond(
        json=ok([skipped("1003", "Attribute 'displayName' cannot be updated", name="email")])
    )
    outcome = await fields.update("email", display_name="E-mail")
    assert outcome.status == "skipped" and not outcome.applied
    assert outcome.reasons[0].code == "1003"


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"data_type": "integer"}, "data_type"),
        ({"length": 10, "name": "other", "is_custom": True}, "length, name, is_custom"),
        ({"dataType": "integer"}, "dataType"),
        ({}, "nothing to change"),
        ({"is_hidden": "yes"}, "isHidden must be True or False"),
        ({"display_name": ""}, "display_name must not be empty"),
    ],
)
async def test_update_refuses_what_the_api_cannot_change(
    router: respx.Router, fields: Any, changes: dict[str, Any], named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        await fields.update("acmeAccessCode", **changes)
    assert no_api_calls(router)


# ---- the shared rules (also used for program member fields) -----------------------------------


def test_check_field_name_names_the_argument() -> None:
    assert check_field_name("acme_Code2", "name") == "acme_Code2"
    with pytest.raises(ValueError, match=r"^field_name must be a field API name"):
        check_field_name("_acme", "field_name")


def test_new_field_records_accept_python_or_rest_names() -> None:
    records = new_field_records(
        [
            NewField(name="a1", display_name="A1", data_type="integer", is_sensitive=False),
            {"name": "b1", "displayName": "B1", "data_type": "url", "is_hidden": None},
        ]
    )
    assert records == [
        {"name": "a1", "displayName": "A1", "dataType": "integer", "isSensitive": False},
        {"name": "b1", "displayName": "B1", "dataType": "url"},
    ]


def test_field_changes_map_to_rest_names() -> None:
    assert field_changes({"display_name": "X", "is_sensitive": True}) == {
        "displayName": "X",
        "isSensitive": True,
    }
    with pytest.raises(ValueError, match="can set only display_name, description"):
        field_changes({"data_type": "string"})
