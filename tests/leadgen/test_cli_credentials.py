"""The Lead Gen & CRM emulator's built-in credentials are used only when asked for by name."""

from __future__ import annotations

from pathlib import Path

import pytest
from anyio.from_thread import start_blocking_portal
from click.testing import CliRunner

from marketo_async import RetryPolicy
from marketo_async.cli import cli
from marketo_async.cli._leadgen import LeadGenCliState
from marketo_async.testing import FakeLeadGen


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("LEADGEN_BASE_URL", "LEADGEN_ACCOUNT_ID", "LEADGEN_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_loopback_url_alone_never_picks_the_emulator_credentials(tmp_path: Path) -> None:
    fake = FakeLeadGen()
    source = tmp_path / "in.csv"
    source.write_text("emailAddress,firstName\na@x.com,A\n", encoding="utf-8")
    state = LeadGenCliState(client_options={"retry": RetryPolicy.no_wait()})
    with start_blocking_portal() as portal:
        server, port = portal.start_task(fake.serve, 0)
        url = f"http://127.0.0.1:{port}/pubapi/v1.2/"
        command = ["leadgen", "leads", "upsert", str(source), "--base-url", url]
        refused = CliRunner().invoke(cli, command, obj=state, catch_exceptions=False)
        done = CliRunner().invoke(
            cli, [*command, "--sandbox-credentials"], obj=state, catch_exceptions=False
        )
        server.cancel()
    assert refused.exit_code == 2 and "not configured" in refused.output
    assert "--sandbox-credentials" in refused.output
    assert done.exit_code == 0, done.output
    assert len(fake.store.leads) == 1
