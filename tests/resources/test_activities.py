"""client.activities against FakeMarketo: every activity once, cursors that resume exactly,
split type and lead ids, lead changes, deleted leads and custom activities."""

from __future__ import annotations

import datetime as dt
import math
import random
from typing import Any

import httpx
import pytest

from marketo_async import Activity, LeadChange, MarketoClient, RateLimits, RetryPolicy
from marketo_async.resources._activity_stream import decode_cursor
from marketo_async.testing import FakeMarketo

pytestmark = pytest.mark.anyio

SINCE = dt.datetime(2000, 1, 1)


class Recording(httpx.AsyncBaseTransport):
    """The fake's transport, keeping every request sent."""

    def __init__(self, fake: FakeMarketo) -> None:
        self.inner = fake.transport
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self.inner.handle_async_request(request)

    def to(self, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == path]


def _client(fake: FakeMarketo, transport: httpx.AsyncBaseTransport | None = None) -> MarketoClient:
    return MarketoClient(
        base_url=fake.base_url,
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        transport=transport or fake.transport,
        retry=RetryPolicy.no_wait(max_attempts=20),
        rate_limits=RateLimits(daily_quota=None),  # calls counted exactly: no stats/usage read
    )


def _seed(fake: FakeMarketo, leads: int, *, types: tuple[int, ...] = (1, 2, 3)) -> list[int]:
    """``leads`` leads (a New Lead activity each) and one activity per lead of each type,
    spread over a few days."""
    ids = [fake.add_lead(email=f"lead{i}@example.com") for i in range(leads)]
    rng = random.Random(5)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    for lead_id in ids:
        for type_id in types:
            fake.add_activity(
                lead_id,
                type_id,
                activity_date=start + dt.timedelta(seconds=rng.randrange(86_400 * 5)),
                primary_attribute_value=f"asset {type_id}",
                primary_attribute_value_id=type_id * 100,
            )
    return ids


def _log_ids(fake: FakeMarketo, type_ids: set[int], lead_ids: set[int] | None = None) -> list[int]:
    return [
        entry["id"]
        for entry in fake.activity_log.entries
        if entry["activityTypeId"] in type_ids and (lead_ids is None or entry["leadId"] in lead_ids)
    ]


async def test_list_reads_every_activity_once_through_short_pages_and_faults() -> None:
    fake = FakeMarketo()
    _seed(fake, 400)
    fake.activity_log.short_pages(0.6, seed=11)
    fake.faults.randomly(0.15, codes=("608", "604", "502", "drop"), seed=3, paths="activities")
    async with _client(fake) as client:
        found = [a.id async for a in client.activities.list([1, 2, 3, 12], since=SINCE)]
    assert sorted(found) == sorted(_log_ids(fake, {1, 2, 3, 12}))
    assert len(found) == len(set(found)) == 1600
    assert fake.stats.errors["606"] == fake.stats.errors["615"] == 0


async def test_activities_are_typed() -> None:
    fake = FakeMarketo()
    lead = fake.add_lead(email="a@example.com")
    fake.add_activity(
        lead,
        1,
        activity_date="2026-01-02T03:04:05Z",
        primary_attribute_value="Home",
        primary_attribute_value_id=7,
        campaign_id=9,
        attributes={"Webpage URL": "/home"},
    )
    async with _client(fake) as client:
        [activity] = await client.activities.list([1], since=SINCE).collect()
    assert isinstance(activity, Activity)
    assert activity.activity_date == dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    assert (activity.lead_id, activity.activity_type_id, activity.campaign_id) == (lead, 1, 9)
    assert (activity.primary_attribute_value, activity.primary_attribute_value_id) == ("Home", 7)
    assert activity.attributes == {"Webpage URL": "/home"}
    assert activity.marketo_guid and activity.id
    assert activity.to_json()["activityDate"] == "2026-01-02T03:04:05Z"


@pytest.mark.parametrize("stop_after", [1, 299, 300, 301, 777, 1199])
async def test_a_cursor_taken_after_any_item_resumes_with_exactly_the_rest(
    stop_after: int,
) -> None:
    fake = FakeMarketo()
    _seed(fake, 300, types=(1, 2, 3, 6))
    async with _client(fake) as client:
        first: list[int] = []
        pager = client.activities.list([1, 2, 3, 6], since=SINCE)
        async for activity in pager:
            first.append(activity.id or 0)
            if len(first) == stop_after:
                saved = pager.cursor
                break
        assert saved is not None
        fake.activity_log.short_pages(0.5, seed=stop_after)  # the re-read gets other page sizes
        rest = [a.id async for a in client.activities.list([1, 2, 3, 6], cursor=saved)]
    assert first + rest == _log_ids(fake, {1, 2, 3, 6})


async def test_a_position_inside_a_page_survives_a_refetch_answering_fewer_items() -> None:
    fake = FakeMarketo()
    _seed(fake, 600, types=(1,))
    async with _client(fake) as client:
        pager = client.activities.list([1], since=SINCE)
        first = []
        async for activity in pager:
            first.append(activity.id)
            if len(first) == 450:  # 150 into the second page of 300
                break
        saved = pager.cursor
        assert saved is not None
        [(_, skip)] = decode_cursor(saved, "activities", pager._queries)
        assert skip == 150
        fake.activity_log.short_pages(1.0, seed=2)  # every page now shorter than 300
        rest = [a.id async for a in client.activities.list([1], cursor=saved)]
    assert first + rest == _log_ids(fake, {1})


async def test_the_final_cursor_yields_exactly_the_activities_recorded_later() -> None:
    fake = FakeMarketo()
    ids = _seed(fake, 50, types=(1,))
    async with _client(fake) as client:
        pager = client.activities.list([1, 13], since=SINCE)
        assert len(await pager.collect()) == 50
        done = pager.cursor
        assert done is not None
        again = client.activities.list([1, 13], cursor=done)
        assert again.cursor == done  # before reading: where it starts
        assert await again.collect() == [] and again.cursor is not None
        for lead_id in ids[:7]:
            fake.store.update_lead(lead_id, {"firstName": "New"})
        fake.add_activity(ids[0], 1)
        later = [a.id async for a in client.activities.list([1, 13], cursor=again.cursor)]
    assert later == fake_ids_after(fake, 50)


def fake_ids_after(fake: FakeMarketo, count_before: int) -> list[int]:
    """Ids of the type 1 and 13 activities beyond the first ``count_before`` of type 1."""
    wanted = _log_ids(fake, {1, 13})
    return wanted[count_before:]


async def test_eleven_type_ids_and_31_lead_ids_are_split_and_merged_each_once() -> None:
    fake = FakeMarketo()
    type_ids = [1, 2, 3, 6, 7, 10, 11, 13, 22, 46, 104]
    ids = _seed(fake, 40, types=tuple(type_ids))
    chosen = set(ids[:31])
    recording = Recording(fake)
    async with _client(fake, recording) as client:
        pager = client.activities.list(type_ids, since=SINCE, lead_ids=sorted(chosen))
        found = await pager.collect()
    calls = recording.to("/rest/v1/activities.json")
    assert len(calls) == 4  # 2 chunks of types x 2 chunks of leads, one page each
    for request in calls:
        assert len(request.url.params.get_list("activityTypeIds")) <= 10
        assert len(request.url.params["leadIds"].split(",")) <= 30
    assert sorted(a.id for a in found) == sorted(_log_ids(fake, set(type_ids), chosen))
    dates = [a.activity_date for a in found]
    assert dates == sorted(dates)  # one stream, in date order


async def test_calls_per_activity_are_the_page_size_minimum() -> None:
    fake = FakeMarketo()
    _seed(fake, 3000, types=())
    async with _client(fake) as client:
        found = await client.activities.list([12], since=SINCE).collect()
        assert len(found) == 3000
        # one paging-token call, then ten pages of 300
        assert client.stats.calls == 1 + math.ceil(3000 / 300)


async def test_the_token_is_sent_url_encoded_and_the_paging_token_call_waits_300_s() -> None:
    fake = FakeMarketo()
    _seed(fake, 3, types=(1,))
    recording = Recording(fake)
    async with _client(fake, recording) as client:
        await client.activities.list([1], since=SINCE).collect()
    [token_call] = recording.to("/rest/v1/activities/pagingtoken.json")
    assert token_call.extensions["timeout"]["read"] >= 300
    [page] = recording.to("/rest/v1/activities.json")
    assert page.extensions["timeout"]["read"] < 300
    raw = page.url.raw_path.decode()
    assert "nextPageToken=%2B%2F" in raw and "%3D" in raw


async def test_since_and_cursor_are_checked_before_any_call() -> None:
    fake = FakeMarketo()
    async with _client(fake) as client:
        with pytest.raises(ValueError, match="exactly one of since"):
            client.activities.list([1])
        with pytest.raises(ValueError, match="exactly one of since"):
            client.activities.list([1], since=SINCE, cursor="mkc1.x")
        pager = client.activities.list([1, 2], since=SINCE)
        await pager.collect()
        assert pager.cursor is not None
        with pytest.raises(ValueError, match="other filters"):
            client.activities.list([1, 3], cursor=pager.cursor)
        with pytest.raises(ValueError, match="made by activities"):
            client.activities.deleted_leads(cursor=pager.cursor)
        with pytest.raises(ValueError, match=r"type_ids\[0\]"):
            client.activities.list(["x"], since=SINCE)  # type: ignore[list-item]
        with pytest.raises(ValueError, match="type_ids is empty"):
            client.activities.list([], since=SINCE)
    assert fake.stats.calls == 2


async def test_a_naive_since_is_utc() -> None:
    fake = FakeMarketo()
    recording = Recording(fake)
    async with _client(fake, recording) as client:
        await client.activities.paging_token(dt.datetime(2026, 5, 1, 8, 30))
    [call] = recording.to("/rest/v1/activities/pagingtoken.json")
    assert call.url.params["sinceDatetime"] == "2026-05-01T08:30:00Z"


async def test_first_page_then_the_cursor_continues_after_it() -> None:
    fake = FakeMarketo()
    _seed(fake, 500, types=())
    async with _client(fake) as client:
        pager = client.activities.list([12], since=SINCE)
        page = await pager
        assert len(page) == 300 and page.more
        rest = await client.activities.list([12], cursor=pager.cursor).collect()
    assert [a.id for a in [*page, *rest]] == _log_ids(fake, {12})


async def test_lead_changes_carry_the_fields_and_resume() -> None:
    fake = FakeMarketo()
    lead = fake.add_lead(email="a@example.com", firstName="Ada")
    async with _client(fake) as client:
        pager = client.activities.lead_changes(["firstName", "email"], since=SINCE)
        [created] = await pager.collect()
        fake.store.update_lead(lead, {"firstName": "Grace", "lastName": "Hopper"})
        [changed] = await client.activities.lead_changes(
            "firstName,email", cursor=pager.cursor
        ).collect()
    assert isinstance(changed, LeadChange) and changed.activity_type_id == 13
    assert [(f.name, f.old_value, f.new_value) for f in changed.fields] == [
        ("firstName", "Ada", "Grace")
    ]
    assert {f.name for f in created.fields} == {"firstName", "email"}
    assert changed.to_json()["fields"] == [
        {"name": "firstName", "newValue": "Grace", "oldValue": "Ada"}
    ]


async def test_deleted_leads_resume_from_their_cursor() -> None:
    fake = FakeMarketo()
    ids = [fake.add_lead(email=f"l{i}@example.com") for i in range(5)]
    async with _client(fake) as client:
        await client.leads.delete(ids[:2])
        pager = client.activities.deleted_leads(since=SINCE)
        assert [a.lead_id for a in await pager.collect()] == ids[:2]
        await client.leads.delete(ids[4:])
        later = await client.activities.deleted_leads(cursor=pager.cursor).collect()
    assert [a.lead_id for a in later] == ids[4:]


async def test_types_are_asked_once_per_client() -> None:
    fake = FakeMarketo()
    async with _client(fake) as client:
        first = await client.activities.types()
        second = await client.activities.types()
    assert first == second and {t.id: t.name for t in first}[13] == "Change Data Value"
    assert fake.stats.by_path["/rest/v1/activities/types.json"] == 1


async def test_add_custom_sends_300_a_call_and_reports_each_record() -> None:
    fake = FakeMarketo()
    lead = fake.add_lead(email="a@example.com")
    type_id = fake.add_custom_activity_type("acmeSignIn", attributes=["device"])
    records: list[dict[str, Any]] = [
        {
            "leadId": lead if i != 5 else 99999,
            "activityTypeId": type_id,
            "activityDate": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
            "primaryAttributeValue": f"visit {i}",
            "attributes": {"device": "phone"},
        }
        for i in range(650)
    ]
    async with _client(fake) as client:
        report = await client.activities.add_custom(records)
        [custom] = await client.activities.custom_types()
    assert fake.stats.by_path["/rest/v1/activities/external.json"] == 3
    assert report.counts == {"added": 649, "skipped": 1}
    assert report.outcomes[5].reasons[0].code == "1004"
    assert custom.api_name == "acmeSignIn" and custom.status == "approved"
    added = [e for e in fake.activity_log.entries if e["activityTypeId"] == type_id]
    assert len(added) == 649 and added[0]["attributes"] == {"device": "phone"}


async def test_add_custom_refuses_a_bad_record_before_any_call() -> None:
    fake = FakeMarketo()
    good = {"leadId": 1, "activityTypeId": 100001, "activityDate": "2026-01-01T00:00:00Z"}
    async with _client(fake) as client:
        report = await client.activities.add_custom(
            [{**good, "primaryAttributeValue": "x", "attributes": {"big": "y" * 70_000}}, good]
        )
    assert [o.status for o in report.outcomes] == ["failed", "failed"]
    assert "65,536" in str(report.outcomes[0].reasons or report.outcomes[0].error)
    assert "primaryAttributeValue" in str(report.outcomes[1].reasons or report.outcomes[1].error)
    assert fake.stats.by_path["/rest/v1/activities/external.json"] == 0


async def test_add_custom_refuses_an_activity_date_that_is_not_a_time_before_any_call() -> None:
    fake = FakeMarketo()
    good = {"leadId": 1, "activityTypeId": 100001, "primaryAttributeValue": "x"}
    async with _client(fake) as client:
        report = await client.activities.add_custom(
            [{**good, "activityDate": "not a date"}, {**good, "activityDate": "31/12/2026"}]
        )
    assert [o.status for o in report.outcomes] == ["failed", "failed"]
    assert "'activityDate' must be an ISO-8601 time, not 'not a date'" in str(
        report.outcomes[0].reasons
    )
    assert fake.stats.by_path["/rest/v1/activities/external.json"] == 0


async def test_add_custom_that_may_have_applied_is_unknown_not_resent() -> None:
    fake = FakeMarketo()
    lead = fake.add_lead(email="a@example.com")
    type_id = fake.add_custom_activity_type("acmeSignIn")
    fake.faults.script("/rest/v1/activities/external.json", drop_connection=True, after_apply=True)
    record = {
        "leadId": lead,
        "activityTypeId": type_id,
        "activityDate": "2026-01-01T00:00:00Z",
        "primaryAttributeValue": "x",
    }
    async with _client(fake) as client:
        report = await client.activities.add_custom([record])
    assert [o.status for o in report.outcomes] == ["unknown"]
    assert fake.stats.by_path["/rest/v1/activities/external.json"] == 1


async def test_a_failure_in_one_of_several_streams_comes_out_as_itself_and_the_cursor_holds() -> (
    None
):
    from marketo_async import AccessDeniedError

    fake = FakeMarketo()
    type_ids = [1, 2, 3, 6, 7, 10, 11, 13, 22, 46, 104]
    _seed(fake, 60, types=tuple(type_ids))
    async with _client(fake) as client:
        pager = client.activities.list(type_ids, since=SINCE)
        first: list[int] = []
        with pytest.raises(AccessDeniedError):
            async for activity in pager:
                first.append(activity.id or 0)
                if len(first) == 250:
                    fake.faults.script("/rest/v1/activities.json", code="603")
        assert pager.cursor is not None
        rest = [a.id async for a in client.activities.list(type_ids, cursor=pager.cursor)]
    assert sorted(first + rest) == sorted(_log_ids(fake, set(type_ids)))
    assert len(first + rest) == len(set(first + rest))


async def test_list_id_and_asset_ids_filter_the_activities() -> None:
    fake = FakeMarketo()
    ids = _seed(fake, 10, types=(1, 2))
    list_id = fake.add_list("Invitees", lead_ids=ids[:3])
    recording = Recording(fake)
    async with _client(fake, recording) as client:
        in_list = await client.activities.list([1, 2], since=SINCE, list_id=list_id).collect()
        on_asset = await client.activities.list([1, 2], since=SINCE, asset_ids=[200]).collect()
        changes = await client.activities.lead_changes(
            ["email"], since=SINCE, lead_ids=ids[4:6]
        ).collect()
    assert {a.lead_id for a in in_list} == set(ids[:3]) and len(in_list) == 6
    assert {a.activity_type_id for a in on_asset} == {2} and len(on_asset) == 10
    assert [c.lead_id for c in changes] == ids[4:6]  # their New Lead activities
    [listed] = [r for r in recording.to("/rest/v1/activities.json") if "listId" in r.url.params]
    assert listed.url.params["listId"] == str(list_id)
