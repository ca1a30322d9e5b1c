"""Shared helpers for the command-line tests: an isolated environment and a CLI runner.

``invoke(fake, ...)`` runs ``marketo-async`` in-process with click's CliRunner; ``--sandbox``
commands then use ``fake`` (a FakeMarketo the test seeded and inspects afterwards).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from marketo_async import RetryPolicy
from marketo_async.cli._state import CliState
from marketo_async.testing import FakeMarketo
from tests.cli_runner import isolate, read_report, run_cli

__all__ = ["EXAMPLES", "REPO", "Invoke", "by_row", "read_report", "write_csv", "write_lines"]

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"

Invoke = Callable[..., Result]


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return isolate(monkeypatch, tmp_path)


@pytest.fixture
def invoke() -> Invoke:
    def run(
        fake: FakeMarketo | None,
        *args: str | Path,
        env: Mapping[str, str] | None = None,
        input: str | None = None,
    ) -> Result:
        state = CliState(sandbox=fake, client_options={"retry": RetryPolicy.no_wait()})
        return run_cli(state, args, env=env, input=input)

    return run


def write_csv(path: Path, rows: Iterable[Mapping[str, Any]], fields: list[str]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_lines(path: Path, lines: Iterable[str]) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def by_row(entries: Iterable[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    rows: dict[int, list[dict[str, Any]]] = {}
    for entry in entries:
        rows.setdefault(entry["row"], []).append(entry)
    return rows
