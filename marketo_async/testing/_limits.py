"""The instance's call budget: sliding-window rate (606), calls in flight (615), daily quota (607).

Marketo counts a call by its arrival time. Calls answered with 600, 601, 602, 604, 605, 608 or
611 do not count against the window or the quota (Marketo's error-code table marks them); every
other call does, including those refused with 606 or 615.
"""

from __future__ import annotations

import contextlib
from collections import deque

import anyio
import attrs

from .._config import RateLimits
from ._wire import ApiError

__all__ = ["UNCOUNTED_CODES", "Budget", "CallWindow"]

# Marketo: codes marked "*" in the error-code table do not count against rate or quota.
UNCOUNTED_CODES = frozenset({"600", "601", "602", "604", "605", "608", "611"})


@attrs.define(kw_only=True)
class CallWindow:
    """Calls arriving in any ``period`` seconds (``calls`` at most) and calls a day
    (``daily_quota``), as both emulators count them: by arrival, refused calls included.
    ``None`` limits turn the matching check off."""

    calls: int | None = None
    period: float = 20.0
    daily_quota: int | None = None
    used_today: int = attrs.field(init=False, default=0)
    # Today's calls by other integrations: they spend the same daily quota.
    other_calls_today: int = attrs.field(init=False, default=0)
    _arrivals: deque[float] = attrs.field(init=False, factory=deque)

    def arrive(self, now: float) -> tuple[bool, bool]:
        """Count a call arriving at ``now``; whether it is over the daily quota, over the rate."""
        while self._arrivals and self._arrivals[0] <= now - self.period:
            self._arrivals.popleft()
        over_quota = (
            self.daily_quota is not None
            and self.used_today + self.other_calls_today >= self.daily_quota
        )
        over_rate = self.calls is not None and len(self._arrivals) >= self.calls
        self._arrivals.append(now)
        self.used_today += 1
        return over_quota, over_rate

    def uncount(self, arrival: float) -> None:
        """Take back a call that does not count (see UNCOUNTED_CODES)."""
        with contextlib.suppress(ValueError):  # already out of the window
            self._arrivals.remove(arrival)
        self.used_today = max(self.used_today - 1, 0)

    def reset_daily_quota(self) -> None:
        self.used_today = 0
        self.other_calls_today = 0


@attrs.define(kw_only=True)
class Budget(CallWindow):
    """Marketo's budget: the call window plus calls in flight (``concurrency``)."""

    concurrency: int | None = None
    in_flight: int = attrs.field(init=False, default=0)

    @classmethod
    def from_rate_limits(cls, limits: RateLimits | None) -> Budget:
        if limits is None:
            return cls()
        return cls(
            calls=limits.calls,
            period=limits.period,
            concurrency=limits.concurrency,
            daily_quota=limits.daily_quota,
        )

    def admit(self) -> float:
        """Count the call; raise 607/606/615 if it is refused. Returns its arrival time."""
        now = anyio.current_time()
        busy = self.concurrency is not None and self.in_flight >= self.concurrency
        over_quota, over_rate = self.arrive(now)
        if over_quota:
            raise ApiError("607", f"Max daily quota '{self.daily_quota}' reached")
        if over_rate:
            raise ApiError(
                "606", f"Max rate limit '{self.calls}' exceeded with in '{self.period:g}' secs"
            )
        if busy:
            raise ApiError("615", "Concurrent access limit reached")
        self.in_flight += 1
        return now

    def release(self) -> None:
        self.in_flight -= 1
