"""The loopback HTTP server answers like the in-process transport."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import anyio
import httpx
import pytest

from marketo_async.testing import FakeMarketo

pytestmark = pytest.mark.anyio
Connect = Any  # the conftest fixture: connect(fake) -> async context of httpx.AsyncClient


def _without_ids(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "requestId"}


async def _exchange(http: httpx.AsyncClient) -> list[tuple[int, dict[str, Any]]]:
    answers: list[tuple[int, dict[str, Any]]] = []
    calls = [
        http.build_request("GET", "/rest/v1/leads/describe2.json"),
        http.build_request(
            "POST",
            "/rest/v1/leads.json",
            json={"input": [{"email": "s@example.com", "firstName": "S"}]},
        ),
        http.build_request(
            "GET",
            "/rest/v1/leads.json",
            params={
                "filterType": "email",
                "filterValues": "S@example.com",
                "fields": "email,firstName",
            },
        ),
        http.build_request(
            "POST",
            "/rest/v1/leads.json",
            params={"_method": "GET"},
            data={"filterType": "email", "filterValues": "s@example.com"},
        ),
        http.build_request("GET", "/rest/v1/nowhere.json"),
        http.build_request("POST", "/rest/v1/lists/1001/leads.json", params={"id": "1"}),
        http.build_request("GET", "/rest/asset/v1/staticList/1001.json"),
    ]
    for request in calls:
        response = await http.send(request)
        answers.append((response.status_code, _without_ids(response.json())))
    too_long = await http.get("/rest/v1/leads.json", params={"filterValues": "x" * 9000})
    answers.append((too_long.status_code, {}))
    return answers


def _fixed_clock() -> datetime:
    return datetime(2024, 5, 17, 22, 11, 45, tzinfo=timezone.utc)


def _seed(fake: FakeMarketo) -> None:
    fake.add_list("Seed", id=1001)


async def test_server_mode_answers_like_transport_mode(connect: Connect) -> None:
    in_process = FakeMarketo(random_seed=1, clock=_fixed_clock)
    over_http = FakeMarketo(random_seed=1, clock=_fixed_clock)
    _seed(in_process)
    _seed(over_http)
    async with connect(in_process) as http:
        expected = await _exchange(http)
    async with anyio.create_task_group() as tg:
        port = await tg.start(over_http.serve, 0)
        async with connect(over_http, base_url=f"http://127.0.0.1:{port}") as http:
            got = await _exchange(http)
            # keep-alive: many calls on one connection, and the server survives a drop
            over_http.faults.script("/rest/v1/leads/describe.json", drop_connection=True)
            with pytest.raises(httpx.RemoteProtocolError):
                await http.get("/rest/v1/leads/describe.json")
            assert (await http.get("/rest/v1/leads/describe.json")).status_code == 200
        tg.cancel_scope.cancel()
    assert got == expected
    assert over_http.leads.keys() == in_process.leads.keys()
