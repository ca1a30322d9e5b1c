"""Shared fixtures for the FakeMarketo tests: both anyio backends and a raw HTTP connection."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest

from marketo_async.testing import FakeMarketo

Connect = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def fetch_token(http: httpx.AsyncClient, fake: FakeMarketo) -> str:
    response = await http.post(
        "/identity/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": fake.client_id,
            "client_secret": fake.client_secret,
        },
    )
    assert response.status_code == 200
    return str(response.json()["access_token"])


@asynccontextmanager
async def _connect(
    fake: FakeMarketo, *, base_url: str | None = None, authenticated: bool = True
) -> AsyncIterator[httpx.AsyncClient]:
    """A plain httpx client on the fake (transport mode, or a real URL for server mode)."""
    transport = None if base_url else fake.transport
    async with httpx.AsyncClient(transport=transport, base_url=base_url or fake.base_url) as http:
        if authenticated:
            http.headers["Authorization"] = f"Bearer {await fetch_token(http, fake)}"
        yield http


@pytest.fixture
def connect() -> Connect:
    return _connect


@pytest.fixture
def fake() -> FakeMarketo:
    return FakeMarketo()
