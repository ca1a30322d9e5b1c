"""No object reachable from a raised exception holds the access token or the client secret.

Error trackers walk ``__cause__``, ``__context__``, ``args`` and attributes (a request and its
headers, a response); these tests walk the same graph from every error the client raises or
reports. Frames and tracebacks are not walked: they hold the client itself by design.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import httpx
import pytest

from marketo_async import (
    AmbiguousWriteError,
    MarketoClient,
    MarketoConnectionError,
    MarketoError,
    RateLimits,
    RetryPolicy,
)
from marketo_async._transport import FileTransfers, Sink

pytestmark = pytest.mark.anyio

BASE_URL = "https://123-abc-456.mktorest.com"
CLIENT_SECRET = "cs-7f3a9e51-secret"
TOKEN = "tok-b81c44d2-bearer:ab"
SECRETS = (CLIENT_SECRET, TOKEN)

_LEAVES = (str, bytes, bytearray, int, float, complex, bool, type(None))
_OPAQUE = (
    types.ModuleType,
    type,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.CodeType,
    types.FrameType,
    types.TracebackType,
)


def _children(obj: object) -> Iterator[object]:
    if isinstance(obj, BaseException):
        yield obj.__cause__
        yield obj.__context__
        yield from obj.args
        yield from getattr(obj, "__notes__", ())
    if isinstance(obj, dict):
        yield from obj.keys()
        yield from obj.values()
    elif isinstance(obj, (list, tuple, set, frozenset)):
        yield from obj
    if hasattr(obj, "__dict__"):
        yield from vars(obj).values()
    for cls in type(obj).__mro__:
        for name in getattr(cls, "__slots__", ()):
            if hasattr(obj, name):
                yield getattr(obj, name)


def reachable(root: object) -> Iterator[object]:
    """Every object reachable from ``root`` through attributes, items, args and chains."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, _OPAQUE):
            continue
        seen.add(id(obj))
        yield obj
        if not isinstance(obj, _LEAVES):
            stack.extend(_children(obj))


def holders_of_a_secret(root: object) -> list[str]:
    found = []
    for obj in reachable(root):
        text = obj.decode("latin-1") if isinstance(obj, (bytes, bytearray)) else obj
        if isinstance(text, str) and any(secret in text for secret in SECRETS):
            found.append(f"{type(obj).__name__}: {text[:80]!r}")
        if isinstance(obj, BaseException):
            shown = f"{obj!s} {obj!r}"
            if any(secret in shown for secret in SECRETS):
                found.append(f"str/repr of {type(obj).__name__}")
    return found


Handler = Callable[[httpx.Request], httpx.Response]


def client_for(handler: Handler, *, identity_fails: bool = False) -> MarketoClient:
    def route(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/identity/oauth/token":
            if identity_fails:
                raise httpx.ConnectError("identity unreachable", request=request)
            return httpx.Response(200, json={"access_token": TOKEN, "expires_in": 3600})
        return handler(request)

    return MarketoClient(
        base_url=BASE_URL,
        client_id="cid",
        client_secret=CLIENT_SECRET,
        transport=httpx.MockTransport(route),
        retry=RetryPolicy.no_wait(max_attempts=2),
        rate_limits=RateLimits(daily_quota=None),  # no stats/usage read before the first call
    )


def test_the_walk_finds_a_token_in_a_request_header_held_by_a_context() -> None:
    request = httpx.Request("GET", BASE_URL, headers={"Authorization": f"Bearer {TOKEN}"})
    try:
        try:
            raise httpx.ReadError("reset", request=request)
        except httpx.ReadError:
            raise MarketoError("translated") from None
    except MarketoError as error:
        assert holders_of_a_secret(error)


async def test_a_connection_failure_on_a_read_leaves_no_token_reachable() -> None:
    def reset(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("connection reset by peer", request=request)

    async with client_for(reset) as client:
        with pytest.raises(MarketoConnectionError) as caught:
            await client.request("GET", "/rest/v1/leads/describe.json")
    error = caught.value
    assert holders_of_a_secret(error) == []
    assert error.low_level_type == "ReadError"
    assert "ReadError" in str(error) and "connection reset by peer" in str(error)
    assert error.__cause__ is None and error.__context__ is None


async def test_a_timeout_on_a_non_idempotent_write_leaves_no_token_reachable() -> None:
    def time_out(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    async with client_for(time_out) as client:
        with pytest.raises(AmbiguousWriteError) as caught:
            await client.leads.submit_form(1029, {"email": "marge@example.com"})
    assert holders_of_a_secret(caught.value) == []
    assert isinstance(caught.value.__cause__, MarketoConnectionError)
    assert "ReadTimeout" in str(caught.value.__cause__)


async def test_an_identity_failure_leaves_no_client_secret_reachable() -> None:
    async with client_for(lambda request: httpx.Response(200), identity_fails=True) as client:
        with pytest.raises(MarketoConnectionError) as caught:
            await client.request("GET", "/rest/v1/leads/describe.json")
    assert holders_of_a_secret(caught.value) == []
    assert "ConnectError" in str(caught.value) and "identity unreachable" in str(caught.value)


async def test_a_low_level_message_that_echoes_the_token_is_scrubbed() -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        header = request.headers["authorization"]
        raise httpx.ProxyError(f"proxy refused request with Authorization: {header}")

    async with client_for(echo) as client:
        with pytest.raises(MarketoConnectionError) as caught:
            await client.request("GET", "/rest/v1/leads/describe.json")
    assert holders_of_a_secret(caught.value) == []
    assert "Authorization: Bearer ********" in str(caught.value)


async def test_http_errors_and_refused_tokens_leave_no_secret_reachable() -> None:
    answers = iter(
        [
            httpx.Response(401, text="unauthorized"),
            httpx.Response(502, text="<html>bad gateway</html>"),
            httpx.Response(502, text="<html>bad gateway</html>"),
        ]
    )

    async with client_for(lambda request: next(answers)) as client:
        with pytest.raises(MarketoError) as caught:
            await client.request("GET", "/rest/v1/leads/describe.json")
    assert caught.value.http_status == 502
    assert holders_of_a_secret(caught.value) == []


async def test_a_batch_reports_outcome_errors_with_no_secret_reachable() -> None:
    def drop(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("server disconnected", request=request)

    records = [{"email": f"lead{n}@example.com"} for n in range(5)]
    async with client_for(drop) as client:
        report = await client.leads.sync(records)
    assert report.counts == {"unknown": 5}
    errors: list[Any] = [outcome.error for outcome in report.outcomes]
    assert all(isinstance(error, MarketoError) for error in errors)
    assert holders_of_a_secret(report) == []


async def test_a_bulk_download_cut_leaves_no_token_reachable(tmp_path: Any) -> None:
    def cut(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("connection reset by peer", request=request)

    async with client_for(cut) as client:
        files = FileTransfers(client._transport)
        async with await anyio.open_file(tmp_path / "export.csv", "wb") as file:
            with pytest.raises(MarketoConnectionError) as caught:
                await files.download("/bulk/v1/leads/export/abc/file.json", Sink(file))
    assert holders_of_a_secret(caught.value) == []
    assert caught.value.low_level_type == "ReadError"
    assert "download cut after 0 bytes" in str(caught.value)
