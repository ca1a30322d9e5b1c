"""Which Marketo failures are retried, and after how long (marketo-api.md section 3.4)."""

from __future__ import annotations

from .._config import RateLimits, RetryPolicy
from .._errors import (
    AccessDeniedError,
    AuthenticationError,
    ConcurrencyLimitError,
    DailyQuotaExceeded,
    MarketoError,
    RateLimitError,
    TransientError,
)
from ._decode import UriTooLongError
from ._retry import Decide, Decision, RetryState, backoff

__all__ = ["TOKEN_CODES", "marketo_decide"]

# 600/601/602 (and HTTP 401 on a REST call): drop the token, fetch once, resend for free.
TOKEN_CODES = frozenset({"600", "601", "602"})
# Marketo's token endpoint: its own refusal means wrong credentials, not a stale token.
IDENTITY_PATH = "/identity/oauth/token"
# A call refused for its token more often than this in a row is a real auth problem.
MAX_TOKEN_RESENDS = 3
MAX_URI_RESENDS = 1
# 615 clears as soon as one of the 10 in-flight calls returns.
CONCURRENCY_BACKOFF_S = 1.0
# Codes retried only a few times: a system error or an unreachable subscription rarely clears fast.
LIMITED_CODES = {"611": 3, "614": 4}


def marketo_decide(policy: RetryPolicy, limits: RateLimits) -> Decide:
    """The decision function for Marketo calls under ``policy`` and ``limits``."""

    def decide(error: Exception, state: RetryState) -> Decision | None:
        if not isinstance(error, MarketoError):
            return None
        if isinstance(error, UriTooLongError):
            return Decision(0.0, counts=False) if state.free < MAX_URI_RESENDS else None
        if isinstance(error, AccessDeniedError | DailyQuotaExceeded):
            return None
        if isinstance(error, AuthenticationError):
            if error.path == IDENTITY_PATH:
                return None  # identity refused the client id or secret: asking again cannot help
            if error.code in TOKEN_CODES or (error.code is None and error.http_status == 401):
                return Decision(0.0, counts=False) if state.free < MAX_TOKEN_RESENDS else None
            return None
        if isinstance(error, RateLimitError):
            # 606: the window is full (other tenants too); wait for it to roll over.
            return Decision(limits.period + backoff(policy, 1) / 2)
        if isinstance(error, ConcurrencyLimitError):
            return Decision(CONCURRENCY_BACKOFF_S + backoff(policy, state.attempt) / 4)
        if isinstance(error, TransientError):
            limit = LIMITED_CODES.get(error.code or "")
            if limit is not None and state.attempt >= limit:
                return None
            return Decision(backoff(policy, state.attempt))
        return None

    return decide
