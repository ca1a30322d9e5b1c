"""The exception tree of marketo_async.

Every failure a caller can see is a :class:`MarketoError`::

    MarketoError                     code, message, request_id, errors[], http_status, attempts
     +-- AuthenticationError         600/601/602, HTTP 401 from identity: check the client id/secret
     |    +-- AccessDeniedError      603, 1008: the API user's role or IP allowlist refuses the call
     +-- LimitError                  606/615, HTTP 429: another tenant used the shared budget
     |    +-- RateLimitError         606: more than `calls` per `period`
     |    +-- ConcurrencyLimitError  615: more than `concurrency` calls in flight
     +-- DailyQuotaExceeded          607 (or the local daily counter): nothing more until the reset
     +-- TransientError              604/608/611/614/713/719, 5xx, a non-JSON body: retry later
     |    +-- MarketoConnectionError the HTTP exchange itself failed (connect, read, timeout)
     +-- RequestError                605/609/612/613/616, 70x, 1001-1080, HTTP 413/414: fix it
     |    +-- NotFoundError          610, 702, 710, 1004, 1013, 1025: the thing does not exist
     |    +-- TooManyResultsError    1003 "too many results" on a read: narrow the filter
     +-- AmbiguousWriteError         a non-idempotent write may or may not have been applied
     +-- BulkJobError                a bulk import/export job failed or was cancelled on Marketo
     |    +-- ChecksumMismatchError  a downloaded export file does not match its fileChecksum
     +-- ExportQuotaExceeded         1029 "Export daily quota exceeded" (or known before a job)

Code-to-class table (``errors[].code``; :data:`CODE_TO_CLASS` has one row per documented code)::

    600 601 602                     AuthenticationError    (the token is dropped, fetched again)
    603 1008                        AccessDeniedError
    606 / 615                       RateLimitError / ConcurrencyLimitError (retried)
    607                             DailyQuotaExceeded     (raised at once)
    500 502 604 608 611 614 713 719 TransientError         (retried with backoff)
    1014                            TransientError         (retried with backoff)
    610 702 710 718 1004 1013 1025  NotFoundError
    1003                            RequestError, or TooManyResultsError when "too many results"
    605 609 612 613 616 70x 10xx    RequestError           (1006 names the unknown field)
    1016 1019 1029                  MarketoError: the bulk resources read them (queue full: wait
                                    for room, LimitError only when it never comes; 1029 for
                                    the export quota: ExportQuotaExceeded)
    1048, any other                 MarketoError

No exception message, ``str`` or ``repr`` ever contains the client secret or an access token:
messages are built only from Marketo's error text, codes, request ids, HTTP status and paths.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from typing import Any, TypeVar

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
    "class_for",
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
        # True when this error answers a resend after a failure that may have applied: a
        # "not found" or "already exists" may then be the first send's doing.
        self.after_ambiguous_attempt = False

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


ErrorT = TypeVar("ErrorT", bound=MarketoError)


def retitled(error: ErrorT, message: str) -> ErrorT:
    """``error`` with a better message, keeping its class, code, request id, errors[],
    HTTP status, path, attempts and what it says about having applied. Raise it
    ``from error``."""
    better = copy.copy(error)
    better.message = message
    better.args = (message,)
    return better


def recast(error: MarketoError, as_class: type[ErrorT], message: str) -> ErrorT:
    """``error`` as another class of the tree with a new message, keeping every field of it
    (code, request id, errors[], HTTP status, path, attempts, may-have-applied). Raise it
    ``from error``."""
    other = as_class(
        message,
        code=error.code,
        request_id=error.request_id,
        errors=error.errors,
        http_status=error.http_status,
        path=error.path,
    )
    other.attempts = error.attempts
    other.may_have_applied = error.may_have_applied
    other.after_ambiguous_attempt = error.after_ambiguous_attempt
    return other


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
    """603/1008: the API user's role (or workspace) refuses the call, or an IP allowlist does."""

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
    """The server had trouble (604/608/611/614/713/719, HTTP 5xx, non-JSON); retry later."""

    advice = "Marketo had trouble; retry later"


class MarketoConnectionError(TransientError):
    """The HTTP exchange itself failed: connect error, timeout, dropped connection."""

    advice = "check the network path to Marketo; the call may be retried"
    # The low-level (httpx) error's type name; the error itself is not kept (it holds the
    # request and its headers), its message is in this error's message.
    low_level_type = ""


class RequestError(MarketoError):
    """Marketo refused the request as malformed or unsupported; fix the request."""

    advice = "fix the request; retrying it unchanged will fail again"


class NotFoundError(RequestError):
    """610/702/1004/1013...: the resource, lead, list or program asked for does not exist."""

    advice = "check the path and the ids you asked for"


class TooManyResultsError(RequestError):
    """1003 "too many results" on a read: more records match than Marketo will return."""

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


# One row per code Marketo documents (marketo-api.md 3.2 and 3.3): record-level codes come back
# as response-level errors too (1013 for a missing list, 1006 for an unknown field in `fields`).
# A module that knows more (bulk, Lead Gen) adds its rows here; a code not listed is a MarketoError.
CODE_TO_CLASS: dict[str, type[MarketoError]] = {
    # identity and access
    "600": AuthenticationError,
    "601": AuthenticationError,
    "602": AuthenticationError,
    "603": AccessDeniedError,
    "1008": AccessDeniedError,  # access denied to a partition
    # limits
    "606": RateLimitError,
    "615": ConcurrencyLimitError,
    "607": DailyQuotaExceeded,
    # the server had trouble: retried with backoff
    "500": TransientError,
    "502": TransientError,
    "604": TransientError,
    "608": TransientError,
    "611": TransientError,
    "614": TransientError,
    "713": TransientError,
    "719": TransientError,  # lock wait timeout: "retry later"
    "1014": TransientError,  # failed to create the object
    # the thing asked for does not exist
    "610": NotFoundError,
    "702": NotFoundError,
    "710": NotFoundError,  # parent folder
    "718": NotFoundError,  # ExternalSalesPersonID
    "1004": NotFoundError,  # lead
    "1013": NotFoundError,  # list, program, form, campaign, membership
    "1025": NotFoundError,  # program status
    # the request must change
    "605": RequestError,
    "609": RequestError,
    "612": RequestError,
    "613": RequestError,
    "616": RequestError,
    "701": RequestError,
    "703": RequestError,
    "704": RequestError,
    "709": RequestError,
    "711": RequestError,
    "712": RequestError,
    "714": RequestError,
    "1001": RequestError,
    "1002": RequestError,
    "1003": RequestError,  # TooManyResultsError when the message says so (_NARROWER)
    "1005": RequestError,
    "1006": RequestError,  # "Field '%s' not found": the message names the field
    "1007": RequestError,
    "1009": RequestError,
    "1010": RequestError,
    "1011": RequestError,
    "1012": RequestError,
    "1015": RequestError,
    "1017": RequestError,
    "1018": RequestError,
    "1020": RequestError,
    "1021": RequestError,
    "1022": RequestError,
    "1026": RequestError,
    "1027": RequestError,
    "1028": RequestError,
    "1035": RequestError,
    "1036": RequestError,
    "1037": RequestError,
    "1042": RequestError,
    "1049": RequestError,
    "1076": RequestError,
    "1077": RequestError,
    "1078": RequestError,
    "1079": RequestError,
    "1080": RequestError,
    # Bulk queue codes: the bulk resources wait for room themselves (1016 too many imports,
    # 1019 an import into the list is running) and tell 1029's three meanings (queue full,
    # daily export quota, already queued) apart by the message.
    "1016": MarketoError,
    "1019": MarketoError,
    "1029": MarketoError,
    "1048": MarketoError,  # a custom object's draft could not be discarded: cause unknown
}

# Codes whose class depends on the message: 1003 is "invalid data" in many places and
# "too many results" on reads (marketo-api.md 3.3).
_NARROWER: dict[str, tuple[re.Pattern[str], type[MarketoError]]] = {
    "1003": (re.compile(r"too many results|exceeds", re.IGNORECASE), TooManyResultsError),
}


def class_for(code: str, message: str = "") -> type[MarketoError]:
    """The :class:`MarketoError` subclass for a Marketo error code (and its message)."""
    narrower = _NARROWER.get(code)
    if narrower is not None and narrower[0].search(message):
        return narrower[1]
    return CODE_TO_CLASS.get(code, MarketoError)


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
    return class_for(first.code, first.message)(
        first.message,
        code=first.code,
        request_id=request_id,
        errors=errors,
        http_status=http_status,
        path=path,
    )
