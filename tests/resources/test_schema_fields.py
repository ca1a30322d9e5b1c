"""What client.lead_fields and client.program_member_fields do alike, pinned for both with each
one's seed examples (the shared base class serves both)."""

from __future__ import annotations

from typing import Any

import pytest
import respx

from marketo_async import MarketoClient
from marketo_async.resources._schema_fields import NewField

from .conftest import failure, json_of, no_api_calls, ok

pytestmark = pytest.mark.anyio

LEAD = pytest.param("lead_fields", "/rest/v1/leads/schema/fields", id="lead")
MEMBER = pytest.param(
    "program_member_fields", "/rest/v1/programs/members/schema/fields", id="program_member"
)

# ---- the seed pages' examples -----------------------------------------------------------------

# Leads: Create Lead Fields, one field given as a NewField and one as a mapping.
LEAD_CREATE_INPUT = [
    {
        "displayName": "Acme Access Code",
        "name": "acmeAccessCode",
        "description": "Acme Direct Mail Integration",
        "dataType": "string",
    },
    {
        "displayName": "Acme Mail Date",
        "name": "acmeMailDate",
        "description": "Acme Direct Mail Integration",
        "dataType": "string",
    },
]
LEAD_NEW_FIELDS = [
    NewField(
        name="acmeAccessCode",
        display_name="Acme Access Code",
        description="Acme Direct Mail Integration",
        data_type="string",
    ),
    LEAD_CREATE_INPUT[1],
]
# Program members: Create Program Member Fields.
MEMBER_NEW_FIELDS = [
    NewField(
        name="pMCFCustomField03",
        display_name="PMCF Custom Field 03",
        description="My third custom field",
        data_type="string",
    )
]
MEMBER_CREATE_INPUT = [
    {
        "displayName": "PMCF Custom Field 03",
        "name": "pMCFCustomField03",
        "description": "My third custom field",
        "dataType": "string",
    }
]


def resource(mk: MarketoClient, name: str) -> Any:
    return getattr(mk, name)


# ---- get, list --------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "path"), [LEAD, MEMBER])
async def test_get_of_an_unknown_field_is_none(
    router: respx.Router, mk: MarketoClient, name: str, path: str
) -> None:
    router.get(f"{path}/nope.json").respond(json=failure("1006", "Field 'nope' not found"))
    assert await resource(mk, name).get("nope") is None
    router.get(f"{path}/empty.json").respond(json=ok([]))
    assert await resource(mk, name).get("empty") is None


@pytest.mark.parametrize(("name", "path"), [LEAD, MEMBER])
@pytest.mark.parametrize("bad", [0, 301, True, "5"])
async def test_list_refuses_a_bad_batch_size(
    router: respx.Router, mk: MarketoClient, name: str, path: str, bad: Any
) -> None:
    with pytest.raises(ValueError, match=r"^batch_size must be 1 to 300"):
        resource(mk, name).list(batch_size=bad)
    assert no_api_calls(router)


# ---- create, update ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "path", "new_fields", "sent"),
    [
        pytest.param(*LEAD.values, LEAD_NEW_FIELDS, LEAD_CREATE_INPUT, id="lead"),
        pytest.param(*MEMBER.values, MEMBER_NEW_FIELDS, MEMBER_CREATE_INPUT, id="program_member"),
    ],
)
async def test_create_posts_the_seed_body_and_reports_each_field(
    router: respx.Router,
    mk: MarketoClient,
    name: str,
    path: str,
    new_fields: list[Any],
    sent: list[dict[str, Any]],
) -> None:
    created = [{"name": field["name"], "status": "created"} for field in sent]
    route = router.post(f"{path}.json").respond(json=ok(created, requestId="d9f1#17943666811"))
    report = await resource(mk, name).create(new_fields)
    assert json_of(route.calls.last.request) == {"input": sent}
    assert report.ok and report.counts == {"created": len(sent)}


@pytest.mark.parametrize(
    ("name", "path", "field", "changes", "sent"),
    [
        pytest.param(
            *LEAD.values,
            "acmeAccessCode",
            {
                "display_name": "Acme Access Code",
                "description": "Acme Direct Mail Integration",
                "isHtmlEncodingInEmail": True,
            },
            {
                "displayName": "Acme Access Code",
                "description": "Acme Direct Mail Integration",
                "isHtmlEncodingInEmail": True,
            },
            id="lead",
        ),
        pytest.param(
            *MEMBER.values,
            "pMCFCustomField03",
            {
                "display_name": "Lunch Preference",
                "description": "Attendee food preference",
                "is_html_encoding_in_email": True,
            },
            {
                "displayName": "Lunch Preference",
                "description": "Attendee food preference",
                "isHtmlEncodingInEmail": True,
            },
            id="program_member",
        ),
    ],
)
async def test_update_posts_one_input_record_by_rest_names(
    router: respx.Router,
    mk: MarketoClient,
    name: str,
    path: str,
    field: str,
    changes: dict[str, Any],
    sent: dict[str, Any],
) -> None:
    route = router.post(f"{path}/{field}.json").respond(
        json=ok([{"name": field, "status": "updated"}], requestId="9f57#1794324f44c")
    )
    outcome = await resource(mk, name).update(field, **changes)
    assert json_of(route.calls.last.request) == {"input": [sent]}
    assert outcome.status == "updated" and outcome.applied
