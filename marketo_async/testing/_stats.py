"""What the emulator saw: calls, calls in flight, error codes sent, and a timeline per call."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable

import anyio
import attrs

from ._wire import DropConnection, FakeReply

__all__ = ["CallRecord", "Stats"]


@attrs.frozen
class CallRecord:
    """One API call: when it arrived and finished (anyio clock), where, and what it answered."""

    start: float
    end: float
    method: str
    path: str
    status: int
    code: str | None  # Marketo's error code (or the HTTP status of an HTTP-level failure)


@attrs.define
class Stats:
    """Counters kept by :class:`FakeMarketo`; identity calls are counted apart.

    ``errors`` counts every response-level code and HTTP-level failure sent (``errors["606"]``),
    ``reasons`` every record-level reason code (``reasons["1004"]``).
    """

    calls: int = 0
    identity_calls: int = 0
    tokens_issued: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    dropped_connections: int = 0
    records: int = 0
    by_path: Counter[str] = attrs.Factory(Counter)
    errors: Counter[str] = attrs.Factory(Counter)
    reasons: Counter[str] = attrs.Factory(Counter)
    timeline: list[CallRecord] = attrs.Factory(list)

    async def count(
        self, method: str, path: str, answer: Callable[[], Awaitable[FakeReply]]
    ) -> FakeReply:
        """One call to ``path``, answered by ``answer()`` (or dropped: DropConnection),
        counted and put on the timeline."""
        self.calls += 1
        self.by_path[path] += 1
        start = anyio.current_time()
        reply: FakeReply | None = None
        try:
            reply = await answer()
            return reply
        except DropConnection:
            self.dropped_connections += 1
            raise
        finally:
            if reply is not None and reply.code is not None:
                self.errors[reply.code] += 1
            self.timeline.append(
                CallRecord(
                    start=start,
                    end=anyio.current_time(),
                    method=method,
                    path=path,
                    status=reply.status if reply is not None else 0,
                    code=reply.code if reply is not None else "dropped",
                )
            )

    def max_calls_in_window(self, period: float) -> int:
        """The most calls that arrived within any ``period`` seconds (for checking a limiter)."""
        starts = sorted(record.start for record in self.timeline)
        best = 0
        low = 0
        for high, start in enumerate(starts):
            while start - starts[low] >= period:
                low += 1
            best = max(best, high - low + 1)
        return best
