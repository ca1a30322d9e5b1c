"""Every method's request on the wire: one POST endpoint, credentials only in the query."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from marketo_async.leadgen import LeadGenClient, LeadGenError

from .conftest import ACCOUNT, BASE, SECRET, Recorder

pytestmark = pytest.mark.anyio


def _check_wire(request: httpx.Request) -> None:
    assert request.method == "POST"
    assert str(request.url.copy_with(query=None)) == BASE
    assert dict(request.url.params) == {"accountID": ACCOUNT, "secretKey": SECRET}
    assert request.headers["content-type"] == "application/json"
    assert SECRET.encode() not in request.content
    assert all(SECRET not in value for value in request.headers.values())
    assert "authorization" not in request.headers


async def _only_call(
    recorder: Recorder, mock_client: LeadGenClient, method: str, params: dict[str, Any]
) -> None:
    for request in recorder.requests:
        _check_wire(request)
    assert len(recorder.requests) == 1
    body = recorder.body()
    assert set(body) == {"method", "params", "id"}
    assert body["method"] == method
    assert body["params"] == params
    assert isinstance(body["id"], str) and body["id"]


def _creates(body: dict[str, Any]) -> dict[str, Any]:
    n = len(body["params"]["objects"])
    creates = [{"success": True, "error": None, "id": 100 + i} for i in range(n)]
    return {"result": {"creates": creates}, "error": [], "id": body["id"]}


async def test_create_leads_request(recorder: Recorder, mock_client: LeadGenClient) -> None:
    recorder.default = _creates
    async with mock_client as lg:
        report = await lg.leads.create(
            [{"emailAddress": " Ada@Example.com ", "firstName": None, "Color_5a0dd86e6e290": "red"}]
        )
    assert report.outcomes[0].status == "created" and report.outcomes[0].id == 100
    await _only_call(
        recorder,
        mock_client,
        "createLeads",
        {
            "objects": [
                {"emailAddress": "Ada@Example.com", "firstName": "", "Color_5a0dd86e6e290": "red"}
            ]
        },
    )


@pytest.mark.parametrize("method", ["updateLeadsV2", "updateLeads"])
async def test_update_leads_request(
    recorder: Recorder, mock_client: LeadGenClient, method: Any
) -> None:
    recorder.default = lambda body: {
        "result": {"updates": [{"success": True, "error": None}] * 2},
        "error": [],
        "id": body["id"],
    }
    async with mock_client as lg:
        await lg.leads.update(
            [{"id": "42", "firstName": "A"}, {"id": "", "emailAddress": "b@example.com"}],
            method=method,
        )
    objects = [{"id": 42, "firstName": "A"}, {"emailAddress": "b@example.com"}]
    await _only_call(recorder, mock_client, method, {"objects": objects})


async def test_delete_leads_request(recorder: Recorder, mock_client: LeadGenClient) -> None:
    async with mock_client as lg:
        await lg.leads.delete([7, "8"])
    await _only_call(recorder, mock_client, "deleteLeads", {"objects": [{"id": 7}, {"id": 8}]})


async def test_get_lead_request(recorder: Recorder, mock_client: LeadGenClient) -> None:
    async with mock_client as lg:
        assert await lg.leads.get("5") is None
    await _only_call(recorder, mock_client, "getLead", {"id": 5})


async def test_get_leads_request(recorder: Recorder, mock_client: LeadGenClient) -> None:
    async with mock_client as lg:
        await lg.leads.query({"emailAddress": "a@example.com"}, fields=["firstName"])
    params = {
        "where": {"emailAddress": "a@example.com"},
        "limit": 500,
        "offset": 0,
        "fields": ["id", "firstName"],
    }
    await _only_call(recorder, mock_client, "getLeads", params)


async def test_get_leads_date_range_request(recorder: Recorder, mock_client: LeadGenClient) -> None:
    paris = dt.timezone(dt.timedelta(hours=2))
    async with mock_client as lg:
        await lg.leads.updated_between(
            dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=paris),
            dt.datetime(2024, 5, 2),
            timestamp="create",
        )
    params = {
        "startDate": "2024-05-01 10:00:00",  # aware: converted to UTC
        "endDate": "2024-05-01 23:59:59",  # naive: UTC; [start, end) ends a second before
        "timestamp": "create",
        "limit": 500,
        "offset": 0,
    }
    await _only_call(recorder, mock_client, "getLeadsDateRange", params)


async def test_get_lead_list_memberships_request(
    recorder: Recorder, mock_client: LeadGenClient
) -> None:
    recorder.default = lambda body: {
        "result": {"getWhereIns": [{"memberID": "1", "listID": "9"}]},
        "error": None,
        "id": body["id"],
    }
    async with mock_client as lg:
        found = await lg.leads.list_memberships([1, 2])
    assert found == {1: [9], 2: []}
    await _only_call(recorder, mock_client, "getLeadListMemberships", {"memberIDs": [1, 2]})


async def test_get_lead_list_memberships_sends_100_ids_a_call(
    recorder: Recorder, mock_client: LeadGenClient
) -> None:
    async with mock_client as lg:
        await lg.leads.list_memberships(range(1, 251))
    assert [len(recorder.body(i)["params"]["memberIDs"]) for i in range(3)] == [100, 100, 50]


async def test_get_lead_timeline_request(recorder: Recorder, mock_client: LeadGenClient) -> None:
    async with mock_client as lg:
        await lg.leads.timeline({"leadID": 5, "eventSource": "formSubmit"})
    params = {"where": {"leadID": 5, "eventSource": "formSubmit"}}
    await _only_call(recorder, mock_client, "getLeadTimeline", params)


async def test_get_events_request(recorder: Recorder, mock_client: LeadGenClient) -> None:
    async with mock_client as lg:
        await lg.leads.events({"createTimestamp": dt.datetime(2024, 1, 2, 3, 4, 5)})
    params = {"where": {"createTimestamp": "2024-01-02 03:04:05"}, "limit": 500, "offset": 0}
    await _only_call(recorder, mock_client, "getEvents", params)


async def test_log_calls_request(recorder: Recorder, mock_client: LeadGenClient) -> None:
    recorder.default = lambda body: {"result": {"success": True}, "error": None, "id": body["id"]}
    async with mock_client as lg:
        report = await lg.leads.log_calls(
            [{"whoID": 5, "callResult": "connected", "timestamp": dt.datetime(2024, 1, 2, 3, 4, 5)}]
        )
    assert report.counts == {"created": 1}
    objects = [{"whoID": 5, "callResult": "connected", "timestamp": "2024-01-02 03:04:05"}]
    await _only_call(recorder, mock_client, "logCalls", {"objects": objects})


async def test_subscribe_to_lead_updates_request(
    recorder: Recorder, mock_client: LeadGenClient
) -> None:
    recorder.default = lambda body: {"result": {"success": True}, "error": None, "id": body["id"]}
    async with mock_client as lg:
        assert await lg.leads.subscribe_to_updates("https://hooks.example.com/leads") is True
    params = {"url": "https://hooks.example.com/leads"}
    await _only_call(recorder, mock_client, "subscribeToLeadUpdates", params)


async def test_get_fields_request(recorder: Recorder, mock_client: LeadGenClient) -> None:
    async with mock_client as lg:
        await lg.leads.fields({"isCustom": "1"})
    params = {"where": {"isCustom": "1"}, "limit": 500, "offset": 0}
    await _only_call(recorder, mock_client, "getFields", params)


async def test_call_ids_differ_and_a_resend_gets_a_new_one(
    recorder: Recorder, mock_client: LeadGenClient
) -> None:
    recorder.answers.append(httpx.Response(503, text="Service Unavailable"))
    async with mock_client as lg:
        await lg.call("getLead", {"id": 1})
        await lg.call("getLead", {"id": 2})
    ids = [recorder.body(i)["id"] for i in range(3)]
    assert len(set(ids)) == 3


async def test_a_read_lead_without_an_integer_id_is_refused_naming_what_came(
    recorder: Recorder, mock_client: LeadGenClient
) -> None:
    recorder.default = lambda body: {
        "result": {"lead": [{"id": "", "emailAddress": "a@example.com"}]},
        "error": None,
        "id": body["id"],
    }
    async with mock_client as lg:
        with pytest.raises(LeadGenError, match="has an integer id; this one has ''"):
            await lg.leads.query({"emailAddress": "a@example.com"}, fields=["emailAddress"])


async def test_get_lead_ignores_the_made_up_lead_of_a_missing_id(
    recorder: Recorder, mock_client: LeadGenClient
) -> None:
    recorder.default = lambda body: {
        "result": {"lead": [{"leadStatus": "open", "Color_5a0dd86e6e290": ""}]},
        "error": None,
        "id": body["id"],
    }
    async with mock_client as lg:
        assert await lg.leads.get(12) is None
