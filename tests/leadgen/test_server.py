"""FakeLeadGen served by another process, reached over loopback HTTP (real time, real sockets)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from marketo_async.leadgen import LeadGenClient

pytestmark = pytest.mark.anyio

SECRET = "served-secret-3b9c"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)  # real time: the server is in another process


@pytest.fixture
def served() -> Iterator[str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "marketo_async.testing",
            "serve-leadgen",
            "--port",
            "0",
            "--latency",
            "0.01",
            "--secret-key",
            SECRET,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/pubapi/v1\.2/)", line)
        assert match, line
        assert SECRET not in line
        yield match.group(1)
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_writes_and_reads_through_another_process(served: str) -> None:
    async with LeadGenClient(account_id="fake-account", secret_key=SECRET, base_url=served) as lg:
        tag = lg.__class__.__name__.lower() + str(id(lg))
        rows = [{"emailAddress": f"{tag}-{i}@example.com"} for i in range(30)]
        rows.append({"emailAddress": f"{tag.upper()}-0@EXAMPLE.com"})
        report = await lg.leads.create(rows, batch_size=7)
        assert report.counts == {"created": 30, "failed": 1}
        found = [lead async for lead in lg.leads.query({"emailAddress": rows[0]["emailAddress"]})]
        assert [lead.id for lead in found] == [report.outcomes[0].id]
        assert lg.stats.rate_limited == 0


async def test_the_served_emulator_names_itself_fakeleadgen(served: str) -> None:
    async with httpx.AsyncClient() as http:
        answer = await http.post(served, json={"method": "getFields", "params": {}, "id": "1"})
    assert answer.headers["server"] == "FakeLeadGen"
