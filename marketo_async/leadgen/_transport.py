"""The Lead Gen & CRM transport: one POST endpoint on the send pipeline, with the key in the
URL as its auth, the JSON-RPC envelope as its codec, and its own retry rules.

The secret key must travel in the query string (the API's design). It is added by
:class:`_Credentials`, the innermost httpx transport, to the one request object it sends: the
client's own request, httpx's logs, responses and every exception the library raises carry
only the bare endpoint. Errors are raised outside ``except`` blocks so that no httpx
exception (whose ``.request`` could hold the URL) is kept as ``__context__``.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Mapping
from typing import Any

import httpx

from .._config import RateLimits, RetryPolicy
from .._errors import MarketoError, RequestError
from .._transport import Call, Decision, Pipeline, RetryState, Secret, Sending, backoff
from .._transport._retry import Decide
from ._envelope import decode_envelope
from ._errors import (
    LeadGenAuthenticationError,
    LeadGenConnectionError,
    LeadGenDailyQuotaExceeded,
    LeadGenError,
    LeadGenRateLimitError,
    LeadGenTransientError,
)

__all__ = ["JsonRpcEnvelope", "KeyInUrl", "LeadGenTransport"]

logger = logging.getLogger("marketo_async.leadgen")

MASK = "********"
CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 120.0  # bulk writes of 500 leads with custom fields can take a while


def _masked_body(body: bytes, secret: str) -> bytes:
    """An answer with any echo of the secret key masked: a server quoting the request URL in
    an error message must not put the key into an exception, a log line or a report."""
    if not secret:
        return body
    for copy in {secret, _quoted(secret)}:
        if copy.encode() in body:
            body = body.replace(copy.encode(), MASK.encode())
    return body


def _quoted(secret: str) -> str:
    return str(httpx.QueryParams({"s": secret})).removeprefix("s=")


class _Credentials(httpx.AsyncBaseTransport):
    """Adds ``accountID``/``secretKey`` to the URL of the request actually sent, and no other."""

    def __init__(self, inner: httpx.AsyncBaseTransport, account_id: str, secret: Secret) -> None:
        self._inner = inner
        self._account_id = account_id
        self._secret = secret

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url.copy_merge_params(
            {"accountID": self._account_id, "secretKey": self._secret.reveal()}
        )
        outgoing = httpx.Request(
            request.method,
            url,
            headers=request.headers,
            stream=request.stream,
            extensions=request.extensions,
        )
        try:
            return await self._inner.handle_async_request(outgoing)
        except httpx.HTTPError as exc:
            kind = type(exc)
        # The same kind of error about the bare request, raised once this frame holds nothing
        # with the key (a traceback keeps its frames' locals).
        del url, outgoing
        clean = kind(f"{kind.__name__} sending {request.method} {request.url}")
        clean.request = request
        raise clean

    async def aclose(self) -> None:
        await self._inner.aclose()


class KeyInUrl:
    """The send pipeline's auth for Lead Gen & CRM: ``accountID`` and ``secretKey`` in the URL,
    added by the innermost transport (:class:`_Credentials`) only."""

    def __init__(self, account_id: str, secret: Secret) -> None:
        self._account_id = account_id
        self._secret = secret

    def wrap(self, transport: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        return _Credentials(transport, self._account_id, self._secret)

    async def ready(self) -> None:
        return None

    async def credential(self) -> None:
        return None

    def sign(self, request: httpx.Request, credential: Secret | None) -> httpx.Request:
        return request  # the key is added below httpx's logs, by _Credentials

    async def refused(self, error: MarketoError, credential: Secret | None) -> None:
        return None  # a refused key is refused for good: nothing to refresh

    def secrets(self) -> tuple[str, ...]:
        return (self._secret.reveal(),)


class JsonRpcEnvelope:
    """The send pipeline's codec for Lead Gen & CRM: ``{result, error, id}``, with any echo of
    the secret key masked before anything reads the answer."""

    api = "leadgen"
    peer = "the Lead Gen & CRM API"
    connection_error_class = LeadGenConnectionError

    def __init__(self, secret: Secret) -> None:
        self._secret = secret

    def decode(self, response: httpx.Response, call: Call) -> Any:
        body = _masked_body(response.content, self._secret.reveal())
        return decode_envelope(
            response.status_code, body, method=call.where, call_id=call.call_id or ""
        )

    def quota_error(self, message: str, where: str) -> MarketoError:
        return LeadGenDailyQuotaExceeded(message, path=where)

    def trace(self, call: Call, body: Any, error: MarketoError | None) -> str:
        return f"id {call.call_id}"


def _decider(policy: RetryPolicy, limits: RateLimits) -> Decide:
    def decide(error: Exception, state: RetryState) -> Decision | None:
        if not isinstance(error, LeadGenError):
            return None
        if isinstance(error, LeadGenRateLimitError):
            # 107: the 1-second window is full (another client of the account); let it roll.
            return Decision(limits.period + limits.window_margin + backoff(policy, 1) / 4)
        if isinstance(error, LeadGenDailyQuotaExceeded | LeadGenAuthenticationError):
            return None
        if isinstance(error, LeadGenTransientError):
            return Decision(backoff(policy, state.attempt))
        return None

    return decide


class LeadGenTransport:
    """Sends one API method call within the limiter's budget and decodes its answer."""

    def __init__(
        self, sending: Sending, *, base_url: str, account_id: str, secret_key: Secret
    ) -> None:
        self.base_url = base_url
        self.pipeline = Pipeline(
            sending,
            auth=KeyInUrl(account_id, secret_key),
            codec=JsonRpcEnvelope(secret_key),
            decide=_decider,
            logger=logger,
            timeout=httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
        )
        self.stats = self.pipeline.stats
        self.masked_url = f"{base_url}?accountID={account_id}&secretKey={MASK}"
        self._call_ids = itertools.count(1)

    async def aclose(self) -> None:
        await self.pipeline.aclose()

    async def call(
        self,
        method: str,
        params: Mapping[str, Any],
        *,
        idempotent: bool = True,
        records: int = 0,
    ) -> Any:
        """Call ``method`` with ``params``; the decoded ``result``, or a LeadGenError raised."""
        shown = f"{method} {self.masked_url}"

        async def attempt(sends: int) -> Any:
            call_id = str(next(self._call_ids))
            request = self._request(method, params, call_id)
            call = Call(
                request=request, where=method, shown=shown, records=records, call_id=call_id
            )
            return await self.pipeline.send(call, attempt=sends)

        return await self.pipeline.retrying(attempt, shown=shown, idempotent=idempotent)

    def _request(self, method: str, params: Mapping[str, Any], call_id: str) -> httpx.Request:
        envelope = {"method": method, "params": params, "id": call_id}
        try:
            content = json.dumps(
                envelope, separators=(",", ":"), ensure_ascii=False, allow_nan=False
            )
            body = content.encode("utf-8")  # a lone surrogate raises UnicodeEncodeError here
        except (TypeError, ValueError) as exc:
            # Never an exception from the JSON encoder out of a batch write whose other
            # calls went out: the call is refused whole, and nothing of it was sent.
            raise RequestError(
                f"the request body cannot be sent as JSON ({exc}); nothing was sent", path=method
            ) from None
        return self.pipeline.http.build_request(
            "POST",
            self.base_url,
            content=body,
            headers={"Content-Type": "application/json"},
        )
