"""The Lead Gen & CRM branch of the exception tree.

Each class is also the matching Marketo class, so one ``except RateLimitError`` (or
``DailyQuotaExceeded``, ``TransientError`` ...) catches both APIs::

    MarketoError
     +-- LeadGenError                         code, message, method; every Lead Gen & CRM error
          +-- LeadGenAuthenticationError      103/104/105, HTTP 401: check the account id/secret key
          +-- LeadGenRateLimitError           107 (209): more than 10 calls in one second
          +-- LeadGenDailyQuotaExceeded       106 (or the local daily counter)
          +-- LeadGenTransientError           HTTP 5xx, 999, a non-JSON answer, network trouble
          +-- LeadGenRequestError             101/102/201-223/301-307: fix the request
               +-- LeadGenNotFoundError       404, 214: the record does not exist

Messages are built from the API's error text, codes and the method name only: never a URL,
so never the secret key that travels in the query string.
"""

from __future__ import annotations

from .._errors import (
    AuthenticationError,
    DailyQuotaExceeded,
    MarketoConnectionError,
    MarketoError,
    NotFoundError,
    RateLimitError,
    RequestError,
    TransientError,
)

__all__ = [
    "CODE_TO_CLASS",
    "LeadGenAuthenticationError",
    "LeadGenConnectionError",
    "LeadGenDailyQuotaExceeded",
    "LeadGenError",
    "LeadGenNotFoundError",
    "LeadGenRateLimitError",
    "LeadGenRequestError",
    "LeadGenTransientError",
    "leadgen_error",
]


class LeadGenError(MarketoError):
    """Root of every error the Lead Gen & CRM client raises (``path`` is the API method)."""


class LeadGenAuthenticationError(LeadGenError, AuthenticationError):
    """103/104/105 or HTTP 401: the account id or secret key was refused."""

    advice = (
        "check LEADGEN_ACCOUNT_ID and LEADGEN_SECRET_KEY (Settings > API Settings); "
        "generating new keys invalidates the old ones"
    )


class LeadGenRateLimitError(LeadGenError, RateLimitError):
    """107: more than 10 calls in one second (another client shares the account's budget)."""

    advice = "share one limiter between every client of the account"


class LeadGenDailyQuotaExceeded(LeadGenError, DailyQuotaExceeded):
    """106: the account's daily call quota (50,000 by default) is used up."""

    advice = "wait for the daily reset, or ask Constant Contact for a larger quota"


class LeadGenTransientError(LeadGenError, TransientError):
    """HTTP 5xx, 999, a non-JSON answer: the service had trouble; retry later."""

    advice = "the Lead Gen & CRM service had trouble; retry later"


class LeadGenConnectionError(LeadGenTransientError, MarketoConnectionError):
    """The HTTP exchange itself failed: connect error, timeout, dropped connection."""

    advice = "check the network path to the Lead Gen & CRM API; the call may be retried"


class LeadGenRequestError(LeadGenError, RequestError):
    """The API refused the request as malformed; retrying it unchanged fails again."""


class LeadGenNotFoundError(LeadGenRequestError, NotFoundError):
    """404 or 214: the record does not exist in this account."""

    advice = "check the ids you asked for"


# Lead Gen & CRM error codes (KB "Open API Error Codes"); anything else is a LeadGenError.
CODE_TO_CLASS: dict[str, type[LeadGenError]] = {
    **dict.fromkeys(("103", "104", "105"), LeadGenAuthenticationError),
    "106": LeadGenDailyQuotaExceeded,
    # 209 "an excess amount of queries" reads like the per-second limit under another name.
    **dict.fromkeys(("107", "209"), LeadGenRateLimitError),
    "999": LeadGenTransientError,
    **dict.fromkeys(("404", "214"), LeadGenNotFoundError),
    **dict.fromkeys(
        (
            "101",
            "102",
            *(str(code) for code in range(201, 224) if code not in (209, 214)),
            *(str(code) for code in range(301, 308)),
        ),
        LeadGenRequestError,
    ),
}


def leadgen_error(
    code: str | None, message: str, *, method: str, http_status: int | None = None
) -> LeadGenError:
    """The right :class:`LeadGenError` for an API-level ``error`` object."""
    cls = CODE_TO_CLASS.get(code or "", LeadGenError)
    error = cls(message, code=code, http_status=http_status, path=method)
    # 999 "unknown error": the server may have done part of the work before failing.
    error.may_have_applied = cls is LeadGenTransientError
    return error
