"""The client against FakeLeadGen on virtual time: big writes, read-backs, windows, faults."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from marketo_async import RetryPolicy
from marketo_async.testing import FakeLeadGen

pytestmark = pytest.mark.anyio

T0 = dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc)


class Clock:
    """A settable wall clock for the fake's timestamps."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


def _rows(n: int, repeats: int) -> list[dict[str, Any]]:
    """``n`` rows; the last ``repeats`` repeat earlier emails in another letter case."""
    unique = n - repeats
    rows = [{"emailAddress": f"lead{i}@example.com", "firstName": f"F{i}"} for i in range(unique)]
    rows += [
        {"emailAddress": f"LEAD{i * 7}@Example.COM", "firstName": f"again{i}"}
        for i in range(repeats)
    ]
    return rows


async def test_5000_creates_with_100_repeats_never_cause_107(fake: FakeLeadGen) -> None:
    rows = _rows(5_000, 100)
    async with fake.client() as lg:
        report = await lg.leads.create(rows)
        assert report.counts == {"created": 4_900, "failed": 100}
        for outcome in report.outcomes[4_900:]:
            assert outcome.status == "failed"
            assert [r.code for r in outcome.reasons] == ["301"]
        ids = {outcome.id for outcome in report.outcomes[:4_900]}
        assert len(ids) == 4_900 and None not in ids
        read_back = [lead async for lead in lg.leads.query({})]
        assert len(read_back) == 4_900
        assert {lead.id for lead in read_back} == ids
        assert lg.stats.rate_limited == 0
    assert fake.stats.errors["107"] == 0
    assert fake.stats.max_calls_in_window(1.0) <= 10
    assert fake.duplicates() == {}
    assert fake.stats.credentials_elsewhere == 0


async def test_same_email_is_never_in_flight_twice(fake: FakeLeadGen) -> None:
    # Every other row repeats an email: a client sending them together would cause the
    # emulator's duplicate race (both creates pass the check on arrival).
    rows = [{"emailAddress": f"r{i // 2}@example.com"} for i in range(2_000)]
    async with fake.client() as lg:
        report = await lg.leads.create(rows, batch_size=50)
    assert report.counts == {"created": 1_000, "failed": 1_000}
    assert fake.duplicates() == {}


async def test_upsert_creates_then_updates_existing_emails_by_email(fake: FakeLeadGen) -> None:
    old = fake.add_lead(emailAddress="Old@Example.com", firstName="Before")
    rows = [
        {"emailAddress": "old@example.com", "firstName": "After"},
        {"emailAddress": "new@example.com", "firstName": "N1"},
        {"emailAddress": "NEW@example.com", "firstName": "N2"},
        {"emailAddress": "not an email"},
    ]
    async with fake.client() as lg:
        report = await lg.leads.upsert(rows)
    assert [o.status for o in report.outcomes] == ["updated", "created", "updated", "failed"]
    assert report.counts == {"updated": 2, "created": 1, "failed": 1}
    assert report.outcomes[3].reasons[0].code == "local-validation"
    assert "record 3" in report.outcomes[3].reasons[0].message
    assert fake.leads[old]["firstName"] == "After"
    new = fake.find("new@example.com")
    assert len(new) == 1 and fake.leads[new[0]]["firstName"] == "N2"  # the last row wins


async def test_update_by_id_or_email_and_missing_leads_are_never_updated(fake: FakeLeadGen) -> None:
    first = fake.add_lead(emailAddress="a@example.com")
    fake.add_lead(emailAddress="b@example.com")
    async with fake.client() as lg:
        report = await lg.leads.update(
            [
                {"id": first, "firstName": "ById"},
                {"emailAddress": "B@EXAMPLE.com", "firstName": "ByEmail"},
                {"id": 999, "firstName": "Ghost"},
                {"emailAddress": "ghost@example.com", "firstName": "Ghost"},
                {"firstName": "nobody"},
            ]
        )
        statuses = [o.status for o in report.outcomes]
        assert statuses == ["updated", "updated", "failed", "failed", "failed"]
        assert report.outcomes[2].reasons[0].code == "404"
        assert report.outcomes[3].reasons[0].code == "404"
        # updateLeads says success for the ghost: the client cannot call that "updated".
        legacy = await lg.leads.update([{"id": 999, "firstName": "Ghost"}], method="updateLeads")
        assert legacy.outcomes[0].status == "unknown"
        assert legacy.outcomes[0].reasons[0].code == "unconfirmed"
    assert fake.leads[first]["firstName"] == "ById"
    assert all(lead.get("firstName") != "Ghost" for lead in fake.leads.values())


async def test_delete_reports_each_id(fake: FakeLeadGen) -> None:
    ids = fake.add_leads([{"emailAddress": f"d{i}@example.com"} for i in range(3)])
    async with fake.client() as lg:
        report = await lg.leads.delete([*ids, 12345, "x"])
    assert [o.status for o in report.outcomes] == ["deleted"] * 3 + ["failed", "failed"]
    assert report.outcomes[3].reasons[0].code == "214"
    assert report.outcomes[4].reasons[0].code == "local-validation"
    assert fake.leads == {}


async def test_null_on_a_standard_field_is_sent_as_empty(fake: FakeLeadGen) -> None:
    async with fake.client() as lg:
        report = await lg.leads.create([{"emailAddress": "n@example.com", "lastName": None}])
        assert report.ok
        raw = await lg.call(
            "createLeads", {"objects": [{"emailAddress": "m@x.com", "title": None}]}
        )
    assert raw["creates"][0]["error"]["code"] == 205  # the API's answer to a raw null


async def test_values_come_back_as_strings_decoded_once(fake: FakeLeadGen) -> None:
    color = fake.add_field("Favorite Color")
    lead_id = fake.add_lead(emailAddress="h@example.com", companyName="Smith & Sons", leadScore=18)
    fake.leads[lead_id][color] = "blue"
    async with fake.client() as lg:
        lead = await lg.leads.get(lead_id)
        assert lead is not None
        assert lead["companyName"] == "Smith & Sons"
        assert fake.leads[lead_id]["companyName"] == "Smith &amp; Sons"
        assert lead["leadScore"] == "18" and lead.id == lead_id
        assert lead[color] == "blue"
        only = await lg.leads.query({"id": lead_id}, fields=["companyName"])
        assert set(only[0]) == {"id", "companyName"} and only[0].id == lead_id
        fields = {f.system_name: f async for f in lg.leads.fields({"isCustom": "1"})}
        assert list(fields) == [color] and fields[color].label == "Favorite Color"


async def test_query_drops_a_lead_that_offset_paging_repeats(fake: FakeLeadGen) -> None:
    clock = Clock()
    fake.store.clock = clock
    fake.add_leads([{"emailAddress": f"p{i}@example.com"} for i in range(1_200)])
    async with fake.client() as lg:
        pages = lg.leads.query({}).pages()
        first = await anext(pages)
        # Updated between pages: it moves to the end of the unordered listing and comes again.
        clock.now += dt.timedelta(minutes=5)
        await lg.leads.update([{"id": first.items[0].id, "firstName": "moved"}])
        rest = [lead async for page in pages for lead in page]
    ids = [lead.id for lead in [*first.items, *rest]]
    assert len(ids) == len(set(ids))
    assert first.items[0].id in ids


def _spread(fake: FakeLeadGen, clock: Clock, n: int) -> None:
    for i in range(n):
        clock.now = T0 + dt.timedelta(seconds=i * 7)
        fake.add_lead(emailAddress=f"w{i}@example.com")


@pytest.mark.parametrize("paging", ["offset", "capped", "unlimited"])
async def test_date_window_returns_every_lead_however_the_server_pages(paging: Any) -> None:
    clock = Clock()
    fake = FakeLeadGen(clock=clock, date_range_paging=paging)
    _spread(fake, clock, 1_700)  # 1,700 leads over ~3.3 hours
    async with fake.client(retry=RetryPolicy.no_wait()) as lg:
        window = lg.leads.updated_between(T0.replace(tzinfo=None), T0 + dt.timedelta(hours=4))
        found = [lead.id async for lead in window]
        half = lg.leads.updated_between(T0, T0 + dt.timedelta(seconds=7 * 850))
        first_half = [lead.id async for lead in half]
    assert len(found) == len(set(found)) == 1_700
    assert len(first_half) == 850  # [start, end): the lead at `end` is left out
    assert fake.stats.errors["107"] == 0


async def test_timeline_events_memberships_calls_and_subscription(fake: FakeLeadGen) -> None:
    lead_id = fake.add_lead(emailAddress="t@example.com")
    fake.add_event(lead_id, "formSubmit")
    fake.add_event(lead_id, "emailOpened")
    fake.add_list(31, [lead_id])
    fake.add_list(32, [lead_id])
    async with fake.client() as lg:
        timeline = [e async for e in lg.leads.timeline({"leadID": lead_id})]
        assert [e.event_name for e in timeline] == ["formSubmit", "emailOpened"]
        opened = await lg.leads.timeline({"leadID": lead_id, "eventSource": "emailOpened"})
        assert len(opened) == 1 and opened[0].lead_id == lead_id
        events = [e async for e in lg.leads.events({"leadID": lead_id})]
        assert len(events) == 2
        assert await lg.leads.list_memberships([lead_id]) == {lead_id: [31, 32]}
        report = await lg.leads.log_calls([{"whoID": lead_id, "callResult": "connected"}])
        assert report.counts == {"created": 1}
        assert await lg.leads.subscribe_to_updates("https://hooks.example.com/x")
    assert fake.store.call_logs[0]["whoID"] == lead_id
    assert fake.store.subscriptions == ["https://hooks.example.com/x"]


async def test_injected_107_and_503_are_retried_and_nothing_is_lost(fake: FakeLeadGen) -> None:
    fake.faults.script("createLeads", code="107", times=2)
    fake.faults.script("createLeads", http_status=503)
    async with fake.client() as lg:
        report = await lg.leads.create([{"emailAddress": f"f{i}@example.com"} for i in range(900)])
        assert lg.stats.retries == 3
    assert report.counts == {"created": 900}
    assert len(fake.leads) == 900


async def test_a_create_cut_off_after_applying_is_unknown_and_not_resent(fake: FakeLeadGen) -> None:
    fake.faults.script("createLeads", drop_connection=True, after_apply=True)
    async with fake.client() as lg:
        report = await lg.leads.create([{"emailAddress": f"u{i}@example.com"} for i in range(10)])
    assert report.counts == {"unknown": 10}
    assert fake.stats.by_path["createLeads"] == 1
    assert len(fake.leads) == 10  # it did land: resending would have given ten 301s


async def test_daily_quota_stops_the_run_and_marks_the_rest_not_attempted() -> None:
    fake = FakeLeadGen(daily_quota=2)
    async with fake.client(retry=RetryPolicy.no_wait()) as lg:
        report = await lg.leads.create(
            [{"emailAddress": f"q{i}@example.com"} for i in range(1_500)], batch_size=250
        )
    assert report.stopped is not None and report.stopped.code == "106"
    assert report.counts["created"] == 500
    assert report.counts["not_attempted"] == 1_000
    assert report.resume_from is not None


def _stream(n: int) -> Iterator[dict[str, Any]]:
    for i in range(n):
        yield {"emailAddress": f"s{i}@example.com"}


async def test_streamed_input_and_a_shared_budget_of_two_clients(fake: FakeLeadGen) -> None:
    import anyio

    from marketo_async import LocalLimiter
    from marketo_async.leadgen import LEADGEN_RATE_LIMITS

    limiter = LocalLimiter(LEADGEN_RATE_LIMITS)
    reports = []
    async with fake.client(limiter=limiter) as one, fake.client(limiter=limiter) as two:

        async def run(lg: Any, start: int) -> None:
            rows = ({"emailAddress": f"c{start + i}@example.com"} for i in range(1_500))
            reports.append(await lg.leads.create(rows))

        async with anyio.create_task_group() as tg:
            tg.start_soon(run, one, 0)
            tg.start_soon(run, two, 10_000)
    assert [r.counts for r in reports] == [{"created": 1_500}] * 2
    assert fake.stats.errors["107"] == 0
    assert fake.stats.max_calls_in_window(1.0) <= 10


async def test_an_update_that_changes_nothing_is_applied_not_failed(fake: FakeLeadGen) -> None:
    rows = [{"emailAddress": f"same{i}@example.com", "firstName": "Same"} for i in range(3)]
    async with fake.client() as lg:
        first = await lg.leads.upsert(rows)
        again = await lg.leads.upsert(rows)
        legacy = await lg.leads.update(rows[:1], method="updateLeads")
    assert first.counts == {"created": 3}
    assert again.counts == {"updated": 3} and again.ok
    assert [r.code for r in again.outcomes[0].reasons] == ["302"]
    assert legacy.outcomes[0].status == "updated"  # the 302 proves the lead exists
