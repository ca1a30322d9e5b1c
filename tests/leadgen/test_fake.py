"""FakeLeadGen itself: the envelope, credentials, limits, object errors and its quirks."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from marketo_async.testing import FakeLeadGen

from .conftest import ACCOUNT, SECRET

pytestmark = pytest.mark.anyio


async def _post(
    fake: FakeLeadGen,
    method: str,
    params: Any,
    *,
    query: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    credentials = {"accountID": ACCOUNT, "secretKey": SECRET} if query is None else query
    payload = {"method": method, "params": params, "id": "t1"} if body is None else body
    async with httpx.AsyncClient(transport=fake.transport) as http:
        return await http.post(fake.base_url, params=credentials, json=payload, headers=headers)


def _code(response: httpx.Response) -> int | None:
    error = response.json()["error"]
    return error["code"] if isinstance(error, dict) else None


@pytest.mark.parametrize(
    ("query", "body", "code"),
    [
        ({"secretKey": SECRET}, None, 103),
        ({"accountID": ACCOUNT}, None, 104),
        (None, {"method": "getLeads", "params": {"where": {}}}, 102),
        (None, {"params": {}, "id": "1"}, 201),
        (None, {"method": "getLeads", "id": "1"}, 202),
        (None, {"method": "getEverything", "params": {}, "id": "1"}, 204),
        (None, {"method": "getLeads", "params": {}, "id": "1"}, 206),
    ],
)
async def test_envelope_errors(
    fake: FakeLeadGen, query: dict[str, str] | None, body: dict[str, Any] | None, code: int
) -> None:
    response = await _post(fake, "getLeads", {"where": {}}, query=query, body=body)
    assert response.status_code == 200
    assert _code(response) == code


async def test_wrong_credentials_get_the_observed_401_text(fake: FakeLeadGen) -> None:
    response = await _post(
        fake, "getLeads", {"where": {}}, query={"accountID": ACCOUNT, "secretKey": "nope"}
    )
    assert response.status_code == 401
    assert "clusterID" in response.text


async def test_credentials_outside_the_query_string_are_counted(fake: FakeLeadGen) -> None:
    await _post(fake, "getLeads", {"where": {}}, headers={"Authorization": f"Bearer {SECRET}"})
    assert fake.stats.credentials_elsewhere == 1


async def test_an_eleventh_call_in_one_second_gets_107(fake: FakeLeadGen) -> None:
    fake.latency = type(fake.latency)()  # no latency: all eleven arrive at once
    codes = [_code(await _post(fake, "getLeads", {"where": {}})) for _ in range(11)]
    assert codes == [None] * 10 + [107]


async def test_the_daily_quota_gives_106() -> None:
    fake = FakeLeadGen(account_id=ACCOUNT, secret_key=SECRET, daily_quota=1)
    assert _code(await _post(fake, "getLeads", {"where": {}})) is None
    assert _code(await _post(fake, "getLeads", {"where": {}})) == 106
    fake.reset_daily_quota()
    assert _code(await _post(fake, "getLeads", {"where": {}})) is None


async def test_partial_failure_repeats_failing_errors_and_keeps_order(fake: FakeLeadGen) -> None:
    fake.add_lead(emailAddress="taken@example.com")
    objects = [
        {"emailAddress": "a@example.com"},
        {"emailAddress": "TAKEN@example.com"},
        {"emailAddress": "b@example.com", "title": None},
        {"emailAddress": "c@example.com", "noSuchField": "x"},
    ]
    body = (await _post(fake, "createLeads", {"objects": objects})).json()
    creates = body["result"]["creates"]
    assert [c["success"] for c in creates] == [True, False, False, False]
    assert [c["error"]["code"] for c in creates[1:]] == [301, 205, 205]
    assert [e["code"] for e in body["error"]] == [301, 205, 205]
    assert isinstance(creates[0]["id"], int)
    assert body["id"] == "t1"


async def test_success_error_is_null_on_reads_and_an_empty_list_on_writes(
    fake: FakeLeadGen,
) -> None:
    read = (await _post(fake, "getLeads", {"where": {}})).json()
    write = (await _post(fake, "createLeads", {"objects": [{"emailAddress": "x@y.com"}]})).json()
    assert read["error"] is None and write["error"] == []


async def test_update_quirks_v1_silent_v2_404_and_302(fake: FakeLeadGen) -> None:
    one = fake.add_lead(emailAddress="one@example.com", ui=False, firstName="A")
    fake.add_lead(emailAddress="two@example.com")
    v1 = (await _post(fake, "updateLeads", {"objects": [{"id": 999, "firstName": "x"}]})).json()
    assert v1["result"]["updates"] == [{"success": True, "error": None}]
    steal = {"id": one, "emailAddress": "two@example.com"}
    v1 = (await _post(fake, "updateLeads", {"objects": [steal]})).json()
    assert v1["result"]["updates"][0]["success"] is True
    assert fake.leads[one]["emailAddress"] == "one@example.com"  # nothing changed
    v2 = (await _post(fake, "updateLeadsV2", {"objects": [{"id": 999}, steal]})).json()
    assert [u["error"]["code"] for u in v2["result"]["updates"]] == [404, 301]
    same = (await _post(fake, "updateLeadsV2", {"objects": [{"id": one, "firstName": "A"}]})).json()
    assert same["result"]["updates"][0]["error"]["code"] == 302


async def test_values_are_strings_and_inactive_leads_are_hidden(fake: FakeLeadGen) -> None:
    fake.add_lead(emailAddress="on@example.com", leadScore=5)
    off = fake.add_lead(emailAddress="off@example.com", active=False)
    leads = (await _post(fake, "getLeads", {"where": {}})).json()["result"]["lead"]
    assert [lead["emailAddress"] for lead in leads] == ["on@example.com"]
    assert all(isinstance(v, str) for v in leads[0].values())
    asked = await _post(fake, "getLeads", {"where": {"id": str(off)}})
    assert len(asked.json()["result"]["lead"]) == 1


async def test_memberships_take_at_most_100_ids(fake: FakeLeadGen) -> None:
    response = await _post(fake, "getLeadListMemberships", {"memberIDs": list(range(101))})
    assert _code(response) == 222


async def test_seed_and_ui_encoding(fake: FakeLeadGen) -> None:
    fake.seed(
        {
            "fields": [{"label": "Color", "systemName": "Color_5a0dd86e6e290"}],
            "leads": [{"emailAddress": "s@example.com", "companyName": "<Tom & Jerry>"}],
            "lists": {"7": []},
        }
    )
    (lead,) = fake.leads.values()
    assert lead["companyName"] == "&amp;lt;Tom &amp; Jerry&gt;"
    assert lead["Color_5a0dd86e6e290"] == ""
    assert fake.store.lists == {7: set()}


async def test_faults_by_method(fake: FakeLeadGen) -> None:
    fake.faults.script("getLeads", http_status=503)
    fake.faults.script("getLeads", code="999")
    assert (await _post(fake, "getLeads", {"where": {}})).status_code == 503
    assert _code(await _post(fake, "getLeads", {"where": {}})) == 999
    assert _code(await _post(fake, "getLeads", {"where": {}})) is None
    assert fake.stats.by_path["getLeads"] == 3
    assert json.loads((await _post(fake, "getFields", {"where": {}})).content)["result"]["field"]


async def test_two_creates_in_flight_with_one_new_email_both_succeed(fake: FakeLeadGen) -> None:
    # The race the client's same-key rule exists for: both calls pass the check on arrival.
    import anyio

    async with anyio.create_task_group() as tg:
        for case in ("race@example.com", "RACE@example.com"):
            tg.start_soon(_post, fake, "createLeads", {"objects": [{"emailAddress": case}]})
    assert list(fake.duplicates()) == ["race@example.com"]
    assert len(fake.find("race@example.com")) == 2
