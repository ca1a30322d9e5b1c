"""Pure functions from Marketo's answers (an httpx response) to data or the right exception.
(A failed exchange becomes an error in one place too: ``_pipeline.connection_error``.)"""

from __future__ import annotations

from typing import Any

import attrs
import httpx

from .._errors import (
    AuthenticationError,
    ErrorDetail,
    MarketoError,
    NotFoundError,
    RateLimitError,
    RequestError,
    TransientError,
    error_for,
)

__all__ = [
    "UriTooLongError",
    "Warning",
    "decode",
    "decode_identity",
    "warnings_of",
]

_HTML_SNIPPET_CHARS = 120


class UriTooLongError(RequestError):
    """HTTP 414: the URI is over 8 KB (the transport resends it as ``_method=GET``)."""


@attrs.frozen
class Warning:
    """A warning Marketo attached to a successful answer (``code`` is None on the asset API)."""

    code: str | None
    message: str


def warnings_of(body: dict[str, Any]) -> list[Warning]:
    """Lead-database warnings are objects ``{code, message}``; asset warnings are strings."""
    found: list[Warning] = []
    for item in body.get("warnings") or ():
        if isinstance(item, dict):
            code = item.get("code")
            found.append(Warning(None if code is None else str(code), str(item.get("message", ""))))
        else:
            found.append(Warning(None, str(item)))
    return found


def _details(body: dict[str, Any]) -> list[ErrorDetail]:
    return [
        ErrorDetail(str(entry.get("code", "")), str(entry.get("message", "")))
        for entry in body.get("errors") or ()
        if isinstance(entry, dict)
    ]


def _snippet(response: httpx.Response) -> str:
    text = " ".join(response.text[:_HTML_SNIPPET_CHARS].split())
    return text or "(empty body)"


def _http_error(response: httpx.Response, path: str) -> MarketoError:
    status = response.status_code
    request_id = response.headers.get("x-request-id")
    if status == 413:
        return RequestError(
            "Marketo refused the body as too large (HTTP 413): send fewer records per call",
            http_status=status,
            path=path,
        )
    if status == 414:
        return UriTooLongError(
            "the URI is over Marketo's 8 KB limit (HTTP 414)", http_status=status, path=path
        )
    if status == 401:
        return AuthenticationError(
            "Marketo refused the credentials (HTTP 401)", http_status=status, path=path
        )
    if status == 429:
        return RateLimitError(
            "Marketo answered HTTP 429 Too Many Requests", http_status=status, path=path
        )
    if status == 404:
        return NotFoundError(
            f"Marketo answered HTTP 404: {_snippet(response)}", http_status=status, path=path
        )
    if status >= 500:
        error: MarketoError = TransientError(
            f"Marketo answered HTTP {status}: {_snippet(response)}",
            http_status=status,
            path=path,
            request_id=request_id,
        )
        # A gateway error may come after the server already applied the call.
        error.may_have_applied = True
        return error
    return MarketoError(
        f"unexpected HTTP {status} from Marketo: {_snippet(response)}",
        http_status=status,
        path=path,
    )


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    """The body as a JSON object, or None when it is not one (not JSON, or a list ...)."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def decode(response: httpx.Response, *, path: str | None = None) -> dict[str, Any]:
    """Marketo's JSON body, or raise the :class:`MarketoError` the response stands for.

    HTTP 200 with ``success: false`` raises the class of the first ``errors[]`` code and keeps
    every entry; record-level ``skipped`` results are data and are returned as such.
    """
    where = path if path is not None else response.request.url.path
    if not 200 <= response.status_code < 300:
        raise _http_error(response, where)
    body = _json_object(response)
    if body is None:
        error: MarketoError = TransientError(
            f"Marketo answered HTTP {response.status_code} with a body that is not a JSON "
            f"object: {_snippet(response)}",
            http_status=response.status_code,
            path=where,
        )
        error.may_have_applied = True
        raise error
    if body.get("success") is False:
        error = error_for(
            _details(body),
            request_id=body.get("requestId"),
            http_status=response.status_code,
            path=where,
        )
        # 6xx: "the request was not executed"; 604 (a timeout) is the exception.
        error.may_have_applied = error.code == "604"
        raise error
    return body


def decode_identity(response: httpx.Response) -> tuple[str, float]:
    """``(access_token, expires_in)`` from the identity endpoint, or an AuthenticationError."""
    path = response.request.url.path
    if response.status_code in (400, 401, 403):
        raise AuthenticationError(
            f"Marketo identity refused the credentials (HTTP {response.status_code})",
            http_status=response.status_code,
            path=path,
        )
    if not 200 <= response.status_code < 300:
        raise _http_error(response, path)
    body = _json_object(response)
    if body is None:
        raise TransientError(
            "Marketo identity answered with a body that is not a JSON object: "
            + _snippet(response),
            http_status=response.status_code,
            path=path,
        )
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        if body.get("success") is False:
            raise error_for(
                _details(body),
                request_id=body.get("requestId"),
                http_status=response.status_code,
                path=path,
            )
        raise AuthenticationError(
            "Marketo identity answered without an access token", http_status=200, path=path
        )
    try:
        expires_in = float(body.get("expires_in", 0))
    except (TypeError, ValueError):
        expires_in = 0.0
    return token, expires_in
