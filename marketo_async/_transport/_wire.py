"""Building requests: the base URL, paths, query strings, bodies, timeouts and the 414 fallback."""

from __future__ import annotations

import ipaddress
import json as jsonlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from .._errors import RequestError

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_URL_BYTES",
    "Params",
    "build_request",
    "checked_base_url",
    "clean_path",
    "encode_params",
    "is_loopback_host",
    "read_timeout_for",
    "to_method_get",
]

# Marketo: URIs over 8 KB get HTTP 414; keep a little room for the host and proxies.
MAX_URL_BYTES = 8_000
# Marketo: request bodies over 1 MB get HTTP 413.
MAX_BODY_BYTES = 1_000_000
# Our read timeout sits this far above the server's own, so Marketo's 604 reaches us first.
READ_TIMEOUT_MARGIN_S = 15.0
CONNECT_TIMEOUT_S = 10.0
WRITE_TIMEOUT_S = 60.0

Params = Mapping[str, Any]

# Server-side timeouts (marketo-api.md 5.6), most specific first.
_SERVER_TIMEOUTS_S: tuple[tuple[str | None, re.Pattern[str], float], ...] = (
    (None, re.compile(r"^/rest/asset/"), 300.0),
    (None, re.compile(r"^/rest/v1/activities/pagingtoken\.json$"), 300.0),
    ("POST", re.compile(r"^/rest/v1/activities/external\.json$"), 90.0),
    (None, re.compile(r"^/rest/v1/leads/\d+/merge\.json$"), 180.0),
    ("POST", re.compile(r"^/rest/v1/leads\.json$"), 90.0),
    (None, re.compile(r"^/rest/v1/leads/push\.json$"), 90.0),
    (None, re.compile(r"^/rest/v1/leads/\d+/associate\.json$"), 60.0),
    ("POST", re.compile(r"^/rest/v1/leads/partitions\.json$"), 60.0),
    ("GET", re.compile(r"^/rest/v1/leads\.json$"), 60.0),
    (None, re.compile(r"^/rest/v1/lists?/\d+/leads\.json$"), 60.0),
    (None, re.compile(r"^/bulk/"), 300.0),
)
DEFAULT_SERVER_TIMEOUT_S = 30.0


def is_loopback_host(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1: the only hosts where plain http is allowed."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def checked_base_url(base_url: str, *, looks_like: str, credentials_hint: str = "") -> httpx.URL:
    """``base_url`` parsed, or a ValueError: http(s) with a host, https unless the host is a
    loopback one, and no query string, user info or fragment (credentials never go there)."""
    url = httpx.URL(base_url)
    if url.scheme not in ("https", "http") or not url.host:
        raise ValueError(f"base_url must look like {looks_like}, got {base_url!r}")
    if url.scheme != "https" and not is_loopback_host(url.host):
        raise ValueError(
            "base_url must use https (plain http is allowed only for loopback hosts such as "
            f"127.0.0.1, used by tests and the emulator); got {url.scheme}://{url.host}"
        )
    if url.query or url.userinfo or url.fragment:
        raise ValueError("base_url must not carry a query string or user info" + credentials_hint)
    return url


def read_timeout_for(method: str, path: str) -> float:
    """Seconds to wait for Marketo's answer on this endpoint."""
    for want, pattern, seconds in _SERVER_TIMEOUTS_S:
        if (want is None or want == method) and pattern.search(path):
            return seconds + READ_TIMEOUT_MARGIN_S
    return DEFAULT_SERVER_TIMEOUT_S + READ_TIMEOUT_MARGIN_S


def clean_path(path: str) -> str:
    """A path with one leading slash and never ``//`` (Marketo's gateway rejects it)."""
    if "://" in path or "?" in path:
        raise ValueError(f"path must be a bare path without host or query, got {path!r}")
    return "/" + re.sub(r"/{2,}", "/", path).lstrip("/")


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


QueryPairs = list[tuple[str, str | int | float | bool | None]]


def encode_params(params: Params | None) -> QueryPairs:
    """Query pairs; a list or tuple value becomes repeated keys, ``None`` is left out."""
    pairs: QueryPairs = []
    for name, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            pairs.extend((name, _scalar(item)) for item in value)
        else:
            pairs.append((name, _scalar(value)))
    return pairs


def _encode_json(body: Any, path: str) -> bytes:
    try:
        text = jsonlib.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        # A lone surrogate raises UnicodeEncodeError (a ValueError) here.
        return text.encode("utf-8")
    except (TypeError, ValueError) as exc:
        # Never a bare "NaN" on the wire, nor a TypeError from deep inside a batch write.
        raise RequestError(
            f"the request body cannot be sent as JSON ({exc}); nothing was sent", path=path
        ) from None


def build_request(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    *,
    params: Params | None = None,
    json: Any = None,
    data: Params | Sequence[tuple[str, str]] | None = None,
) -> httpx.Request:
    """The httpx request for one call, turned into ``POST ?_method=GET`` when too long."""
    method = method.upper()
    path = clean_path(path)
    pairs = encode_params(params)
    timeout = httpx.Timeout(
        CONNECT_TIMEOUT_S, read=read_timeout_for(method, path), write=WRITE_TIMEOUT_S, pool=None
    )
    extensions = {"timeout": timeout.as_dict()}
    content: bytes | None = None
    headers = {"Accept-Encoding": "gzip"}
    if json is not None:
        content = _encode_json(json, path)
        headers["Content-Type"] = "application/json"
    elif data is not None:
        form = encode_params(data) if isinstance(data, Mapping) else list(data)
        content = _form(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if content is not None and len(content) > MAX_BODY_BYTES:
        raise RequestError(
            f"request body is {len(content):,} bytes; Marketo accepts at most "
            f"{MAX_BODY_BYTES:,} (HTTP 413). Send fewer or smaller records per call",
            http_status=413,
            path=path,
        )
    request = client.build_request(
        method, path, params=pairs, content=content, headers=headers, extensions=extensions
    )
    if method == "GET" and len(str(request.url).encode("utf-8")) > MAX_URL_BYTES:
        request = to_method_get(client, request)
    return request


def _form(pairs: Sequence[tuple[str, str | int | float | bool | None]]) -> bytes:
    return str(httpx.QueryParams(list(pairs))).encode("ascii")


def to_method_get(client: httpx.AsyncClient, request: httpx.Request) -> httpx.Request:
    """Marketo's long-URI workaround: POST with ``_method=GET`` and the query as a form body."""
    pairs = list(request.url.params.multi_items())
    pairs = [(k, v) for k, v in pairs if k != "_method"]
    url = request.url.copy_with(query=b"_method=GET")
    dropped = ("content-length", "content-type")
    headers = {k: v for k, v in request.headers.items() if k.lower() not in dropped}
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return httpx.Request(
        "POST",
        url,
        headers=headers,
        content=_form(pairs),
        extensions=request.extensions,
    )
