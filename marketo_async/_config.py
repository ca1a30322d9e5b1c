"""Frozen configuration objects: RateLimits, RetryPolicy."""

from __future__ import annotations

from typing import Any

import attrs


def _positive(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be > 0, got {value!r}")


def _non_negative(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value!r}")


def _optional_positive(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        _positive(instance, attribute, value)


@attrs.frozen(kw_only=True)
class RateLimits:
    """The budget one client (or one shared limiter) keeps within.

    Marketo's defaults: 100 calls per 20 s, 10 in flight, 50,000 calls a day.
    A call counts in the window from the moment it is admitted until ``period`` seconds
    after it ended: Marketo counts a call when it arrives, never later than its answer, so
    no call of ours can be in the server's window once it left ours, whatever the network
    delay. ``window_margin`` adds extra seconds to that, for safety.
    ``daily_quota=None`` turns the local daily counter off.
    """

    calls: int = attrs.field(default=100, validator=_positive)
    period: float = attrs.field(default=20.0, validator=_positive)
    concurrency: int = attrs.field(default=10, validator=_positive)
    daily_quota: int | None = attrs.field(default=50_000, validator=_optional_positive)
    window_margin: float = attrs.field(default=0.1, validator=_non_negative)

    @classmethod
    def unlimited(cls) -> RateLimits:
        """No window, 1000 in flight, no daily counter: for fakes and benchmarks."""
        return cls(
            calls=1_000_000_000, period=1.0, concurrency=1000, daily_quota=None, window_margin=0.0
        )


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How hard a call is retried.

    ``max_attempts`` counts every send of one call except token refreshes and the
    ``_method=GET`` resend after a 414; ``max_elapsed`` caps the seconds spent on one call.
    Backoff is exponential from ``backoff_initial`` to ``backoff_max`` with equal jitter:
    each wait is between half and all of its step, so a retry never comes at once.
    ``RetryPolicy.no_wait()`` keeps the decisions but turns every sleep to zero (for tests).
    """

    max_attempts: int = attrs.field(default=8, validator=_positive)
    max_elapsed: float = attrs.field(default=300.0, validator=_positive)
    backoff_initial: float = attrs.field(default=1.0, validator=_non_negative)
    backoff_max: float = attrs.field(default=30.0, validator=_non_negative)
    jitter: bool = True
    wait_scale: float = attrs.field(default=1.0, validator=_non_negative)

    @classmethod
    def no_wait(cls, *, max_attempts: int = 8) -> RetryPolicy:
        """Same decisions, zero sleeps: keeps test suites fast."""
        return cls(max_attempts=max_attempts, wait_scale=0.0)
