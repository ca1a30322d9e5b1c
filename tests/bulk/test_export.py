"""Bulk Extract against FakeMarketo, on virtual time."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest

from marketo_async import Lead
from marketo_async.resources.bulk_export import ExportStats
from marketo_async.testing import FakeMarketo

from .conftest import START, add_leads_over, client_of

pytestmark = pytest.mark.anyio


async def test_a_45_day_range_is_two_windows_and_every_lead_once(fake: FakeMarketo) -> None:
    add_leads_over(fake, 100, start=START - dt.timedelta(days=2), every=dt.timedelta(hours=12))
    async with client_of(fake) as client:
        rows = client.bulk_export.leads(
            fields=["email", "firstName"], updated_at=(START, START + dt.timedelta(days=45))
        )
        leads = [lead async for lead in rows]
    expected = [
        lead["email"]
        for lead in fake.leads.values()
        if START
        <= dt.datetime.fromisoformat(lead["updatedAt"].replace("Z", "+00:00"))
        < START + dt.timedelta(days=45)
    ]
    assert [lead["email"] for lead in leads] == expected
    assert len(expected) == 90
    assert all(isinstance(lead, Lead) and set(lead) == {"email", "firstName"} for lead in leads)
    assert rows.stats.jobs == 2
    assert fake.stats.by_path["/bulk/v1/leads/export/create.json"] == 2


async def _emails(fake: FakeMarketo, **kwargs: Any) -> tuple[list[Any], ExportStats]:
    async with client_of(fake) as client:
        rows = client.bulk_export.leads(fields=["email"], **kwargs)
        return [lead["email"] async for lead in rows], rows.stats


async def test_a_lead_exactly_at_a_window_edge_appears_once_and_the_end_is_excluded(
    fake: FakeMarketo,
) -> None:
    edge = START + dt.timedelta(days=31)
    end = START + dt.timedelta(days=40)
    for name, moment in [
        ("start", START),
        ("edge", edge),
        ("before-edge", edge - dt.timedelta(seconds=1)),
        ("end", end),
        ("before", START - dt.timedelta(seconds=1)),
    ]:
        lead_id = fake.add_lead(email=f"{name}@example.com")
        fake.store.leads[lead_id]["updatedAt"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    emails, stats = await _emails(fake, updated_at=(START, end))
    assert sorted(emails) == ["before-edge@example.com", "edge@example.com", "start@example.com"]
    assert stats.jobs == 2


async def test_a_cut_download_resumes_with_range_instead_of_starting_over(
    fake: FakeMarketo,
) -> None:
    add_leads_over(fake, 400, every=dt.timedelta(minutes=10))
    fake.bulk.cut_downloads(at=0.5, times=None)
    emails, stats = await _emails(fake, created_at=(START, START + dt.timedelta(days=3)))
    assert emails == [f"lead{i}@example.com" for i in range(400)]
    file_calls = [r for r in fake.stats.timeline if r.path.endswith("/file.json")]
    assert [r.status for r in file_calls] == [200, 206]
    (job,) = [j for j in fake.bulk.jobs.values() if j.kind == "leads"]
    assert stats.partial_answers == 1 and stats.resumptions == 1
    assert stats.bytes == len(job.file)  # not restarted


async def test_a_corrupt_download_is_caught_by_the_checksum_and_fetched_again(
    fake: FakeMarketo,
) -> None:
    add_leads_over(fake, 50, every=dt.timedelta(hours=1))
    fake.bulk.corrupt_downloads(times=1)
    emails, stats = await _emails(fake, created_at=(START, START + dt.timedelta(days=3)))
    assert len(emails) == 50 and len(set(emails)) == 50
    assert stats.checksum_retries == 1


async def test_a_file_corrupt_twice_raises_checksum_mismatch(fake: FakeMarketo) -> None:
    from marketo_async import ChecksumMismatchError

    add_leads_over(fake, 5, every=dt.timedelta(hours=1))
    fake.bulk.corrupt_downloads(times=2)
    with pytest.raises(ChecksumMismatchError):
        await _emails(fake, created_at=(START, START + dt.timedelta(days=1)))


async def test_status_is_polled_no_faster_than_it_can_change(fake: FakeMarketo) -> None:
    add_leads_over(fake, 20, every=dt.timedelta(days=3))
    fake.bulk.settings.export_seconds = 200.0
    emails, stats = await _emails(fake, created_at=(START, START + dt.timedelta(days=60)))
    assert len(emails) == 20
    polls = [r for r in fake.stats.timeline if r.path.endswith("/status.json")]
    by_job: dict[str, list[float]] = {}
    for record in polls:
        by_job.setdefault(record.path, []).append(record.start)
    for starts in by_job.values():
        assert all(b - a >= 60.0 for a, b in itertools.pairwise(starts))
    # two jobs run side by side: 200 s of work is seen at the 240 s status update
    assert stats.polls <= 2 * 4 + 1


async def test_null_cells_are_none(fake: FakeMarketo) -> None:
    lead_id = fake.add_lead(email="a@example.com")
    fake.store.leads[lead_id]["updatedAt"] = "2024-01-02T00:00:00Z"
    async with client_of(fake) as client:
        rows = [
            lead
            async for lead in client.bulk_export.leads(
                fields=["email", "firstName"], updated_at=(START, START + dt.timedelta(days=2))
            )
        ]
    assert rows == [Lead({"email": "a@example.com", "firstName": None})]


async def test_a_static_list_export(fake: FakeMarketo) -> None:
    ids = add_leads_over(fake, 10, every=dt.timedelta(hours=1))
    list_id = fake.add_list("Big", lead_ids=ids[:4])
    async with client_of(fake) as client:
        rows = [
            lead["email"]
            async for lead in client.bulk_export.leads(fields=["email"], static_list_id=list_id)
        ]
    assert rows == [f"lead{i}@example.com" for i in range(4)]


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"updated_at": (START, START)},
        {"updated_at": (START.replace(tzinfo=None), START + dt.timedelta(days=1))},
        {"updated_at": (START, START + dt.timedelta(days=1)), "static_list_id": 3},
    ],
)
async def test_bad_arguments_are_refused_before_any_call(
    fake: FakeMarketo, kwargs: dict[str, object]
) -> None:
    async with client_of(fake) as client:
        with pytest.raises(ValueError):
            client.bulk_export.leads(fields=["email"], **kwargs)  # type: ignore[arg-type]
    assert fake.stats.calls == 0


async def test_the_export_quota_is_known_before_a_job_and_refuses_the_next_one(
    fake: FakeMarketo,
) -> None:
    from marketo_async import ExportQuotaExceeded

    add_leads_over(fake, 30, every=dt.timedelta(hours=1))
    async with client_of(fake) as client:
        quota = client.bulk_export.quota
        first = [
            lead
            async for lead in client.bulk_export.leads(
                fields=["email"], created_at=(START, START + dt.timedelta(days=1))
            )
        ]
        assert len(first) == 24
        assert quota.used_bytes == fake.bulk.export_bytes_used > 0
        quota.limit_bytes = fake.bulk.export_bytes_used  # the day's volume is now spent
        creates = fake.stats.by_path["/bulk/v1/leads/export/create.json"]
        with pytest.raises(ExportQuotaExceeded, match="no export job was created"):
            async for _ in client.bulk_export.leads(
                fields=["email"], created_at=(START, START + dt.timedelta(days=1))
            ):
                pass
    assert fake.stats.by_path["/bulk/v1/leads/export/create.json"] == creates


async def test_quota_used_earlier_today_is_learnt_from_the_job_lists(fake: FakeMarketo) -> None:
    from marketo_async import ExportQuotaExceeded

    add_leads_over(fake, 30, every=dt.timedelta(hours=1))
    async with client_of(fake) as earlier:
        async for _ in earlier.bulk_export.leads(
            fields=["email"], created_at=(START, START + dt.timedelta(days=1))
        ):
            pass
    used = fake.bulk.export_bytes_used
    async with client_of(fake) as client:
        client.bulk_export.quota.limit_bytes = used
        with pytest.raises(ExportQuotaExceeded):
            async for _ in client.bulk_export.leads(
                fields=["email"], created_at=(START, START + dt.timedelta(days=1))
            ):
                pass
        assert client.bulk_export.quota.used_bytes == used


async def test_the_server_quota_refusal_is_an_export_quota_error(fake: FakeMarketo) -> None:
    from marketo_async import ExportQuotaExceeded

    add_leads_over(fake, 3, every=dt.timedelta(hours=1))
    fake.bulk.settings.export_quota_bytes = 0
    async with client_of(fake) as client:
        client.bulk_export.quota.limit_bytes = 10**9  # the client believes there is room
        with pytest.raises(ExportQuotaExceeded):
            async for _ in client.bulk_export.leads(
                fields=["email"], created_at=(START, START + dt.timedelta(days=1))
            ):
                pass


async def test_many_exports_at_once_never_overfill_the_queue(fake: FakeMarketo) -> None:
    import anyio

    add_leads_over(fake, 60, every=dt.timedelta(days=1))
    counts: list[int] = []
    async with client_of(fake) as client:

        async def one(offset: int) -> None:
            start = START + dt.timedelta(days=offset)
            rows = client.bulk_export.leads(
                fields=["email"], created_at=(start, start + dt.timedelta(days=40))
            )
            counts.append(len([lead async for lead in rows]))

        async with anyio.create_task_group() as tg:
            for offset in range(0, 16, 2):
                tg.start_soon(one, offset)
    assert sorted(counts) == sorted(40 for _ in range(8))
    assert fake.stats.errors["1029"] == 0
    assert fake.stats.by_path["/bulk/v1/leads/export/create.json"] == 16


async def test_a_queue_full_of_other_users_jobs_is_waited_out(fake: FakeMarketo) -> None:
    add_leads_over(fake, 10, every=dt.timedelta(hours=1))
    fake.faults.script(
        "/bulk/v1/leads/export/00000001-fake-4000-8000-000000000001/enqueue.json",
        code="1029",
        message="Too many jobs in queue",
        times=2,
    )
    emails, _ = await _emails(fake, created_at=(START, START + dt.timedelta(days=1)))
    assert len(emails) == 10
    assert fake.stats.errors["1029"] == 2


async def test_leaving_the_loop_early_cancels_the_jobs_still_on_marketo(
    fake: FakeMarketo,
) -> None:
    add_leads_over(fake, 90, every=dt.timedelta(days=1))
    async with client_of(fake) as client:
        rows = client.bulk_export.leads(
            fields=["email"], created_at=(START, START + dt.timedelta(days=90))
        )
        iterator = rows.__aiter__()
        first = await iterator.__anext__()
        await iterator.aclose()  # what ``break`` leads to
    assert first["email"] == "lead0@example.com"
    now = fake.bulk.refresh()
    states = [job.state(now) for job in fake.bulk.jobs.values()]
    # window 2 ran beside window 1 and finished; window 3 was queued when the loop ended
    assert states == ["Done", "Done", "Cancelled"]
    assert client.bulk_export.queue.held == 0


async def test_program_members_export_with_statuses_and_a_range(fake: FakeMarketo) -> None:
    from marketo_async import ProgramMember

    program_id = fake.add_program("Webinar")
    ids = add_leads_over(fake, 6, every=dt.timedelta(hours=1))
    for i, lead_id in enumerate(ids):
        fake.add_program_member(program_id, lead_id, "Registered" if i % 2 else "Attended")
    async with client_of(fake) as client:
        rows = [
            member
            async for member in client.bulk_export.program_members(
                program_id,
                ["leadId", "email", "statusName", "reachedSuccess"],
                status_names=["Attended"],
            )
        ]
    assert all(isinstance(member, ProgramMember) for member in rows)
    assert [member.lead_id for member in rows] == ids[::2]
    assert {member.status_name for member in rows} == {"Attended"}
    assert all(member.reached_success is True for member in rows)
    assert rows[0]["email"] == "lead0@example.com"


async def test_activities_export_is_typed(fake: FakeMarketo) -> None:
    from marketo_async import Activity

    lead_id = fake.add_lead(email="a@example.com")
    for day in range(40):
        fake.bulk.add_activity(
            lead_id,
            1 if day % 2 else 12,
            activity_date=START + dt.timedelta(days=day),
            primary_attribute_value="page",
            attributes={"Client IP Address": "10.0.0.1"} if day == 0 else None,
        )
    async with client_of(fake) as client:
        rows = [
            activity
            async for activity in client.bulk_export.activities(
                created_at=(START, START + dt.timedelta(days=40)), activity_type_ids=[12]
            )
        ]
    assert len(rows) == 20 and all(isinstance(a, Activity) for a in rows)
    assert rows[0].lead_id == lead_id and rows[0].activity_type_id == 12
    assert rows[0].attributes == {"Client IP Address": "10.0.0.1"}
    assert rows[1].attributes == {}
    assert rows[0].activity_date == START


def test_the_bulk_resources_can_be_set_up_before_any_event_loop() -> None:
    fake = FakeMarketo()
    client = client_of(fake)
    client.bulk_export.quota.limit_bytes = 10 * 1024 * 1024 * 1024  # a bigger purchased quota
    client.bulk_export.poll_interval = 120.0
    client.bulk_import.max_file_bytes = 5_000_000
    assert client.bulk_export.queue.held == 0 and client.bulk_import.queue.capacity == 10


async def test_cancelling_while_waiting_cancels_the_jobs_on_marketo(fake: FakeMarketo) -> None:
    import anyio

    add_leads_over(fake, 60, every=dt.timedelta(days=1))
    fake.bulk.settings.export_seconds = 3_600.0
    async with client_of(fake) as client:
        with anyio.move_on_after(90):
            async for _ in client.bulk_export.leads(
                fields=["email"], created_at=(START, START + dt.timedelta(days=60))
            ):
                pass
        assert client.bulk_export.queue.held == 0
    now = fake.bulk.refresh()
    assert [job.state(now) for job in fake.bulk.jobs.values()] == ["Cancelled", "Cancelled"]
    cancels = [path for path in fake.stats.by_path if path.endswith("/cancel.json")]
    assert len(cancels) == 2 and all(fake.stats.by_path[path] == 1 for path in cancels)


@pytest.mark.parametrize(
    "bound",
    [dt.date(2024, 1, 1), "2024-01-01", 1704067200, dt.datetime(2024, 1, 1)],
    ids=["date", "text", "epoch", "naive"],
)
async def test_a_range_bound_that_is_not_an_aware_datetime_is_a_clear_error_before_any_call(
    fake: FakeMarketo, bound: Any
) -> None:
    end = START + dt.timedelta(days=1)
    async with client_of(fake) as client:
        with pytest.raises(ValueError, match="updated_at must be timezone-aware datetimes"):
            async for _ in client.bulk_export.leads(fields=["email"], updated_at=(bound, end)):
                pass
    assert fake.stats.calls == 0
