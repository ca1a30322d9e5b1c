"""client.activities against FakeMarketo served in another process, with Marketo's limits,
short pages and injected faults: 20,000 activities read each once and compared with the
emulator's own log; a cursor taken mid-way resumes with exactly the rest; the final cursor,
after more writes, yields exactly the new ones; 11 type ids and 31 lead ids."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.served import serve, served_client

pytestmark = pytest.mark.anyio

TYPE_IDS = [1, 2, 3, 6, 7, 10, 11, 12, 13, 22, 46]  # 11: two calls' worth of type ids
SEEDED_TYPES = [1, 2, 3, 6, 7, 10, 11, 22, 46]
LEADS = 1_000
ACTIVITIES = 20_000


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)  # real sockets: the real clocks


def _seed(path: Path) -> None:
    rng = random.Random(24)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    activities = [
        {
            "leadId": rng.randrange(1, LEADS + 1),
            "activityTypeId": SEEDED_TYPES[i % len(SEEDED_TYPES)],
            "activityDate": (start + dt.timedelta(seconds=rng.randrange(86_400 * 30))).isoformat(),
            "primaryAttributeValue": f"asset {i}",
            "attributes": {"n": i},
        }
        for i in range(ACTIVITIES - LEADS)  # each lead brings a New Lead activity too
    ]
    leads = [{"email": f"lead{i}@example.com", "firstName": "Ada"} for i in range(LEADS)]
    path.write_text(json.dumps({"leads": leads, "activities": activities}), encoding="utf-8")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A fresh server per test (and per event loop): one client alone within its limits."""
    folder = tmp_path
    seed, log = folder / "seed.json", folder / "log.jsonl"
    _seed(seed)
    # Seeded: the same calls fail in every run, some of them among the first few.
    faults = ["--fault-rate", "0.05", "--fault-codes", "608,604,502,drop", "--fault-seed", "30"]
    pages = ["--short-pages", "0.3", "--activity-log", str(log)]
    with serve(
        "--seed", str(seed), *pages, *faults, "--fault-paths", "^/rest/v1/activities"
    ) as url:
        yield url, log


def _log(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _ids(entries: list[dict[str, Any]], types: set[int], leads: set[int] | None = None) -> set[int]:
    return {
        e["id"]
        for e in entries
        if e["activityTypeId"] in types and (leads is None or e["leadId"] in leads)
    }


async def test_twenty_thousand_activities_each_once_a_cursor_mid_way_and_the_final_one(
    served: tuple[str, Path],
) -> None:
    url, log = served
    since = dt.datetime(2000, 1, 1)
    async with served_client(url) as client:
        before = _log(log)
        wanted = _ids(before, set(TYPE_IDS))
        first: list[int] = []
        pager = client.activities.list(TYPE_IDS, since=since)
        async for activity in pager:
            first.append(activity.id or 0)
            if len(first) == 9_999:
                break
        middle = pager.cursor
        assert middle is not None
        rest_pager = client.activities.list(TYPE_IDS, cursor=middle)
        rest = [activity.id async for activity in rest_pager]
        read = first + rest
        assert len(wanted) >= ACTIVITIES
        assert len(read) == len(set(read)) and set(read) == wanted  # each once, none missing
        final = rest_pager.cursor
        assert final is not None

        # More writes: changed names (Change Data Value) and new leads (New Lead).
        await client.leads.sync(
            [{"email": f"lead{i}@example.com", "firstName": "Grace"} for i in range(500)]
        )
        await client.leads.sync([{"email": f"new{i}@example.com"} for i in range(100)])
        after = _log(log)
        new = _ids(after, set(TYPE_IDS)) - wanted
        assert len(new) == 600
        later = [activity.id async for activity in client.activities.list(TYPE_IDS, cursor=final)]
        assert sorted(later) == sorted(new)

        # 31 lead ids: two calls' worth, merged into one stream.
        chosen = set(random.Random(3).sample(range(1, LEADS + 1), 31))
        found = [
            activity
            async for activity in client.activities.list(TYPE_IDS, since=since, lead_ids=chosen)
        ]
        assert sorted(a.id or 0 for a in found) == sorted(_ids(after, set(TYPE_IDS), chosen))
        stats = client.stats
    assert stats.rate_limited == stats.concurrency_limited == 0
    assert stats.errors["606"] == stats.errors["615"] == 0
    assert stats.retries > 0  # the injected faults were met and retried
