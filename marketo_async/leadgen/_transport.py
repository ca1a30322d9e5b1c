"""The Lead Gen & CRM transport: one POST endpoint, query-string credentials, limits, retries.

Reuses the vendor-neutral pieces of ``marketo_async._transport`` (the limiter, the retry loop,
``Secret``, ``ClientStats``, the send gate a stopped batch write closes before the wire);
brings its own auth, envelope decoding and retry rules.

The secret key must travel in the query string (the API's design). It is added by
:class:`_Credentials`, the innermost httpx transport, to the one request object it sends: the
client's own request, its logs, responses and every exception the library raises carry only
the bare endpoint. Errors are raised outside ``except`` blocks so that no httpx exception
(whose ``.request`` could hold the URL) is kept as ``__context__``.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Mapping
from typing import Any

import anyio
import httpx

from .._config import RateLimits, RetryPolicy
from .._errors import MarketoError, RequestError
from .._transport import (
    ClientStats,
    Decision,
    Limiter,
    QuotaExhausted,
    RetryState,
    Secret,
    backoff,
    retrying,
)
from .._transport._gate import departing, queued
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

__all__ = ["LeadGenTransport", "mask_secret"]

logger = logging.getLogger("marketo_async.leadgen")

MASK = "********"
CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 120.0  # bulk writes of 500 leads with custom fields can take a while
# Raised before the request could reach the server: safe to resend even a create.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def mask_secret(text: str, secret: str) -> str:
    """``text`` with every copy of ``secret`` (raw or URL-encoded) replaced by asterisks."""
    if not secret:
        return text
    return text.replace(secret, MASK).replace(_quoted(secret), MASK)


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


def _decider(policy: RetryPolicy, limits: RateLimits, idempotent: bool) -> Decide:
    def decide(error: Exception, state: RetryState) -> Decision | None:
        if not isinstance(error, LeadGenError):
            return None
        if not idempotent and error.may_have_applied:
            return None  # a create that may have landed is reported unknown, not resent
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
        self,
        *,
        base_url: str,
        account_id: str,
        secret_key: Secret,
        limiter: Limiter,
        rate_limits: RateLimits,
        retry: RetryPolicy,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url
        self.limiter = limiter
        self.rate_limits = rate_limits
        self.retry = retry
        self.stats = ClientStats()
        self._secret = secret_key
        inner = transport or httpx.AsyncHTTPTransport(
            limits=httpx.Limits(
                max_connections=None, max_keepalive_connections=rate_limits.concurrency * 2
            )
        )
        self._http = httpx.AsyncClient(
            transport=_Credentials(inner, account_id, secret_key),
            follow_redirects=False,
            headers={"User-Agent": "marketo_async"},
            timeout=httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
        )
        self.masked_url = f"{base_url}?accountID={account_id}&secretKey={MASK}"
        self._call_ids = itertools.count(1)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def call(
        self,
        method: str,
        params: Mapping[str, Any],
        *,
        idempotent: bool = True,
        records: int = 0,
    ) -> Any:
        """Call ``method`` with ``params``; the decoded ``result``, or a LeadGenError raised."""
        decide = _decider(self.retry, self.rate_limits, idempotent)

        async def attempt() -> Any:
            call_id = str(next(self._call_ids))
            return await self._send_once(method, params, call_id, records)

        def decide_and_pause(error: Exception, state: RetryState) -> Decision | None:
            decision = decide(error, state)
            if decision is not None and isinstance(error, LeadGenRateLimitError):
                self.limiter.pause(decision.wait * self.retry.wait_scale)
            return decision

        def on_retry(error: Exception, state: RetryState, decision: Decision) -> None:
            self.stats.retries += 1
            logger.warning(
                "leadgen %s failed (%s); retry in %.1fs (attempt %d)",
                method,
                _short(error),
                decision.wait * self.retry.wait_scale,
                state.attempt,
            )

        return await retrying(
            attempt, decide=decide_and_pause, policy=self.retry, on_retry=on_retry
        )

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
        return self._http.build_request(
            "POST",
            self.base_url,
            content=body,
            headers={"Content-Type": "application/json"},
        )

    async def _send_once(
        self, method: str, params: Mapping[str, Any], call_id: str, records: int
    ) -> Any:
        request = self._request(method, params, call_id)
        failure: type[httpx.HTTPError] | None = None  # the kind only: no request kept
        quota: QuotaExhausted | None = None
        queued()  # a batch write may still call this call off until departing()
        try:
            async with self.limiter.slot():
                departing()  # a stopped batch write calls it off here, before the wire
                self.stats.calls += 1
                self.stats.records_sent += records
                self.stats.max_in_flight = max(self.stats.max_in_flight, self.limiter.in_flight)
                started = anyio.current_time()
                try:
                    response = await self._http.send(request)
                    await response.aread()
                except httpx.HTTPError as exc:
                    failure = type(exc)
        except QuotaExhausted as exc:
            quota = exc
        if quota is not None:
            raise LeadGenDailyQuotaExceeded(str(quota), path=method)
        if failure is not None:
            raise self._connection_error(method, failure)
        elapsed = anyio.current_time() - started
        try:
            body = _masked_body(response.content, self._secret.reveal())
            result = decode_envelope(response.status_code, body, method=method, call_id=call_id)
        except MarketoError as error:
            self._count_error(error)
            logger.debug(
                "leadgen %s %s -> HTTP %d error %s (id %s, %.3fs)",
                method,
                self.masked_url,
                response.status_code,
                error.code or error.http_status,
                call_id,
                elapsed,
            )
            raise
        logger.debug(
            "leadgen %s %s -> HTTP %d (id %s, %d objects, %.3fs)",
            method,
            self.masked_url,
            response.status_code,
            call_id,
            records,
            elapsed,
        )
        return result

    def _connection_error(self, method: str, failure: type[httpx.HTTPError]) -> LeadGenError:
        name = failure.__name__
        self.stats.errors[name] += 1
        error = LeadGenConnectionError(f"{name} talking to the Lead Gen & CRM API", path=method)
        error.may_have_applied = not issubclass(failure, _NOT_SENT)
        return error

    def _count_error(self, error: MarketoError) -> None:
        key = error.code or (f"HTTP {error.http_status}" if error.http_status else "other")
        self.stats.errors[key] += 1
        if isinstance(error, LeadGenRateLimitError):
            self.stats.rate_limited += 1


def _short(error: Exception) -> str:
    if isinstance(error, MarketoError):
        return f"{type(error).__name__} {error.code or error.http_status or ''}".strip()
    return type(error).__name__
