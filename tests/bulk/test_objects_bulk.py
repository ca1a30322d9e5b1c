"""Bulk Extract of custom objects against FakeMarketo, on virtual time."""

from __future__ import annotations

import datetime as dt

import pytest

from marketo_async import MarketoError
from marketo_async.models import ObjectRecord
from marketo_async.testing import FakeMarketo

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
