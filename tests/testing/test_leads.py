"""Lead endpoints driven over raw HTTP, checked against the shapes in the Leads seed page."""

from __future__ import annotations

from typing import Any

import pytest

from marketo_async.testing import FakeMarketo

pytestmark = pytest.mark.anyio
Connect = Any  # the conftest fixture: connect(fake) -> async context of httpx.AsyncClient


def _ok(body: dict[str, Any]) -> list[Any]:
    assert body["success"] is True, body
    assert "#" in body["requestId"]
    return list(body.get("result", []))


async def test_describe_and_describe2(connect: Connect, fake: FakeMarketo) -> None:
    fake.add_lead_field("acmeCode", "string")
    async with connect(fake) as http:
        described = _ok((await http.get("/rest/v1/leads/describe.json")).json())
        company = next(f for f in described if f["rest"]["name"] == "company")
        assert company == {
            "id": company["id"],
            "displayName": "Company Name",
            "dataType": "string",
            "length": 255,
            "rest": {"name": "company", "readOnly": False},
            "soap": {"name": "Company", "readOnly": False},
        }
        (described2,) = _ok((await http.get("/rest/v1/leads/describe2.json")).json())
    assert described2["name"] == "API Lead"
    assert ["email"] in described2["searchableFields"]
    assert ["acmeCode"] in described2["searchableFields"]
    assert {"name", "displayName", "dataType", "updateable", "crmManaged"} <= set(
        described2["fields"][0]
    )


async def test_get_by_id_default_and_asked_fields(connect: Connect, fake: FakeMarketo) -> None:
    lead_id = fake.add_lead(
        email="jdoe@marketo.com", firstName="John", lastName="Doe", postalCode="04828"
    )
    async with connect(fake) as http:
        (lead,) = _ok((await http.get(f"/rest/v1/lead/{lead_id}.json")).json())
        assert set(lead) == {"id", "updatedAt", "lastName", "email", "createdAt", "firstName"}
        (lead,) = _ok(
            (
                await http.get(
                    f"/rest/v1/lead/{lead_id}.json", params={"fields": "email,postalCode"}
                )
            ).json()
        )
        assert lead == {"id": lead_id, "email": "jdoe@marketo.com", "postalCode": "04828"}
        assert _ok((await http.get("/rest/v1/lead/999999.json")).json()) == []
        bad = (await http.get(f"/rest/v1/lead/{lead_id}.json", params={"fields": "nope"})).json()
        assert bad["errors"][0]["code"] == "1006"


async def test_by_filter_pages_with_tokens(connect: Connect, fake: FakeMarketo) -> None:
    ids = [fake.add_lead(email=f"u{n}@example.com", company="Acme") for n in range(7)]
    async with connect(fake) as http:
        empty = (
            await http.get(
                "/rest/v1/leads.json",
                params={"filterType": "email", "filterValues": "nobody@example.com"},
            )
        ).json()
        assert empty == {
            "requestId": empty["requestId"],
            "result": [],
            "success": True,
            "moreResult": False,
        }
        params = {"filterType": "id", "filterValues": ",".join(map(str, ids)), "batchSize": 3}
        seen: list[int] = []
        body = (await http.get("/rest/v1/leads.json", params=params)).json()
        while True:
            seen += [lead["id"] for lead in _ok(body)]
            if not body["moreResult"]:
                assert "nextPageToken" not in body
                break
            body = (
                await http.get(
                    "/rest/v1/leads.json", params={**params, "nextPageToken": body["nextPageToken"]}
                )
            ).json()
        assert seen == ids
        upper = (
            await http.get(
                "/rest/v1/leads.json",
                params={"filterType": "email", "filterValues": "U3@EXAMPLE.COM"},
            )
        ).json()
        assert [lead["id"] for lead in _ok(upper)] == [ids[3]]
        refused = (
            await http.get(
                "/rest/v1/leads.json", params={"filterType": "firstName", "filterValues": "x"}
            )
        ).json()
        assert refused["success"] is False


async def test_by_filter_over_the_match_limit_gives_1003(connect: Connect) -> None:
    fake = FakeMarketo(lead_filter_limit=3)
    for n in range(4):
        fake.add_lead(email=f"u{n}@example.com", company="Acme", acmeTier="gold")
    async with connect(fake) as http:
        body = (
            await http.get(
                "/rest/v1/leads.json", params={"filterType": "acmeTier", "filterValues": "gold"}
            )
        ).json()
    assert body["errors"] == [{"code": "1003", "message": "Too many results match the filter"}]


async def test_method_get_override_carries_the_query_in_a_form(
    connect: Connect, fake: FakeMarketo
) -> None:
    lead_id = fake.add_lead(email="long@example.com")
    values = ",".join(f"x{n}@example.com" for n in range(290)) + ",long@example.com"
    async with connect(fake) as http:
        too_long = await http.get(
            "/rest/v1/leads.json", params={"filterType": "email", "filterValues": values * 2}
        )
        assert too_long.status_code == 414
        assert too_long.headers["content-type"].startswith("text/html")
        body = (
            await http.post(
                "/rest/v1/leads.json",
                params={"_method": "GET"},
                data={"filterType": "email", "filterValues": values},
            )
        ).json()
    assert [lead["id"] for lead in _ok(body)] == [lead_id]


async def test_sync_actions_and_reasons(connect: Connect, fake: FakeMarketo) -> None:
    existing = fake.add_lead(email="old@example.com", firstName="Old")
    async with connect(fake) as http:
        created = (
            await http.post(
                "/rest/v1/leads.json",
                json={
                    "action": "createOnly",
                    "lookupField": "email",
                    "input": [
                        {
                            "email": "kjashaedd-1@klooblept.com",
                            "firstName": "Kataldar-1",
                            "postalCode": "04828",
                        },
                        {"email": "OLD@example.com"},
                        {"email": "x@example.com", "id": 5},
                        {"email": "y@example.com", "favouriteColour": "blue"},
                    ],
                },
            )
        ).json()
        result = _ok(created)
        assert result[0] == {"id": result[0]["id"], "status": "created"}
        assert result[1] == {
            "status": "skipped",
            "reasons": [{"code": "1005", "message": "Lead already exists"}],
        }
        assert result[2]["reasons"][0]["code"] == "1003"
        assert result[3]["reasons"][0] == {
            "code": "1006",
            "message": "Field 'favouriteColour' not found",
        }
        updated = _ok(
            (
                await http.post(
                    "/rest/v1/leads.json",
                    json={
                        "action": "updateOnly",
                        "input": [
                            {"email": "old@example.com", "lastName": "Ng"},
                            {"email": "ghost@example.com"},
                        ],
                    },
                )
            ).json()
        )
        assert updated[0] == {"id": existing, "status": "updated"}
        assert updated[1]["reasons"][0]["code"] == "1004"
        by_id = _ok(
            (
                await http.post(
                    "/rest/v1/leads.json",
                    json={
                        "action": "updateOnly",
                        "lookupField": "id",
                        "input": [{"id": existing, "city": "Oslo"}],
                    },
                )
            ).json()
        )
        assert by_id == [{"id": existing, "status": "updated"}]
        twice = _ok(
            (
                await http.post(
                    "/rest/v1/leads.json",
                    json={"action": "createDuplicate", "input": [{"email": "old@example.com"}]},
                )
            ).json()
        )
        assert twice[0]["status"] == "created"
        ambiguous = _ok(
            (
                await http.post(
                    "/rest/v1/leads.json", json={"input": [{"email": "old@example.com"}]}
                )
            ).json()
        )
        assert ambiguous[0]["reasons"][0]["code"] == "1007"
    assert fake.leads[existing]["lastName"] == "Ng"
    assert fake.leads[existing]["city"] == "Oslo"
    assert fake.stats.reasons["1005"] == 1


async def test_sync_with_partition_name(connect: Connect, fake: FakeMarketo) -> None:
    fake.add_partition("Europe")
    async with connect(fake) as http:
        result = _ok(
            (
                await http.post(
                    "/rest/v1/leads.json",
                    json={"partitionName": "Europe", "input": [{"email": "eu@example.com"}]},
                )
            ).json()
        )
        partitions = _ok((await http.get("/rest/v1/leads/partitions.json")).json())
        unknown = (
            await http.post(
                "/rest/v1/leads.json",
                json={"partitionName": "Mars", "input": [{"email": "m@example.com"}]},
            )
        ).json()
    europe = next(p for p in partitions if p["name"] == "Europe")
    assert fake.leads[result[0]["id"]]["leadPartitionId"] == europe["id"]
    assert {"id": 1, "name": "Default", "description": "Initial system partition"} in partitions
    assert unknown["errors"][0]["code"] == "1008"


async def test_sync_refuses_wrong_content_type_bad_json_and_300_plus(
    connect: Connect, fake: FakeMarketo
) -> None:
    async with connect(fake) as http:
        form = (await http.post("/rest/v1/leads.json", data={"input": "x"})).json()
        bad = (
            await http.post(
                "/rest/v1/leads.json",
                content=b"{nope",
                headers={"content-type": "application/json"},
            )
        ).json()
        big = (
            await http.post(
                "/rest/v1/leads.json",
                json={"input": [{"email": f"{n}@example.com"} for n in range(301)]},
            )
        ).json()
        huge = await http.post("/rest/v1/leads.json", json={"input": [{"email": "x" * 1_100_000}]})
        wrong_method = (await http.put("/rest/v1/leads.json", json={})).json()
        missing = (await http.get("/rest/v1/nothing.json")).json()
    assert form["errors"][0]["code"] == "612"
    assert bad["errors"][0]["code"] == "609"
    assert big["errors"][0]["code"] == "1003"
    assert huge.status_code == 413
    assert wrong_method["errors"][0]["code"] == "605"
    assert missing["errors"][0]["code"] == "610"
    assert fake.leads == {}


async def test_delete_merge_and_associate(connect: Connect, fake: FakeMarketo) -> None:
    winner = fake.add_lead(email="w@example.com")
    loser = fake.add_lead(email="l@example.com", city="Oslo")
    gone = fake.add_lead(email="g@example.com")
    list_id = fake.add_list("L", lead_ids=[loser])
    cookie = "id:287-GTJ-838&token:_mch-marketo.com-1396310362214-46169"
    async with connect(fake) as http:
        deleted = _ok(
            (
                await http.post(
                    "/rest/v1/leads/delete.json", json={"input": [{"id": gone}, {"id": 766}]}
                )
            ).json()
        )
        assert deleted[0] == {"id": gone, "status": "deleted"}
        assert deleted[1]["status"] == "skipped"
        merged = (
            await http.post(f"/rest/v1/leads/{winner}/merge.json", params={"leadId": loser})
        ).json()
        assert merged == {"requestId": merged["requestId"], "success": True}
        too_many = (
            await http.post(
                f"/rest/v1/leads/{winner}/merge.json",
                params={"leadIds": ",".join(str(n) for n in range(100, 126))},
            )
        ).json()
        assert too_many["errors"][0]["code"] == "1080"
        associated = (
            await http.post(f"/rest/v1/leads/{winner}/associate.json", params={"cookie": cookie})
        ).json()
        assert associated["success"] is True
        bad = (
            await http.post(
                f"/rest/v1/leads/{winner}/associate.json", params={"cookie": "nonsense"}
            )
        ).json()
        assert bad["errors"][0]["code"] == "1012"
        by_cookie = _ok(
            (
                await http.get(
                    "/rest/v1/leads.json", params={"filterType": "cookies", "filterValues": cookie}
                )
            ).json()
        )
    assert set(fake.leads) == {winner}
    assert fake.leads[winner]["city"] == "Oslo"
    assert fake.list_members(list_id) == {winner}
    assert [lead["id"] for lead in by_cookie] == [winner]


async def test_push_and_submit_form(connect: Connect, fake: FakeMarketo) -> None:
    existing = fake.add_lead(email="Justin.Trudeau@ottowa.gov.ca")
    program_id = fake.add_program("Big Blue Thing Product Launch")
    form_id = fake.add_form("Contact", fields=["firstName", "lastName", "email"])
    async with connect(fake) as http:
        pushed = (
            await http.post(
                "/rest/v1/leads/push.json",
                json={
                    "programName": "Big Blue Thing Product Launch",
                    "source": "Cool Sales Site",
                    "reason": "Downloaded pricing sheet",
                    "lookupField": "email",
                    "programStatus": "Visited",
                    "input": [
                        {"email": "Theresa.May@westminister.gov.uk", "firstName": "Theresa"},
                        {"email": "justin.trudeau@ottowa.gov.ca", "firstName": "Justin"},
                    ],
                },
            )
        ).json()
        assert pushed["warnings"] == []
        result = _ok(pushed)
        assert result[0]["status"] == "created"
        assert result[1] == {"id": existing, "status": "updated"}
        unknown = (
            await http.post(
                "/rest/v1/leads/push.json",
                json={"programName": "Nope", "input": [{"email": "a@example.com"}]},
            )
        ).json()
        assert unknown["success"] is False
        submitted = _ok(
            (
                await http.post(
                    "/rest/v1/leads/submitForm.json",
                    json={
                        "formId": form_id,
                        "programId": program_id,
                        "input": [
                            {
                                "leadFormFields": {
                                    "firstName": "Marge",
                                    "lastName": "Simpson",
                                    "email": "JUSTIN.trudeau@ottowa.gov.ca",
                                },
                                "visitorData": {"pageURL": "https://example.com/lp"},
                                "cookie": (
                                    "id:063-GJP-217&token:_mch-marketo.com-1594662481190-60776"
                                ),
                            }
                        ],
                    },
                )
            ).json()
        )
        assert submitted == [{"id": existing, "status": "updated"}]
        outside = _ok(
            (
                await http.post(
                    "/rest/v1/leads/submitForm.json",
                    json={
                        "formId": form_id,
                        "input": [{"leadFormFields": {"email": "q@example.com", "city": "Oslo"}}],
                    },
                )
            ).json()
        )
        assert outside[0]["reasons"][0]["code"] == "1006"
    assert fake.program_members(program_id)[existing] == "Filled-out Form"
    assert fake.leads[existing]["firstName"] == "Marge"


async def test_partitions_update(connect: Connect, fake: FakeMarketo) -> None:
    fake.add_partition("Europe")
    lead_id = fake.add_lead(email="a@example.com")
    async with connect(fake) as http:
        result = _ok(
            (
                await http.post(
                    "/rest/v1/leads/partitions.json",
                    json={
                        "input": [
                            {"id": lead_id, "partitionName": "Europe"},
                            {"id": lead_id},
                            {"id": 404, "partitionName": "Europe"},
                        ]
                    },
                )
            ).json()
        )
    assert result[0] == {"id": lead_id, "status": "updated"}
    assert result[1]["reasons"][0]["code"] == "1009"
    assert result[2]["reasons"][0]["code"] == "1004"
    assert fake.leads[lead_id]["leadPartitionId"] != 1


async def test_memberships_of_a_lead(connect: Connect, fake: FakeMarketo) -> None:
    lead_id = fake.add_lead(email="m@example.com")
    list_ids = [fake.add_list(f"List {n}", lead_ids=[lead_id]) for n in range(3)]
    program_id = fake.add_program("Webinar")
    fake.add_program_member(program_id, lead_id, "Sent")
    campaign_id = fake.add_smart_campaign("Nurture", lead_ids=[lead_id])
    async with connect(fake) as http:
        lists = (
            await http.get(f"/rest/v1/leads/{lead_id}/listMembership.json", params={"batchSize": 2})
        ).json()
        assert lists["moreResult"] is True and lists["nextPageToken"]
        assert set(lists["result"][0]) == {"listId", "createdAt", "updatedAt"}
        rest = _ok(
            (
                await http.get(
                    f"/rest/v1/leads/{lead_id}/listMembership.json",
                    params={"batchSize": 2, "nextPageToken": lists["nextPageToken"]},
                )
            ).json()
        )
        assert [item["listId"] for item in lists["result"] + rest] == list_ids
        (membership,) = _ok(
            (await http.get(f"/rest/v1/leads/{lead_id}/programMembership.json")).json()
        )
        assert membership["id"] == program_id
        assert membership["progressionStatus"] == "Sent"
        assert {
            "isExhausted",
            "acquiredBy",
            "reachedSuccess",
            "membershipDate",
            "updatedAt",
        } <= set(membership)
        filtered = _ok(
            (
                await http.get(
                    f"/rest/v1/leads/{lead_id}/programMembership.json",
                    params={"filterType": "programId", "filterValues": "1"},
                )
            ).json()
        )
        assert filtered == []
        (campaign,) = _ok(
            (await http.get(f"/rest/v1/leads/{lead_id}/smartCampaignMembership.json")).json()
        )
        assert campaign["smartCampaignId"] == campaign_id
        by_program = _ok((await http.get(f"/rest/v1/leads/programs/{program_id}.json")).json())
    assert by_program[0]["membership"]["progressionStatus"] == "Sent"
    assert by_program[0]["email"] == "m@example.com"


async def test_lead_schema_fields(connect: Connect, fake: FakeMarketo) -> None:
    async with connect(fake) as http:
        (email,) = _ok((await http.get("/rest/v1/leads/schema/fields/email.json")).json())
        assert email == {
            "displayName": "Email Address",
            "name": "email",
            "description": None,
            "dataType": "email",
            "length": 255,
            "isHidden": False,
            "isHtmlEncodingInEmail": True,
            "isSensitive": True,
            "isCustom": False,
            "isApiCreated": False,
        }
        created = _ok(
            (
                await http.post(
                    "/rest/v1/leads/schema/fields.json",
                    json={
                        "input": [
                            {
                                "displayName": "Acme Access Code",
                                "name": "acmeAccessCode",
                                "description": "Acme Direct Mail Integration",
                                "dataType": "string",
                            },
                            {"displayName": "Email Again", "name": "email", "dataType": "string"},
                        ]
                    },
                )
            ).json()
        )
        assert created[0] == {"name": "acmeAccessCode", "status": "created"}
        assert created[1]["status"] == "skipped"
        updated = _ok(
            (
                await http.post(
                    "/rest/v1/leads/schema/fields/acmeAccessCode.json",
                    json={"input": [{"displayName": "Acme Code", "isHtmlEncodingInEmail": False}]},
                )
            ).json()
        )
        assert updated == [{"name": "acmeAccessCode", "status": "updated"}]
        locked = _ok(
            (
                await http.post(
                    "/rest/v1/leads/schema/fields/email.json",
                    json={"input": [{"displayName": "Mail"}]},
                )
            ).json()
        )
        assert locked[0]["status"] == "skipped"
        page = (await http.get("/rest/v1/leads/schema/fields.json", params={"batchSize": 5})).json()
        names = [f["name"] for f in page["result"]]
        while page["moreResult"]:
            page = (
                await http.get(
                    "/rest/v1/leads/schema/fields.json",
                    params={"batchSize": 5, "nextPageToken": page["nextPageToken"]},
                )
            ).json()
            names += [f["name"] for f in page["result"]]
    assert names[-1] == "acmeAccessCode"
    assert len(names) == len(set(names)) == len(fake.store.lead_fields)
    assert fake.store.lead_fields["acmeAccessCode"].display_name == "Acme Code"
