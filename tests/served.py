"""The emulator served in a child process on loopback (real sockets, real time), and a client
of it, for the end-to-end resource tests."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from marketo_async import MarketoClient, RateLimits, RetryPolicy

REPO = Path(__file__).resolve().parents[1]
# The server enforces these; the client is given the same (a scaled-down 100 per 20 s).
LIMITS = RateLimits(calls=60, period=2.0, concurrency=10, daily_quota=None)


@contextlib.contextmanager
def serve(*options: str) -> Iterator[str]:
    """``python -m marketo_async.testing serve`` on a free port with :data:`LIMITS` and
    ``options``, until the block ends; yields its URL."""
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    server = subprocess.Popen(
        [sys.executable, "-m", "marketo_async.testing", "serve", "--port", "0",
         "--calls", str(LIMITS.calls), "--period", str(LIMITS.period),
         "--concurrency", str(LIMITS.concurrency), *options],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        banner = server.stdout.readline()
        assert banner.startswith("FakeMarketo serving http://127.0.0.1:"), banner
        yield banner.split()[2]
    finally:
        server.kill()
        server.wait(timeout=10)


def served_client(url: str) -> MarketoClient:
    """A client of the served emulator with its limits, retrying quickly and often (the
    tests inject faults)."""
    return MarketoClient(
        base_url=url,
        client_id="fake-client-id",
        client_secret="fake-client-secret",
        rate_limits=LIMITS,
        retry=RetryPolicy(backoff_initial=0.01, backoff_max=0.05, max_attempts=12),
    )
