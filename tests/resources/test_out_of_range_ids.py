"""Ids outside 1..2**31-1 are refused locally in every id-keyed write, sync by id included."""

from __future__ import annotations

from typing import Any

import pytest

from marketo_async._batch import LOCAL_VALIDATION
from marketo_async.testing import FakeMarketo

pytestmark = pytest.mark.anyio

BAD_IDS: list[Any] = [0, -1, 2**31, 2**63, 2**70, "0", "-3", True]


async def test_sync_by_id_refuses_impossible_ids_and_sends_the_rest() -> None:
    fake = FakeMarketo()
    good = fake.add_lead(email="a@x.com")
    records = [{"id": lead_id, "firstName": "X"} for lead_id in BAD_IDS]
    records.append({"id": good, "firstName": "Good"})
    async with fake.client() as client:
        report = await client.leads.sync(records, action="updateOnly", lookup_field="id")
    assert report.counts == {"failed": len(BAD_IDS), "updated": 1}
    for outcome in report.outcomes[: len(BAD_IDS)]:
        (reason,) = outcome.reasons
        assert reason.code == LOCAL_VALIDATION and "'id'" in reason.message
    writes = [call for call in fake.stats.timeline if call.path == "/rest/v1/leads.json"]
    assert len(writes) == 1
    assert fake.leads[good]["firstName"] == "Good"


async def test_an_id_beside_another_lookup_field_is_checked_too() -> None:
    fake = FakeMarketo()
    async with fake.client() as client:
        report = await client.leads.sync(
            [{"email": "a@x.com", "id": 2**70}], action="updateOnly", lookup_field="email"
        )
    assert report.counts == {"failed": 1}
    assert [call for call in fake.stats.timeline if call.path == "/rest/v1/leads.json"] == []


@pytest.mark.parametrize("write", ["delete", "add_leads", "set_status"])
async def test_every_id_keyed_write_refuses_impossible_ids(write: str) -> None:
    fake = FakeMarketo()
    list_id = fake.add_list("L")
    program_id = fake.add_program("P")
    async with fake.client() as client:
        if write == "delete":
            report = await client.leads.delete(BAD_IDS[:-1])
        elif write == "add_leads":
            report = await client.static_lists.add_leads(list_id, BAD_IDS[:-1])
        else:
            report = await client.program_members.set_status(program_id, "Member", BAD_IDS[:-1])
    assert report.counts == {"failed": len(BAD_IDS) - 1}
