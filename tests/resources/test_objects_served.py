"""Every data object kind against FakeMarketo served in another process, with Marketo's
limits, 3% failed calls and 1% calls applied then answered 604: a sync of 3,000 records, 5%
of them repeating an earlier record's dedupe key, gives one outcome per record, no duplicate
record, no 606/615, and calls at the floor plus retries; reading back and deleting agree
with the server."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from marketo_async.resources.objects import DataObject
from tests.resources.test_objects import KINDS, key_fields, record, resource
from tests.served import serve, served_client

pytestmark = pytest.mark.anyio

RECORDS = 3_000
REPEATS = 150  # 5%: records repeating an earlier record's key, with a later value
# The field each kind's repeated records change, and the value the repeat sends.
CHANGED = {
    "companies": ("company", "Renamed"),
    "opportunities": ("name", "Renamed"),
    "opportunity_roles": ("isPrimary", True),
    "sales_persons": ("lastName", "Renamed"),
    "named_accounts": ("domain", "renamed.example"),
    "car_c": ("color", "blue"),
}


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)  # real sockets: the real clocks


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    seed = tmp_path / "seed.json"
    car = {
        "apiName": "car_c",
        "fields": {"vin": "string", "color": "string", "miles": "integer", "leadId": "integer"},
        "dedupeFields": ["vin"],
    }
    seed.write_text(json.dumps({"customObjectTypes": [car]}), encoding="utf-8")
    options = ["--seed", str(seed), "--latency", "0.02", "--applied-fault-rate", "0.01"]
    faults = ["--fault-rate", "0.03", "--fault-codes", "608,604,502,drop"]
    with serve(*options, *faults) as url:
        yield url


def _rows(kind: str) -> list[dict[str, Any]]:
    """2,850 records of distinct keys, and 150 repeating an earlier one's key (somewhere
    after it) with a later value."""
    rng = random.Random(26)
    base = RECORDS - REPEATS
    placed = [(float(n), record(kind, n)) for n in range(base)]
    field, value = CHANGED[kind]
    for n in rng.sample(range(base), REPEATS):
        keys = {name: placed[n][1][name] for name in key_fields(kind)}
        placed.append((rng.uniform(n + 0.5, base), {**keys, field: value}))
    return [row for _, row in sorted(placed, key=lambda pair: pair[0])]


def _key(kind: str, row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(str(row[name]) for name in key_fields(kind))


def _floor(kind: str, rows: list[dict[str, Any]]) -> int:
    """The fewest sync calls possible: 300 a call, and no key twice in one call."""
    counts: dict[tuple[Any, ...], int] = {}
    for row in rows:
        counts[_key(kind, row)] = counts.get(_key(kind, row), 0) + 1
    return max(math.ceil(len(rows) / 300), max(counts.values()))


async def _read_back(target: DataObject, kind: str, keys: list[dict[str, Any]]) -> list[Any]:
    fields = key_fields(kind)
    shown = [*fields, CHANGED[kind][0]]
    if len(fields) == 1:
        values = [key[fields[0]] for key in keys]
        return await target.query(fields[0], values, fields=shown).collect()
    return await target.query("dedupeFields", keys, fields=shown).collect()


@pytest.mark.parametrize("kind", KINDS)
async def test_three_thousand_records_with_repeated_keys_each_one_outcome_no_duplicate(
    served: str, kind: str
) -> None:
    rows = _rows(kind)
    assert len(rows) == RECORDS
    distinct: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        distinct[_key(kind, row)] = {**distinct.get(_key(kind, row), {}), **row}
    field, _ = CHANGED[kind]
    async with served_client(served) as client:
        target = resource(client, kind)
        await target.describe()
        before = client.stats.calls
        report = await target.sync(rows)
        sync_calls = client.stats.calls - before
        sync_retries = client.stats.retries

        keys = [{name: row[name] for name in key_fields(kind)} for row in distinct.values()]
        found = await _read_back(target, kind, keys)

        deleted = await target.delete(keys)
        left = await _read_back(target, kind, keys)
        stats = client.stats

    assert len(report.outcomes) == RECORDS
    assert report.ok, report.counts
    assert set(report.counts) <= {"created", "updated"}
    # Each key read back once: no duplicate record, and the later value of a repeated key.
    assert len(found) == len(distinct)
    assert {tuple(str(item[n]) for n in key_fields(kind)) for item in found} == set(distinct)
    for item in found:
        sent = distinct[tuple(str(item[n]) for n in key_fields(kind))]
        if field in sent:
            assert str(item[field]).lower() == str(sent[field]).lower()
    assert deleted.counts == {"deleted": len(distinct)}
    assert left == []
    assert stats.errors["606"] == stats.errors["615"] == 0
    assert stats.rate_limited == stats.concurrency_limited == 0
    floor = _floor(kind, rows)
    assert floor <= sync_calls <= floor + sync_retries, (sync_calls, floor, sync_retries)
    print(f"{kind}: sync calls {sync_calls}, floor {floor}, retries {sync_retries}")
