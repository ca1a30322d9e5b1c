"""The retry loop: a decision function says whether and how long; the loop obeys the policy.

Vendor-neutral: the Marketo rules live in ``_marketo_rules``; another API brings its own.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
import attrs

from .._config import RetryPolicy

__all__ = ["Decide", "Decision", "RetryState", "backoff", "retrying"]

T = TypeVar("T")


@attrs.frozen
class Decision:
    """Retry after ``wait`` seconds; ``counts=False`` keeps the attempt out of the budget."""

    wait: float
    counts: bool = True


@attrs.define
class RetryState:
    """What the decision function may look at.

    ``attempt`` counts the sends charged to the budget so far (the first send is attempt 1),
    ``free`` the resends that were not (a token refresh, a ``_method=GET`` resend).
    """

    attempt: int = 0
    free: int = 0
    started: float = 0.0

    @property
    def sends(self) -> int:
        return self.attempt + self.free


Decide = Callable[[Exception, RetryState], "Decision | None"]


_rng = random.Random()


def backoff(policy: RetryPolicy, attempt: int) -> float:
    """Exponential backoff for the ``attempt``-th retry (1-based), with equal jitter."""
    ceiling: float = min(policy.backoff_max, policy.backoff_initial * 2.0 ** max(attempt - 1, 0))
    if not policy.jitter:
        return ceiling
    return ceiling / 2 + _rng.uniform(0, ceiling / 2)


async def retrying(
    operation: Callable[[], Awaitable[T]],
    *,
    decide: Decide,
    policy: RetryPolicy,
    on_retry: Callable[[Exception, RetryState, Decision], None] | None = None,
) -> T:
    """Run ``operation`` until it succeeds, ``decide`` says stop, or the policy runs out.

    The exception that ends the loop is re-raised with ``attempts`` set to the number of sends.
    """
    state = RetryState(started=anyio.current_time())
    charged = True
    while True:
        if charged:
            state.attempt += 1
        else:
            state.free += 1
        try:
            return await operation()
        except Exception as exc:
            decision = decide(exc, state)
            give_up = (
                decision is None
                or (decision.counts and state.attempt >= policy.max_attempts)
                or (
                    anyio.current_time() - state.started + decision.wait * policy.wait_scale
                    > policy.max_elapsed
                )
            )
            if give_up:
                if isinstance(getattr(exc, "attempts", None), int):
                    exc.attempts = state.sends  # type: ignore[attr-defined]
                raise
            assert decision is not None
            if on_retry is not None:
                on_retry(exc, state, decision)
            charged = decision.counts
            await anyio.sleep(decision.wait * policy.wait_scale)
