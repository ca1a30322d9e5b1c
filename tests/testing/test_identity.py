"""Identity: one token until it expires, 600/601/602, HTTP 401 for bad credentials."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest

from marketo_async.testing import FakeMarketo

pytestmark = pytest.mark.anyio
Connect = Any  # the conftest fixture: connect(fake) -> async context of httpx.AsyncClient


async def test_token_is_reused_and_counts_down(connect: Connect) -> None:
    fake = FakeMarketo(token_ttl=2.0)
    async with connect(fake, authenticated=False) as http:
        form = {
            "grant_type": "client_credentials",
            "client_id": fake.client_id,
            "client_secret": fake.client_secret,
        }
        first = (await http.post("/identity/oauth/token", data=form)).json()
        assert first["token_type"] == "bearer"
        assert first["expires_in"] == 2
        assert first["scope"] == fake.api_user
        assert first["access_token"].endswith(":int")
        await anyio.sleep(1.05)
        second = (await http.get("/identity/oauth/token", params=form)).json()  # query form
        assert second["access_token"] == first["access_token"]
        assert second["expires_in"] == 0
    assert fake.stats.tokens_issued == 1
    assert fake.stats.calls == 0  # identity never counts
    assert fake.stats.identity_calls == 2


async def test_expired_token_gives_602_then_a_new_token(connect: Connect) -> None:
    fake = FakeMarketo(token_ttl=0.05)
    async with connect(fake) as http:
        await anyio.sleep(0.06)
        body = (await http.get("/rest/v1/leads/describe.json")).json()
        assert body["success"] is False
        assert body["errors"] == [{"code": "602", "message": "Access token expired"}]
        form = {
            "grant_type": "client_credentials",
            "client_id": fake.client_id,
            "client_secret": fake.client_secret,
        }
        fresh = (await http.post("/identity/oauth/token", data=form)).json()
        assert f"Bearer {fresh['access_token']}" != http.headers["Authorization"]
    assert fake.stats.errors["602"] == 1


async def test_unknown_missing_and_query_tokens_are_refused(
    connect: Connect, fake: FakeMarketo
) -> None:
    async with connect(fake) as http:
        token = http.headers["Authorization"].split()[1]
        fake.revoke_tokens()
        assert (await http.get("/rest/v1/leads/describe.json")).json()["errors"][0]["code"] == "601"
        del http.headers["Authorization"]
        body = (
            await http.get("/rest/v1/leads/describe.json", params={"access_token": token})
        ).json()
        assert body["errors"][0]["code"] == "600"


async def test_bad_credentials_give_http_401(fake: FakeMarketo) -> None:
    async with httpx.AsyncClient(transport=fake.transport, base_url=fake.base_url) as http:
        response = await http.post(
            "/identity/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": fake.client_id,
                "client_secret": "wrong",
            },
        )
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert "error_description" in response.json()
