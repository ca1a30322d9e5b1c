"""Bulk Extract of custom objects against FakeMarketo, on virtual time."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from marketo_async import MarketoError
from marketo_async.models import ObjectRecord
from marketo_async.testing import BulkSettings, FakeMarketo

from .conftest import START, client_of, stamp

pytestmark = pytest.mark.anyio


def cars_over(fake: FakeMarketo, count: int, *, every: dt.timedelta) -> None:
    """``count`` cars, the i-th updated at ``START - 2 days + i * every``."""
    fake.add_custom_object_type(
        "car_c", {"vin": "string", "color": "string", "miles": "integer"}, dedupe_fields=["vin"]
    )
    kind = fake.objects.type_at("customobjects/car_c")
    for i in range(count):
        record = fake.objects.create(kind, {"vin": f"V{i:05d}", "color": "red", "miles": i})
        record["updatedAt"] = stamp(START - dt.timedelta(days=2) + i * every)


async def test_a_custom_object_export_over_45_days_gives_each_record_once(
    fake: FakeMarketo,
) -> None:
    cars_over(fake, 100, every=dt.timedelta(hours=12))
    async with client_of(fake) as client:
        rows = client.bulk_export.custom_objects(
            "car_c",
            ["marketoGUID", "vin", "miles"],
            updated_at=(START, START + dt.timedelta(days=45)),
        )
        cars = [car async for car in rows]
    expected = [
        record["vin"]
        for record in fake.object_records("car_c")
        if START
        <= dt.datetime.fromisoformat(record["updatedAt"].replace("Z", "+00:00"))
        < START + dt.timedelta(days=45)
    ]
    assert [car["vin"] for car in cars] == expected and len(expected) == 90
    assert all(isinstance(car, ObjectRecord) and car.marketo_guid for car in cars)
    assert len({car.marketo_guid for car in cars}) == 90
    assert rows.stats.jobs == 2
    assert fake.stats.by_path["/bulk/v1/customobjects/car_c/export/create.json"] == 2


async def test_a_custom_object_export_refuses_an_unknown_field(fake: FakeMarketo) -> None:
    cars_over(fake, 3, every=dt.timedelta(days=1))
    async with client_of(fake) as client:
        rows = client.bulk_export.custom_objects(
            "car_c", ["vin", "wheels"], updated_at=(START, START + dt.timedelta(days=5))
        )
        with pytest.raises(MarketoError, match="wheels"):
            _ = [car async for car in rows]


async def test_a_custom_object_import_of_20000_rows_gives_one_outcome_per_row_in_few_calls() -> (
    None
):
    """20,000 rows, some refused before sending (no key, an unknown column), some by
    Marketo (a value its field's type cannot hold): one outcome per row, every good row in
    the store once, at most 10 API calls."""
    fake = FakeMarketo(bulk=BulkSettings.brisk())
    fake.add_custom_object_type(
        "car_c", {"vin": "string", "color": "string", "miles": "integer"}, dedupe_fields=["vin"]
    )
    rows: list[dict[str, Any]] = [
        {"vin": f"V{i:05d}", "color": "red", "miles": str(i)} for i in range(20_000)
    ]
    for i in range(0, 20_000, 2_000):
        rows[i] = {"color": "blue"}  # no key: refused before sending
    for i in range(1, 20_000, 2_000):
        rows[i] = {**rows[i], "miles": "lots"}  # Marketo refuses it: not an integer
    rows[7] = {**rows[7], "wheels": "4"}  # a column car_c does not have
    async with client_of(fake) as client:
        report = await client.bulk_import.custom_objects("car_c", rows)
    assert len(report.outcomes) == 20_000
    failed = {o.index for o in report.outcomes if o.status == "failed"}
    assert failed == {*range(0, 20_000, 2_000), *range(1, 20_000, 2_000), 7}
    assert report.counts["imported"] == 20_000 - 21
    assert any("lots" in r.message for r in report.outcomes[1].reasons)
    stored = fake.object_records("car_c")
    assert len(stored) == 20_000 - 21 and len({car["vin"] for car in stored}) == len(stored)
    assert fake.stats.calls <= 10, fake.stats.by_path


async def test_a_custom_object_keyed_by_two_fields_is_refused_for_bulk_import() -> None:
    fake = FakeMarketo()
    fake.add_custom_object_type(
        "pet_c", {"tag": "string", "leadId": "integer"}, dedupe_fields=["tag", "leadId"]
    )
    async with client_of(fake) as client:
        with pytest.raises(ValueError, match="sync"):
            await client.bulk_import.custom_objects("pet_c", [{"tag": "a", "leadId": 1}])
