"""FakeMarketo's activity log and the activity endpoints, spoken to over raw HTTP."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from marketo_async.testing import FakeMarketo
from tests.testing.conftest import Connect

pytestmark = pytest.mark.anyio

EPOCH = "2000-01-01T00:00:00Z"


async def _token(http: httpx.AsyncClient, since: str = EPOCH) -> str:
    body = (
        await http.get("/rest/v1/activities/pagingtoken.json", params={"sinceDatetime": since})
    ).json()
    assert body["success"] is True
    return str(body["nextPageToken"])


async def _get(http: httpx.AsyncClient, path: str, **params: Any) -> dict[str, Any]:
    response = await http.get(path, params=params)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _types(fake: FakeMarketo) -> list[int]:
    return [entry["activityTypeId"] for entry in fake.activity_log.entries]


def test_the_store_records_an_activity_for_what_it_does() -> None:
    fake = FakeMarketo()
    lead = fake.add_lead(email="a@example.com", firstName="Ada")
    other = fake.add_lead(email="b@example.com")
    list_id = fake.add_list("Invitees", lead_ids=[lead])
    fake.store.remove_list_member(fake.store.lists[list_id], lead)
    fake.store.update_lead(lead, {"firstName": "Grace", "lastName": None})
    program = fake.add_program("Webinar")
    fake.store.set_member_status(fake.store.programs[program], lead, "Registered")
    fake.store.delete_lead(other)
    assert _types(fake) == [12, 12, 24, 25, 13, 104, 37]
    change = fake.activity_log.entries[4]
    assert change["fields"] == [
        {
            "id": change["primaryAttributeValueId"],
            "name": "firstName",
            "newValue": "Grace",
            "oldValue": "Ada",
        }
    ]
    assert change["attributes"]["Old Value"] == "Ada"
    status = fake.activity_log.entries[5]
    assert status["primaryAttributeValue"] == "Webinar"
    assert status["attributes"]["New Status"] == "Registered"
    assert fake.activity_log.entries[6]["leadId"] == other


def test_an_update_that_changes_nothing_records_nothing() -> None:
    fake = FakeMarketo()
    lead = fake.add_lead(email="a@example.com", firstName="Ada")
    fake.store.update_lead(lead, {"firstName": "Ada"})
    assert _types(fake) == [12]


async def test_pages_carry_a_token_always_and_more_only_while_some_remain(
    fake: FakeMarketo, connect: Connect
) -> None:
    for index in range(5):
        fake.add_lead(email=f"lead{index}@example.com")
    async with connect(fake) as http:
        token = await _token(http)
        first = await _get(
            http, "/rest/v1/activities.json", nextPageToken=token, activityTypeIds=12, batchSize=3
        )
        assert [a["leadId"] for a in first["result"]] == [1, 2, 3] and first["moreResult"] is True
        last = await _get(
            http,
            "/rest/v1/activities.json",
            nextPageToken=first["nextPageToken"],
            activityTypeIds=12,
            batchSize=3,
        )
        assert [a["leadId"] for a in last["result"]] == [4, 5] and last["moreResult"] is False
        later = await _get(
            http,
            "/rest/v1/activities.json",
            nextPageToken=last["nextPageToken"],
            activityTypeIds=12,
        )
        assert "result" not in later and later["moreResult"] is False and later["nextPageToken"]
        fake.add_lead(email="new@example.com")
        newer = await _get(
            http,
            "/rest/v1/activities.json",
            nextPageToken=last["nextPageToken"],
            activityTypeIds=12,
        )
        assert [a["leadId"] for a in newer["result"]] == [6]


async def test_tokens_need_url_encoding(fake: FakeMarketo, connect: Connect) -> None:
    fake.add_lead(email="a@example.com")
    async with connect(fake) as http:
        token = await _token(http)
        assert set("+/=") & set(token)
        raw = f"/rest/v1/activities.json?activityTypeIds=12&nextPageToken={token}"
        body = (await http.get(raw)).json()
        assert body["success"] is False and body["errors"][0]["code"] == "1003"


async def test_short_pages_say_more_is_coming(fake: FakeMarketo, connect: Connect) -> None:
    for index in range(50):
        fake.add_lead(email=f"lead{index}@example.com")
    fake.activity_log.short_pages(1.0, seed=1)
    async with connect(fake) as http:
        token, seen, calls = await _token(http), [], 0
        while True:
            body = await _get(
                http,
                "/rest/v1/activities.json",
                nextPageToken=token,
                activityTypeIds=12,
                batchSize=10,
            )
            calls += 1
            page = body.get("result", [])
            assert len(page) < 10
            seen.extend(a["id"] for a in page)
            token = body["nextPageToken"]
            if not body["moreResult"]:
                break
        assert seen == [entry["id"] for entry in fake.activity_log.entries] and calls > 5


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"activityTypeIds": list(range(1, 12))}, "1003"),
        ({"activityTypeIds": 12, "leadIds": ",".join(map(str, range(1, 32)))}, "1003"),
        ({}, "701"),
        ({"activityTypeIds": 12, "batchSize": 301}, "1003"),
    ],
)
async def test_activity_reads_refuse_what_marketo_refuses(
    fake: FakeMarketo, connect: Connect, params: dict[str, Any], code: str
) -> None:
    async with connect(fake) as http:
        body = await _get(
            http, "/rest/v1/activities.json", nextPageToken=await _token(http), **params
        )
        assert body["success"] is False and body["errors"][0]["code"] == code


async def test_lead_changes_show_only_the_fields_asked_for(
    fake: FakeMarketo, connect: Connect
) -> None:
    lead = fake.add_lead(email="a@example.com", firstName="Ada", lastName="L")
    fake.store.update_lead(lead, {"firstName": "Grace", "lastName": "H"})
    async with connect(fake) as http:
        body = await _get(
            http,
            "/rest/v1/activities/leadchanges.json",
            nextPageToken=await _token(http),
            fields="firstName",
        )
    assert [a["activityTypeId"] for a in body["result"]] == [12, 13]
    assert body["result"][0]["fields"] == [
        {"id": 3, "name": "firstName", "newValue": "Ada", "oldValue": None}
    ]
    assert body["result"][1]["fields"][0]["newValue"] == "Grace"


async def test_deleted_leads_lists_delete_lead_activities(
    fake: FakeMarketo, connect: Connect
) -> None:
    keep, gone = fake.add_lead(email="a@example.com"), fake.add_lead(email="b@example.com")
    async with connect(fake) as http:
        token = await _token(http)
        await http.post("/rest/v1/leads/delete.json", json={"input": [{"id": gone}]})
        body = await _get(http, "/rest/v1/activities/deletedleads.json", nextPageToken=token)
    assert [(a["leadId"], a["activityTypeId"]) for a in body["result"]] == [(gone, 37)]
    assert keep in fake.leads


async def test_paging_token_starts_at_the_date(fake: FakeMarketo, connect: Connect) -> None:
    lead = fake.add_lead(email="a@example.com")
    fake.add_activity(lead, 1, activity_date="2026-01-01T00:00:00Z")
    fake.add_activity(lead, 1, activity_date="2026-02-01T00:00:00Z")
    async with connect(fake) as http:
        token = await _token(http, "2026-01-15T00:00:00+00:00")
        body = await _get(http, "/rest/v1/activities.json", nextPageToken=token, activityTypeIds=1)
    assert [a["activityDate"] for a in body["result"]] == ["2026-02-01T00:00:00Z"]


async def test_custom_activities_are_added_and_typed(fake: FakeMarketo, connect: Connect) -> None:
    lead = fake.add_lead(email="a@example.com")
    type_id = fake.add_custom_activity_type("acmeSignIn", "Sign In", attributes=["device"])
    record = {
        "leadId": lead,
        "activityTypeId": type_id,
        "activityDate": "2026-03-01T10:00:00Z",
        "primaryAttributeValue": "portal",
        "attributes": [{"apiName": "device", "value": "phone"}],
    }
    async with connect(fake) as http:
        added = (
            await http.post(
                "/rest/v1/activities/external.json",
                json={"input": [record, {**record, "leadId": 999}]},
            )
        ).json()
        kinds = await _get(http, "/rest/v1/activities/external/types.json")
        types = await _get(http, "/rest/v1/activities/types.json")
    assert [r["status"] for r in added["result"]] == ["added", "skipped"]
    assert added["result"][1]["reasons"][0]["code"] == "1004"
    assert (
        kinds["result"][0]["apiName"] == "acmeSignIn" and kinds["result"][0]["status"] == "approved"
    )
    assert type_id in [t["id"] for t in types["result"]]
    # Back-dated: the log keeps date order, so it sits before the lead's New Lead activity.
    entry = fake.activity_log.entries[0]
    assert entry["activityTypeId"] == type_id
    assert entry["attributes"] == {"device": "phone"}
    assert entry["activityDate"] == dt.datetime(2026, 3, 1, 10, tzinfo=dt.timezone.utc)


def test_bulk_extract_reads_the_same_log() -> None:
    fake = FakeMarketo()
    fake.add_lead(email="a@example.com")
    assert fake.bulk.activities is fake.activity_log.entries
