"""Shared helpers for the bulk tests: leads stamped at chosen times, a fast emulator."""

from __future__ import annotations

import datetime as dt

import pytest

from marketo_async import MarketoClient, RetryPolicy
from marketo_async.testing import FakeMarketo

START = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)


def stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def add_leads_over(
    fake: FakeMarketo, count: int, *, start: dt.datetime = START, every: dt.timedelta
) -> list[int]:
    """``count`` leads, the i-th created and updated at ``start + i * every``."""
    ids = []
    for i in range(count):
        lead_id = fake.add_lead(email=f"lead{i}@example.com", firstName=f"Lead {i}")
        moment = stamp(start + i * every)
        fake.store.leads[lead_id]["createdAt"] = moment
        fake.store.leads[lead_id]["updatedAt"] = moment
        ids.append(lead_id)
    return ids


@pytest.fixture
def fake() -> FakeMarketo:
    return FakeMarketo()


def client_of(fake: FakeMarketo) -> MarketoClient:
    return fake.client(retry=RetryPolicy.no_wait())
