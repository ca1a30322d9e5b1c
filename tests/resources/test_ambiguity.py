"""Writes that may or may not have applied: unknown or confirmed, never blamed on themselves.

Against the FakeMarketo emulator, whose ``after_apply`` faults apply a call and then answer it
with a 604 (or drop the connection), as Marketo does when it times out after writing.
"""

from __future__ import annotations

from typing import Any

import pytest

from marketo_async._batch import RESENT
from marketo_async.models.static_lists import Folder
from marketo_async.resources._settle import READ_BACK
from marketo_async.testing import FakeMarketo

pytestmark = pytest.mark.anyio

LEADS_PATH = "/rest/v1/leads.json"


def emails(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"email": f"new{n}@example.com", "firstName": f"N{n}"} for n in range(start, count)]


def reason_codes(outcome: Any) -> list[str]:
    return [reason.code for reason in outcome.reasons]


async def test_create_only_applied_then_604_is_unknown_never_skipped_as_already_existing() -> None:
    fake = FakeMarketo()
    fake.faults.script(LEADS_PATH, code="604", after_apply=True, times=5)
    records = emails(3_000)
    async with fake.client() as client:
        report = await client.leads.sync(records, action="createOnly")
    assert fake.stats.reasons["1005"] == 0  # never resent: Marketo never said "exists"
    assert report.counts == {"created": 1_500, "unknown": 1_500}
    assert len(fake.leads) == 3_000 and fake.duplicates() == []


async def test_settle_turns_unknown_into_created_when_the_lead_exists_with_the_values() -> None:
    fake = FakeMarketo()
    fake.faults.script(LEADS_PATH, code="604", after_apply=True, times=2)
    fake.faults.script(LEADS_PATH, code="604", times=1)  # this one did not apply
    records = emails(1_200)
    async with fake.client() as client:
        report = await client.leads.sync(records, action="createOnly")
        assert report.counts == {"created": 300, "unknown": 900}
        reads_before = fake.stats.by_path[LEADS_PATH]
        settled = await client.leads.settle(report, records, action="createOnly")
        reads = fake.stats.by_path[LEADS_PATH] - reads_before
    assert settled.counts == {"created": 900, "not_applied": 300}
    assert reads == 3  # one filtered read per 300 keys
    not_applied = [o for o in settled.outcomes if o.status == "not_applied"]
    assert all(READ_BACK in reason_codes(o) for o in not_applied)
    assert all(o.id is not None for o in settled.outcomes if o.status == "created")
    assert settled.failed == not_applied
    assert "300 records were read back and had not applied" in str(settled)
    # Sending the not_applied ones again applies them, once.
    assert len(fake.leads) == 900


async def test_settle_unknown_option_settles_at_the_end_of_a_streamed_sync() -> None:
    fake = FakeMarketo()
    fake.faults.script(LEADS_PATH, code="604", after_apply=True, times=1)

    async def stream() -> Any:
        for record in emails(600):
            yield record

    heard: list[str] = []
    async with fake.client() as client:
        report = await client.leads.sync(
            stream(),
            action="createOnly",
            settle_unknown=True,
            on_outcome=lambda outcome: heard.append(outcome.status),
        )
    assert report.counts == {"created": 600}
    assert heard.count("unknown") == 300  # the hook heard the run; the report is settled


async def test_settle_finds_a_value_that_differs_and_names_the_field() -> None:
    fake = FakeMarketo()
    fake.add_lead(email="marge@example.com", firstName="Marjorie")
    fake.faults.script(LEADS_PATH, code="604", times=1)
    records = [{"email": "MARGE@example.com", "firstName": "Marge"}]
    async with fake.client() as client:
        report = await client.leads.sync(records, action="createOnly")
        settled = await client.leads.settle(report, records, action="createOnly")
    outcome = settled.outcomes[0]
    assert outcome.status == "not_applied"
    assert "'firstName'" in outcome.reasons[-1].message
    assert "Marjorie" in outcome.reasons[-1].message


async def test_a_resent_upsert_says_the_first_send_may_have_applied() -> None:
    fake = FakeMarketo()
    fake.faults.script(LEADS_PATH, code="604", after_apply=True, times=1)
    async with fake.client() as client:
        report = await client.leads.sync(emails(10))
    assert report.counts == {"updated": 10}  # the first send created them
    assert all(RESENT in reason_codes(outcome) for outcome in report.outcomes)
    assert len(fake.leads) == 10


async def test_a_resent_delete_answered_1004_is_deleted_with_the_reason() -> None:
    fake = FakeMarketo()
    ids = [fake.add_lead(email=f"d{n}@example.com") for n in range(3)]
    fake.faults.script("/rest/v1/leads/delete.json", code="604", after_apply=True)
    async with fake.client() as client:
        report = await client.leads.delete(ids)
    assert report.counts == {"deleted": 3}
    assert all(reason_codes(o) == ["1004", RESENT] for o in report.outcomes)
    assert fake.leads == {}


async def test_a_resent_list_removal_answered_1015_is_removed() -> None:
    fake = FakeMarketo()
    ids = [fake.add_lead(email=f"m{n}@example.com") for n in range(3)]
    list_id = fake.add_list("Members")
    path = f"/rest/v1/lists/{list_id}/leads.json"
    async with fake.client() as client:
        await client.static_lists.add_leads(list_id, ids)
        fake.faults.script(path, method="DELETE", code="604", after_apply=True)
        report = await client.static_lists.remove_leads(list_id, ids)
    assert report.counts == {"removed": 3}
    assert all(reason_codes(o) == ["1015", RESENT] for o in report.outcomes)


async def test_a_resent_static_list_create_answered_709_returns_the_list() -> None:
    fake = FakeMarketo()
    fake.faults.script("/rest/asset/v1/staticLists.json", code="604", after_apply=True)
    async with fake.client() as client:
        created = await client.static_lists.create("Invitees", Folder(13))
        assert (await client.static_lists.by_name("Invitees")) == created
    assert created.name == "Invitees"


async def test_settle_given_fewer_records_than_the_report_is_a_clear_error_before_any_read() -> (
    None
):
    fake = FakeMarketo()
    fake.faults.script(LEADS_PATH, code="604", after_apply=True, times=1)
    records = emails(600)
    async with fake.client() as client:
        report = await client.leads.sync(records, action="createOnly")
        assert report.counts == {"created": 300, "unknown": 300}
        reads_before = fake.stats.by_path[LEADS_PATH]
        with pytest.raises(ValueError, match="records ended after 200 records"):
            await client.leads.settle(report, records[:200], action="createOnly")
    assert fake.stats.by_path[LEADS_PATH] == reads_before
