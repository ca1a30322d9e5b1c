"""A stateful Marketo Engage emulator for tests, sandboxes and benchmarks.

Example::

    from marketo_async.testing import FakeMarketo

    fake = FakeMarketo(latency=0.01)
    fake.add_lead(email="a@example.com")
    async with fake.client() as client:
        body = await client.request("GET", "/rest/v1/leads.json",
                                    params={"filterType": "email", "filterValues": "a@example.com"})
"""

from ._bulk import BulkSettings
from ._emulator import FakeTransport, Latency
from ._fake import FakeMarketo
from ._faults import Fault, Faults
from ._leadgen import FakeLeadGen, LeadGenStats
from ._stats import CallRecord, Stats
from ._store import DuplicateGroup

__all__ = [
    "BulkSettings",
    "CallRecord",
    "DuplicateGroup",
    "FakeLeadGen",
    "FakeMarketo",
    "FakeTransport",
    "Fault",
    "Faults",
    "Latency",
    "LeadGenStats",
    "Stats",
]
