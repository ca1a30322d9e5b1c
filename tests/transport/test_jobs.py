"""The bulk job schedule and queue-room waits in the transport (``_transport._jobs``)."""

from __future__ import annotations

import math
from typing import Any

import anyio
import pytest

from marketo_async import RetryPolicy
from marketo_async._errors import LimitError, MarketoError
from marketo_async._transport._jobs import (
    EXPORT_PACE,
    IMPORT_PACE,
    QUEUE_WAIT_LIMIT_S,
    JobCheck,
    JobPace,
    Jobs,
    Schedule,
)
from marketo_async.testing import FakeMarketo

# (queued for, run time, rows) of jobs from seconds to hours, some waiting behind others
JOBS = [
    (queued, run, rows)
    for queued in (0.0, 3.0, 47.0, 400.0)
    for run in (0.4, 4.9, 5.5, 10.0, 26.0, 61.0, 333.0, 1_800.0, 7_200.0)
    for rows in (1_000, 100_000)
]


def _simulate(
    pace: JobPace, queued: float, run: float, rows: int, *, rate: float | None = None
) -> list[float]:
    """The check times of a job that waits ``queued`` s, then processes evenly for ``run`` s."""
    finish = queued + run
    schedule = Schedule(pace, started=0.0, rows=rows, rate=rate)
    checks = []
    while True:
        at = schedule.next_check()
        checks.append(at)
        running = queued <= at < finish
        processed = int(rows * (at - queued) / run) if running else None
        schedule.saw(at, JobCheck(over=at >= finish, running=running, processed=processed))
        if at >= finish:
            return checks


@pytest.mark.parametrize("pace", [IMPORT_PACE, EXPORT_PACE], ids=["import", "export"])
@pytest.mark.parametrize("guess", [None, 100.0, 1e6], ids=["no-rate", "slow-rate", "fast-rate"])
def test_a_finished_job_waits_at_most_a_fifth_of_its_run_time_within_the_status_rates(
    pace: JobPace, guess: float | None
) -> None:
    for queued, run, rows in JOBS:
        checks = _simulate(pace, queued, run, rows, rate=guess)
        gaps = [later - earlier for earlier, later in zip([0.0, *checks], checks, strict=False)]
        assert min(gaps) >= pace.min_interval - 1e-9, (queued, run)
        assert max(gaps) <= pace.max_interval + 1e-9, (queued, run)
        finished = queued + run
        unseen = checks[-1] - finished
        assert unseen <= max(pace.min_interval, finished * pace.share) + 1e-9, (queued, run)


def test_a_job_is_checked_no_more_often_than_a_fixed_poller_at_the_fastest_rate() -> None:
    for queued, run, rows in JOBS:
        finished = queued + run
        fixed_poller = math.ceil(finished / IMPORT_PACE.min_interval)
        assert len(_simulate(IMPORT_PACE, queued, run, rows)) <= fixed_poller, (queued, run)


def test_a_long_job_is_checked_where_its_progress_says_it_finishes() -> None:
    # 400 s of importing: the check after 300 s of progress lands at the estimated end,
    # not a whole gap later
    checks = _simulate(IMPORT_PACE, 0.0, 400.0, 100_000)
    assert checks[-1] - 400.0 <= 400.0 * 0.05 + 1e-9
    assert len(checks) < math.ceil(400.0 / IMPORT_PACE.min_interval) / 2


class _Job:
    """A job on the anyio clock: queued ``queued`` s, then running ``run`` s over ``rows``."""

    def __init__(self, queued: float, run: float, rows: int) -> None:
        self.began = anyio.current_time()
        self.queued, self.run, self.rows = queued, run, rows
        self.checks: list[float] = []

    async def check(self) -> dict[str, Any]:
        now = anyio.current_time() - self.began
        self.checks.append(now)
        if now >= self.queued + self.run:
            return {"status": "Complete"}
        if now < self.queued:
            return {"status": "Queued"}
        return {"status": "Importing", "done": int(self.rows * (now - self.queued) / self.run)}


def _read(answer: dict[str, Any]) -> JobCheck:
    state = answer["status"]
    return JobCheck(
        over=state == "Complete", running=state == "Importing", processed=answer.get("done")
    )


@pytest.mark.anyio
async def test_waits_follow_the_retry_policys_wait_scale() -> None:
    job = _Job(0.0, 10.0, 1_000)
    jobs = Jobs(RetryPolicy(wait_scale=0.5))
    await jobs.follow(job.check, _read, pace=IMPORT_PACE, rows=job.rows)
    # 5 s checks scaled to 2.5 s: the 10 s job is seen at 10 s, not 15 (or 10 at full scale)
    assert job.checks == pytest.approx([2.5, 5.0, 7.5, 10.0])


def _full() -> MarketoError:
    return MarketoError("Too many imports", code="1016")


@pytest.mark.anyio
async def test_no_wait_asks_a_full_queue_again_at_once() -> None:
    answers = iter([_full(), _full(), "ok"])

    async def upload() -> str:
        answer = next(answers)
        if isinstance(answer, MarketoError):
            raise answer
        return answer

    began = anyio.current_time()
    jobs = Jobs(RetryPolicy.no_wait())
    got = await jobs.while_full(upload, full=lambda e: e.code == "1016", pace=IMPORT_PACE, what="x")
    assert got == "ok"
    assert anyio.current_time() == began


@pytest.mark.anyio
async def test_a_queue_full_for_six_hours_ends_the_wait_with_a_limit_error() -> None:
    calls = 0

    async def upload() -> str:
        nonlocal calls
        calls += 1
        raise _full()

    began = anyio.current_time()
    jobs = Jobs(RetryPolicy(wait_scale=2.0))
    with pytest.raises(LimitError, match=r"stayed full for 6\.0 h"):
        await jobs.while_full(upload, full=lambda e: e.code == "1016", pace=IMPORT_PACE, what="x")
    assert calls == QUEUE_WAIT_LIMIT_S / IMPORT_PACE.room_wait + 1
    assert anyio.current_time() - began == pytest.approx(2 * QUEUE_WAIT_LIMIT_S)


@pytest.mark.anyio
async def test_an_import_is_seen_done_with_no_more_checks_than_a_5_s_poller() -> None:
    fake = FakeMarketo()
    rows = [{"email": f"r{i}@example.com"} for i in range(20_000)]
    async with fake.client(retry=RetryPolicy.no_wait()) as client:
        report = await client.bulk_import.leads(rows)
    assert report.counts == {"imported": 20_000}
    (job,) = [j for j in fake.bulk.jobs.values() if j.kind == "lead import"]
    assert job.duration == pytest.approx(6.0)
    checks = [r.start for r in fake.stats.timeline if r.path.startswith("/bulk/v1/leads/batch/")]
    assert job.finished_at is not None
    fixed_poller = math.ceil((job.finished_at - job.queued_at) / 5.0)  # type: ignore[operator]
    assert len(checks) <= fixed_poller
    assert checks[-1] - job.finished_at <= 5.0
