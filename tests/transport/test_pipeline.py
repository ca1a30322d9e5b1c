"""The one send pipeline: bulk files, REST calls and Lead Gen & CRM calls take the same path."""

from __future__ import annotations

import logging

import anyio
import httpx
import pytest

from marketo_async import RateLimits
from marketo_async._transport import FileTransfers, Sink
from marketo_async._transport._gate import CURRENT_GATE, CallNotSent, SendGate
from marketo_async.leadgen import LeadGenClient
from tests.fake_server import Server, fail, ok
from tests.transport.test_transport import make_client

pytestmark = pytest.mark.anyio

EXPORT_FILE = "/bulk/v1/leads/export/abc/file.json"


async def test_a_bulk_download_called_off_by_a_stop_is_never_sent(tmp_path: object) -> None:
    server = Server()
    async with make_client(server) as client:
        files = FileTransfers(client._transport)
        gate = SendGate(stop=lambda: True)
        token = CURRENT_GATE.set(gate)
        try:
            async with await anyio.open_file(f"{tmp_path}/export.csv", "wb") as file:
                with pytest.raises(CallNotSent):
                    await files.download(EXPORT_FILE, Sink(file))
        finally:
            CURRENT_GATE.reset(token)
        assert client.stats.calls == 0
    assert server.requests == []


async def test_a_bulk_download_waits_for_the_window_like_any_call(tmp_path: object) -> None:
    server = Server()
    server.script.append(ok())
    limits = RateLimits(calls=1, period=20.0, concurrency=1, daily_quota=None)
    async with make_client(server, rate_limits=limits) as client:
        await client.request("GET", "/rest/v1/leads/describe.json")
        server.script.append(
            httpx.Response(200, content=b"a,b\n1,2\n", headers={"content-type": "text/csv"})
        )
        async with await anyio.open_file(f"{tmp_path}/export.csv", "wb") as file:
            progress = await FileTransfers(client._transport).download(EXPORT_FILE, Sink(file))
        assert progress.complete and client.stats.calls == 2
    assert server.starts[1] - server.starts[0] >= limits.period


async def test_a_file_upload_refused_with_606_pauses_counts_and_logs_its_retry(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="marketo_async")
    server = Server()
    server.script.append(fail("606"))
    bodies = []
    async with make_client(server, rate_limits=RateLimits(daily_quota=None)) as client:
        files = FileTransfers(client._transport)

        async def upload() -> None:
            bodies.append(
                await files.upload(
                    "/bulk/v1/leads.json",
                    params={"format": "csv"},
                    filename="l.csv",
                    content=b"e\n",
                )
            )

        async with anyio.create_task_group() as tg:
            tg.start_soon(upload)
            await anyio.sleep(1.0)  # the upload got its 606 at once
            await client.request("GET", "/rest/v1/leads/describe.json")
        assert client.stats.retries == 1 and client.stats.rate_limited == 1
    assert bodies and bodies[0]["success"] is True
    # The 606 paused the limiter: the REST call asked for a second later waited for it too.
    assert len(server.starts) == 3 and min(server.starts[1:]) >= 20.0
    assert "marketo POST /bulk/v1/leads.json failed (RateLimitError 606); retry in" in caplog.text


async def test_marketo_and_lead_gen_log_a_retry_the_same_way(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="marketo_async")
    server = Server()
    server.script.append(fail("606"))
    async with make_client(server) as client:
        await client.request("GET", "/rest/v1/leads/describe.json")
    answers = [
        httpx.Response(200, json={"result": None, "error": {"code": 107, "message": "x"}, "id": 1}),
        httpx.Response(200, json={"result": {"lead": []}, "error": None, "id": 2}),
    ]
    async with LeadGenClient(
        account_id="A",
        secret_key="key-that-stays-out",
        transport=httpx.MockTransport(lambda request: answers.pop(0)),
    ) as lg:
        await lg.call("getLeads", {"where": {}})
        assert lg.stats.retries == 1 and lg.stats.rate_limited == 1
    lines = [record.getMessage() for record in caplog.records]
    assert [line.split(" failed ")[0].split()[0] for line in lines] == ["marketo", "leadgen"]
    assert all("; retry in " in line and "(attempt 1, counted)" in line for line in lines)
    assert "key-that-stays-out" not in caplog.text


async def test_a_retried_token_fetch_is_logged_with_the_identity_path(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="marketo_async")
    server = Server()
    handle = server.handle
    cut = [True]

    async def flaky_identity(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/identity/oauth/token" and cut:
            cut.clear()  # the first token fetch only
            raise httpx.ConnectError("identity unreachable", request=request)
        return await handle(request)

    async with make_client(server, transport=httpx.MockTransport(flaky_identity)) as client:
        await client.request("GET", "/rest/v1/lead/1.json")
        assert client.stats.retries == 1
    assert (
        "marketo GET /rest/v1/lead/1.json failed (MarketoConnectionError at "
        "/identity/oauth/token); retry in" in caplog.text
    )
