"""Seeding from a mapping, from a JSON file, and the command line."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from marketo_async.testing import FakeMarketo
from marketo_async.testing.__main__ import _parser, _rate_limits

pytestmark = pytest.mark.anyio
Connect = Any  # the conftest fixture: connect(fake) -> async context of httpx.AsyncClient

SEED = {
    "leadFields": [{"name": "acmeTier", "dataType": "string", "displayName": "Acme Tier"}],
    "partitions": [{"name": "Europe", "description": "EU leads"}],
    "leads": [
        {"id": 318581, "email": "abe@usa.gov", "firstName": "Abraham", "acmeTier": "gold"},
        {"id": 318592, "email": "george@usa.gov", "partitionName": "Europe"},
    ],
    "lists": [{"id": 1021, "name": "Foundation Seed List", "leadIds": [318581]}],
    "programs": [
        {"id": 1044, "name": "Webinar", "members": [{"leadId": 318592, "statusName": "Influenced"}]}
    ],
    "smartCampaigns": [{"id": 3746, "name": "Nurture", "leadIds": [318581]}],
    "forms": [{"id": 1029, "name": "Contact", "fields": ["email", "firstName"]}],
}


async def test_seed_file_loads_every_kind(connect: Connect, tmp_path: Path) -> None:
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(SEED), encoding="utf-8")
    fake = FakeMarketo()
    fake.seed_file(path)
    assert fake.list_members(1021) == {318581}
    assert fake.program_members(1044) == {318592: "Influenced"}
    async with connect(fake) as http:
        body = (
            await http.get(
                "/rest/v1/leads.json", params={"filterType": "acmeTier", "filterValues": "gold"}
            )
        ).json()
        new = (
            await http.post("/rest/v1/leads.json", json={"input": [{"email": "new@example.com"}]})
        ).json()
    assert [lead["id"] for lead in body["result"]] == [318581]
    assert new["result"][0]["id"] == 318593  # ids continue after the seeded ones
    assert fake.leads[318592]["leadPartitionId"] == 2


def test_command_line_options() -> None:
    args = _parser().parse_args(
        ["serve", "--port", "0", "--calls", "100", "--period", "20", "--concurrency", "10"]
    )
    limits = _rate_limits(args)
    assert limits is not None and (limits.calls, limits.concurrency) == (100, 10)
    assert _rate_limits(_parser().parse_args(["serve"])) is None


@pytest.mark.parametrize("command", ["serve", "serve-leadgen"])
def test_the_emulator_command_stopped_by_ctrl_c_exits_130(command: str) -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "marketo_async.testing", command, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    assert " serving http://127.0.0.1:" in server.stdout.readline()
    server.send_signal(signal.SIGINT)
    _, err = server.communicate(timeout=30)
    assert server.returncode == 130, err
    assert "Traceback" not in err
