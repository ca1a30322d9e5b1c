"""Bulk extract over the loopback HTTP server: a cut connection resumes with Range."""

from __future__ import annotations

import datetime as dt

import anyio
import pytest

from marketo_async import MarketoClient, RetryPolicy
from marketo_async.testing import FakeMarketo

from .conftest import START, add_leads_over

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)  # real sockets: real time


async def test_a_download_cut_over_http_resumes_with_range() -> None:
    fake = FakeMarketo()
    fake.bulk.settings.export_seconds = 0.0
    fake.bulk.settings.status_interval = 0.05
    add_leads_over(fake, 2_000, every=dt.timedelta(minutes=30))
    fake.bulk.cut_downloads(at=0.5, times=None)
    async with anyio.create_task_group() as tg:
        port = await tg.start(fake.serve, 0)
        client = MarketoClient(
            base_url=f"http://127.0.0.1:{port}",
            client_id=fake.client_id,
            client_secret=fake.client_secret,
            retry=RetryPolicy.no_wait(),
        )
        async with client:
            client.bulk_export.poll_interval = 0.05
            rows = client.bulk_export.leads(
                fields=["email"], updated_at=(START, START + dt.timedelta(days=45))
            )
            emails = [lead["email"] async for lead in rows]
        tg.cancel_scope.cancel()
    assert emails == [f"lead{i}@example.com" for i in range(2_000)]
    assert rows.stats.jobs == 2
    assert rows.stats.partial_answers == 2 and rows.stats.resumptions == 2
    sizes = sum(len(job.file) for job in fake.bulk.jobs.values())
    assert rows.stats.bytes == sizes
