"""marketo_async: an async, high-throughput client for the Marketo Engage REST API."""

from ._client import MarketoClient
from ._config import RateLimits, RetryPolicy
from ._errors import (
    AccessDeniedError,
    AmbiguousWriteError,
    AuthenticationError,
    ConcurrencyLimitError,
    DailyQuotaExceeded,
    ErrorDetail,
    LimitError,
    MarketoConnectionError,
    MarketoError,
    NotFoundError,
    RateLimitError,
    RequestError,
    TooManyResultsError,
    TransientError,
)
from ._transport import ClientStats, Limiter, LocalLimiter, Warning

__version__ = "0.1.0"

__all__ = [
    "AccessDeniedError",
    "AmbiguousWriteError",
    "AuthenticationError",
    "ClientStats",
    "ConcurrencyLimitError",
    "DailyQuotaExceeded",
    "ErrorDetail",
    "LimitError",
    "Limiter",
    "LocalLimiter",
    "MarketoClient",
    "MarketoConnectionError",
    "MarketoError",
    "NotFoundError",
    "RateLimitError",
    "RateLimits",
    "RequestError",
    "RetryPolicy",
    "TooManyResultsError",
    "TransientError",
    "Warning",
    "__version__",
]
