"""Fixtures for the Lead Gen & CRM tests: a recording MockTransport and the emulator."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from marketo_async import RetryPolicy
from marketo_async.leadgen import LeadGenClient
from marketo_async.testing import FakeLeadGen

ACCOUNT = "ACCT-42"
SECRET = "sk-9f8e7d6c5b4a-very-secret"
BASE = "https://api.sharpspring.com/pubapi/v1.2/"


class Recorder:
    """A MockTransport handler: records every request, answers from ``answers`` (in order)
    or with ``default(body)``."""

    def __init__(self, default: Callable[[dict[str, Any]], Any] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.answers: list[httpx.Response] = []
        self.default = default or (lambda body: {"result": {}, "error": None, "id": body["id"]})

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.answers:
            return self.answers.pop(0)
        body = json.loads(request.content)
        return httpx.Response(200, json=self.default(body))

    def body(self, index: int = -1) -> dict[str, Any]:
        return dict(json.loads(self.requests[index].content))


def envelope(result: Any, error: Any = None, call_id: str | None = None) -> dict[str, Any]:
    return {"result": result, "error": error, "id": call_id}


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def mock_client(recorder: Recorder) -> LeadGenClient:
    return LeadGenClient(
        account_id=ACCOUNT,
        secret_key=SECRET,
        transport=httpx.MockTransport(recorder),
        retry=RetryPolicy.no_wait(max_attempts=4),
    )


@pytest.fixture
def fake() -> FakeLeadGen:
    return FakeLeadGen(secret_key=SECRET, account_id=ACCOUNT, latency=0.1)
