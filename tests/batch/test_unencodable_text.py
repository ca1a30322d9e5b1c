"""Text UTF-8 cannot encode (a lone surrogate, in a key or a value, nested too) is refused per
record before any call, in the Marketo and Lead Gen & CRM clients; the run never raises."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from marketo_async._batch import LOCAL_VALIDATION, WriteOptions, json_size, run_batches
from marketo_async._batch._sizes import unsendable
from marketo_async._errors import RequestError
from marketo_async._transport._wire import _encode_json
from marketo_async.testing import FakeLeadGen, FakeMarketo

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("record", "named"),
    [
        ({"firstName": "Ann\ud800"}, "field 'firstName' holds a lone surrogate '\\ud800'"),
        ({"k\udc80": 1}, "a field named 'k\\udc80' with a lone surrogate '\\udc80'"),
        ({"address": {"city": "x\udfff"}}, "field 'address.city' holds a lone surrogate"),
        ({"tags": ["ok", "\ud83d"]}, "field 'tags[1]' holds a lone surrogate '\\ud83d'"),
    ],
)
def test_a_lone_surrogate_is_named_by_its_field(record: dict[str, Any], named: str) -> None:
    why = unsendable(record)
    assert why is not None and named in why
    with pytest.raises(ValueError):
        json_size(record)


def test_a_surrogate_pair_and_other_text_are_sent() -> None:
    record = {"firstName": "Zoë 😀", "名前": "テスト"}
    assert unsendable(record) is None
    assert json_size(record) == len(_encode_json(record, "/x"))


def test_the_wire_encoder_refuses_a_lone_surrogate_as_a_request_error() -> None:
    with pytest.raises(RequestError, match="nothing was sent"):
        _encode_json({"input": [{"firstName": "\ud800"}]}, "/rest/v1/leads.json")


async def test_a_record_with_a_lone_surrogate_fails_alone_and_the_rest_are_sent() -> None:
    sent: list[Any] = []

    async def send(batch: Sequence[Any]) -> list[dict[str, Any]]:
        sent.extend(batch)
        return [{"status": "created", "id": i + 1} for i in range(len(batch))]

    records: list[dict[str, Any]] = [{"email": f"u{i}@x.com"} for i in range(700)]
    records[650] = {"email": "bad@x.com", "nested": {"deep\ud800": "v"}}
    report = await run_batches(records, send)
    assert report.counts == {"created": 699, "failed": 1}
    (reason,) = report.outcomes[650].reasons
    assert reason.code == LOCAL_VALIDATION and "'nested'" in reason.message
    assert len(sent) == 699 and records[650] not in sent


async def test_leads_sync_refuses_the_record_with_a_lone_surrogate_and_writes_the_rest() -> None:
    fake = FakeMarketo()
    rows: list[dict[str, Any]] = [{"email": f"u{i}@x.com"} for i in range(6_000)]
    rows[5_000]["firstName"] = "\ud800"
    async with fake.client() as client:
        report = await client.leads.sync(rows)
    assert report.counts == {"created": 5_999, "failed": 1}
    outcome = report.outcomes[5_000]
    assert outcome.status == "failed" and "field 'firstName'" in outcome.reasons[0].message
    assert len(fake.leads) == 5_999


async def test_lead_gen_create_refuses_the_record_with_a_lone_surrogate() -> None:
    fake = FakeLeadGen()
    rows = [{"emailAddress": f"u{i}@x.com", "firstName": "x"} for i in range(10)]
    rows[3]["firstName"] = "a\udc80"
    async with fake.client() as lg:
        report = await lg.leads.create(rows)
    assert report.counts == {"created": 9, "failed": 1}
    assert "field 'firstName'" in report.outcomes[3].reasons[0].message


async def test_a_bug_after_calls_went_out_leaves_never_sent_records_not_attempted() -> None:
    calls = 0

    async def send(batch: Sequence[Any]) -> list[dict[str, Any]]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise KeyError("a bug in send")
        return [{"status": "created", "id": 1}] * len(batch)

    seen: dict[int, str] = {}
    with pytest.raises(KeyError):
        await run_batches(
            [{"email": f"u{i}@x.com"} for i in range(3_000)],
            send,
            WriteOptions(
                on_outcome=lambda outcome: seen.__setitem__(outcome.index, outcome.status)
            ),
            max_in_flight=1,
        )
    sent = 300 * calls
    assert {seen.get(i) for i in range(300, 600)} == {"unknown"}  # the call that raised
    never_sent = [status for index, status in seen.items() if index >= sent]
    assert never_sent and set(never_sent) == {"not_attempted"}
