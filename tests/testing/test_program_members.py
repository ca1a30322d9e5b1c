"""Program member endpoints over raw HTTP, against the Program Members seed page."""

from __future__ import annotations

from typing import Any

import pytest

from marketo_async.testing import FakeMarketo

pytestmark = pytest.mark.anyio
Connect = Any  # the conftest fixture: connect(fake) -> async context of httpx.AsyncClient


@pytest.fixture
def seeded() -> tuple[FakeMarketo, int, list[int]]:
    fake = FakeMarketo()
    fake.add_program_member_field("registrationCode2")
    program_id = fake.add_program("Webinar", id=1044)
    leads = [fake.add_lead(email=f"m{n}@example.com") for n in range(5)]
    for lead_id in leads[:3]:
        fake.add_program_member(program_id, lead_id, "Influenced")
    return fake, program_id, leads


async def test_describe(connect: Connect, seeded: tuple[FakeMarketo, int, list[int]]) -> None:
    fake, _, _ = seeded
    async with connect(fake) as http:
        body = (await http.get("/rest/v1/programs/members/describe.json")).json()
    (described,) = body["result"]
    assert described["name"] == "API Program Membership"
    assert described["dedupeFields"] == ["leadId", "programId"]
    assert ["statusName"] in described["searchableFields"]
    assert ["registrationCode2"] in described["searchableFields"]
    webinar = next(f for f in described["fields"] if f["name"] == "webinarUrl")
    assert webinar == {
        "name": "webinarUrl",
        "displayName": "Webinar Url",
        "dataType": "string",
        "length": 2000,
        "updateable": True,
        "crmManaged": False,
    }


async def test_query_by_status_and_paging(
    connect: Connect, seeded: tuple[FakeMarketo, int, list[int]]
) -> None:
    fake, program_id, leads = seeded
    async with connect(fake) as http:
        body = (
            await http.get(
                f"/rest/v1/programs/{program_id}/members.json",
                params={"filterType": "statusName", "filterValues": "Influenced", "batchSize": 2},
            )
        ).json()
        assert body["moreResult"] is True
        first = body["result"][0]
        assert next(iter(first)) == "seq"
        assert set(first) == {
            "seq",
            "leadId",
            "reachedSuccess",
            "programId",
            "acquiredBy",
            "membershipDate",
        }
        assert first["programId"] == 1044 and first["reachedSuccess"] is True
        rest = (
            await http.get(
                f"/rest/v1/programs/{program_id}/members.json",
                params={
                    "filterType": "statusName",
                    "filterValues": "Influenced",
                    "batchSize": 2,
                    "nextPageToken": body["nextPageToken"],
                },
            )
        ).json()
        assert [m["leadId"] for m in body["result"] + rest["result"]] == leads[:3]
        assert rest["moreResult"] is False
        by_lead = (
            await http.get(
                f"/rest/v1/programs/{program_id}/members.json",
                params={
                    "filterType": "leadId",
                    "filterValues": str(leads[1]),
                    "fields": "leadId,statusName",
                },
            )
        ).json()
        assert by_lead["result"] == [{"seq": 0, "leadId": leads[1], "statusName": "Influenced"}]


async def test_query_by_updated_at_is_limited_to_seven_days(
    connect: Connect, seeded: tuple[FakeMarketo, int, list[int]]
) -> None:
    fake, program_id, _ = seeded
    async with connect(fake) as http:
        wide = (
            await http.get(
                f"/rest/v1/programs/{program_id}/members.json",
                params={
                    "filterType": "updatedAt",
                    "startAt": "2020-01-01T00:00:00Z",
                    "endAt": "2020-01-09T00:00:00Z",
                },
            )
        ).json()
        recent = (
            await http.get(
                f"/rest/v1/programs/{program_id}/members.json",
                params={
                    "filterType": "updatedAt",
                    "startAt": "2000-01-01T00:00:00Z",
                    "endAt": "2000-01-02T00:00:00-05:00",
                },
            )
        ).json()
    assert wide["errors"][0]["code"] == "1003"
    assert recent["success"] is True and recent["result"] == []


async def test_query_over_the_membership_limit_gives_1003(connect: Connect) -> None:
    fake = FakeMarketo(program_member_query_limit=2)
    program_id = fake.add_program("Big")
    for n in range(3):
        fake.add_program_member(program_id, fake.add_lead(email=f"{n}@example.com"))
    async with connect(fake) as http:
        body = (
            await http.get(
                f"/rest/v1/programs/{program_id}/members.json",
                params={"filterType": "statusName", "filterValues": "Member"},
            )
        ).json()
    assert body["errors"][0] == {
        "code": "1003",
        "message": "Total membership size: 3 exceeds the limit allowed 2 for the filter",
    }


async def test_status_sync_data_sync_and_delete(
    connect: Connect, seeded: tuple[FakeMarketo, int, list[int]]
) -> None:
    fake, program_id, leads = seeded
    fake.add_program_member(program_id, leads[3], "Sent")
    async with connect(fake) as http:
        status = (
            await http.post(
                f"/rest/v1/programs/{program_id}/members/status.json",
                json={
                    "statusName": "Influenced",
                    "input": [{"leadId": leads[0]}, {"leadId": leads[3]}, {"leadId": leads[4]}],
                },
            )
        ).json()
        assert status["result"] == [
            {
                "seq": 0,
                "status": "skipped",
                "reasons": [
                    {
                        "code": "1037",
                        "message": "Lead skipped because it is already in or past this status",
                    }
                ],
            },
            {"seq": 1, "status": "updated", "leadId": leads[3]},
            {"seq": 2, "status": "created", "leadId": leads[4]},
        ]
        data = (
            await http.post(
                f"/rest/v1/programs/{program_id}/members.json",
                json={
                    "input": [
                        {"leadId": leads[0], "registrationCode": "dcff5f12"},
                        {"leadId": 1003, "registrationCode": "aa880c57"},
                    ]
                },
            )
        ).json()
        assert data["result"] == [
            {"seq": 0, "status": "updated", "leadId": leads[0]},
            {
                "seq": 1,
                "status": "skipped",
                "reasons": [{"code": "1013", "message": "Membership not found"}],
            },
        ]
        deleted = (
            await http.post(
                f"/rest/v1/programs/{program_id}/members/delete.json",
                json={"input": [{"leadId": leads[1]}, {"leadId": 77}]},
            )
        ).json()
        assert deleted["result"] == [
            {"seq": 0, "status": "deleted", "leadId": leads[1]},
            {
                "seq": 1,
                "status": "skipped",
                "reasons": [{"code": "1037", "message": "Lead not in program"}],
            },
        ]
    members = fake.store.programs[program_id].members
    assert members[leads[0]].fields["registrationCode"] == "dcff5f12"
    assert leads[1] not in members


async def test_member_schema_fields(connect: Connect, fake: FakeMarketo) -> None:
    async with connect(fake) as http:
        (status,) = (
            await http.get("/rest/v1/programs/members/schema/fields/statusName.json")
        ).json()["result"]
        assert status["displayName"] == "Status" and status["isCustom"] is False
        created = (
            await http.post(
                "/rest/v1/programs/members/schema/fields.json",
                json={
                    "input": [
                        {
                            "displayName": "PMCF Custom Field 03",
                            "name": "pMCFCustomField03",
                            "description": "My third custom field",
                            "dataType": "string",
                        }
                    ]
                },
            )
        ).json()
        assert created["result"] == [{"name": "pMCFCustomField03", "status": "created"}]
        updated = (
            await http.post(
                "/rest/v1/programs/members/schema/fields/pMCFCustomField03.json",
                json={
                    "input": [
                        {
                            "displayName": "Lunch Preference",
                            "description": "Attendee food preference",
                        }
                    ]
                },
            )
        ).json()
        assert updated["result"] == [{"name": "pMCFCustomField03", "status": "updated"}]
        page = (
            await http.get("/rest/v1/programs/members/schema/fields.json", params={"batchSize": 5})
        ).json()
    assert page["moreResult"] is True and len(page["result"]) == 5
    assert fake.store.member_fields["pMCFCustomField03"].display_name == "Lunch Preference"


async def test_legacy_change_lead_program_status_updates_members_only(
    connect: Connect, fake: FakeMarketo
) -> None:
    program_id = fake.add_program(
        "Event", statuses=["Invited", "Registered", "Attended"], success_statuses=["Attended"]
    )
    member = fake.add_lead(email="m@example.com")
    outsider = fake.add_lead(email="o@example.com")
    fake.add_program_member(program_id, member, "Invited")
    path = f"/rest/v1/leads/programs/{program_id}/status.json"
    async with connect(fake) as http:
        body = (
            await http.post(
                path, json={"status": "Registered", "input": [{"id": member}, {"id": outsider}]}
            )
        ).json()
        assert body["result"][0] == {"id": member, "status": "updated"}
        assert body["result"][1]["status"] == "skipped"
        assert body["result"][1]["reasons"][0]["code"] == "1013"
        bad = (await http.post(path, json={"status": "Nope", "input": [{"id": member}]})).json()
        assert bad["success"] is False and bad["errors"][0]["code"] == "1025"
    assert fake.store.programs[program_id].members[member].status == "Registered"
