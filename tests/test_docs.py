"""Every Python block of the README and the documentation site runs as pasted.

Each block runs on its own (a fresh namespace, as ``python block.py`` would), against the
emulators the Getting started page tells a reader to start: FakeMarketo served with
``examples/sandbox_seed.json`` and FakeLeadGen, reached through ``MARKETO_*``/``LEADGEN_*``
variables and ``from_env()``, or against emulator objects the block builds itself. A block
holding a pytest test (``def test_``) runs under pytest in a fresh directory. A block under an
HTML comment with the word ``skip`` (``<!-- skip: needs a real instance -->``) is not run.
"""

from __future__ import annotations

import contextlib
import os
import re
import runpy
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import attrs
import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
SKIP_MARKER = re.compile(r"<!--[^>]*\bskip\b[^>]*-->\s*$")
BLOCK_TIME_LIMIT_S = 60


@attrs.frozen
class Block:
    """One fenced Python block: where it is and what it says."""

    path: Path
    line: int
    code: str
    skipped: bool

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def blocks_in(path: Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    found = []
    for match in BLOCK.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        line = text.count("\n", 0, match.start()) + 1
        skipped = SKIP_MARKER.search(before) is not None
        found.append(Block(path, line, match.group(1), skipped))
    return found


BLOCKS = [block for path in documents() for block in blocks_in(path)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def _served(*args: str) -> Iterator[int]:
    """``python -m marketo_async.testing ARGS --port P`` until the block's tests are done."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "marketo_async.testing", *args, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    try:
        assert server.stdout is not None
        banner = server.stdout.readline()
        assert "serving" in banner, banner + server.stdout.read()
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(scope="module")
def emulators() -> Iterator[dict[str, str]]:
    """The variables Getting started sets after starting the two emulators."""
    seed = "examples/sandbox_seed.json"
    with (
        _served("serve", "--seed", seed, "--status-interval", "1", "--export-seconds", "1") as p,
        _served("serve-leadgen") as leadgen_port,
    ):
        yield {
            "MARKETO_BASE_URL": f"http://127.0.0.1:{p}",
            "MARKETO_CLIENT_ID": "fake-client-id",
            "MARKETO_CLIENT_SECRET": "fake-client-secret",
            "LEADGEN_BASE_URL": f"http://127.0.0.1:{leadgen_port}/pubapi/v1.2/",
            "LEADGEN_ACCOUNT_ID": "fake-account",
            "LEADGEN_SECRET_KEY": "fake-secret-key",
        }


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str | None]:
    """A redis-server on loopback for the fleet guide's block, when one is installed."""
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    port = _free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


def _time_limit(signum: int, frame: FrameType | None) -> None:
    raise TimeoutError(f"the block ran over {BLOCK_TIME_LIMIT_S} s")


def _run_pytest_block(block: Block, tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "test_pasted.py").write_text(block.code, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_pasted.py"],
        capture_output=True,
        text=True,
        timeout=BLOCK_TIME_LIMIT_S * 2,
        cwd=tmp_path,
        env={**os.environ, **env},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^\d+ passed", done.stdout, re.MULTILINE), done.stdout


def _run_script_block(block: Block, tmp_path: Path) -> None:
    script = tmp_path / "pasted.py"
    script.write_text(block.code, encoding="utf-8")
    previous = signal.signal(signal.SIGALRM, _time_limit)
    signal.alarm(BLOCK_TIME_LIMIT_S)
    try:
        runpy.run_path(str(script), run_name="__main__")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_the_documents_hold_python_blocks_and_few_are_skipped() -> None:
    assert len(BLOCKS) >= 10, [block.name for block in BLOCKS]
    skipped = [block.name for block in BLOCKS if block.skipped]
    assert len(skipped) <= 3, skipped


@pytest.mark.parametrize("block", BLOCKS, ids=[block.name for block in BLOCKS])
def test_the_block_runs_as_pasted(
    block: Block,
    emulators: dict[str, str],
    redis_url: str | None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if block.skipped:
        pytest.skip("marked skip in the document: it needs a real instance")
    env = dict(emulators)
    if "REDIS_URL" in block.code:
        if redis_url is None:
            pytest.skip("redis-server is not installed")
        env["REDIS_URL"] = redis_url
    if "def test_" in block.code:
        _run_pytest_block(block, tmp_path, env)
        return
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["pasted.py"])
    _run_script_block(block, tmp_path)


def test_a_block_under_a_skip_comment_is_collected_as_skipped_and_others_are_not(
    tmp_path: Path,
) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n<!-- skip: needs a real instance -->\n```python\nraise SystemExit(1)\n```\n\n"
        "Text.\n\n```python\nprint('runs')\n```\n\n```sh\necho not python\n```\n",
        encoding="utf-8",
    )
    found = blocks_in(page)
    assert [(block.line, block.skipped) for block in found] == [(4, True), (10, False)]
    assert found[1].code == "print('runs')\n"
