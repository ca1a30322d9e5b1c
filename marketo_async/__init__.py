"""marketo_async: an async, high-throughput client for the Marketo Engage REST API."""

from ._batch import BatchReport, Reason, RecordOutcome, Status, run_batches
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
from ._transport import ClientStats, KeyLeases, Limiter, LocalLimiter, Warning

__version__ = "0.1.0"

__all__ = [
    "AccessDeniedError",
    "AmbiguousWriteError",
    "AuthenticationError",
    "BatchReport",
    "ClientStats",
    "ConcurrencyLimitError",
    "DailyQuotaExceeded",
    "ErrorDetail",
    "KeyLeases",
    "LimitError",
    "Limiter",
    "LocalLimiter",
    "MarketoClient",
    "MarketoConnectionError",
    "MarketoError",
    "NotFoundError",
    "RateLimitError",
    "RateLimits",
    "Reason",
    "RecordOutcome",
    "RequestError",
    "RetryPolicy",
    "Status",
    "TooManyResultsError",
    "TransientError",
    "Warning",
    "__version__",
    "run_batches",
]
