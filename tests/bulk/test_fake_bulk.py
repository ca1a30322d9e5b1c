"""FakeMarketo's bulk endpoints over raw HTTP: queue limits, status lag, files and Range."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest

from marketo_async.testing import FakeMarketo

from .conftest import START, add_leads_over

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def raw(fake: FakeMarketo) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=fake.transport, base_url=fake.base_url) as http:
        token = (
            await http.post(
                "/identity/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": fake.client_id,
                    "client_secret": fake.client_secret,
                },
            )
        ).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        yield http


def _csv(rows: int) -> bytes:
    return ("email,firstName\n" + "".join(f"u{i}@x.com,U{i}\n" for i in range(rows))).encode()


async def _import(http: httpx.AsyncClient, content: bytes) -> dict[str, Any]:
    response = await http.post(
        "/bulk/v1/leads.json",
        params={"format": "csv"},
        files={"file": ("leads.csv", content, "text/csv")},
    )
    return dict(response.json())


async def test_the_eleventh_held_import_gets_1016(fake: FakeMarketo) -> None:
    async with raw(fake) as http:
        answers = [await _import(http, _csv(3)) for _ in range(11)]
    assert all(a["success"] for a in answers[:10])
    assert answers[10]["errors"] == [{"code": "1016", "message": "Too many imports"}]


async def test_imports_run_two_at_a_time_in_order(fake: FakeMarketo) -> None:
    fake.bulk.settings.import_seconds = 10.0
    async with raw(fake) as http:
        ids = [(await _import(http, _csv(2)))["result"][0]["batchId"] for _ in range(3)]

        async def states() -> list[str]:
            return [
                (await http.get(f"/bulk/v1/leads/batch/{i}.json")).json()["result"][0]["status"]
                for i in ids
            ]

        assert await states() == ["Importing", "Importing", "Queued"]
        await anyio.sleep(10.5)
        assert await states() == ["Complete", "Complete", "Importing"]
        status = (await http.get(f"/bulk/v1/leads/batch/{ids[0]}.json")).json()["result"][0]
    assert status["numOfLeadsProcessed"] == 2 and status["numOfRowsFailed"] == 0
    # the first two ran side by side and both created the two leads (Marketo's race); the
    # third started after them and updated
    assert len(fake.leads) == 4
    assert [group.key for group in fake.duplicates()] == ["u0@x.com", "u1@x.com"]


async def test_failures_file_keeps_the_row_and_adds_the_reason(fake: FakeMarketo) -> None:
    content = b'email,firstName\nok@x.com,"Smith, ""Jo""\nline"\nnot-an-email,Bad\n'
    async with raw(fake) as http:
        batch = (await _import(http, content))["result"][0]["batchId"]
        await anyio.sleep(60)
        status = (await http.get(f"/bulk/v1/leads/batch/{batch}.json")).json()["result"][0]
        failures = (await http.get(f"/bulk/v1/leads/batch/{batch}/failures.json")).text
    assert status["status"] == "Complete"
    assert (status["numOfLeadsProcessed"], status["numOfRowsFailed"]) == (1, 1)
    assert (
        failures
        == "email,firstName,Import Failure Reason\nnot-an-email,Bad,Invalid email address\n"
    )
    (lead,) = fake.find_leads("email", "ok@x.com")
    assert lead["firstName"] == 'Smith, "Jo"\nline'


async def test_an_import_file_over_10_mb_gets_413(fake: FakeMarketo) -> None:
    big = b"email\n" + b"a@example.com\n" * (10 * 1024 * 1024 // 14 + 10)
    async with raw(fake) as http:
        response = await http.post(
            "/bulk/v1/leads.json", params={"format": "csv"}, files={"file": ("a.csv", big)}
        )
    assert response.status_code == 413


async def _export(http: httpx.AsyncClient, days: int = 1) -> str:
    body = {
        "fields": ["email"],
        "filter": {
            "createdAt": {
                "startAt": START.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "endAt": (START + dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        },
    }
    created = (await http.post("/bulk/v1/leads/export/create.json", json=body)).json()
    return str(created["result"][0]["exportId"])


async def test_the_eleventh_queued_export_gets_1029_and_requeueing_too(fake: FakeMarketo) -> None:
    async with raw(fake) as http:
        ids = [await _export(http) for _ in range(11)]
        answers = [(await http.post(f"/bulk/v1/leads/export/{i}/enqueue.json")).json() for i in ids]
        again = (await http.post(f"/bulk/v1/leads/export/{ids[0]}/enqueue.json")).json()
    assert all(a["success"] for a in answers[:10])
    assert answers[10]["errors"][0] == {"code": "1029", "message": "Too many jobs in queue"}
    assert again["errors"][0] == {"code": "1029", "message": "Job already queued"}


async def test_a_range_over_31_days_is_refused(fake: FakeMarketo) -> None:
    async with raw(fake) as http:
        body = {
            "fields": ["email"],
            "filter": {
                "updatedAt": {"startAt": "2024-01-01T00:00:00Z", "endAt": "2024-02-02T00:00:00Z"}
            },
        }
        answer = (await http.post("/bulk/v1/leads/export/create.json", json=body)).json()
    assert answer["errors"][0]["code"] == "1003"


async def test_export_status_changes_once_a_minute_and_the_file_answers_ranges(
    fake: FakeMarketo,
) -> None:
    add_leads_over(fake, 10, every=dt.timedelta(hours=1))
    fake.bulk.settings.export_seconds = 5.0
    async with raw(fake) as http:
        export_id = await _export(http)
        early = await http.get(f"/bulk/v1/leads/export/{export_id}/file.json")
        await http.post(f"/bulk/v1/leads/export/{export_id}/enqueue.json")
        await anyio.sleep(30)
        status = await http.get(f"/bulk/v1/leads/export/{export_id}/status.json")
        assert status.json()["result"][0]["status"] == "Queued"  # done, but not shown yet
        await anyio.sleep(31)
        view = (await http.get(f"/bulk/v1/leads/export/{export_id}/status.json")).json()
        whole = await http.get(f"/bulk/v1/leads/export/{export_id}/file.json")
        part = await http.get(
            f"/bulk/v1/leads/export/{export_id}/file.json", headers={"Range": "bytes=6-"}
        )
        beyond = await http.get(
            f"/bulk/v1/leads/export/{export_id}/file.json", headers={"Range": "bytes=9999-"}
        )
    assert early.status_code == 404 and early.headers["content-type"].startswith("text/plain")
    result = view["result"][0]
    assert result["status"] == "Completed" and result["numberOfRecords"] == 10
    assert result["fileSize"] == len(whole.content)
    assert result["fileChecksum"] == "sha256:" + hashlib.sha256(whole.content).hexdigest()
    assert whole.text.startswith("email\nlead0@example.com\n")
    assert part.status_code == 206 and part.content == whole.content[6:]
    assert part.headers["content-range"] == f"bytes 6-{len(whole.content) - 1}/{len(whole.content)}"
    assert beyond.status_code == 416
    assert fake.bulk.export_bytes_used == len(whole.content)


async def test_an_import_file_the_csv_reader_cannot_read_is_refused_not_a_crash(
    fake: FakeMarketo,
) -> None:
    content = b"email,firstName\na@x.com," + b"h" * 200_000 + b"\n"
    limit = csv.field_size_limit(131_072)  # Python's default, whatever another module set
    try:
        async with raw(fake) as http:
            answer = await _import(http, content)
    finally:
        csv.field_size_limit(limit)
    assert answer["success"] is False
    assert answer["errors"][0]["code"] == "1003"
