"""Rate, concurrency and quota limits; the duplicate-lead race; latency; injected faults."""

from __future__ import annotations

import re
from typing import Any

import anyio
import httpx
import pytest

from marketo_async import RateLimits
from marketo_async.testing import FakeMarketo, Latency

pytestmark = pytest.mark.anyio
Connect = Any  # the conftest fixture: connect(fake) -> async context of httpx.AsyncClient


async def _upsert(http: httpx.AsyncClient, email: str) -> dict[str, Any]:
    response = await http.post(
        "/rest/v1/leads.json",
        json={"action": "createOrUpdate", "lookupField": "email", "input": [{"email": email}]},
    )
    return dict(response.json())


async def test_overlapping_upserts_create_a_duplicate(connect: Connect) -> None:
    fake = FakeMarketo(latency=0.05)
    async with connect(fake) as http, anyio.create_task_group() as tg:
        tg.start_soon(_upsert, http, "a@example.com")
        tg.start_soon(_upsert, http, "A@example.com")
    (group,) = fake.duplicates()
    assert group.key == "a@example.com"
    assert len(group.ids) == 2
    assert fake.stats.max_in_flight == 2


async def test_sequential_upserts_leave_no_duplicate(connect: Connect) -> None:
    fake = FakeMarketo(latency=0.01)
    async with connect(fake) as http:
        first = await _upsert(http, "a@example.com")
        second = await _upsert(http, "A@example.com")
    assert first["result"][0]["status"] == "created"
    assert second["result"][0] == {"id": first["result"][0]["id"], "status": "updated"}
    assert fake.duplicates() == []


async def test_same_key_twice_in_one_call_is_one_lead(connect: Connect, fake: FakeMarketo) -> None:
    async with connect(fake) as http:
        body = (
            await http.post(
                "/rest/v1/leads.json",
                json={"input": [{"email": "b@example.com"}, {"email": "B@example.com"}]},
            )
        ).json()
    assert [r["status"] for r in body["result"]] == ["created", "updated"]
    assert fake.duplicates() == []


async def test_unthrottled_burst_gets_606_and_615(connect: Connect) -> None:
    fake = FakeMarketo(latency=0.05, rate_limits=RateLimits(calls=6, period=5.0, concurrency=3))
    codes: list[str | None] = []
    async with connect(fake) as http:

        async def one() -> None:
            body = (await http.get("/rest/v1/leads/describe.json")).json()
            codes.append(None if body["success"] else body["errors"][0]["code"])

        async with anyio.create_task_group() as tg:
            for _ in range(20):
                tg.start_soon(one)
        rate = (await http.get("/rest/v1/leads/describe.json")).json()
    assert codes.count(None) == 3
    assert "615" in codes and "606" in codes
    assert fake.stats.errors["606"] >= 1 and fake.stats.errors["615"] >= 1
    assert rate["errors"] == [
        {"code": "606", "message": "Max rate limit '6' exceeded with in '5' secs"}
    ]
    assert fake.stats.max_in_flight == 3


async def test_daily_quota_gives_607_until_reset(connect: Connect) -> None:
    fake = FakeMarketo(
        rate_limits=RateLimits(calls=1000, period=1.0, concurrency=10, daily_quota=2)
    )
    async with connect(fake) as http:
        for _ in range(2):
            assert (await http.get("/rest/v1/leads/describe.json")).json()["success"]
        over = (await http.get("/rest/v1/leads/describe.json")).json()
        fake.reset_daily_quota()
        again = (await http.get("/rest/v1/leads/describe.json")).json()
    assert over["errors"][0]["code"] == "607"
    assert again["success"] is True


async def test_window_frees_up_after_the_period(connect: Connect) -> None:
    fake = FakeMarketo(rate_limits=RateLimits(calls=2, period=0.2, concurrency=5))
    async with connect(fake) as http:
        for _ in range(2):
            await http.get("/rest/v1/leads/describe.json")
        refused = (await http.get("/rest/v1/leads/describe.json")).json()
        await anyio.sleep(0.25)
        allowed = (await http.get("/rest/v1/leads/describe.json")).json()
    assert refused["errors"][0]["code"] == "606"
    assert allowed["success"] is True
    assert [record.path for record in fake.stats.timeline] == ["/rest/v1/leads/describe.json"] * 4


async def test_latency_model_adds_per_record_time(connect: Connect) -> None:
    fake = FakeMarketo(latency=Latency(base=0.01, per_record=0.01, jitter=0.0))
    async with connect(fake) as http:
        await http.post(
            "/rest/v1/leads.json", json={"input": [{"email": f"{n}@example.com"} for n in range(5)]}
        )
    (record,) = fake.stats.timeline
    assert record.end - record.start >= 0.055
    assert fake.stats.records == 5


async def test_scripted_codes_then_normal_answers(connect: Connect, fake: FakeMarketo) -> None:
    fake.faults.script("/rest/v1/leads.json", code="608", times=2)
    async with connect(fake) as http:
        answers = [await _upsert(http, "f@example.com") for _ in range(3)]
    assert [a["success"] for a in answers] == [False, False, True]
    assert answers[0]["errors"] == [{"code": "608", "message": "API Temporarily Unavailable"}]
    assert fake.stats.errors["608"] == 2
    assert fake.faults.pending == []


async def test_604_after_apply_lands_the_write(connect: Connect, fake: FakeMarketo) -> None:
    fake.faults.script("/rest/v1/leads.json", code="604", after_apply=True)
    async with connect(fake) as http:
        body = await _upsert(http, "late@example.com")
    assert body["errors"][0]["code"] == "604"
    assert len(fake.find_leads("email", "late@example.com")) == 1


async def test_dropped_connection_and_502(connect: Connect, fake: FakeMarketo) -> None:
    fake.faults.script("/rest/v1/leads.json", drop_connection=True, after_apply=True)
    fake.faults.script(re.compile(r"describe"), http_status=502)
    async with connect(fake) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await _upsert(http, "drop@example.com")
        gateway = await http.get("/rest/v1/leads/describe.json")
    assert gateway.status_code == 502
    assert gateway.text.startswith("<html>")
    assert len(fake.find_leads("email", "drop@example.com")) == 1
    assert fake.stats.dropped_connections == 1


async def test_random_faults_are_seeded(connect: Connect, fake: FakeMarketo) -> None:
    fake.faults.randomly(0.5, codes=("608", "611"), seed=3)
    async with connect(fake) as http:
        bodies = [(await http.get("/rest/v1/leads/describe.json")).json() for _ in range(20)]
    failed = [b["errors"][0]["code"] for b in bodies if not b["success"]]
    assert 0 < len(failed) < 20
    assert set(failed) <= {"608", "611"}
