"""Data objects (companies, opportunities, roles, sales persons, named accounts, custom
objects) against the in-process FakeMarketo, on asyncio and trio (virtual time)."""

from __future__ import annotations

from typing import Any

import pytest

from marketo_async import MarketoClient, RateLimits
from marketo_async.models import ObjectDescription
from marketo_async.resources.objects import DataObject
from marketo_async.testing import FakeMarketo

pytestmark = pytest.mark.anyio

KINDS = [
    "companies",
    "opportunities",
    "opportunity_roles",
    "sales_persons",
    "named_accounts",
    "car_c",
]
PATHS = {
    "companies": "companies",
    "opportunities": "opportunities",
    "opportunity_roles": "opportunities/roles",
    "sales_persons": "salespersons",
    "named_accounts": "namedaccounts",
    "car_c": "car_c",
}


def make_fake(**kwargs: Any) -> FakeMarketo:
    fake = FakeMarketo(**kwargs)
    fake.add_custom_object_type(
        "car_c",
        {"vin": "string", "color": "string", "miles": "integer", "leadId": "integer"},
        dedupe_fields=["vin"],
    )
    return fake


def resource(client: MarketoClient, kind: str) -> DataObject:
    if kind == "car_c":
        return client.custom_objects.object("car_c")
    found = getattr(client, kind)
    assert isinstance(found, DataObject)
    return found


def record(kind: str, n: int, **extra: Any) -> dict[str, Any]:
    """Record number ``n`` of ``kind`` (its key made from ``n``)."""
    base: dict[str, Any] = {
        "companies": {"externalCompanyId": f"c{n}", "company": f"Company {n}"},
        "opportunities": {"externalOpportunityId": f"o{n}", "name": f"Deal {n}"},
        "opportunity_roles": {"externalOpportunityId": f"o{n % 7}", "leadId": n, "role": "Buyer"},
        "sales_persons": {"externalSalesPersonId": f"s{n}", "lastName": f"Rep {n}"},
        "named_accounts": {"name": f"Account {n}", "domain": f"a{n}.example"},
        "car_c": {"vin": f"VIN{n:06d}", "color": "red"},
    }[kind]
    return {**base, **extra}


def key_fields(kind: str) -> tuple[str, ...]:
    return {
        "companies": ("externalCompanyId",),
        "opportunities": ("externalOpportunityId",),
        "opportunity_roles": ("externalOpportunityId", "leadId", "role"),
        "sales_persons": ("externalSalesPersonId",),
        "named_accounts": ("name",),
        "car_c": ("vin",),
    }[kind]


@pytest.mark.parametrize("kind", KINDS)
async def test_describe_gives_keys_searchable_fields_typed_fields_and_links(kind: str) -> None:
    fake = make_fake()
    async with fake.client() as client:
        described = await resource(client, kind).describe()
        again = await resource(client, kind).describe()
    assert isinstance(described, ObjectDescription)
    assert described.dedupe_fields == key_fields(kind)
    assert list(described.dedupe_fields) in [list(g) for g in described.searchable_fields]
    assert described.id_field in ("id", "marketoGUID")
    assert all(field.data_type for field in described.fields)
    assert again is described and fake.stats.by_path[f"/rest/v1/{_path(kind)}/describe.json"] == 1
    if kind == "opportunities":
        assert "externalCompanyId" in described.link_fields


def _path(kind: str) -> str:
    return f"customobjects/{kind}" if kind == "car_c" else PATHS[kind]


@pytest.mark.parametrize("kind", KINDS)
async def test_sync_gives_one_outcome_per_record_with_its_id_or_guid_and_query_reads_them_back(
    kind: str,
) -> None:
    fake = make_fake()
    rows = [record(kind, n) for n in range(1, 651)]
    async with fake.client() as client:
        target = resource(client, kind)
        report = await target.sync(rows)
        fields = key_fields(kind)
        if len(fields) == 1:
            found = await target.query(fields[0], [row[fields[0]] for row in rows]).collect()
        else:
            keys = [{name: row[name] for name in fields} for row in rows]
            found = await target.query("dedupeFields", keys).collect()
    assert report.counts == {"created": 650}
    assert len(report.outcomes) == 650
    described_id = "id" if kind in ("companies", "sales_persons") else "marketoGUID"
    if described_id == "id":
        assert all(o.id is not None and o.marketo_guid is None for o in report.outcomes)
        ids = {o.id for o in report.outcomes}
    else:
        assert all(o.marketo_guid for o in report.outcomes)
        ids = {o.marketo_guid for o in report.outcomes}
    assert len(ids) == 650
    assert {item[described_id] for item in found} == ids
    assert len(fake.object_records(_path(kind).removeprefix("customobjects/"))) == 650
    # 650 records: 3 sync calls, 3 query calls (300 values each) + 1 describe
    assert fake.stats.calls == 7


async def test_records_sharing_a_compound_key_are_never_in_one_call_or_in_flight_together() -> None:
    fake = make_fake(latency=0.5)
    rows = [record("opportunity_roles", n % 40, isPrimary=n % 2 == 0) for n in range(400)]
    async with fake.client() as client:
        report = await client.opportunity_roles.sync(rows)
    assert len(report.outcomes) == 400
    assert report.counts.get("created", 0) == 40
    assert report.counts.get("updated", 0) == 360
    assert fake.object_duplicates("opportunities/roles") == []
    assert fake.stats.reasons.get("1036", 0) == 0


async def test_a_bad_record_fails_before_any_call_naming_record_and_field() -> None:
    fake = make_fake()
    rows: list[Any] = [
        record("car_c", 1),
        {"color": "blue"},  # no key
        record("car_c", 2, wheels=4),  # no such field
        record("car_c", 3, miles="lots"),  # not an integer
        "not a record",
    ]
    async with fake.client() as client:
        report = await client.custom_objects.object("car_c").sync(rows)
    statuses = [o.status for o in report.outcomes]
    assert statuses == ["created", "failed", "failed", "failed", "failed"]
    messages = [o.reasons[0].message for o in report.outcomes[1:]]
    assert "record 1" in messages[0] and "'vin'" in messages[0]
    assert "record 2" in messages[1] and "'wheels'" in messages[1]
    assert "record 3" in messages[2] and "'miles'" in messages[2]
    assert "record 4" in messages[3]
    assert fake.stats.by_path["/rest/v1/customobjects/car_c.json"] == 1


async def test_delete_by_dedupe_fields_and_by_id_field_agree_with_the_server() -> None:
    fake = make_fake()
    rows = [record("opportunities", n) for n in range(10)]
    async with fake.client() as client:
        synced = await client.opportunities.sync(rows)
        by_key = await client.opportunities.delete([*rows[:5], record("opportunities", 99)])
        guids = [{"marketoGUID": o.marketo_guid} for o in synced.outcomes[5:]]
        by_id = await client.opportunities.delete(guids, delete_by="idField")
    assert [o.status for o in by_key.outcomes] == ["deleted"] * 5 + ["skipped"]
    assert by_key.outcomes[-1].reasons[0].code == "1013"
    assert by_id.counts == {"deleted": 5}
    assert fake.object_records("opportunities") == []


async def test_update_by_id_field_only_with_update_only() -> None:
    fake = make_fake()
    async with fake.client() as client:
        with pytest.raises(ValueError, match="updateOnly"):
            await client.companies.sync([{"id": 1}], dedupe_by="idField")
        created = await client.companies.sync([record("companies", 1)])
        company_id = created.outcomes[0].id
        report = await client.companies.sync(
            [{"id": company_id, "industry": "Cars"}], action="updateOnly", dedupe_by="idField"
        )
    assert report.counts == {"updated": 1}
    assert fake.object_records("companies")[0]["industry"] == "Cars"


async def test_an_ambiguous_create_only_is_unknown_then_settled_by_reading_it_back() -> None:
    fake = make_fake()
    fake.faults.script("/rest/v1/customobjects/car_c.json", code="604", after_apply=True)
    rows = [record("car_c", n) for n in range(5)]
    async with fake.client() as client:
        cars = client.custom_objects.object("car_c")
        plain = await cars.sync(rows, action="createOnly")
        fake.faults.script("/rest/v1/customobjects/car_c.json", code="604", after_apply=True)
        more = [record("car_c", n) for n in range(5, 10)]
        settled = await cars.sync(more, action="createOnly", settle_unknown=True)
    assert plain.counts == {"unknown": 5}
    assert settled.counts == {"created": 5}
    assert all(o.marketo_guid for o in settled.outcomes)
    assert all(o.reasons[-1].code == "read-back" for o in settled.outcomes)
    assert len(fake.object_records("car_c")) == 10


async def test_an_ambiguous_create_or_update_is_resent_and_makes_no_duplicate() -> None:
    fake = make_fake()
    fake.faults.script("/rest/v1/companies.json", code="604", after_apply=True)
    async with fake.client() as client:
        report = await client.companies.sync([record("companies", n) for n in range(20)])
    assert report.ok and len(report.outcomes) == 20
    assert len(fake.object_records("companies")) == 20


async def test_custom_object_types_lists_the_instance_types() -> None:
    fake = make_fake()
    fake.add_custom_object_type(
        "pet_c", {"tag": "string", "leadId": "integer"}, dedupe_fields=["tag", "leadId"]
    )
    async with fake.client() as client:
        types = await client.custom_objects.types()
    assert {t.name: t.dedupe_fields for t in types} == {
        "car_c": ("vin",),
        "pet_c": ("tag", "leadId"),
    }


async def test_a_long_query_goes_as_method_get_and_pages() -> None:
    fake = make_fake()
    rows = [record("car_c", n, color="x" * 40) for n in range(900)]
    long_vins = [f"{row['vin']}{'-' * 30}" for row in rows]  # a long URL, matching nothing
    async with fake.client(rate_limits=RateLimits.unlimited()) as client:
        cars = client.custom_objects.object("car_c")
        await cars.sync(rows)
        found = await cars.query("vin", [row["vin"] for row in rows], batch_size=100).collect()
        none = await cars.query("vin", long_vins).collect()
    assert len(found) == 900 and none == []
    assert fake.stats.errors.get("414", 0) == 0


@pytest.mark.parametrize("kind", KINDS)
async def test_heavy_faults_and_applied_then_604_leave_one_outcome_each_and_no_duplicate(
    kind: str,
) -> None:
    """20% of calls fail and 10% apply then answer 604, with calls overlapping: every
    record still gets one outcome, no key gets two records, and the calls are the floor
    plus the retries."""
    fake = make_fake(latency=0.5)
    fake.faults.randomly(0.2, codes=("608", "604", "502", "drop"), applied_rate=0.1, seed=len(kind))
    rows = [record(kind, n) for n in range(2_850)]
    rows += [record(kind, n * 19) for n in range(150)]  # repeated keys, after their first
    async with fake.client() as client:
        target = resource(client, kind)
        await target.describe()
        report = await target.sync(rows)
        stats = client.stats
    path = f"/rest/v1/{_path(kind)}.json"
    assert len(report.outcomes) == 3_000 and report.ok, report.counts
    assert fake.object_duplicates(_path(kind).removeprefix("customobjects/")) == []
    assert len(fake.object_records(_path(kind).removeprefix("customobjects/"))) == 2_850
    assert stats.retries > 0
    assert 10 <= fake.stats.by_path[path] <= 10 + stats.retries
