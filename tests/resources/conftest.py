"""Fixtures for resource tests: a client whose HTTP goes to a respx router."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx

from marketo_async import MarketoClient, RateLimits, RetryPolicy

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
        # No daily counter: it would read stats/usage first, a call these routes don't expect.
        rate_limits=RateLimits(daily_quota=None),
    )
    async with client:
        yield client


@pytest.fixture
def leads(mk: MarketoClient) -> Any:
    return mk.leads


@pytest.fixture
def members(mk: MarketoClient) -> Any:
    return mk.program_members


@pytest.fixture
def lists(mk: MarketoClient) -> Any:
    return mk.static_lists


def ok(result: Any = None, **extra: Any) -> dict[str, Any]:
    """Marketo's success envelope."""
    body: dict[str, Any] = {"requestId": "e42b#14272d07d78", "success": True}
    if result is not None:
        body["result"] = result
    body.update(extra)
    return body


def failure(code: str, message: str) -> dict[str, Any]:
    """Marketo's failure envelope (HTTP 200, ``success`` false) with one error."""
    return {"requestId": "1#2", "success": False, "errors": [{"code": code, "message": message}]}


def skipped(code: str, message: str, **entry: Any) -> dict[str, Any]:
    """A ``result[]`` entry Marketo skipped (``entry`` first, e.g. ``name`` or ``id``)."""
    return {**entry, "status": "skipped", "reasons": [{"code": code, "message": message}]}


def schema_field(
    display: str,
    name: str,
    data_type: str,
    length: int | None,
    *,
    html: bool,
    sensitive: bool,
    **more: Any,
) -> dict[str, Any]:
    """A standard field's schema record (Get ... Fields), ``length`` only when given."""
    field: dict[str, Any] = {
        "displayName": display,
        "name": name,
        "description": None,
        "dataType": data_type,
    }
    if length is not None:
        field["length"] = length
    field.update(
        isHidden=False,
        isHtmlEncodingInEmail=html,
        isSensitive=sensitive,
        isCustom=False,
        **more,
    )
    return field


def json_of(request: httpx.Request) -> Any:
    """A request's JSON body (and it is sent as JSON)."""
    assert request.headers["content-type"] == "application/json"
    return json.loads(request.content)


def query_of(request: httpx.Request) -> list[tuple[str, str]]:
    """A request's query parameters, repeated ones included, in order."""
    return list(request.url.params.multi_items())


def no_api_calls(router: respx.Router) -> bool:
    """Nothing but the token endpoint was called."""
    return all(call.request.url.path.startswith("/identity") for call in router.calls)
