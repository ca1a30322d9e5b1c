"""Bad credentials are not retried: identity's own 401 cannot clear by asking again."""

from __future__ import annotations

import anyio
import pytest

from marketo_async import MarketoClient, RetryPolicy
from marketo_async._errors import AuthenticationError
from marketo_async.testing import FakeMarketo

pytestmark = pytest.mark.anyio


def _wrong_secret_client(fake: FakeMarketo) -> MarketoClient:
    """A client of ``fake`` with a secret identity refuses, retries without waiting."""
    return MarketoClient(
        base_url=fake.base_url,
        client_id=fake.client_id,
        client_secret="not-the-secret",
        transport=fake.transport,
        retry=RetryPolicy.no_wait(),
    )


async def test_a_401_from_identity_is_not_retried() -> None:
    fake = FakeMarketo()
    client = _wrong_secret_client(fake)
    async with client:
        with pytest.raises(AuthenticationError, match="refused the credentials"):
            await client.request("GET", "/rest/v1/leads/describe.json")
    assert fake.stats.identity_calls == 1


async def test_an_expired_token_is_still_fetched_again() -> None:
    fake = FakeMarketo()
    async with fake.client(retry=RetryPolicy.no_wait()) as client:
        await client.request("GET", "/rest/v1/leads/describe.json")
        fake.expire_token()
        await client.request("GET", "/rest/v1/leads/describe.json")
    assert fake.stats.identity_calls == 2


async def test_a_refused_secret_costs_one_identity_call_for_every_call_after_it() -> None:
    fake = FakeMarketo()
    client = _wrong_secret_client(fake)
    refused: list[AuthenticationError] = []

    async def call() -> None:
        try:
            await client.request("GET", "/rest/v1/leads/describe.json")
        except AuthenticationError as error:
            refused.append(error)

    async with client:
        async with anyio.create_task_group() as tg:
            for _ in range(10):
                tg.start_soon(call)
        await call()
    assert len(refused) == 11
    assert all("refused the credentials" in str(error) for error in refused)
    assert {error.path for error in refused} == {"/identity/oauth/token"}
    assert fake.stats.identity_calls == 1
    assert client.stats.calls == 0
