"""The program's exit: Ctrl-C and SIGTERM before a run starts, and user-caused errors, are one
line and 130/143/1, never ``Aborted!`` or a silent kill or a traceback."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import click
import pytest

from marketo_async.cli._entry import run_command
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


# ------------------------------------------------------------------ signals inside a task group


def _command(body: Callable[[], Awaitable[None]], backend: str) -> click.Command:
    """A command whose event loop runs ``body`` in a task group beside a sleeping task, as
    every command with progress (or a server) does."""

    @click.command()
    def command() -> None:
        async def go() -> None:
            async with anyio.create_task_group() as group:
                group.start_soon(anyio.sleep, 60)
                await body()
                group.cancel_scope.cancel()

        anyio.run(go, backend=backend)

    return command


def _run(command: click.Command, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        run_command(command, [], "marketo-async")
    code = exit_info.value.code
    return (code if isinstance(code, int) else -1), capsys.readouterr().err


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_sigterm_while_a_task_group_runs_is_one_line_and_143(
    capsys: pytest.CaptureFixture[str], backend: str
) -> None:
    async def body() -> None:
        os.kill(os.getpid(), signal.SIGTERM)  # the handler raises in this task
        await anyio.sleep(60)

    status, err = _run(_command(body, backend), capsys)
    assert status == 143, err
    assert err.strip().splitlines() == ["Interrupted (SIGTERM); exit status 143."]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler is put back


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_sigint_raised_in_a_task_of_a_group_is_one_line_and_130(
    capsys: pytest.CaptureFixture[str], backend: str
) -> None:
    async def body() -> None:
        async def interrupted() -> None:
            raise KeyboardInterrupt

        async with anyio.create_task_group() as inner:  # the group wraps it
            inner.start_soon(interrupted)
            await anyio.sleep(60)

    status, err = _run(_command(body, backend), capsys)
    assert status == 130, err
    assert err.strip().splitlines() == ["Interrupted (SIGINT); exit status 130."]


def test_sigterm_during_an_asyncio_callback_is_not_swallowed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # asyncio logs and drops any other BaseException raised in a callback or a socket write;
    # the command then said it had finished, exit 0.
    async def body() -> None:
        asyncio.get_running_loop().call_soon(os.kill, os.getpid(), signal.SIGTERM)
        await anyio.sleep(60)

    status, err = _run(_command(body, "asyncio"), capsys)
    assert status == 143, err
    assert "Traceback" not in err and "Exception in callback" not in err


def test_an_error_that_is_no_signal_inside_a_group_still_raises() -> None:
    async def body() -> None:
        raise LookupError("a bug")

    with pytest.raises(BaseException) as raised:  # not SystemExit: the bug shows
        run_command(_command(body, "asyncio"), [], "marketo-async")
    assert raised.group_contains(LookupError)
