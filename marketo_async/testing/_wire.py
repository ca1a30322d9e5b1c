"""The emulator's view of one HTTP exchange: request, reply, Marketo's envelopes and errors.

Both the in-process transport and the loopback HTTP server turn their own request type into a
:class:`FakeRequest` and send back a :class:`FakeReply`, so the two modes answer alike.
"""

from __future__ import annotations

import base64
import itertools
import json
import random
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import attrs

__all__ = [
    "ApiError",
    "DropConnection",
    "FakeReply",
    "FakeRequest",
    "RequestIds",
    "asset_envelope",
    "decode_page_token",
    "encode_page_token",
    "error_envelope",
    "html_page",
    "json_reply",
    "read_seed",
]

# Marketo: paging tokens look like base32 text with "=" padding.
_TOKEN_PREFIX = "FK"


class ApiError(Exception):
    """A response-level Marketo error (HTTP 200, ``success: false``) raised inside a handler."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class DropConnection(Exception):
    """Close the connection without answering (a scripted fault)."""


@attrs.define
class FakeRequest:
    """One HTTP request as the emulator sees it, independent of httpx or h11."""

    method: str
    target: str  # path plus query, exactly as sent
    headers: dict[str, str]  # lower-cased names
    body: bytes = b""

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(urlsplit(self.target).query, keep_blank_values=True)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


@attrs.define
class FakeReply:
    """The answer: an HTTP status, a content type and the body bytes.

    ``cut_at`` (a scripted fault) sends the full headers but only that many body bytes, then
    closes the connection: a download cut halfway.
    """

    status: int
    body: bytes
    content_type: str = "application/json;charset=UTF-8"
    code: str | None = None  # the Marketo error code or HTTP status this reply carries, if any
    headers: dict[str, str] = attrs.Factory(dict)
    cut_at: int | None = None

    def json(self) -> Any:
        return json.loads(self.body)


def json_reply(payload: dict[str, Any], *, status: int = 200, code: str | None = None) -> FakeReply:
    return FakeReply(status=status, body=json.dumps(payload).encode(), code=code)


def html_page(status: int, title: str) -> FakeReply:
    """The HTML page Marketo's gateway sends for HTTP-level failures (413, 414, 502 ...)."""
    body = (
        f"<html>\r\n<head><title>{status} {title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {title}</h1></center>\r\n</body>\r\n</html>\r\n"
    )
    return FakeReply(status=status, body=body.encode(), content_type="text/html", code=str(status))


class RequestIds:
    """Request ids in Marketo's ``e42b#14272d07d78`` form."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._counter = itertools.count(1)

    def next(self) -> str:
        prefix = f"{self._rng.randrange(0x1000, 0x1FFFF):x}"
        return f"{prefix}#{int(time.time() * 1000) + next(self._counter):x}"


def error_envelope(request_id: str, code: str, message: str) -> dict[str, Any]:
    return {
        "requestId": request_id,
        "success": False,
        "errors": [{"code": code, "message": message}],
    }


def asset_envelope(
    request_id: str, result: Sequence[dict[str, Any]] | None, warnings: Iterable[str] = ()
) -> dict[str, Any]:
    """The asset API's envelope: ``errors`` and ``warnings`` always present, warnings as text."""
    body: dict[str, Any] = {
        "success": True,
        "errors": [],
        "requestId": request_id,
        "warnings": list(warnings),
    }
    if result is not None:
        body["result"] = list(result)
    return body


def encode_page_token(kind: str, after: int) -> str:
    """An opaque cursor: the kind of listing and the last key returned."""
    raw = f"{_TOKEN_PREFIX}|{kind}|{after}".encode()
    return base64.b32encode(raw).decode()


def decode_page_token(token: str, kind: str) -> int:
    """The last key returned, or 1003 when the token is not one of ours for this listing."""
    try:
        raw = base64.b32decode(token.encode(), casefold=True).decode()
        prefix, token_kind, after = raw.split("|")
        if prefix != _TOKEN_PREFIX or token_kind != kind:
            raise ValueError(raw)
        return int(after)
    except ValueError as exc:
        raise ApiError("1003", f"Invalid nextPageToken '{token}'") from exc


def read_seed(path: str | Path) -> dict[str, Any]:
    """A JSON seed file's object; ``ValueError`` naming the file for text that is not JSON or
    not a JSON object (``OSError`` when it cannot be read)."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        seed = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{path} is not JSON ({exc})") from None
    if not isinstance(seed, dict):
        raise ValueError(f"{path} holds a JSON {type(seed).__name__}, not an object")
    return seed
