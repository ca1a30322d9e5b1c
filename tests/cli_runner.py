"""Running ``marketo-async`` in-process for tests: an isolated environment, one runner, reports.

``isolate`` drops every connection variable (LEADGEN_*, MARKETO_*) and moves into the test's
own directory, so no ./.env or setting of the machine leaks in; ``run_cli(state, args)``
invokes the command line with click's CliRunner on a state holding the test's emulators.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from marketo_async.cli import cli

REPO = Path(__file__).resolve().parents[1]

__all__ = [
    "CONNECTION_VARIABLES",
    "child_command",
    "child_env",
    "isolate",
    "read_report",
    "run_cli",
]

CONNECTION_VARIABLES = (
    "LEADGEN_BASE_URL",
    "LEADGEN_ACCOUNT_ID",
    "LEADGEN_SECRET_KEY",
    "MARKETO_BASE_URL",
    "MARKETO_MUNCHKIN_ID",
    "MARKETO_CLIENT_ID",
    "MARKETO_CLIENT_SECRET",
    "MARKETO_REDIS_URL",
    "MARKETO_REDIS_KEY",
)


def isolate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No connection variable and no ./.env leak in from the machine running the tests."""
    for name in CONNECTION_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_cli(
    state: Any,
    args: Iterable[str | Path],
    *,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
) -> Result:
    """``marketo-async ARGS`` in-process, with ``state`` as the click context object."""
    return CliRunner().invoke(
        cli,
        [str(arg) for arg in args],
        obj=state,
        env=dict(env or {}),
        input=input,
        catch_exceptions=False,
    )


def read_report(path: Path) -> list[dict[str, Any]]:
    """A JSONL report's entries (blank lines left out)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def child_command(*args: str | Path) -> list[str]:
    """``marketo-async ARGS`` as a child process's command line (this Python, this checkout)."""
    return [sys.executable, "-m", "marketo_async.cli", *map(str, args)]


def child_env() -> dict[str, str]:
    """The environment of a :func:`child_command`: this checkout importable, no MARKETO_*
    setting of the machine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKETO_")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env
