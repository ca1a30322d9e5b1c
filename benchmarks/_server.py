"""The benchmarks' FakeMarketo server: a separate process with a small admin API.

``python -m benchmarks._server`` serves a :class:`~marketo_async.testing.FakeMarketo` on a free
loopback port (printed as ``PORT <n>`` on stdout) and adds three admin endpoints that the
benchmark process uses between runs; they are not counted as API calls:

- ``POST /_bench/reset`` with ``{"calls", "period", "concurrency", "latency"}``: a fresh
  instance (no leads, new stats) with those limits (``calls``/``concurrency`` null: off);
- ``POST /_bench/seed_list`` with ``{"leads": n}``: n leads and a static list holding them;
  answers ``{"list_id": id}``;
- ``POST /_bench/seed_activities`` with ``{"activities": n, "start": iso, "step_s": s}``:
  n Visit Webpage activities, one every s seconds from start;
- ``GET /_bench/stats``: calls, 606/615 and other codes, max in flight, the most calls that
  arrived in any one period, leads stored and duplicate leads.

Running the server in its own process keeps its CPU and memory out of the client's figures.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import anyio
import httpx

from marketo_async import RateLimits
from marketo_async.testing import FakeMarketo, Latency
from marketo_async.testing._server import serve_http
from marketo_async.testing._wire import FakeReply, FakeRequest, json_reply

__all__ = ["ServerProcess", "ServerStats"]

ADMIN_PREFIX = "/_bench/"
CLIENT_ID = "bench-client-id"
CLIENT_SECRET = "bench-client-secret"
MUNCHKIN_ID = "123-ABC-456"
REPO_ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- server side


class _AdminFake:
    """Routes ``/_bench/*`` to the admin API and everything else to the current fake."""

    def __init__(self) -> None:
        self.period: float | None = None
        self.fake = self._new(calls=None, period=20.0, concurrency=None, latency=0.0)

    def _new(
        self, *, calls: int | None, period: float, concurrency: int | None, latency: float
    ) -> FakeMarketo:
        limits: RateLimits | None = None
        self.period = None
        if calls is not None or concurrency is not None:
            unlimited = RateLimits.unlimited()
            limits = RateLimits(
                calls=calls or unlimited.calls,
                period=period,
                concurrency=concurrency or unlimited.concurrency,
                daily_quota=None,
                window_margin=0.0,
            )
            self.period = period
        return FakeMarketo(
            latency=Latency(base=latency),
            rate_limits=limits,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            munchkin_id=MUNCHKIN_ID,
            random_seed=1,
        )

    async def handle(self, request: FakeRequest) -> FakeReply:
        if request.path.startswith(ADMIN_PREFIX):
            body: dict[str, Any] = json.loads(request.body) if request.body else {}
            return json_reply(self._admin(request.path[len(ADMIN_PREFIX) :], body))
        return await self.fake.handle(request)

    def _admin(self, command: str, body: dict[str, Any]) -> dict[str, Any]:
        if command == "reset":
            self.fake = self._new(
                calls=body.get("calls"),
                period=float(body.get("period", 20.0)),
                concurrency=body.get("concurrency"),
                latency=float(body.get("latency", 0.0)),
            )
            # Bulk jobs take time on the server too: scaled like the period and latency.
            bulk = self.fake.bulk.settings
            scale = float(body.get("bulk_time_scale", 1.0))
            bulk.import_seconds *= scale
            bulk.import_rows_per_second /= scale
            bulk.export_seconds *= scale
            bulk.export_records_per_second /= scale
            bulk.status_interval *= scale
            # The previous instance (its leads, jobs, stats) is freed now, not by the collector
            # during the next measured run, where it would delay that run's first calls.
            gc.collect()
            return {"ok": True}
        if command == "seed_list":
            count = int(body["leads"])
            fields = ("email", "firstName", "lastName", "company", "city", "title")
            for name in fields[1:]:
                if name not in self.fake.store.lead_fields:
                    self.fake.add_lead_field(name)
            ids = [
                self.fake.store.create_lead(
                    {
                        "email": f"reader{i}@example.com",
                        "firstName": f"First{i}",
                        "lastName": f"Last{i}",
                        "company": f"Company {i % 997}",
                        "city": "Springfield",
                        "title": "Engineer",
                    }
                )
                for i in range(count)
            ]
            return {"list_id": self.fake.add_list("Benchmark list", lead_ids=ids)}
        if command == "seed_activities":
            # ``activities`` Visit Webpage activities, one every ``step_s`` from ``start``.
            start = dt.datetime.fromisoformat(str(body["start"]))
            step = dt.timedelta(seconds=float(body.get("step_s", 1.0)))
            log = self.fake.activity_log
            for number in range(int(body["activities"])):
                log.record(
                    1 + number % 1_000,
                    1,
                    activity_date=start + number * step,
                    primary_attribute_value="/pricing",
                    primary_attribute_value_id=42,
                    attributes={"Webpage URL": "/pricing"},
                )
            return {"ok": True}
        if command == "stats":
            stats = self.fake.stats
            groups = self.fake.duplicates("email")
            return {
                "calls": stats.calls,
                "identity_calls": stats.identity_calls,
                "records": stats.records,
                "errors": dict(stats.errors),
                "reasons": dict(stats.reasons),
                "max_in_flight": stats.max_in_flight,
                "max_calls_in_window": (
                    stats.max_calls_in_window(self.period) if self.period is not None else None
                ),
                "leads": len(self.fake.store.leads),
                "by_path": dict(stats.by_path),
                "duplicate_keys": len(groups),
                "duplicate_leads": sum(len(group.leads) - 1 for group in groups),
            }
        return {"ok": False, "error": f"unknown admin command {command!r}"}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._server")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    admin = _AdminFake()

    async def run() -> None:
        async with anyio.create_task_group() as tg:
            port = await tg.start(
                lambda task_status: serve_http(
                    admin.handle, host="127.0.0.1", port=args.port, task_status=task_status
                )
            )
            print(f"PORT {port}", flush=True)

    with contextlib.suppress(KeyboardInterrupt):
        anyio.run(run)
    return 0


# --------------------------------------------------------------------------- client side


ServerStats = dict[str, Any]


class ServerProcess:
    """Starts the server in a child process; ``with ServerProcess() as server: server.url``."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self.port = 0
        self._admin: httpx.Client | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def __enter__(self) -> ServerProcess:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
        self._process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks._server"],
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO_ROOT,
            env=env,
        )
        stdout: IO[str] | None = self._process.stdout
        assert stdout is not None
        line = stdout.readline()
        if not line.startswith("PORT "):
            self._process.kill()
            raise RuntimeError(f"benchmark server did not start (said {line!r})")
        self.port = int(line.split()[1])
        self._admin = httpx.Client(base_url=self.url, timeout=600.0)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._admin is not None:
            self._admin.close()
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def _post(self, command: str, payload: dict[str, Any]) -> dict[str, Any]:
        assert self._admin is not None
        response = self._admin.post(ADMIN_PREFIX + command, json=payload)
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    def reset(
        self,
        *,
        calls: int | None = None,
        period: float = 20.0,
        concurrency: int | None = None,
        latency: float = 0.0,
        bulk_time_scale: float = 1.0,
    ) -> None:
        """A fresh instance with these limits (None: off), this latency per call, and bulk
        jobs taking ``bulk_time_scale`` times their usual time."""
        self._post(
            "reset",
            {
                "calls": calls,
                "period": period,
                "concurrency": concurrency,
                "latency": latency,
                "bulk_time_scale": bulk_time_scale,
            },
        )

    def seed_list(self, leads: int) -> int:
        """Store ``leads`` leads and a static list of them; returns the list id."""
        return int(self._post("seed_list", {"leads": leads})["list_id"])

    def seed_activities(self, activities: int, *, start: str, step_s: float) -> None:
        """Record ``activities`` Visit Webpage activities, one every ``step_s`` from ``start``."""
        self._post("seed_activities", {"activities": activities, "start": start, "step_s": step_s})

    def stats(self) -> ServerStats:
        return self._post("stats", {})


if __name__ == "__main__":
    sys.exit(main())
