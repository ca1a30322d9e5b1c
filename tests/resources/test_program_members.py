"""client.program_members: each request pinned with respx, answered with the seed's examples."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
import pytest
import respx

from marketo_async._errors import RequestError, TooManyResultsError
from marketo_async.models import strict_converter
from marketo_async.models.program_members import ProgramMember, ProgramMemberDescription
from marketo_async.resources.program_members import updated_at_windows

from .conftest import failure, json_of, no_api_calls, ok, skipped

pytestmark = pytest.mark.anyio
UTC = dt.timezone.utc

# ---- the seed page's examples (marketo-program-members.txt) ----------------------------------


def _field(
    name: str, data_type: str, *, length: int | None = None, updateable: bool = False
) -> dict[str, Any]:
    field: dict[str, Any] = {"name": name, "displayName": name, "dataType": data_type}
    if length is not None:
        field["length"] = length
    field.update(updateable=updateable, crmManaged=False)
    return field


DESCRIBE = {
    "name": "API Program Membership",
    "description": "Map for API program membership fields",
    "createdAt": "2021-03-20T01:30:05Z",
    "updatedAt": "2021-03-20T01:30:05Z",
    "dedupeFields": ["leadId", "programId"],
    "searchableFields": [["leadId"], ["myCustomField"], ["reachedSuccess"], ["statusName"]],
    "fields": [
        _field("acquiredBy", "boolean"),
        _field("attendanceLikelihood", "integer"),
        _field("createdAt", "datetime"),
        _field("isExhausted", "boolean"),
        _field("leadId", "integer"),
        _field("membershipDate", "datetime"),
        _field("nurtureCadence", "string", length=4),
        _field("program", "string", length=255),
        _field("programId", "integer"),
        _field("reachedSuccess", "boolean"),
        _field("reachedSuccessDate", "datetime"),
        _field("registrationLikelihood", "integer"),
        _field("statusName", "string", length=255),
        _field("statusReason", "string", length=255),
        _field("trackName", "string", length=255),
        _field("updatedAt", "datetime"),
        _field("waitlistPriority", "integer"),
        _field("myCustomField", "string", length=255, updateable=True),
        _field("registrationCode", "string", length=100, updateable=True),
        _field("webinarUrl", "string", length=2000, updateable=True),
    ],
}
QUERY_RESULT = [
    {
        "seq": seq,
        "leadId": 1789 + seq,
        "reachedSuccess": True,
        "programId": 1044,
        "acquiredBy": True,
        "membershipDate": "2020-01-08T18:10:26Z",
    }
    for seq in range(12)
]
STATUS_RESULT = [
    skipped("1037", "Lead skipped because it is already in or past this status", seq=0),
    {"seq": 1, "status": "updated", "leadId": 1801},
    {"seq": 2, "status": "created", "leadId": 1235},
]
DATA_RESULT = [
    {"seq": 0, "status": "updated", "leadId": 1789},
    {"seq": 1, "status": "updated", "leadId": 1790},
    skipped("1013", "Membership not found", seq=2),
]
DELETE_RESULT = [
    {"seq": 0, "status": "deleted", "leadId": 1235},
    skipped("1037", "Lead not in program", seq=1),
]


def query_of(request: httpx.Request) -> dict[str, str]:
    pairs = list(request.url.params.multi_items())
    assert len({k for k, _ in pairs}) == len(pairs), "no repeated keys expected"
    return dict(pairs)


# ---- describe and models -------------------------------------------------------------------


async def test_describe_decodes_the_seed(router: respx.Router, members: Any) -> None:
    route = router.get("/rest/v1/programs/members/describe.json").respond(
        json=ok([DESCRIBE], requestId="f813#1791563c7cc")
    )
    described = await members.describe()
    assert route.calls.last.request.method == "GET"
    assert described.dedupe_fields == ["leadId", "programId"]
    assert described.filter_types == ["leadId", "myCustomField", "reachedSuccess", "statusName"]
    assert described.updateable_fields == ["myCustomField", "registrationCode", "webinarUrl"]
    assert described.field("webinarUrl").length == 2000
    assert described.created_at == dt.datetime(2021, 3, 20, 1, 30, 5, tzinfo=UTC)
    assert strict_converter.structure(DESCRIBE, ProgramMemberDescription) == described


def test_program_member_keeps_custom_fields_losslessly() -> None:
    raw = {**QUERY_RESULT[0], "statusName": "Influenced", "registrationCode": "dcff5f12", "x": None}
    member = strict_converter.structure(raw, ProgramMember)
    assert member.lead_id == 1789 and member.status_name == "Influenced"
    assert member.membership_date == dt.datetime(2020, 1, 8, 18, 10, 26, tzinfo=UTC)
    assert member.fields == {"registrationCode": "dcff5f12", "x": None}
    assert member["registrationCode"] == "dcff5f12" and member["programId"] == 1044
    assert member.get("webinarUrl") is None and member.get("statusReason", "-") == "-"
    assert member.get("x", 1) is None  # sent as null: kept as null
    assert member.to_dict() == raw


# ---- query ---------------------------------------------------------------------------------


async def test_query_sends_filter_and_decodes_the_seed(router: respx.Router, members: Any) -> None:
    route = router.get("/rest/v1/programs/1044/members.json").respond(
        json=ok(QUERY_RESULT, moreResult=False)
    )
    found = await members.query(1044, "statusName", ["Influenced"]).collect()
    assert query_of(route.calls.last.request) == {
        "filterType": "statusName",
        "filterValues": "Influenced",
    }
    assert [m.lead_id for m in found] == list(range(1789, 1801))
    assert found[0].reached_success is True and found[0].program_id == 1044


async def test_query_chunks_values_by_300_and_follows_tokens(
    router: respx.Router, members: Any
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        query = query_of(request)
        ids = [int(v) for v in query["filterValues"].split(",")]
        if "nextPageToken" not in query and ids[0] == 1:
            return httpx.Response(
                200, json=ok([{"leadId": 1}], moreResult=True, nextPageToken="T1")
            )
        return httpx.Response(200, json=ok([{"leadId": ids[-1]}], moreResult=False))

    route = router.get("/rest/v1/programs/1044/members.json").mock(side_effect=answer)
    values = [*range(1, 651), 5, 7]  # repeated values are sent once
    pager = members.query(1044, "leadId", values, fields="leadId, statusName", batch_size=1)
    found = await pager.collect()
    assert [m.lead_id for m in found] == [1, 300, 600, 650]
    queries = [query_of(call.request) for call in route.calls]
    assert [len(q["filterValues"].split(",")) for q in queries] == [300, 300, 300, 50]
    assert [q.get("nextPageToken") for q in queries] == [None, "T1", None, None]
    assert all(q["fields"] == "leadId,statusName" and q["batchSize"] == "1" for q in queries)


async def test_query_sends_booleans_as_marketo_spells_them(
    router: respx.Router, members: Any
) -> None:
    route = router.get("/rest/v1/programs/1044/members.json").respond(json=ok([]))
    assert list(await members.query(1044, "reachedSuccess", [True])) == []
    assert query_of(route.calls.last.request)["filterValues"] == "true"


async def test_query_over_100000_members_says_to_use_bulk_extract(
    router: respx.Router, members: Any
) -> None:
    router.get("/rest/v1/programs/1044/members.json").respond(
        json=failure(
            "1003",
            "Total membership size: 100,001 exceeds the limit allowed 100,000 for the filter",
        )
    )
    with pytest.raises(TooManyResultsError) as caught:
        await members.query(1044, "statusName", ["Influenced"])
    error = caught.value
    assert error.code == "1003" and error.request_id == "1#2"
    assert "bulk program member extract" in str(error)


async def test_query_keeps_other_1003_errors_as_they_are(
    router: respx.Router, members: Any
) -> None:
    router.get("/rest/v1/programs/1044/members.json").respond(
        json={"success": False, "errors": [{"code": "1003", "message": "Invalid data"}]}
    )
    with pytest.raises(RequestError) as caught:
        await members.query(1044, "statusName", ["Influenced"])
    assert not isinstance(caught.value, TooManyResultsError)
    assert "bulk program member extract" not in str(caught.value)


# ---- updated_between -----------------------------------------------------------------------


async def test_updated_between_cuts_twenty_days_into_three_windows(
    router: respx.Router, members: Any
) -> None:
    route = router.get("/rest/v1/programs/1044/members.json").respond(json=ok([QUERY_RESULT[0]]))
    start = dt.datetime(2024, 1, 1, 0, 0, 0, 500_000, tzinfo=UTC)
    end = dt.datetime(2024, 1, 21, tzinfo=UTC)
    first = await members.updated_between(1044, start, end)
    assert len(first) == 1 and first.more  # two more windows to read
    assert route.call_count == 1
    found = await members.updated_between(1044, start, end, fields=["leadId"]).collect()
    assert len(found) == 3
    assert [query_of(call.request) for call in route.calls[1:]] == [
        {
            "filterType": "updatedAt",
            "startAt": "2024-01-01T00:00:00Z",
            "endAt": "2024-01-08T00:00:00Z",
            "fields": "leadId",
        },
        {
            "filterType": "updatedAt",
            "startAt": "2024-01-08T00:00:01Z",
            "endAt": "2024-01-15T00:00:01Z",
            "fields": "leadId",
        },
        {
            "filterType": "updatedAt",
            "startAt": "2024-01-15T00:00:02Z",
            "endAt": "2024-01-21T00:00:00Z",
            "fields": "leadId",
        },
    ]


def test_windows_are_at_most_seven_days_and_cover_the_range() -> None:
    start = dt.datetime(2024, 3, 1, 12, 30)
    end = dt.datetime(2024, 3, 8, 12, 30, 0, 1)
    windows = updated_at_windows(start, end)
    assert windows == [
        (dt.datetime(2024, 3, 1, 12, 30, tzinfo=UTC), dt.datetime(2024, 3, 8, 12, 30, tzinfo=UTC)),
        (
            dt.datetime(2024, 3, 8, 12, 30, 1, tzinfo=UTC),
            dt.datetime(2024, 3, 8, 12, 30, 1, tzinfo=UTC),
        ),
    ]
    short = updated_at_windows(start, start + dt.timedelta(days=2))
    assert short == [(start.replace(tzinfo=UTC), start.replace(tzinfo=UTC) + dt.timedelta(days=2))]


async def test_updated_between_keeps_the_offset(router: respx.Router, members: Any) -> None:
    route = router.get("/rest/v1/programs/1044/members.json").respond(json=ok([]))
    central = dt.timezone(dt.timedelta(hours=-6))
    start = dt.datetime(2024, 1, 1, 8, tzinfo=central)
    await members.updated_between(1044, start, start + dt.timedelta(hours=1))
    query = query_of(route.calls.last.request)
    assert (query["startAt"], query["endAt"]) == (
        "2024-01-01T08:00:00-06:00",
        "2024-01-01T09:00:00-06:00",
    )


# ---- writes --------------------------------------------------------------------------------


def _program_with_channel(router: respx.Router, program_id: int, statuses: list[str]) -> None:
    """The asset API's program and channel reads set_status checks the status against."""
    router.get(f"/rest/asset/v1/program/{program_id}.json").respond(
        json=ok([{"id": program_id, "name": "Webinar", "channel": "Webinar"}], errors=[])
    )
    progression = [{"name": name, "step": step} for step, name in enumerate(statuses)]
    router.get("/rest/asset/v1/channel/byName.json", params={"name": "Webinar"}).respond(
        json=ok([{"id": 3, "name": "Webinar", "progressionStatuses": progression}])
    )


async def test_set_status_posts_json_and_keeps_1037(router: respx.Router, members: Any) -> None:
    _program_with_channel(router, 1044, ["Member", "Registered", "Influenced"])
    route = router.post("/rest/v1/programs/1044/members/status.json").respond(
        json=ok(STATUS_RESULT, requestId="14b2d#17916378ec5")
    )
    report = await members.set_status(1044, "Influenced", [1800, 1801, "1235"])
    assert json_of(route.calls.last.request) == {
        "statusName": "Influenced",
        "input": [{"leadId": 1800}, {"leadId": 1801}, {"leadId": 1235}],
    }
    assert [(o.id, o.status) for o in report.outcomes] == [
        (1800, "skipped"),
        (1801, "updated"),
        (1235, "created"),
    ]
    assert report.outcomes[0].reasons[0].code == "1037"
    assert report.counts == {"skipped": 1, "updated": 1, "created": 1}


async def test_update_data_posts_records_and_keeps_1013(router: respx.Router, members: Any) -> None:
    route = router.post("/rest/v1/programs/1044/members.json").respond(json=ok(DATA_RESULT))
    records: list[dict[str, Any]] = [
        {"leadId": 1789, "registrationCode": "dcff5f12-a7c7-11eb-bcbc-0242ac130002"},
        {"leadId": 1790, "registrationCode": "c0404b78-d3fd-47bf-82c4-d16f3852ab3a"},
        {"leadId": "1003", "registrationCode": "aa880c57-75b8-426b-a33a-fbf6302d7cb4"},
    ]
    report = await members.update_data(1044, records)
    sent = json_of(route.calls.last.request)
    assert sent == {"input": [records[0], records[1], {**records[2], "leadId": 1003}]}
    assert [(o.id, o.status) for o in report.outcomes] == [
        (1789, "updated"),
        (1790, "updated"),
        (1003, "skipped"),
    ]
    assert report.failed[0].reasons[0].message == "Membership not found"


async def test_update_data_refuses_bad_records_one_by_one(
    router: respx.Router, members: Any
) -> None:
    route = router.post("/rest/v1/programs/1044/members.json").respond(
        json=ok([{"seq": 0, "status": "updated", "leadId": 7}])
    )
    records: list[Any] = [
        {"leadId": 0, "registrationCode": "a"},
        {"leadId": 7, "registrationCode": "b"},
        {"leadId": 8},
        ["leadId", 9],
        {"registrationCode": "c"},
        {"leadId": 9, "registration code": "d"},
    ]
    report = await members.update_data(1044, records)
    assert json_of(route.calls.last.request) == {"input": [{"leadId": 7, "registrationCode": "b"}]}
    assert [o.status for o in report.outcomes] == [
        "failed",
        "updated",
        "failed",
        "failed",
        "failed",
        "failed",
    ]
    messages = [o.reasons[0].message for o in report.failed]
    assert "'leadId' must be a positive integer" in messages[0]
    assert "no field to update" in messages[1]
    assert "must be a mapping" in messages[2]
    assert "'registration code' is not a field API name" in messages[4]


async def test_delete_posts_lead_ids_and_keeps_1037(router: respx.Router, members: Any) -> None:
    route = router.post("/rest/v1/programs/1044/members/delete.json").respond(
        json=ok(DELETE_RESULT)
    )
    report = await members.delete(1044, [1235, 77])
    assert json_of(route.calls.last.request) == {"input": [{"leadId": 1235}, {"leadId": 77}]}
    assert [(o.id, o.status) for o in report.outcomes] == [(1235, "deleted"), (77, "skipped")]
    assert report.failed[0].reasons[0].message == "Lead not in program"


async def test_writes_go_300_per_call(router: respx.Router, members: Any) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        rows = json.loads(request.content)["input"]
        results = [
            {"seq": seq, "status": "deleted", "leadId": row["leadId"]}
            for seq, row in enumerate(rows)
        ]
        return httpx.Response(200, json=ok(results))

    route = router.post("/rest/v1/programs/1044/members/delete.json").mock(side_effect=answer)
    report = await members.delete(1044, range(1, 602), on_progress=None, on_outcome=None)
    sizes = sorted(len(json.loads(c.request.content)["input"]) for c in route.calls)
    assert sizes == [1, 300, 300]
    assert report.ok and report.counts == {"deleted": 601}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m: m.set_status(0, "Influenced", [1]), "program_id must be a positive integer"),
        (lambda m: m.set_status(1044, " ", [1]), "status_name must be a program status name"),
        (lambda m: m.update_data(-1, [{"leadId": 1, "a": 1}]), "program_id must be a positive"),
        (lambda m: m.delete("10x", [1]), "program_id must be a positive integer"),
    ],
)
async def test_bad_write_arguments_raise_before_any_call(
    router: respx.Router, members: Any, call: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await call(members)
    assert no_api_calls(router)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda m: m.query(1044, "statusName", []), "values must hold at least one value"),
        (lambda m: m.query(1044, "statusName", "Influenced"), "values must be a list"),
        (lambda m: m.query(1044, "statusName", ["a,b"]), "without commas"),
        (lambda m: m.query(1044, "statusName", [1.5]), "strings, integers or booleans"),
        (lambda m: m.query(1044, "", ["x"]), "filter_type must be a field API name"),
        (lambda m: m.query(1044, "status name", ["x"]), "filter_type must be a field API name"),
        (lambda m: m.query(1044, "updatedAt", ["x"]), "use program_members.updated_between"),
        (lambda m: m.query(0, "leadId", [1]), "program_id must be a positive integer"),
        (lambda m: m.query(1044, "leadId", [1], fields=[]), "fields must name at least one"),
        (lambda m: m.query(1044, "leadId", [1], batch_size=0), "batch_size must be 1 to 300"),
        (
            lambda m: m.updated_between(1044, dt.datetime(2024, 2, 1), dt.datetime(2024, 1, 1)),
            "is before start",
        ),
        (
            lambda m: m.updated_between(1044, dt.date(2024, 1, 1), dt.datetime(2024, 1, 2)),
            "start must be a datetime",
        ),
    ],
)
async def test_bad_read_arguments_raise_when_the_pager_is_made(
    members: Any, make: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make(members)
