"""The instance's call budget: sliding-window rate (606), calls in flight (615), daily quota (607).

Marketo counts a call by its arrival time. Calls answered with 600, 601, 602, 604, 605, 608 or
611 do not count against the window or the quota (Marketo's error-code table marks them); every
other call does, including those refused with 606 or 615.
"""

from __future__ import annotations

import contextlib
from collections import deque

import anyio

from .._config import RateLimits
from ._wire import ApiError

__all__ = ["UNCOUNTED_CODES", "Budget"]

# Marketo: codes marked "*" in the error-code table do not count against rate or quota.
UNCOUNTED_CODES = frozenset({"600", "601", "602", "604", "605", "608", "611"})


class Budget:
    """Admits or refuses one arriving call. ``None`` limits turn the matching check off."""

    def __init__(
        self,
        *,
        calls: int | None = None,
        period: float = 20.0,
        concurrency: int | None = None,
        daily_quota: int | None = None,
    ) -> None:
        self.calls = calls
        self.period = period
        self.concurrency = concurrency
        self.daily_quota = daily_quota
        self._arrivals: deque[float] = deque()
        self.in_flight = 0
        self.used_today = 0
        # Today's calls by other integrations: they spend the same daily quota.
        self.other_calls_today = 0

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
        while self._arrivals and self._arrivals[0] <= now - self.period:
            self._arrivals.popleft()
        over_quota = (
            self.daily_quota is not None
            and self.used_today + self.other_calls_today >= self.daily_quota
        )
        over_rate = self.calls is not None and len(self._arrivals) >= self.calls
        busy = self.concurrency is not None and self.in_flight >= self.concurrency
        self._arrivals.append(now)
        self.used_today += 1
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

    def uncount(self, arrival: float) -> None:
        """Take back a call whose answer Marketo does not count (see UNCOUNTED_CODES)."""
        with contextlib.suppress(ValueError):  # already out of the window
            self._arrivals.remove(arrival)
        self.used_today = max(self.used_today - 1, 0)

    def reset_daily_quota(self) -> None:
        self.used_today = 0
        self.other_calls_today = 0
