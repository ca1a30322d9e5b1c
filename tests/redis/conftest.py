"""A real redis-server on loopback for the shared-limiter tests (real sockets, real time)."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest

from marketo_async import RateLimits

INSTALL_HINT = (
    "redis-server not found: install it to run the shared-limiter tests "
    "(Debian/Ubuntu: apt-get install redis-server)"
)
REDIS_START_TIMEOUT_S = 10.0
PROTECTED_PASSWORD = "the-right-password"

# CI may start one redis-server itself and point the tests at it.
EXTERNAL_REDIS_VARIABLE = "MARKETO_ASYNC_TEST_REDIS_URL"

if importlib.util.find_spec("redis") is None:
    # Without the optional extra the modules cannot import; test_extra.py says so as a skip.
    collect_ignore_glob = ["test_[!e]*.py"]


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Real event loops: these tests talk to Redis over real sockets on the real clock."""
    return str(request.param)


def limits(**changes: object) -> RateLimits:
    """RateLimits for the shared-limiter tests: 1,000 calls a second, 10 in flight, no daily
    quota, a 5% window margin, with ``changes`` applied."""
    values: dict[str, object] = {
        "calls": 1000,
        "period": 1.0,
        "concurrency": 10,
        "daily_quota": None,
        "window_margin": 0.05,
    }
    values.update(changes)
    return RateLimits(**values)  # type: ignore[arg-type]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_up(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + REDIS_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"redis-server exited with status {server.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                # A password-protected server answers PING with -NOAUTH: up all the same.
                if conn.recv(64).startswith((b"+PONG", b"-NOAUTH")):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"redis-server did not answer on port {port}")


@contextlib.contextmanager
def redis_process(
    *options: str, port: int | None = None
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """Run a throwaway redis-server (on ``port`` or a free one); yields its port and process,
    so a test can kill it mid-run."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip(INSTALL_HINT)
    port = port or free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly"]
    server = subprocess.Popen(
        [*command, "no", *options],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_up(port, server)
        yield port, server
    finally:
        if server.poll() is None:
            server.terminate()
        server.wait(timeout=10)


@contextlib.contextmanager
def redis_server(*options: str, port: int | None = None) -> Iterator[int]:
    """Run a throwaway redis-server (on ``port`` or a free one); yields its port."""
    with redis_process(*options, port=port) as (started, _):
        yield started


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """``redis://127.0.0.1:PORT/0`` of a throwaway redis-server (no persistence)."""
    external = os.environ.get(EXTERNAL_REDIS_VARIABLE)
    if external:
        yield external
        return
    with redis_server() as port:
        yield f"redis://127.0.0.1:{port}/0"


@pytest.fixture(scope="session")
def protected_redis_port() -> Iterator[int]:
    """The port of a throwaway redis-server whose password is ``PROTECTED_PASSWORD``."""
    with redis_server("--requirepass", PROTECTED_PASSWORD) as port:
        yield port


@pytest.fixture
def key() -> str:
    """A limiter key of its own for each test, so tests never share a budget."""
    return f"test-{uuid.uuid4().hex[:12]}"
