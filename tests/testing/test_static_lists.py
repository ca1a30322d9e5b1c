"""Static lists (asset API) and list membership over raw HTTP, against the seed page."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from marketo_async.testing import FakeMarketo

pytestmark = pytest.mark.anyio
Connect = Any  # the conftest fixture: connect(fake) -> async context of httpx.AsyncClient
ASSET_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\+0000$")
NO_ASSETS = "No assets found for the given search criteria."


async def test_create_get_update_browse_delete(connect: Connect, fake: FakeMarketo) -> None:
    program_id = fake.add_program("Launch", id=1034)
    async with connect(fake) as http:
        created = (
            await http.post(
                "/rest/asset/v1/staticLists.json",
                data={
                    "folder": json.dumps({"id": program_id, "type": "Program"}),
                    "name": "My Static List",
                },
            )
        ).json()
        assert created["errors"] == [] and created["warnings"] == []
        (static_list,) = created["result"]
        list_id = static_list["id"]
        assert static_list == {
            "id": list_id,
            "name": "My Static List",
            "createdAt": static_list["createdAt"],
            "updatedAt": static_list["updatedAt"],
            "folder": {"id": 1034, "type": "Program"},
            "computedUrl": f"https://app-sjqe.marketo.com/#ST{list_id}A1",
        }
        assert ASSET_DATE.match(static_list["createdAt"])
        updated = (
            await http.post(
                f"/rest/asset/v1/staticList/{list_id}.json",
                data={"description": "This is a static list used for testing"},
            )
        ).json()
        assert updated["result"][0]["description"] == "This is a static list used for testing"
        by_id = (await http.get(f"/rest/asset/v1/staticList/{list_id}.json")).json()
        by_name = (
            await http.get(
                "/rest/asset/v1/staticList/byName.json", params={"name": "My Static List"}
            )
        ).json()
        assert by_id["result"] == by_name["result"] == updated["result"]
        duplicate = (
            await http.post(
                "/rest/asset/v1/staticLists.json",
                data={"folder": '{"id":13,"type":"Folder"}', "name": "My Static List"},
            )
        ).json()
        assert duplicate["success"] is False and duplicate["warnings"] == []
        as_json = (
            await http.post(
                "/rest/asset/v1/staticLists.json",
                json={"folder": {"id": 13, "type": "Folder"}, "name": "Json"},
            )
        ).json()
        assert as_json["errors"][0]["code"] == "612"
        deleted = (await http.post(f"/rest/asset/v1/staticList/{list_id}/delete.json")).json()
        assert deleted["result"] == [{"id": list_id}]
        missing = (await http.get(f"/rest/asset/v1/staticList/{list_id}.json")).json()
    assert missing == {
        "success": True,
        "errors": [],
        "requestId": missing["requestId"],
        "warnings": [NO_ASSETS],
    }


async def test_browse_with_offset_and_max_return(connect: Connect, fake: FakeMarketo) -> None:
    ids = [fake.add_list(f"List {n}") for n in range(5)]
    fake.add_list("Elsewhere", folder={"id": 99, "type": "Folder"})
    async with connect(fake) as http:
        folder = '{"id":13,"type":"Folder"}'
        first = (
            await http.get(
                "/rest/asset/v1/staticLists.json", params={"folder": folder, "maxReturn": 2}
            )
        ).json()
        last = (
            await http.get(
                "/rest/asset/v1/staticLists.json",
                params={"folder": folder, "offset": 4, "maxReturn": 2},
            )
        ).json()
        past = (
            await http.get(
                "/rest/asset/v1/staticLists.json", params={"folder": folder, "offset": 10}
            )
        ).json()
        too_many = (
            await http.get("/rest/asset/v1/staticLists.json", params={"maxReturn": 201})
        ).json()
        everything = (await http.get("/rest/asset/v1/staticLists.json")).json()
    assert [s["id"] for s in first["result"]] == ids[:2]
    assert [s["id"] for s in last["result"]] == ids[4:]
    assert past["warnings"] == [NO_ASSETS] and "result" not in past
    assert too_many["success"] is False
    assert len(everything["result"]) == 6


async def test_membership_add_remove_ismember_and_leads(
    connect: Connect, fake: FakeMarketo
) -> None:
    list_id = fake.add_list("Seed")
    leads = [fake.add_lead(email=f"{n}@example.com", firstName=f"F{n}") for n in range(4)]
    async with connect(fake) as http:
        added = (
            await http.post(
                f"/rest/v1/lists/{list_id}/leads.json", params=[("id", leads[0]), ("id", 999999)]
            )
        ).json()
        assert added["result"] == [
            {"id": leads[0], "status": "added"},
            {
                "id": 999999,
                "status": "skipped",
                "reasons": [{"code": "1004", "message": "Lead not found"}],
            },
        ]
        by_body = (
            await http.post(
                f"/rest/v1/lists/{list_id}/leads.json",
                json={"input": [{"id": leads[1]}, {"id": leads[2]}]},
            )
        ).json()
        assert [r["status"] for r in by_body["result"]] == ["added", "added"]
        removed = (
            await http.delete(
                f"/rest/v1/lists/{list_id}/leads.json",
                params=[("id", leads[2]), ("id", leads[3]), ("id", 999999)],
            )
        ).json()
        assert [r["status"] for r in removed["result"]] == ["removed", "skipped", "skipped"]
        member = (
            await http.get(
                f"/rest/v1/lists/{list_id}/leads/ismember.json",
                params=[("id", leads[0]), ("id", leads[3]), ("id", 999999)],
            )
        ).json()
        assert [r["status"] for r in member["result"]] == ["memberof", "notmemberof", "skipped"]
        page = (
            await http.get(f"/rest/v1/lists/{list_id}/leads.json", params={"batchSize": 1})
        ).json()
        assert set(page["result"][0]) == {"id", "firstName", "email", "updatedAt", "createdAt"}
        assert page["moreResult"] is True
        legacy = (
            await http.get(
                f"/rest/v1/list/{list_id}/leads.json",
                params={"nextPageToken": page["nextPageToken"], "fields": "email"},
            )
        ).json()
        assert legacy["result"] == [{"id": leads[1], "email": "1@example.com"}]
        unknown = (await http.get("/rest/v1/lists/5/leads.json")).json()
        assert unknown["success"] is False
    assert fake.list_members(list_id) == {leads[0], leads[1]}


async def test_lead_database_list_metadata_by_id_and_filtered_pages(
    connect: Connect, fake: FakeMarketo
) -> None:
    program_id = fake.add_program("Webinar", id=1034)
    first = fake.add_list("Newsletter", description="weekly")
    in_program = fake.add_list("Attendees", folder={"id": program_id, "type": "Program"})
    for n in range(3):
        fake.add_list(f"Extra {n}")
    async with connect(fake) as http:
        one = (await http.get(f"/rest/v1/lists/{first}.json")).json()
        assert one["success"] is True
        (view,) = one["result"]
        assert view["name"] == "Newsletter" and view["description"] == "weekly"
        assert view["workspaceName"] == "Default" and view["createdAt"].endswith("Z")
        missing = (await http.get("/rest/v1/lists/999999.json")).json()
        assert missing["errors"][0]["code"] == "1013"
        by_program = (
            await http.get("/rest/v1/lists.json", params={"programName": "Webinar"})
        ).json()
        assert [v["id"] for v in by_program["result"]] == [in_program]
        assert by_program["result"][0]["programName"] == "Webinar"
        seen: list[int] = []
        params: dict[str, Any] = {"batchSize": 2}
        while True:
            page = (await http.get("/rest/v1/lists.json", params=params)).json()
            seen += [v["id"] for v in page["result"]]
            if not page["moreResult"]:
                break
            params["nextPageToken"] = page["nextPageToken"]
        assert len(seen) == 5 == len(set(seen))
        by_id = (await http.get("/rest/v1/lists.json", params=[("id", first), ("id", 1)])).json()
        assert [v["id"] for v in by_id["result"]] == [first]
