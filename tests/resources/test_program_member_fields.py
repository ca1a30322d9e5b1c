"""client.program_member_fields: requests pinned with respx, answers from the seed page.

What lead and program member fields do alike (unknown names, page sizes, the create and update
bodies) is pinned for both in test_schema_fields.py.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from marketo_async import MarketoClient
from marketo_async.models import strict_converter
from marketo_async.models.program_members import ProgramMemberField

from .conftest import no_api_calls, ok, schema_field, skipped

pytestmark = pytest.mark.anyio

# ---- the seed page's examples (marketo-program-members.txt, "Fields") ------------------------

STATUS_NAME = schema_field(
    "Status", "statusName", "string", 255, html=True, sensitive=False, isApiCreated=False
)


def _browse_item(
    display: str, name: str, data_type: str, length: int | None = None
) -> dict[str, Any]:
    html = data_type == "string"
    return schema_field(
        display, name, data_type, length, html=html, sensitive=False, isApiCreated=False
    )


BROWSE = [
    _browse_item("Acquired By", "acquiredBy", "boolean"),
    _browse_item("Nurture Cadence", "nurtureCadence", "string", 4),
    _browse_item("Nurture Exhausted", "isExhausted", "boolean"),
    _browse_item("Member Date", "membershipDate", "datetime"),
    _browse_item("Program", "program", "string", 255),
]
TOKEN = "BC7J6EPVLT6T4B5FKUU3APCYN4======"


@pytest.fixture
def fields(mk: MarketoClient) -> Any:
    return mk.program_member_fields


async def test_get_decodes_the_seed(router: respx.Router, fields: Any) -> None:
    route = router.get("/rest/v1/programs/members/schema/fields/statusName.json").respond(
        json=ok([STATUS_NAME], requestId="15416#17e955554de")
    )
    field = await fields.get("statusName")
    assert route.calls.last.request.method == "GET"
    assert field == strict_converter.structure(STATUS_NAME, ProgramMemberField)
    assert field.display_name == "Status" and field.length == 255 and not field.is_custom


async def test_list_follows_the_paging_token(router: respx.Router, fields: Any) -> None:
    route = router.get("/rest/v1/programs/members/schema/fields.json").mock(
        side_effect=[
            httpx.Response(200, json=ok(BROWSE, nextPageToken=TOKEN, moreResult=True)),
            httpx.Response(200, json=ok([STATUS_NAME], moreResult=False)),
        ]
    )
    found = await fields.list(batch_size=5).collect()
    assert [f.name for f in found] == [
        "acquiredBy",
        "nurtureCadence",
        "isExhausted",
        "membershipDate",
        "program",
        "statusName",
    ]
    first, second = (dict(c.request.url.params) for c in route.calls)
    assert first == {"batchSize": "5"}
    assert second == {"batchSize": "5", "nextPageToken": TOKEN}
    for item in BROWSE:
        strict_converter.structure(item, ProgramMemberField)


async def test_create_keeps_marketo_skips(router: respx.Router, fields: Any) -> None:
    router.post("/rest/v1/programs/members/schema/fields.json").respond(
        json=ok(
            [
                {"name": "a1", "status": "created"},
                skipped("1028", "Maximum field limit reached", name="b1"),
            ]
        )
    )
    report = await fields.create(
        [
            {"name": "a1", "displayName": "A1", "dataType": "string"},
            {"name": "b1", "display_name": "B1", "data_type": "integer"},
        ]
    )
    assert [o.status for o in report.outcomes] == ["created", "skipped"]
    assert report.failed[0].reasons[0].code == "1028"


def _new(n: int) -> dict[str, str]:
    return {"name": f"field{n}", "displayName": f"Field {n}", "dataType": "string"}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda f: f.create([_new(n) for n in range(21)]), "at most 20 custom fields"),
        (lambda f: f.create([]), "at least one field"),
        (
            lambda f: f.create([{"name": "9lives", "displayName": "N", "dataType": "string"}]),
            "must be a field API name",
        ),
        (
            lambda f: f.create([{"name": "ok", "displayName": "N", "dataType": "text"}]),
            "data_type must be one of",
        ),
        (lambda f: f.create([{"name": "ok", "dataType": "string"}]), "displayName"),
        (lambda f: f.get("bad name"), "must be a field API name"),
        (lambda f: f.update("ok"), "nothing to change"),
        (lambda f: f.update("ok", data_type="integer"), "cannot set data_type"),
        (lambda f: f.update("bad-name", description="x"), "must be a field API name"),
    ],
)
async def test_bad_arguments_raise_before_any_call(
    router: respx.Router, fields: Any, call: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await call(fields)
    assert no_api_calls(router)
