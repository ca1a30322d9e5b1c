"""Frozen configuration objects: RateLimits (and its Lanes), RetryPolicy."""

from __future__ import annotations

from typing import Any

import attrs


def _positive(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be > 0, got {value!r}")


def _non_negative(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value!r}")


def _share(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0 <= value < 1:
        raise ValueError(f"{attribute.name} must be >= 0 and < 1, got {value!r}")


def _optional_positive(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        _positive(instance, attribute, value)


@attrs.frozen(kw_only=True)
class Lanes:
    """How interactive and background calls share one budget.

    Every call is ``"interactive"`` (a caller awaits it: ``leads.get``, a pager's first page,
    ``describe``, ``client.request``) or ``"background"`` (batch writes, later pages, bulk jobs
    and their polling). The rules:

    - an interactive call is admitted ahead of every waiting background call;
    - while an interactive call was seen in the last ``idle_after`` seconds, background calls
      hold at most ``1 - window_share`` of the window's calls and ``1 - slot_share`` of the
      in-flight slots (each lane keeps at least one of each): the rest stays free for
      interactive calls;
    - otherwise background work uses the whole budget.

    Why a reserve, and why only while interactive calls are around: a bulk load spends a
    window's calls in its first seconds (10 in flight at 0.5 s: 100 calls in 5 s), and a place
    in the window frees only a period after its call ended, so putting interactive calls first
    in line cannot help one that arrives after the burst: it would wait up to the whole period.
    Only places the load never took can answer it at once. A standing reserve would cost a load
    that runs alone a quarter of its budget; one that appears with interactive traffic costs it
    nothing. The defaults fit a service making about one call a second (22 places of a 20 s
    window) beside a saturating load, and a call waits for a slot at most one call's time, so
    one slot of ten is enough. The first interactive call after ``idle_after`` quiet seconds
    may still wait for the window: raise ``idle_after`` for a service that calls rarely.

    ``Lanes.off()`` (``enabled=False``): one first-come, first-served queue, as before lanes.
    """

    enabled: bool = True
    window_share: float = attrs.field(default=0.25, validator=_share)
    slot_share: float = attrs.field(default=0.1, validator=_share)
    idle_after: float = attrs.field(default=60.0, validator=_non_negative)

    @classmethod
    def off(cls) -> Lanes:
        """One queue for every call, first come, first served."""
        return cls(enabled=False)

    def reserved(self, budget: int, share: float) -> int:
        """How many of ``budget`` places background calls leave free while interactive calls
        are around: ``share`` of them, rounded down, but at least one whenever the share is
        not 0, and never all of them."""
        if not self.enabled or share == 0 or budget < 2:
            return 0
        return min(budget - 1, max(1, int(budget * share)))


@attrs.frozen(kw_only=True)
class RateLimits:
    """The budget one client (or one shared limiter) keeps within.

    Marketo's defaults: 100 calls per 20 s, 10 in flight, 50,000 calls a day.
    A call counts in the window from the moment it is admitted until ``period`` seconds
    after it ended: Marketo counts a call when it arrives, never later than its answer, so
    no call of ours can be in the server's window once it left ours, whatever the network
    delay. ``window_margin`` adds extra seconds to that, for safety.
    ``daily_quota=None`` turns the local daily counter off. ``lanes`` says how interactive and
    background calls share the budget (see :class:`Lanes`; ``Lanes.off()`` turns them off).
    """

    calls: int = attrs.field(default=100, validator=_positive)
    period: float = attrs.field(default=20.0, validator=_positive)
    concurrency: int = attrs.field(default=10, validator=_positive)
    daily_quota: int | None = attrs.field(default=50_000, validator=_optional_positive)
    window_margin: float = attrs.field(default=0.1, validator=_non_negative)
    lanes: Lanes = attrs.field(factory=Lanes)

    @property
    def reserved_calls(self) -> int:
        """Places of the window background calls leave free while interactive calls are around."""
        return self.lanes.reserved(self.calls, self.lanes.window_share)

    @property
    def reserved_slots(self) -> int:
        """In-flight slots background calls leave free while interactive calls are around."""
        return self.lanes.reserved(self.concurrency, self.lanes.slot_share)

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
