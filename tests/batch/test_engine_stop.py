"""A stop sends nothing more, and a cancel marks unknown only calls actually on the wire.

Through a real client and FakeMarketo (and, for the first two, FakeLeadGen: its transport
honours the same send gate), so calls wait where they wait in life: for the rate window.
Virtual time (asyncio and trio): a stop during a window wait must not wait for the window.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable
from typing import Any

import anyio
import pytest

from marketo_async import RateLimits, RetryPolicy
from marketo_async._batch import RecordOutcome
from marketo_async.testing import FakeLeadGen, FakeMarketo

pytestmark = pytest.mark.anyio

# Three calls per 20 s: the fourth call of a run waits for the window.
LIMITS = RateLimits(calls=3, period=20.0, concurrency=10, daily_quota=None, window_margin=0.0)
PATH = "/rest/v1/leads.json"


def _rows(count: int) -> list[dict[str, Any]]:
    return [{"email": f"u{i}@example.com"} for i in range(count)]


class _Api:
    """A fake API and its lead create, to run the same stop test against each transport."""

    def __init__(self, name: str, latency: float) -> None:
        self.name = name
        self.fake: FakeMarketo | FakeLeadGen
        if name == "marketo":
            self.fake = FakeMarketo(latency=latency)
        else:
            self.fake = FakeLeadGen(latency=latency, calls_per_second=None)

    def client(self) -> Any:
        return self.fake.client(rate_limits=LIMITS, retry=RetryPolicy.no_wait())

    def create(self, client: Any, count: int, **hooks: Any) -> Awaitable[Any]:
        if isinstance(self.fake, FakeMarketo):
            return client.leads.sync(_rows(count), batch_size=300, **hooks)
        rows = [{"emailAddress": row["email"]} for row in _rows(count)]
        return client.leads.create(rows, batch_size=300, **hooks)

    @property
    def calls(self) -> int:
        method = PATH if isinstance(self.fake, FakeMarketo) else "createLeads"
        return self.fake.stats.by_path[method]

    @property
    def leads(self) -> int:
        if isinstance(self.fake, FakeMarketo):
            return len(self.fake.leads)
        return len(self.fake.store.leads)


APIS = pytest.mark.parametrize("api", ["marketo", "leadgen"])


@APIS
async def test_a_stop_during_a_window_wait_sends_nothing_more_and_does_not_wait(api: str) -> None:
    target = _Api(api, latency=1.0)
    outcomes: list[RecordOutcome] = []
    stop = False

    def on_outcome(outcome: RecordOutcome) -> None:
        nonlocal stop
        outcomes.append(outcome)
        stop = stop or len(outcomes) >= 900  # after the first window's three calls

    async with target.client() as client:
        started = anyio.current_time()
        report = await target.create(client, 3_000, on_outcome=on_outcome, stop=lambda: stop)
        took = anyio.current_time() - started
    assert target.calls == 3  # the seven calls waiting for the window never went
    assert report.counts == {"created": 900, "not_attempted": 2_100}
    assert len(outcomes) == 3_000 and target.leads == 900
    unsent = [outcome for outcome in report.outcomes if outcome.status == "not_attempted"]
    assert all("not sent" in outcome.reasons[0].message for outcome in unsent)
    assert took < LIMITS.period  # it did not wait for the window to send (or drop) them


@APIS
async def test_a_cancel_marks_unknown_only_the_calls_on_the_wire(api: str) -> None:
    target = _Api(api, latency=5.0)
    outcomes: dict[int, RecordOutcome] = {}
    async with target.client() as client:
        with anyio.move_on_after(1.0):  # three calls on the wire, seven waiting for the window
            await target.create(
                client,
                3_000,
                on_outcome=lambda outcome: outcomes.__setitem__(outcome.index, outcome),
            )
    assert target.calls == 3
    assert sorted(outcomes) == list(range(3_000))
    statuses = Counter(outcome.status for outcome in outcomes.values())
    assert statuses == {"unknown": 900, "not_attempted": 2_100}
    # Whole calls: the calls the limiter let through (any three; trio shuffles the order).
    unknown = sorted(i for i, outcome in outcomes.items() if outcome.status == "unknown")
    assert len({index // 300 for index in unknown}) == 3


async def test_a_stop_lets_calls_already_on_the_wire_finish() -> None:
    fake = FakeMarketo(latency=5.0)
    stop = False

    async def stop_soon() -> None:
        nonlocal stop
        await anyio.sleep(1.0)
        stop = True

    async with fake.client(rate_limits=LIMITS, retry=RetryPolicy.no_wait()) as client:
        async with anyio.create_task_group() as group:
            group.start_soon(stop_soon)
            report = await client.leads.sync(_rows(3_000), batch_size=300, stop=lambda: stop)
    assert report.counts == {"created": 900, "not_attempted": 2_100}
    assert fake.stats.by_path[PATH] == 3 and len(fake.leads) == 900
