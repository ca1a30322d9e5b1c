"""What every benchmark shares: settings, the table rows, limits, floors, clients, medians."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import attrs

from marketo_async import MarketoClient, RateLimits, RetryPolicy

from ._server import CLIENT_ID, CLIENT_SECRET, ServerProcess

__all__ = [
    "BATCH",
    "IN_FLIGHT",
    "MARKETO_LATENCY",
    "MARKETO_PERIOD",
    "WINDOW_CALLS",
    "Context",
    "Row",
    "Settings",
    "Stopwatch",
    "bench_client",
    "floor_exact",
    "floor_issue",
    "median",
    "scaled_limits",
    "spread",
]

# Marketo's limits and a typical Sync Leads time for 300 records, before time scaling.
WINDOW_CALLS = 100
MARKETO_PERIOD = 20.0
IN_FLIGHT = 10
MARKETO_LATENCY = 0.5
MARKETO_WINDOW_MARGIN = 0.25  # RateLimits' default margin
BATCH = 300


@attrs.frozen(kw_only=True)
class Settings:
    """One run's sizes; ``--quick`` shrinks everything but the shape of the budget benchmark."""

    quick: bool
    repeat: int
    time_scale: float
    upsert_leads: int
    incumbent_repeat: int
    memory_rows: tuple[int, ...]
    memory_repeat: int
    read_leads: int

    @classmethod
    def full(cls) -> Settings:
        return cls(
            quick=False,
            repeat=5,
            time_scale=0.25,
            upsert_leads=60_000,
            incumbent_repeat=3,
            memory_rows=(100_000, 1_000_000),
            memory_repeat=3,
            read_leads=100_000,
        )

    @classmethod
    def smoke(cls) -> Settings:
        return cls(
            quick=True,
            repeat=1,
            time_scale=0.05,
            upsert_leads=60_000,
            incumbent_repeat=1,
            memory_rows=(10_000, 40_000),
            memory_repeat=1,
            read_leads=20_000,
        )

    @property
    def period(self) -> float:
        return MARKETO_PERIOD * self.time_scale

    @property
    def latency(self) -> float:
        return MARKETO_LATENCY * self.time_scale


@attrs.frozen(kw_only=True)
class Row:
    """One line of the printed table."""

    benchmark: str
    measure: str
    value: str
    baseline: str = ""
    ratio: float | None = None
    target: str = ""
    note: str = ""
    ok: bool | None = None  # whether the target is met, when it is not a "<= x" ratio

    def met(self) -> str:
        """ "yes"/"no" against the target (``ok``, or a ratio target like "<= 1.25")."""
        if self.ok is not None:
            return "yes" if self.ok else "no"
        if self.ratio is None or not self.target.startswith("<="):
            return ""
        return "yes" if self.ratio <= float(self.target[2:]) else "no"


@attrs.define
class Context:
    """Handed to every benchmark: the settings, the server, and results shared between them."""

    settings: Settings
    server: ServerProcess
    shared: dict[str, Any] = attrs.Factory(dict)


class Stopwatch:
    """Wall and this process's CPU seconds of a block: ``with Stopwatch() as sw: ...``."""

    wall: float = 0.0
    cpu: float = 0.0

    def __enter__(self) -> Stopwatch:
        self._wall = time.perf_counter()
        self._cpu = time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def spread(values: Sequence[float]) -> str:
    """``min-max`` of the repetitions, for the notes."""
    if len(values) < 2:
        return ""
    low, high = min(values), max(values)
    if high >= 1_000:
        return f"{low:,.0f}-{high:,.0f}"
    return f"{low:.3g}-{high:.3g}"


def scaled_limits(settings: Settings) -> RateLimits:
    """Marketo's budget with the period (and the default window margin) time-scaled."""
    return RateLimits(
        calls=WINDOW_CALLS,
        period=settings.period,
        concurrency=IN_FLIGHT,
        daily_quota=None,
        window_margin=MARKETO_WINDOW_MARGIN * settings.time_scale,
    )


def unlimited_limits() -> RateLimits:
    """No call window, but still 10 calls in flight (what the hand-written loop uses too)."""
    return RateLimits(
        calls=1_000_000_000, period=1.0, concurrency=IN_FLIGHT, daily_quota=None, window_margin=0.0
    )


def bench_client(
    server: ServerProcess, rate_limits: RateLimits, time_scale: float = 1.0
) -> MarketoClient:
    """A client for the benchmark server; its retry waits are time-scaled like the server."""
    return MarketoClient(
        base_url=server.url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        rate_limits=rate_limits,
        retry=RetryPolicy(wait_scale=time_scale),
    )


def floor_issue(calls: int, period: float, latency: float) -> float:
    """The issue's floor: ``max((ceil(calls/100) - 1) * period + latency, ceil(calls/10) * L)``."""
    return max(
        (math.ceil(calls / WINDOW_CALLS) - 1) * period + latency,
        math.ceil(calls / IN_FLIGHT) * latency,
    )


def floor_exact(calls: int, period: float, latency: float) -> float:
    """The least wall time any client can take under both limits.

    Calls 101..200 cannot start before ``period`` after calls 1..100 started, and 10 at a time
    they need ``ceil(last/10)`` rounds of ``latency``: so the last window costs whole rounds,
    not one latency as in :func:`floor_issue`.
    """
    windows = math.ceil(calls / WINDOW_CALLS) - 1
    last = calls - windows * WINDOW_CALLS
    return max(
        windows * period + math.ceil(last / IN_FLIGHT) * latency,
        math.ceil(calls / IN_FLIGHT) * latency,
    )


@contextmanager
def quiet_gc() -> Iterator[None]:
    """Collect before a timed block so one run's garbage does not land in the next."""
    import gc

    gc.collect()
    yield
