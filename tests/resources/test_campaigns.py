"""client.campaigns, client.programs, client.smart_lists and client.usage() against FakeMarketo."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from marketo_async import NotFoundError, RequestError
from marketo_async.testing import FakeMarketo

pytestmark = pytest.mark.anyio

TRIGGER = "/rest/v1/campaigns/{}/trigger.json"
STATUS = "/rest/v1/programs/{}/members/status.json"


def _writes(fake: FakeMarketo, path: str) -> int:
    return fake.stats.by_path[path]


async def test_trigger_of_1050_leads_with_two_tokens_gives_one_outcome_each_in_11_calls() -> None:
    fake = FakeMarketo()
    known = [fake.add_lead(email=f"lead{n}@example.com") for n in range(1_000)]
    unknown = list(range(900_001, 900_051))  # no such leads: Marketo accepts them anyway
    campaign = fake.add_smart_campaign("Send welcome email")
    tokens = {"{{my.Offer}}": "Spring sale", "{{my.Discount}}": 15}
    async with fake.client() as client:
        report = await client.campaigns.trigger(campaign, [*known, *unknown], tokens=tokens)

    assert len(report.outcomes) == 1_050
    assert report.counts == {"triggered": 1_050}
    assert report.ok
    assert [o.id for o in report.outcomes] == [*known, *unknown]
    assert fake.stats.calls == 11
    runs = fake.campaign_runs(campaign)
    assert sorted(len(run.lead_ids) for run in runs) == [50] + [100] * 10
    assert sorted(i for run in runs for i in run.lead_ids) == sorted([*known, *unknown])
    assert all(
        run.tokens == {"{{my.Offer}}": "Spring sale", "{{my.Discount}}": "15"} for run in runs
    )


@pytest.mark.parametrize(
    ("setup", "said"),
    [
        (lambda fake: fake.add_smart_campaign("Monthly", type="batch"), "batch campaign"),
        (lambda fake: fake.add_smart_campaign("Old", active=False), "not active"),
        (lambda fake: fake.add_smart_campaign("Form fill", requestable=False), "Requested"),
        (lambda fake: 4242, "not found"),
    ],
    ids=["batch", "inactive", "no-requested-trigger", "missing"],
)
async def test_trigger_on_a_campaign_that_cannot_be_requested_is_one_error_after_one_call(
    setup: Any, said: str
) -> None:
    fake = FakeMarketo()
    leads = [fake.add_lead(email=f"lead{n}@example.com") for n in range(1_000)]
    campaign = setup(fake)
    async with fake.client() as client:
        with pytest.raises(RequestError) as caught:
            await client.campaigns.trigger(campaign, leads)

    assert said in str(caught.value)
    assert f"campaign {campaign} cannot be requested" in str(caught.value)
    assert "Campaign is Requested" in str(caught.value)
    assert fake.stats.calls <= 1
    if campaign in fake.store.smart_campaigns:
        assert fake.campaign_runs(campaign) == []


async def test_trigger_of_a_missing_campaign_is_a_not_found_error() -> None:
    fake = FakeMarketo()
    async with fake.client() as client:
        with pytest.raises(NotFoundError):
            await client.campaigns.trigger(4242, [1, 2, 3])
    assert fake.stats.calls == 1


@pytest.mark.parametrize(
    ("tokens", "said"),
    [
        ({f"{{{{my.t{n}}}}}": "v" for n in range(101)}, "at most 100 tokens"),
        ({"my.Offer": "x"}, "must be written {{my.name}}"),
        ({"{{my.Offer}}": None}, "text or a number"),
        ({"{{my.Offer}}": True}, "text or a number"),
    ],
    ids=["101-tokens", "bad-name", "none-value", "bool-value"],
)
async def test_bad_tokens_are_refused_before_any_call(tokens: Any, said: str) -> None:
    fake = FakeMarketo()
    campaign = fake.add_smart_campaign("Welcome")
    async with fake.client() as client:
        with pytest.raises(ValueError, match=said):
            await client.campaigns.trigger(campaign, [1], tokens=tokens)
        with pytest.raises(ValueError, match=said):
            await client.campaigns.schedule(campaign, tokens=tokens)
    assert fake.stats.calls == 0


async def test_a_bad_lead_id_fails_alone_and_the_rest_are_triggered() -> None:
    fake = FakeMarketo()
    campaign = fake.add_smart_campaign("Welcome")
    async with fake.client() as client:
        report = await client.campaigns.trigger(campaign, [1, "x", 3])
    assert [o.status for o in report.outcomes] == ["triggered", "failed", "triggered"]
    assert "record 1" in report.outcomes[1].reasons[0].message
    assert fake.campaign_runs(campaign)[0].lead_ids == (1, 3)


async def test_a_trigger_call_that_may_have_run_is_unknown_and_not_resent() -> None:
    fake = FakeMarketo()
    campaign = fake.add_smart_campaign("Welcome")
    fake.faults.script(TRIGGER.format(campaign), code="604", after_apply=True)
    async with fake.client() as client:
        report = await client.campaigns.trigger(campaign, [1, 2])
    assert report.counts == {"unknown": 2}
    assert fake.stats.by_path[TRIGGER.format(campaign)] == 1
    assert len(fake.campaign_runs(campaign)) == 1  # it did run; a resend would run it twice
    # The one decision not to resend also shapes the report's advice.
    assert "check them in Marketo before sending them again" in report.summary()


async def test_schedule_with_run_at_clone_and_tokens_is_recorded() -> None:
    fake = FakeMarketo()
    campaign = fake.add_smart_campaign("Monthly newsletter", type="batch")
    run_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(days=3)
    async with fake.client() as client:
        await client.campaigns.schedule(
            campaign,
            run_at=run_at,
            clone_to_program_name="Newsletter - January",
            tokens={"{{my.Subject}}": "Happy new year"},
        )
    (run,) = fake.campaign_runs(campaign)
    assert run.kind == "schedule"
    assert run.run_at == run_at
    assert run.clone_to_program_name == "Newsletter - January"
    assert run.tokens == {"{{my.Subject}}": "Happy new year"}
    assert fake.stats.calls == 1


async def test_schedule_more_than_two_years_ahead_is_refused_before_any_call() -> None:
    fake = FakeMarketo()
    campaign = fake.add_smart_campaign("Monthly newsletter", type="batch")
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=800)
    async with fake.client() as client:
        with pytest.raises(ValueError, match="two years"):
            await client.campaigns.schedule(campaign, run_at=later)
    assert fake.stats.calls == 0


async def test_scheduling_a_trigger_campaign_says_why() -> None:
    fake = FakeMarketo()
    campaign = fake.add_smart_campaign("Welcome")
    async with fake.client() as client:
        with pytest.raises(RequestError, match=f"campaign {campaign} cannot be scheduled"):
            await client.campaigns.schedule(campaign)


async def test_campaigns_get_by_name_and_list_by_activity() -> None:
    fake = FakeMarketo()
    program = fake.add_program("Onboarding")
    welcome = fake.add_smart_campaign("Welcome", program_id=program)
    old = fake.add_smart_campaign("Old welcome", active=False)
    async with fake.client() as client:
        found = await client.campaigns.get(welcome)
        assert (found.id, found.name, found.is_active, found.is_requestable) == (
            welcome,
            "Welcome",
            True,
            True,
        )
        assert found.program_id == program
        assert (await client.campaigns.by_name("Old welcome")).id == old  # type: ignore[union-attr]
        assert await client.campaigns.by_name("Nope") is None
        with pytest.raises(NotFoundError, match="smart campaign 999 not found"):
            await client.campaigns.get(999)
        every = [c.id async for c in client.campaigns.list()]
        active = [c.id async for c in client.campaigns.list(is_active=True)]
        inactive = [c.id async for c in client.campaigns.list(is_active=False)]
    assert (every, active, inactive) == ([welcome, old], [welcome], [old])


async def test_campaign_list_pages_through_more_than_200() -> None:
    fake = FakeMarketo()
    ids = [fake.add_smart_campaign(f"Campaign {n}") for n in range(450)]
    async with fake.client() as client:
        assert [c.id async for c in client.campaigns.list()] == ids
    assert fake.stats.by_path["/rest/asset/v1/smartCampaigns.json"] == 3


async def test_program_statuses_are_in_step_order_and_read_once() -> None:
    fake = FakeMarketo()
    fake.add_channel(
        "Webinar",
        ["Not in Program", "Invited", "Registered", "Attended", "No Show"],
        success_statuses=["Attended"],
    )
    program = fake.add_program("2027 Webinar", channel="Webinar")
    async with fake.client() as client:
        first = await client.programs.statuses(program)
        calls = fake.stats.calls
        again = await client.programs.statuses(program)
        found = await client.programs.by_name("2027 Webinar")
        listed = [p.name async for p in client.programs.list()]
    assert first == again == ("Not in Program", "Invited", "Registered", "Attended", "No Show")
    assert calls == 2  # the program, then its channel
    assert fake.stats.calls == calls + 2  # by_name and list; statuses came from the cache
    assert found is not None and (found.id, found.channel) == (program, "Webinar")
    assert listed == ["2027 Webinar"]


async def test_set_status_with_a_misspelt_status_names_the_valid_ones_and_writes_nothing() -> None:
    fake = FakeMarketo()
    program = fake.add_program("Webinar", id=2001, statuses=["Invited", "Registered", "Attended"])
    leads = [fake.add_lead(email=f"m{n}@example.com") for n in range(500)]
    async with fake.client() as client:
        with pytest.raises(ValueError) as caught:
            await client.program_members.set_status(program, "Registerd", leads)
        report = await client.program_members.set_status(program, "Registered", leads)
    message = str(caught.value)
    assert "'Registerd' is not a status of program 2001" in message
    assert "Did you mean 'Registered'?" in message
    assert "'Invited', 'Registered', 'Attended'" in message
    assert report.counts == {"created": 500}
    assert _writes(fake, STATUS.format(program)) == 2  # the good run's two calls only


async def test_smart_lists_get_by_name_and_list() -> None:
    fake = FakeMarketo()
    first = fake.add_smart_list("Active customers")
    second = fake.add_smart_list("Churned")
    async with fake.client() as client:
        assert (await client.smart_lists.get(first)).name == "Active customers"
        assert (await client.smart_lists.by_name("Churned")).id == second  # type: ignore[union-attr]
        assert await client.smart_lists.by_name("Nope") is None
        with pytest.raises(NotFoundError):
            await client.smart_lists.get(5)
        assert [s.id async for s in client.smart_lists.list()] == [first, second]


async def test_usage_counts_every_integration_per_user() -> None:
    fake = FakeMarketo()
    fake.other_integration_calls = 1_234
    async with fake.client() as client:
        await client.request("GET", "/rest/v1/leads/describe.json")
        await client.request("GET", "/rest/v1/leads/describe.json")
        usage = await client.usage()
        week = await client.usage(last_7_days=True)
    assert usage.total == 1_234 + 3  # the usage read counts too
    assert usage.by_user == {
        fake.api_user: 3,
        "other-integration@123-abc-456.marketo.example": 1_234,
    }
    assert usage.date == fake.usage.today()
    assert len(week) == 7 and week[-1].date == usage.date and week[-1].total == usage.total + 1
    assert [day.date for day in week] == sorted(day.date for day in week)


async def test_error_counts_are_today_s_errors_by_code() -> None:
    fake = FakeMarketo()
    fake.faults.script("/rest/v1/leads/describe.json", code="610")
    async with fake.client() as client:
        with pytest.raises(NotFoundError):
            await client.request("GET", "/rest/v1/leads/describe.json")
        assert await client.error_counts() == {"610": 1}


async def test_statuses_are_sorted_by_step_whatever_order_marketo_lists_them(
    router: Any, mk: Any
) -> None:
    router.get("/rest/asset/v1/program/1044.json").respond(
        json={
            "success": True,
            "errors": [],
            "warnings": [],
            "result": [{"id": 1044, "name": "Webinar", "channel": "Webinar"}],
        }
    )
    channel = router.get("/rest/asset/v1/channel/byName.json", params={"name": "Webinar"})
    channel.respond(
        json={
            "success": True,
            "errors": [],
            "warnings": [],
            "result": [
                {
                    "id": 3,
                    "name": "Webinar",
                    "progressionStatuses": [
                        {"name": "Attended", "step": 3, "success": True},
                        {"name": "Invited", "step": 1},
                        {"name": "Not in Program", "step": 0},
                        {"name": "Registered", "step": 2},
                    ],
                }
            ],
        }
    )
    statuses = await mk.programs.statuses(1044)
    assert statuses == ("Not in Program", "Invited", "Registered", "Attended")
    assert channel.call_count == 1
