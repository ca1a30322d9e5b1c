"""A migrate whose source read fails mid-run: leads never sent are ``not_attempted``, never
``unknown``; only leads whose call went out may be unknown."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from marketo_async.testing import FakeLeadGen, FakeMarketo
from marketo_async.testing._wire import ApiError, FakeReply

from .conftest import LEADGEN_SECRET, Migrate, read_report


class _SourceFailsAfter(FakeLeadGen):
    """getLeads answers an error no retry gets past once ``pages`` pages were read."""

    def __init__(self, *, pages: int, **options: Any) -> None:
        super().__init__(**options)
        self.pages = pages

    async def _dispatch(self, method: str, params: Any, call_id: str) -> FakeReply:
        if method == "getLeads":
            self.pages -= 1
            if self.pages < 0:
                return self._error(call_id, ApiError("102", "Invalid API key"))
        return await super()._dispatch(method, params, call_id)


def test_leads_never_sent_after_a_source_failure_are_not_attempted(
    mk: FakeMarketo, migrate: Migrate, tmp_path: Path
) -> None:
    lg = _SourceFailsAfter(pages=3, secret_key=LEADGEN_SECRET)
    for n in range(3_000):
        lg.add_lead(emailAddress=f"u{n}@example.com")
    report = tmp_path / "r.jsonl"
    result = migrate(lg, mk, "--report", report)
    assert result.exit_code != 0
    statuses = Counter(line["status"] for line in read_report(report))
    assert "unknown" not in statuses, statuses
    assert statuses["not_attempted"] > 0
    assert statuses["created"] == len(mk.leads)
    assert "The run failed: [102] Invalid API key on getLeads" in result.output
    assert "Traceback" not in result.output
