"""Credentials on the command line: a wrong secret is one line with its fix and leaves no
report; the emulator's built-in credentials are used only when asked for by name."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from anyio.from_thread import start_blocking_portal

from marketo_async.testing import FakeMarketo
from tests.cli.conftest import EXAMPLES, Invoke, read_report, write_csv


@pytest.fixture
def served() -> Iterator[tuple[FakeMarketo, str]]:
    fake = FakeMarketo()
    with start_blocking_portal() as portal:
        server, port = portal.start_task(fake.serve, 0)
        try:
            yield fake, f"http://127.0.0.1:{port}"
        finally:
            server.cancel()


def _source(tmp_path: Path) -> Path:
    return write_csv(
        tmp_path / "in.csv", [{"email": "a@x.com", "firstName": "A"}], ["email", "firstName"]
    )


def test_a_wrong_secret_is_one_line_with_the_fix_and_no_report(
    served: tuple[FakeMarketo, str], tmp_path: Path
) -> None:
    fake, url = served
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKETO_")}
    env.update(
        MARKETO_CLIENT_ID=fake.client_id,
        MARKETO_CLIENT_SECRET="not-the-secret",
        PYTHONPATH=str(EXAMPLES.parent),
    )
    done = subprocess.run(
        [sys.executable, "-m", "marketo_async.cli", "leads", "upsert", _source(tmp_path),
         "--base-url", url, "--report", tmp_path / "r.jsonl"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith("Error: Marketo identity refused the credentials")
    assert "Nothing was sent. Fix: check MARKETO_CLIENT_ID and MARKETO_CLIENT_SECRET" in done.stderr
    assert "not-the-secret" not in done.stderr + done.stdout
    assert not (tmp_path / "r.jsonl").exists() and fake.leads == {}


def test_a_loopback_url_alone_never_picks_the_emulator_credentials(
    invoke: Invoke, served: tuple[FakeMarketo, str], tmp_path: Path
) -> None:
    fake, url = served
    source = _source(tmp_path)
    refused = invoke(None, "leads", "upsert", source, "--base-url", url)
    assert refused.exit_code == 2
    assert "not configured" in refused.output and "--sandbox-credentials" in refused.output
    report = tmp_path / "r.jsonl"
    result = invoke(
        None, "leads", "upsert", source, "--base-url", url, "--sandbox-credentials",
        "--report", report,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert [entry["status"] for entry in read_report(report)] == ["created"]
    assert len(fake.leads) == 1


def test_sandbox_credentials_are_refused_for_a_real_host(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke(
        None, "describe", "--base-url", "https://123-ABC-456.mktorest.com", "--sandbox-credentials"
    )
    assert result.exit_code == 2 and "is for a local emulator" in result.output
