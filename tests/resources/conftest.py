"""Fixtures for resource tests: a client whose HTTP goes to a respx router."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx

from marketo_async import MarketoClient, RetryPolicy

BASE_URL = "https://123-abc-456.mktorest.com"


@pytest.fixture
def router() -> respx.Router:
    """A respx router that already answers the identity endpoint."""
    routes = respx.Router(base_url=BASE_URL, assert_all_called=False)
    routes.post("/identity/oauth/token").respond(
        200,
        json={
            "access_token": "tok-cdf01657:int",
            "token_type": "bearer",
            "expires_in": 3599,
            "scope": "api@example.com",
        },
    )
    return routes


@pytest.fixture
async def mk(router: respx.Router) -> AsyncIterator[MarketoClient]:
    """A MarketoClient wired to ``router``; no backoff sleeps."""
    client = MarketoClient(
        base_url=BASE_URL,
        client_id="cid",
        client_secret="secret",
        transport=httpx.MockTransport(router.handler),
        retry=RetryPolicy.no_wait(),
    )
    async with client:
        yield client


def ok(result: Any = None, **extra: Any) -> dict[str, Any]:
    """Marketo's success envelope."""
    body: dict[str, Any] = {"requestId": "e42b#14272d07d78", "success": True}
    if result is not None:
        body["result"] = result
    body.update(extra)
    return body
