"""Running ``marketo-async migrate leadgen-to-marketo`` in-process on both emulators.

``migrate(lg, mk, *args)`` invokes the command with ``--sandbox`` on the FakeLeadGen and
FakeMarketo a test seeded, so the test can inspect both afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from marketo_async import RetryPolicy
from marketo_async.cli._leadgen import LeadGenCliState
from marketo_async.testing import FakeLeadGen, FakeMarketo
from tests.cli_runner import isolate, read_report, run_cli

__all__ = ["LEADGEN_SECRET", "MARKETO_SECRET", "Migrate", "by_key", "read_report"]

LEADGEN_SECRET = "lg-secret-5d1e-never-print-me"
MARKETO_SECRET = "mk-secret-88a0-never-print-me"

Migrate = Callable[..., Result]


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return isolate(monkeypatch, tmp_path)


@pytest.fixture
def lg() -> FakeLeadGen:
    return FakeLeadGen(secret_key=LEADGEN_SECRET)


@pytest.fixture
def mk() -> FakeMarketo:
    return FakeMarketo(client_secret=MARKETO_SECRET)


@pytest.fixture
def migrate() -> Migrate:
    def run(lg: FakeLeadGen, mk: FakeMarketo, *args: str | Path) -> Result:
        state = LeadGenCliState(
            sandbox=mk, leadgen=lg, client_options={"retry": RetryPolicy.no_wait()}
        )
        command = ("migrate", "leadgen-to-marketo", "--sandbox", "--progress", "off")
        return run_cli(state, (*command, *args))

    return run


def by_key(lines: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {line["key"]: line for line in lines if "key" in line}
