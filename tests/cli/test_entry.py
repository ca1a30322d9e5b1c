"""The program's exit: Ctrl-C and SIGTERM before a run starts, and user-caused errors, are one
line and 130/143/1, never ``Aborted!`` or a silent kill or a traceback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.conftest import EXAMPLES

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


@pytest.mark.parametrize(
    ("signum", "name", "status"),
    [(signal.SIGINT, "SIGINT", 130), (signal.SIGTERM, "SIGTERM", 143)],
)
def test_a_signal_while_the_first_call_waits_is_one_line_and_the_signals_status(
    tmp_path: Path, signum: int, name: str, status: int
) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        command = subprocess.Popen(
            [
                *(sys.executable, "-m", "marketo_async.cli", "leads", "upsert"),
                *(str(EXAMPLES / "leads.csv"), "--base-url", f"http://127.0.0.1:{port}"),
                *("--report", "r.jsonl"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            env={**os.environ, "MARKETO_CLIENT_ID": "id", "MARKETO_CLIENT_SECRET": "secret"},
        )
        server.settimeout(60)
        conn, _ = server.accept()  # the token request: never answered
        with conn:
            time.sleep(0.2)
            command.send_signal(signum)
            _, err = command.communicate(timeout=60)
    assert command.returncode == status, err
    assert "Traceback" not in err and "Aborted!" not in err
    assert err.strip().splitlines()[-1] == f"Interrupted ({name}); exit status {status}."
    assert not (tmp_path / "r.jsonl").exists() or (tmp_path / "r.jsonl").stat().st_size == 0
