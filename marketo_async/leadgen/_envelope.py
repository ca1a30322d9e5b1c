"""One pure function from a Lead Gen & CRM answer to its ``result`` or the right exception.

The envelope is ``{"result": ..., "error": ..., "id": ...}``. ``error`` is ``null`` or ``[]``
on success, an object when the whole call failed, and a list that repeats the failing objects'
errors (renumbered) when some objects of a bulk write failed: that call succeeded, and its
per-object outcomes are read by index from ``result`` (see :func:`object_entries`).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

from .._batch import NO_RESULT, EntryResult, Reason, Status
from ._errors import (
    LeadGenAuthenticationError,
    LeadGenError,
    LeadGenRateLimitError,
    LeadGenRequestError,
    LeadGenTransientError,
    leadgen_error,
)

__all__ = ["decode_envelope", "is_success", "object_entries", "read_entry"]

_SNIPPET_CHARS = 120
_UNREADABLE = Reason(NO_RESULT, "the answer's entry for this record is neither success nor failure")


def _snippet(body: bytes) -> str:
    text = " ".join(body[:_SNIPPET_CHARS].decode("utf-8", "replace").split())
    return text or "(empty body)"


def _unreadable(why: str, status: int, method: str) -> LeadGenTransientError:
    """An answer that cannot be read as this call's: the call may have applied."""
    error = LeadGenTransientError(why, http_status=status, path=method)
    error.may_have_applied = True
    return error


def _http_error(status: int, body: bytes, method: str) -> LeadGenError:
    if status == 401:
        # Observed: 401 with "Unable to determine clusterID from provided accountID/secretKey".
        return LeadGenAuthenticationError(
            f"the API refused the account id or secret key (HTTP 401: {_snippet(body)})",
            http_status=status,
            path=method,
        )
    if status == 429:  # never documented (limits come as 107), but honoured if it ever comes
        return LeadGenRateLimitError("HTTP 429 Too Many Requests", http_status=status, path=method)
    if status >= 500:
        error = LeadGenTransientError(
            f"the service answered HTTP {status} ({_snippet(body)})",
            http_status=status,
            path=method,
        )
        # 503 "Service temporarily unavailable" refuses the call before any work; other 5xx
        # (500 from the application, 502/504 from a gateway) may come after the work was done.
        error.may_have_applied = status != 503
        return error
    return LeadGenRequestError(
        f"the API answered HTTP {status} ({_snippet(body)})", http_status=status, path=method
    )


def _call_error(error: Mapping[str, Any], method: str, status: int) -> LeadGenError:
    code = error.get("code")
    message = str(error.get("message") or "the API reported an error without a message")
    return leadgen_error(
        None if code is None else str(code), message, method=method, http_status=status
    )


def decode_envelope(status: int, body: bytes, *, method: str, call_id: str) -> Any:
    """The ``result`` of one answer, or the :class:`LeadGenError` it stands for (raised)."""
    try:
        payload = json.loads(body) if body else None
    except ValueError:
        payload = None
    if status != 200 and not isinstance(payload, dict):
        raise _http_error(status, body, method)
    if not isinstance(payload, dict):
        why = f"the API answered something that is not a JSON envelope ({_snippet(body)})"
        raise _unreadable(why, status, method)
    answered_id = payload.get("id")
    if answered_id not in (None, "") and str(answered_id) != call_id:
        why = f"the answer is for request {answered_id!r}, not {call_id!r}"
        raise _unreadable(why, status, method)
    error_field = payload.get("error")
    result = payload.get("result")
    if isinstance(error_field, Mapping):
        raise _call_error(error_field, method, status)
    if error_field and result is None:
        first = error_field[0] if isinstance(error_field, list) else None
        raise _call_error(first if isinstance(first, Mapping) else {}, method, status)
    if status != 200:
        raise _http_error(status, body, method)
    return result


def is_success(value: object) -> bool:
    """``success`` as sent: a JSON true, or (some clients guard against it) "true"/"1"/1."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1")


def _reason(error: object) -> Reason:
    if isinstance(error, Mapping):
        return Reason(str(error.get("code", "")), str(error.get("message") or ""))
    return Reason("", str(error) if error else "failure without an error entry")


def read_entry(
    entry: Mapping[str, Any], *, applied: Status, unchanged: Collection[str] = ()
) -> EntryResult:
    """One ``{success, error, id}`` of a bulk write's ``creates``/``updates``/``deletes``.

    Success is ``applied`` with the entry's id; a refused object is ``failed`` with the API's
    error as its reason, unless its code is in ``unchanged`` (302 "no table rows affected":
    the lead already held these values), which is ``applied`` with that reason.
    """
    if "success" not in entry:
        return "unknown", None, (_UNREADABLE,)
    raw_id = entry.get("id")
    record_id = int(str(raw_id).strip()) if str(raw_id).strip().isdigit() else None
    if is_success(entry.get("success")):
        return applied, record_id, ()
    reason = _reason(entry.get("error"))
    return (applied if reason.code in unchanged else "failed"), record_id, (reason,)


def object_entries(result: object, key: str) -> list[Mapping[str, Any]]:
    """``result[key]``: one entry per object sent, in input order (matched by position)."""
    raw = result.get(key) if isinstance(result, Mapping) else None
    if not isinstance(raw, list):
        return []
    # Kept in place (an entry answers the object at its position), read as unknown.
    return [entry if isinstance(entry, Mapping) else {} for entry in raw]
