"""The exception tree of marketo_async.

Every failure a caller can see is a :class:`MarketoError`::

    MarketoError                     code, message, request_id, errors[], http_status, attempts
     +-- AuthenticationError         600/601/602, HTTP 401 from identity: check the client id/secret
     |    +-- AccessDeniedError      603: the API user's role or the IP allowlist refuses the call
     +-- LimitError                  606/615, HTTP 429: another tenant used the shared budget
     |    +-- RateLimitError         606: more than `calls` per `period`
     |    +-- ConcurrencyLimitError  615: more than `concurrency` calls in flight
     +-- DailyQuotaExceeded          607 (or the local daily counter): nothing more until the reset
     +-- TransientError              604/608/611/614/713, HTTP 5xx, a non-JSON body, network trouble
     |    +-- MarketoConnectionError the HTTP exchange itself failed (connect, read, timeout)
     +-- RequestError                605/609/610/612/613/616, 70x, HTTP 413/414: fix the request
     |    +-- NotFoundError          610, 702: the resource or the searched data does not exist
     |    +-- TooManyResultsError    1003 on a read: narrow the filter or use a bulk extract
     +-- AmbiguousWriteError         a non-idempotent write may or may not have been applied
     +-- BulkJobError                a bulk import/export job failed or was cancelled on Marketo
     |    +-- ChecksumMismatchError  a downloaded export file does not match its fileChecksum
     +-- ExportQuotaExceeded         1029 "Export daily quota exceeded" (or known before a job)

Code-to-class table (response-level ``errors[].code``; see :data:`CODE_TO_CLASS`)::

    600 601 602         AuthenticationError      (the token is dropped and fetched again)
    603                 AccessDeniedError
    604 608 611 614 713 TransientError           (retried with backoff)
    605 609 612 613 616 RequestError
    606                 RateLimitError           (retried after the window)
    607                 DailyQuotaExceeded       (raised at once)
    610 702             NotFoundError
    615                 ConcurrencyLimitError    (retried after a short backoff)
    701 703 704 709-712 714 718 719   RequestError
    1003                TooManyResultsError
    1016 1029           queue full: the bulk resources wait for room and raise LimitError
                        only when it never comes; 1029 for the export quota raises
                        ExportQuotaExceeded
    other               MarketoError

No exception message, ``str`` or ``repr`` ever contains the client secret or an access token:
messages are built only from Marketo's error text, codes, request ids, HTTP status and paths.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

__all__ = [
    "CODE_TO_CLASS",
    "AccessDeniedError",
    "AmbiguousWriteError",
    "AuthenticationError",
    "BulkJobError",
    "ChecksumMismatchError",
    "ConcurrencyLimitError",
    "DailyQuotaExceeded",
    "ErrorDetail",
    "ExportQuotaExceeded",
    "LimitError",
    "MarketoConnectionError",
    "MarketoError",
    "NotFoundError",
    "RateLimitError",
    "RequestError",
    "TooManyResultsError",
    "TransientError",
    "error_for",
]


@attrs.frozen
class ErrorDetail:
    """One entry of Marketo's ``errors[]`` (or a record's ``reasons[]``)."""

    code: str
    message: str


class MarketoError(Exception):
    """Root of every error raised by marketo_async."""

    advice = ""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        request_id: str | None = None,
        errors: Sequence[ErrorDetail] = (),
        http_status: int | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.request_id = request_id
        self.errors: tuple[ErrorDetail, ...] = tuple(errors)
        self.http_status = http_status
        self.path = path
        self.attempts = 1
        # True when the failed call reached the server and might have been applied there
        # (read timeout, HTTP 5xx, 604, a non-JSON answer): a write is then "unknown".
        self.may_have_applied = False

    def __str__(self) -> str:
        parts = [self.message]
        if self.code is not None:
            parts.insert(0, f"[{self.code}]")
        if len(self.errors) > 1:
            others = "; ".join(f"{e.code}: {e.message}" for e in self.errors[1:])
            parts.append(f"(also: {others})")
        if self.path:
            parts.append(f"on {self.path}")
        if self.request_id:
            parts.append(f"(requestId {self.request_id})")
        if self.attempts > 1:
            parts.append(f"after {self.attempts} attempts")
        if self.advice:
            parts.append(f"- {self.advice}")
        return " ".join(parts)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, "
            f"request_id={self.request_id!r}, http_status={self.http_status!r}, "
            f"attempts={self.attempts})"
        )


class AuthenticationError(MarketoError):
    """The access token was refused, or identity refused the credentials."""

    @property
    def advice(self) -> str:  # type: ignore[override]
        if self.code in ("600", "601", "602"):
            return (
                "Marketo kept refusing freshly fetched access tokens; check that the custom "
                "service is active and its API user enabled"
            )
        return "check the client id and client secret of the custom service (Admin > LaunchPoint)"


class AccessDeniedError(AuthenticationError):
    """603: the API user's role lacks the permission, or an IP allowlist blocks the caller."""

    advice = "grant the API role the needed permission, or allow this host's IP address"


class LimitError(MarketoError):
    """A rate or concurrency limit of the instance was hit (shared with every other tenant)."""

    advice = "lower the client's RateLimits or share one limiter between all workers"


class RateLimitError(LimitError):
    """606: more calls than the instance allows per window."""


class ConcurrencyLimitError(LimitError):
    """615: more calls in flight than the instance allows."""


class DailyQuotaExceeded(MarketoError):
    """607: the daily call quota is used up; it resets at midnight US Central time."""

    advice = "wait for the reset at midnight US Central time, or ask Marketo for a larger quota"


class TransientError(MarketoError):
    """The server had trouble (604/608/611/614/713, HTTP 5xx, a non-JSON page); retry later."""

    advice = "Marketo had trouble; retry later"


class MarketoConnectionError(TransientError):
    """The HTTP exchange itself failed: connect error, timeout, dropped connection."""

    advice = "check the network path to Marketo; the call may be retried"


class RequestError(MarketoError):
    """Marketo refused the request as malformed or unsupported; fix the request."""

    advice = "fix the request; retrying it unchanged will fail again"


class NotFoundError(RequestError):
    """610/702: the resource or the searched data does not exist."""

    advice = "check the path and the ids you asked for"


class TooManyResultsError(RequestError):
    """1003 on a read: more records match than Marketo will return."""

    advice = "narrow the filter, or use a bulk extract for large sets"


class AmbiguousWriteError(MarketoError):
    """A non-idempotent write failed after it was sent: it may or may not have been applied."""

    advice = (
        "the write may have been applied; it was not retried to avoid doing it twice. "
        "Check the records in Marketo before sending them again"
    )

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.may_have_applied = True


# ---- bulk import and bulk extract


class BulkJobError(MarketoError):
    """A bulk import or export job failed or was cancelled on Marketo's side."""

    advice = "the job cannot be resumed; run the import or export again"


class ChecksumMismatchError(BulkJobError):
    """A downloaded export file does not match the fileChecksum Marketo gave for it."""

    advice = "the file was downloaded twice and differed both times; export again"


class ExportQuotaExceeded(MarketoError):
    """1029: the day's bulk export volume (500 MB by default) is used up."""

    advice = (
        "no export can be created or enqueued until midnight US Central time; "
        "files already exported stay downloadable"
    )


CODE_TO_CLASS: dict[str, type[MarketoError]] = {
    "600": AuthenticationError,
    "601": AuthenticationError,
    "602": AuthenticationError,
    "603": AccessDeniedError,
    "604": TransientError,
    "605": RequestError,
    "606": RateLimitError,
    "607": DailyQuotaExceeded,
    "608": TransientError,
    "609": RequestError,
    "610": NotFoundError,
    "611": TransientError,
    "612": RequestError,
    "613": RequestError,
    "614": TransientError,
    "615": ConcurrencyLimitError,
    "616": RequestError,
    "701": RequestError,
    "702": NotFoundError,
    "703": RequestError,
    "704": RequestError,
    "709": RequestError,
    "710": RequestError,
    "711": RequestError,
    "712": RequestError,
    "713": TransientError,
    "714": RequestError,
    "718": RequestError,
    "719": TransientError,
    "1003": TooManyResultsError,
}


def error_for(
    errors: Sequence[ErrorDetail],
    *,
    request_id: str | None = None,
    http_status: int | None = None,
    path: str | None = None,
) -> MarketoError:
    """Build the right :class:`MarketoError` subclass for Marketo's ``errors[]``."""
    if not errors:
        return MarketoError(
            "Marketo answered success=false without an error entry",
            request_id=request_id,
            http_status=http_status,
            path=path,
        )
    first = errors[0]
    cls = CODE_TO_CLASS.get(first.code, MarketoError)
    return cls(
        first.message,
        code=first.code,
        request_id=request_id,
        errors=errors,
        http_status=http_status,
        path=path,
    )
