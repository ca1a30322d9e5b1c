"""Running ``marketo-async migrate leadgen-to-marketo`` in-process on both emulators.

``migrate(lg, mk, *args)`` invokes the command with ``--sandbox`` on the FakeLeadGen and
FakeMarketo a test seeded, so the test can inspect both afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from marketo_async import RetryPolicy
from marketo_async.cli import cli
from marketo_async.cli._leadgen import LeadGenCliState
from marketo_async.testing import FakeLeadGen, FakeMarketo

LEADGEN_SECRET = "lg-secret-5d1e-never-print-me"
MARKETO_SECRET = "mk-secret-88a0-never-print-me"

Migrate = Callable[..., Result]


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No LEADGEN_*/MARKETO_* variable and no ./.env leak in from the machine."""
    for name in (
        "LEADGEN_BASE_URL",
        "LEADGEN_ACCOUNT_ID",
        "LEADGEN_SECRET_KEY",
        "MARKETO_BASE_URL",
        "MARKETO_MUNCHKIN_ID",
        "MARKETO_CLIENT_ID",
        "MARKETO_CLIENT_SECRET",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


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
        return CliRunner().invoke(
            cli,
            ["migrate", "leadgen-to-marketo", "--sandbox", "--progress", "off"]
            + [str(arg) for arg in args],
            obj=state,
            catch_exceptions=False,
        )

    return run


def read_report(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def by_key(lines: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {line["key"]: line for line in lines if "key" in line}
