"""Static lists and program members end to end, against the FakeMarketo emulator."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from marketo_async._errors import NotFoundError, TooManyResultsError
from marketo_async.models.program_members import ProgramMember
from marketo_async.models.static_lists import Folder
from marketo_async.resources._schema_fields import NewField
from marketo_async.testing import FakeMarketo

pytestmark = pytest.mark.anyio
UTC = dt.timezone.utc
UNKNOWN_LEAD = 999_999


def calls_to(fake: FakeMarketo, method: str, path: str) -> int:
    return sum(1 for call in fake.stats.timeline if (call.method, call.path) == (method, path))


async def test_static_list_metadata_round_trip() -> None:
    fake = FakeMarketo(latency=0.05)
    program_id = fake.add_program("Webinar", id=1034)
    async with fake.client() as client:
        lists = client.static_lists
        created = await lists.create("Invitees", Folder(program_id, "Program"), description="d")
        assert created.folder == Folder(1034, "Program") and created.description == "d"
        assert created.computed_url is not None and created.created_at is not None
        other = await lists.create("Seed List", 13)
        assert (await lists.get(created.id)).name == "Invitees"
        assert await lists.by_name("Seed List") == other
        assert await lists.by_name("Nope") is None
        renamed = await lists.update(created.id, name="Attendees")
        assert renamed.name == "Attendees" and renamed.description == "d"
        in_program = await lists.list(folder={"id": 1034, "type": "Program"}).collect()
        assert [s.name for s in in_program] == ["Attendees"]
        assert {s.id for s in await lists.list(max_return=1).collect()} == {created.id, other.id}
        await lists.delete(other.id)
        assert [s.id async for s in lists.list()] == [created.id]
        with pytest.raises(NotFoundError):
            await lists.get(other.id)
        with pytest.raises(NotFoundError):
            await lists.update(other.id, description="gone")


async def test_list_membership_end_to_end() -> None:
    fake = FakeMarketo(latency=0.2)
    lead_ids = [fake.add_lead(email=f"lead{n}@example.com", firstName=f"L{n}") for n in range(900)]
    outsider = fake.add_lead(email="outsider@example.com")
    list_id = fake.add_list("Webinar invitees")
    members_path = f"/rest/v1/lists/{list_id}/leads.json"
    async with fake.client() as client:
        lists = client.static_lists

        added = await lists.add_leads(list_id, lead_ids)
        assert added.ok and added.counts == {"added": 900}
        assert calls_to(fake, "POST", members_path) == 3
        assert [o.id for o in added.outcomes] == lead_ids
        assert fake.list_members(list_id) == set(lead_ids)

        unknown = await lists.add_leads(list_id, [UNKNOWN_LEAD])
        (skipped,) = unknown.outcomes
        assert skipped.status == "skipped" and skipped.id == UNKNOWN_LEAD
        assert skipped.reasons[0].code == "1004"

        checked = await lists.contains(list_id, [lead_ids[0], outsider, UNKNOWN_LEAD, lead_ids[-1]])
        assert [o.status for o in checked.outcomes] == [
            "memberof",
            "notmemberof",
            "skipped",
            "memberof",
        ]

        listed = [lead async for lead in lists.leads(list_id, fields=["email", "firstName"])]
        assert sorted(lead.id for lead in listed) == lead_ids
        assert calls_to(fake, "GET", members_path) == 3
        assert listed[0]["email"] == "lead0@example.com" and listed[0]["firstName"] == "L0"

        removed = await lists.remove_leads(list_id, lead_ids[:300])
        assert removed.ok and removed.counts == {"removed": 300}
        assert calls_to(fake, "DELETE", members_path) == 1
        assert fake.list_members(list_id) == set(lead_ids[300:])

        after = await lists.contains(list_id, lead_ids[299:301])
        assert [o.status for o in after.outcomes] == ["notmemberof", "memberof"]


async def test_program_members_end_to_end() -> None:
    now = [dt.datetime(2024, 1, 1, tzinfo=UTC)]
    fake = FakeMarketo(latency=0.1, clock=lambda: now[0])
    fake.add_program_member_field("lunchPreference")
    program_id = fake.add_program("Webinar", id=1044)
    lead_ids = [fake.add_lead(email=f"member{n}@example.com") for n in range(700)]
    stranger = fake.add_lead(email="stranger@example.com")
    base = f"/rest/v1/programs/{program_id}/members"
    async with fake.client() as client:
        members = client.program_members

        described = await members.describe()
        assert "lunchPreference" in described.filter_types
        assert "lunchPreference" in described.updateable_fields

        registered = await members.set_status(program_id, "Registered", lead_ids)
        assert registered.ok and registered.counts == {"created": 700}
        assert calls_to(fake, "POST", f"{base}/status.json") == 3
        assert set(fake.program_members(program_id).values()) == {"Registered"}

        # A lead already at or past a status is skipped (1037), with its id kept.
        behind = await members.set_status(program_id, "Sent", lead_ids[:2])
        assert [(o.id, o.status) for o in behind.outcomes] == [
            (lead_ids[0], "skipped"),
            (lead_ids[1], "skipped"),
        ]
        assert behind.outcomes[0].reasons[0].code == "1037"

        records: list[dict[str, Any]] = [
            {"leadId": lead_id, "lunchPreference": f"meal {n % 3}", "registrationCode": f"R{n}"}
            for n, lead_id in enumerate(lead_ids)
        ]
        records.append({"leadId": stranger, "lunchPreference": "none"})
        updated = await members.update_data(program_id, records)
        assert updated.counts == {"updated": 700, "skipped": 1}
        (not_member,) = updated.failed
        assert not_member.id == stranger and not_member.reasons[0].code == "1013"

        found = await members.query(
            program_id,
            "lunchPreference",
            ["meal 0", "meal 1"],
            fields=["leadId", "statusName", "lunchPreference", "registrationCode"],
        ).collect()
        assert all(isinstance(member, ProgramMember) for member in found)
        assert len(found) == len([n for n in range(700) if n % 3 != 2])
        first = next(m for m in found if m.lead_id == lead_ids[0])
        assert first.status_name == "Registered"
        assert first["lunchPreference"] == "meal 0" and first.fields["registrationCode"] == "R0"

        deleted = await members.delete(program_id, [*lead_ids[:250], stranger])
        assert deleted.counts == {"deleted": 250, "skipped": 1}
        assert deleted.failed[0].reasons[0].message == "Lead not in program"
        assert len(fake.program_members(program_id)) == 450
        remaining = await members.query(program_id, "statusName", ["Registered"]).collect()
        assert len(remaining) == 450


async def test_updated_between_twenty_days_makes_three_windowed_queries() -> None:
    now = [dt.datetime(2024, 1, 1, tzinfo=UTC)]
    fake = FakeMarketo(latency=0.05, clock=lambda: now[0])
    program_id = fake.add_program("Nurture")
    lead_ids = [fake.add_lead(email=f"n{day}@example.com") for day in range(20)]
    for day, lead_id in enumerate(lead_ids):
        now[0] = dt.datetime(2024, 1, 1, 12, tzinfo=UTC) + dt.timedelta(days=day)
        fake.add_program_member(program_id, lead_id, "Member")
    start = dt.datetime(2024, 1, 1, tzinfo=UTC)
    async with fake.client() as client:
        pager = client.program_members.updated_between(
            program_id, start, start + dt.timedelta(days=20)
        )
        found = await pager.collect()
    assert sorted(member.lead_id for member in found) == lead_ids
    queries = [c for c in fake.stats.timeline if c.path.endswith(f"/{program_id}/members.json")]
    assert len(queries) == 3 and all(c.code is None for c in queries)


async def test_program_member_fields_end_to_end() -> None:
    fake = FakeMarketo()
    async with fake.client() as client:
        fields = client.program_member_fields
        report = await fields.create(
            [NewField(name="lunchPreference", display_name="Lunch Preference", data_type="string")]
        )
        assert report.ok
        again = await fields.create(
            [{"name": "lunchPreference", "display_name": "Lunch", "data_type": "string"}]
        )
        assert again.failed[0].reasons[0].code == "1017"
        created = await fields.get("lunchPreference")
        assert created is not None and created.is_custom and created.is_api_created
        outcome = await fields.update("lunchPreference", description="Food", is_hidden=True)
        assert outcome.status == "updated"
        hidden = await fields.get("lunchPreference")
        assert hidden is not None and hidden.is_hidden and hidden.description == "Food"
        assert await fields.get("noSuchField") is None
        names = [field.name async for field in fields.list(batch_size=7)]
        assert "statusName" in names and "lunchPreference" in names


async def test_query_past_the_membership_limit_raises_with_bulk_advice() -> None:
    fake = FakeMarketo(program_member_query_limit=5)
    program_id = fake.add_program("Big")
    lead_ids = [fake.add_lead(email=f"big{n}@example.com") for n in range(6)]
    for lead_id in lead_ids:
        fake.add_program_member(program_id, lead_id, "Member")
    async with fake.client() as client:
        with pytest.raises(TooManyResultsError, match="bulk program member extract") as caught:
            await client.program_members.query(program_id, "statusName", ["Member"]).collect()
        assert caught.value.code == "1003"
        # leadId lookups are not limited.
        found = await client.program_members.query(program_id, "leadId", lead_ids).collect()
        assert sorted(member.lead_id for member in found) == lead_ids
