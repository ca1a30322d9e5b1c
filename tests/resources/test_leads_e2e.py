"""client.leads and client.lead_fields end to end against FakeMarketo (limits and race on)."""

from __future__ import annotations

import random
from typing import Any

import anyio
import pytest

from marketo_async import RateLimits
from marketo_async._errors import TooManyResultsError
from marketo_async.models.leads import Lead, LeadField, Partition
from marketo_async.resources._lead_rules import lookup_key
from marketo_async.resources._schema_fields import NewField
from marketo_async.testing import FakeMarketo, Latency

pytestmark = pytest.mark.anyio

LIMITS = RateLimits(calls=100, period=20.0, concurrency=10, daily_quota=None)
COOKIE = "id:287-GTJ-838&token:_mch-marketo.com-1396310362214-46169"


def long_email(n: int) -> str:
    # Long enough that 300 of them overflow an 8 KB URL.
    return f"lead.number.{n}@example-company-with-a-long-name.com"


async def test_write_then_read_back_1000_leads_by_filter() -> None:
    fake = FakeMarketo(latency=Latency(base=0.2), rate_limits=LIMITS)
    rows = [{"email": long_email(n), "firstName": f"F{n}"} for n in range(1_000)]
    async with fake.client() as client:
        report = await client.leads.sync(rows)
        assert report.ok and report.counts == {"created": 1_000}
        wanted = [row["email"].upper() for row in rows]  # Marketo matches emails in any case
        found = await client.leads.by_filter(
            "email", wanted, fields=["email", "firstName"]
        ).collect()
    assert len(found) == 1_000
    assert {lead.id for lead in found} == set(fake.leads)
    assert {lead.email for lead in found} == {row["email"] for row in rows}
    by_email = {lead.email: lead for lead in found}
    assert by_email[long_email(7)]["firstName"] == "F7"
    calls = [c for c in fake.stats.timeline if c.path == "/rest/v1/leads.json"]
    # 4 sync calls, then 4 filter calls: three of 300 values too long for a URL went as
    # POST ?_method=GET, the last 100 as a plain GET.
    assert [c.method for c in calls] == ["POST"] * 7 + ["GET"]
    assert all(c.status == 200 for c in calls)


async def test_get_reads_custom_fields_and_none_for_a_missing_lead() -> None:
    fake = FakeMarketo()
    fake.add_lead_field("acmeCode")
    async with fake.client() as client:
        report = await client.leads.sync([{"email": "ann@example.com", "acmeCode": "A-1"}])
        (outcome,) = report.outcomes
        assert outcome.status == "created" and outcome.id is not None
        lead = await client.leads.get(outcome.id)
        custom = await client.leads.get(outcome.id, fields=["email", "acmeCode"])
        missing = await client.leads.get(999_999)
    assert isinstance(lead, Lead) and lead.email == "ann@example.com"
    assert set(lead) == {"id", "email", "createdAt", "updatedAt"}  # nulls are left out
    assert lead.created_at is not None and lead.created_at.tzinfo is not None
    assert custom is not None and custom["acmeCode"] == "A-1"
    assert missing is None


async def test_page_a_static_list() -> None:
    fake = FakeMarketo()
    ids = [fake.add_lead(email=f"m{n}@example.com", city="Oslo") for n in range(650)]
    list_id = fake.add_list("Big list", lead_ids=ids)
    async with fake.client() as client:
        first = await client.leads.by_list(list_id, batch_size=300)
        pages = [page async for page in client.leads.by_list(list_id, fields=["city"]).pages()]
    assert len(first) == 300 and first.more
    assert [len(page) for page in pages] == [300, 300, 50]
    assert [lead.id for page in pages for lead in page] == ids
    assert all(lead["city"] == "Oslo" for page in pages for lead in page)


async def test_merge_moves_values_and_memberships_to_the_winner() -> None:
    fake = FakeMarketo()
    winner = fake.add_lead(email="w@example.com")
    losers = [fake.add_lead(email=f"l{n}@example.com", city="Oslo") for n in range(3)]
    list_id = fake.add_list("Losers", lead_ids=[losers[0]])
    async with fake.client() as client:
        await client.leads.merge(winner, losers)
        lists = await client.leads.lists_of(winner).collect()
        merged = await client.leads.get(winner, fields=["email", "city"])
        with pytest.raises(ValueError, match="loser_ids"):
            await client.leads.merge(winner, range(100, 126))
    assert set(fake.leads) == {winner}
    assert merged is not None and merged["city"] == "Oslo"
    assert [m.list_id for m in lists] == [list_id]


async def test_delete_reports_each_id() -> None:
    fake = FakeMarketo()
    ids = [fake.add_lead(email=f"d{n}@example.com") for n in range(305)]
    keep = fake.add_lead(email="keep@example.com")
    async with fake.client() as client:
        report = await client.leads.delete([*ids, 999_999])
    assert report.counts == {"deleted": 305, "skipped": 1}
    (skipped,) = report.failed
    assert skipped.index == 305 and skipped.reasons[0].code == "1004"
    assert set(fake.leads) == {keep}


def repeated_emails(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """``n`` upserts where about one in five repeats a recent email in another case."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for i in range(n):
        if rows and rng.random() < 0.2:
            earlier = rows[rng.randrange(max(0, len(rows) - 50), len(rows))]["email"]
            rows.append({"email": rng.choice([earlier.upper(), earlier.title()]), "city": f"C{i}"})
        else:
            rows.append({"email": f"racer{i}@example.com", "firstName": f"F{i}"})
    return rows


async def test_the_emulator_race_makes_duplicates_when_keys_overlap() -> None:
    # The control: two overlapping upserts of one new email create two leads.
    fake = FakeMarketo(latency=Latency(base=0.5))
    async with fake.client() as client:
        async with anyio.create_task_group() as tasks:
            for email in ("race@example.com", "RACE@example.com"):
                tasks.start_soon(
                    lambda e: client.request(
                        "POST", "/rest/v1/leads.json", json={"input": [{"email": e}]}
                    ),
                    email,
                )
    assert len(fake.duplicates()) == 1


async def test_sync_with_repeated_case_varied_emails_leaves_no_duplicates() -> None:
    fake = FakeMarketo(latency=Latency(base=0.4, jitter=0.4), rate_limits=LIMITS, random_seed=3)
    rows = repeated_emails(3_000)
    async with fake.client() as client:
        report = await client.leads.sync(rows, batch_size=100)
    unique = {lookup_key(row, "email") for row in rows}
    assert report.ok, report.summary()
    assert report.counts["created"] == len(unique) < len(rows)
    assert fake.duplicates() == []
    assert len(fake.leads) == len(unique)
    assert fake.stats.max_in_flight > 1  # calls did overlap
    assert fake.stats.errors.get("615", 0) == 0


async def test_create_duplicate_always_inserts() -> None:
    fake = FakeMarketo()
    fake.add_lead(email="twin@example.com")
    async with fake.client() as client:
        report = await client.leads.sync(
            [{"email": "twin@example.com"}, {"email": "TWIN@example.com"}],
            action="createDuplicate",
        )
    assert report.counts == {"created": 2}
    assert len(fake.find_leads("email", "twin@example.com")) == 3


async def test_sync_actions_and_partitions() -> None:
    fake = FakeMarketo()
    existing = fake.add_lead(email="old@example.com")
    async with fake.client() as client:
        europe_id = fake.add_partition("Europe")
        partitions = await client.leads.partitions()
        created = await client.leads.sync(
            [{"email": "eu@example.com"}, {"email": "old@example.com"}],
            action="createOnly",
            partition_name="Europe",
        )
        updated = await client.leads.sync(
            [{"id": existing, "city": "Oslo"}, {"id": 424242}],
            action="updateOnly",
            lookup_field="id",
        )
        moved = await client.leads.update_partitions({existing: "Europe", 424242: "Europe"})
    assert Partition(id=europe_id, name="Europe", description="") in partitions
    assert [o.status for o in created.outcomes] == ["created", "skipped"]
    assert created.outcomes[1].reasons[0].code == "1005"
    new_id = created.outcomes[0].id
    assert new_id is not None and fake.leads[new_id]["leadPartitionId"] == europe_id
    assert [o.status for o in updated.outcomes] == ["updated", "skipped"]
    assert fake.leads[existing]["city"] == "Oslo"
    assert [o.status for o in moved.outcomes] == ["updated", "skipped"]
    assert fake.leads[existing]["leadPartitionId"] == europe_id


async def test_push_submit_form_and_associate() -> None:
    fake = FakeMarketo()
    program_id = fake.add_program("Big Blue Thing Product Launch")
    form_id = fake.add_form("Contact us")
    async with fake.client() as client:
        pushed = await client.leads.push(
            [{"email": "theresa@example.gov.uk", "firstName": "Theresa"}],
            program_name="Big Blue Thing Product Launch",
            source="Cool Sales Site",
            reason="Downloaded pricing sheet",
            program_status="Registered",
        )
        (theresa,) = pushed.outcomes
        assert theresa.status == "created" and theresa.id is not None
        form = await client.leads.submit_form(
            form_id,
            {"email": "marge@example.com", "firstName": "Marge"},
            visitor_data={"pageURL": "https://example.com/lp"},
            program_id=program_id,
        )
        assert form.status == "created" and form.id is not None
        await client.leads.associate(theresa.id, COOKIE)
        by_cookie = await client.leads.by_filter("cookies", [COOKIE]).collect()
        programs = await client.leads.programs_of(theresa.id, program_ids=[program_id]).collect()
    assert fake.program_members(program_id) == {
        theresa.id: "Registered",
        form.id: "Filled-out Form",
    }
    assert [lead.id for lead in by_cookie] == [theresa.id]
    assert [(m.program_id, m.progression_status) for m in programs] == [(program_id, "Registered")]


async def test_memberships_of_a_lead_and_of_an_engagement_program() -> None:
    fake = FakeMarketo()
    lead_id = fake.add_lead(email="nurtured@example.com", firstName="Nora")
    program_id = fake.add_program("Nurture", engagement=True)
    fake.add_program_member(program_id, lead_id, "Engaged")
    campaign_id = fake.add_smart_campaign("Welcome", lead_ids=[lead_id])
    async with fake.client() as client:
        (member,) = await client.leads.by_program(program_id).collect()
        (campaign,) = await client.leads.smart_campaigns_of(lead_id).collect()
        (program,) = await client.leads.programs_of(
            lead_id, earliest_updated_at="2000-01-01T00:00:00Z"
        ).collect()
    assert member.id == lead_id and member["firstName"] == "Nora"
    assert member.membership is not None
    assert member.membership.progression_status == "Engaged"
    assert member.membership.stream == "Default" and member.membership.nurture_cadence == "norm"
    assert member.membership.reached_success is True
    assert campaign.smart_campaign_id == campaign_id
    assert program.program_id == program_id and program.is_exhausted is False


async def test_describe_and_describe2() -> None:
    fake = FakeMarketo()
    fake.add_lead_field("acmeCode")
    async with fake.client() as client:
        described = await client.leads.describe()
        description = await client.leads.describe2()
    company = next(field for field in described if field.name == "company")
    assert company.display_name == "Company Name" and company.rest is not None
    assert ["acmeCode"] in description.searchable_fields
    email = description.field("email")
    assert email is not None and email.data_type == "email"


async def test_too_many_matches_raises_with_advice() -> None:
    fake = FakeMarketo(lead_filter_limit=3)
    for n in range(4):
        fake.add_lead(email=f"u{n}@example.com", company="Acme")
    fake.add_lead_field("tier")
    for lead_id in list(fake.leads):
        fake.store.update_lead(lead_id, {"tier": "gold"})
    async with fake.client() as client:
        with pytest.raises(TooManyResultsError, match="narrow the filter"):
            await client.leads.by_filter("tier", ["gold"]).collect()


async def test_lead_fields_create_get_list_update() -> None:
    fake = FakeMarketo()
    async with fake.client() as client:
        report = await client.lead_fields.create(
            [
                NewField(
                    name="acmeAccessCode",
                    display_name="Acme Access Code",
                    data_type="string",
                    description="Acme Direct Mail Integration",
                ),
                {"name": "acmeMailDate", "displayName": "Acme Mail Date", "dataType": "date"},
            ]
        )
        again = await client.lead_fields.create(
            [{"name": "acmeAccessCode", "displayName": "Other", "dataType": "string"}]
        )
        field = await client.lead_fields.get("acmeAccessCode")
        missing = await client.lead_fields.get("noSuchField")
        every = await client.lead_fields.list(batch_size=10).collect()
        updated = await client.lead_fields.update(
            "acmeAccessCode", description="Changed", is_hidden=True
        )
        refused = await client.lead_fields.update("email", display_name="E-mail")
        after = await client.lead_fields.get("acmeAccessCode")
    assert report.counts == {"created": 2}
    assert again.failed[0].reasons[0].code == "1017"
    assert isinstance(field, LeadField) and field.is_custom and field.is_api_created
    assert field.description == "Acme Direct Mail Integration"
    assert missing is None
    assert {"email", "acmeAccessCode", "acmeMailDate"} <= {f.name for f in every}
    assert len(every) == len(fake.store.lead_fields)
    assert updated.status == "updated"
    assert refused.status == "skipped" and refused.reasons[0].code == "1003"
    assert after is not None and after.description == "Changed" and after.is_hidden
