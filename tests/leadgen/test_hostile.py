"""The Lead Gen & CRM client fed answers a careless or broken server could send."""

from __future__ import annotations

from typing import Any

import pytest

from marketo_async._batch import NO_RESULT
from marketo_async.leadgen import LeadGenClient

from .conftest import SECRET, Recorder, envelope
from .test_client import _assert_no_secret

pytestmark = pytest.mark.anyio

EMAILS = [f"lead{i}@example.com" for i in range(3)]


def _echoing_the_secret(body: dict[str, Any]) -> dict[str, Any]:
    echo = f"invalid key in /pubapi/v1.2/?accountID=A&secretKey={SECRET}"
    return envelope(None, {"code": 102, "message": echo, "data": {}})


def _short_answer(body: dict[str, Any]) -> dict[str, Any]:
    # One entry for three objects sent.
    return {"result": {"creates": [{"success": True, "error": None, "id": 7}]}, "error": []}


async def test_a_record_the_answer_leaves_out_is_unknown_in_lead_gen_terms(
    recorder: Recorder, mock_client: LeadGenClient
) -> None:
    recorder.default = _short_answer
    async with mock_client as lg:
        report = await lg.leads.create([{"emailAddress": e} for e in EMAILS])
    assert [o.status for o in report.outcomes] == ["created", "unknown", "unknown"]
    for outcome in report.outcomes[1:]:
        (reason,) = outcome.reasons
        assert reason.code == NO_RESULT
        assert "Lead Gen & CRM" in reason.message and "Marketo" not in reason.message


@pytest.mark.parametrize("raw_id", [2**80, -5, "12x", 0])
async def test_an_impossible_id_in_a_success_entry_is_dropped_not_raised(
    recorder: Recorder, mock_client: LeadGenClient, raw_id: Any
) -> None:
    recorder.default = lambda body: {
        "result": {"creates": [{"success": True, "error": None, "id": raw_id}] * 2},
        "error": [],
        "id": body["id"],
    }
    async with mock_client as lg:
        report = await lg.leads.create([{"emailAddress": e} for e in EMAILS[:2]])
    assert [(o.status, o.id) for o in report.outcomes] == [("created", None)] * 2


async def test_a_server_that_echoes_the_secret_key_in_an_error_never_passes_it_on(
    recorder: Recorder, mock_client: LeadGenClient
) -> None:
    # (The secret stays out of this frame's locals: the error's traceback includes it.)
    recorder.default = _echoing_the_secret
    async with mock_client as lg:
        with pytest.raises(Exception) as caught:
            await lg.leads.get(5)
        report = await lg.leads.create([{"emailAddress": EMAILS[0]}])
    _assert_no_secret(caught.value)
    assert "secretKey=********" in str(caught.value)
    error = report.outcomes[0].error
    assert error is not None
    _assert_no_secret(error)
