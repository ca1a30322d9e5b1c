"""How fast the emulator's bulk jobs move: Marketo's pace by default, seconds when asked."""

from __future__ import annotations

import datetime as dt

import anyio
import pytest

from marketo_async import RetryPolicy
from marketo_async.testing import BulkSettings, FakeMarketo

from .conftest import START, add_leads_over

pytestmark = pytest.mark.anyio


async def _export_seconds(fake: FakeMarketo) -> tuple[float, int]:
    add_leads_over(fake, 10, every=dt.timedelta(hours=1))
    async with fake.client(retry=RetryPolicy.no_wait()) as client:
        began = anyio.current_time()
        rows = client.bulk_export.leads(
            fields=["email"], updated_at=(START, START + dt.timedelta(days=1))
        )
        emails = [lead["email"] async for lead in rows]
        return anyio.current_time() - began, len(emails)


async def test_a_default_emulator_keeps_marketos_once_a_minute_export_status() -> None:
    took, count = await _export_seconds(FakeMarketo())
    assert count == 10
    assert took >= 60.0


async def test_brisk_bulk_settings_finish_an_export_in_a_few_seconds() -> None:
    fake = FakeMarketo(bulk=BulkSettings.brisk())
    took, count = await _export_seconds(fake)
    assert count == 10
    assert took <= 5.0
    assert fake.bulk.settings.status_interval == 1.0
