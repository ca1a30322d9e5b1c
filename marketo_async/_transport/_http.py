"""The Marketo transport: limits, token, wire, decoding and retries around one httpx client."""

from __future__ import annotations

import collections
import logging
from collections.abc import Sequence
from typing import Any

import anyio
import attrs
import httpx

from .._config import RateLimits, RetryPolicy
from .._errors import (
    AmbiguousWriteError,
    DailyQuotaExceeded,
    MarketoConnectionError,
    MarketoError,
    RateLimitError,
    recast,
)
from ._auth import Secret, TokenCache
from ._daily import USAGE_PATH, DailyCounter, DailyUsageWatch
from ._decode import UriTooLongError, connection_error, decode, decode_identity
from ._gate import departing, queued
from ._limiter import Limiter, QuotaExhausted
from ._marketo_rules import TOKEN_CODES, marketo_decide
from ._retry import Decision, RetryState, retrying
from ._wire import Params, build_request, to_method_get

__all__ = ["Answer", "ClientStats", "MarketoTransport", "resent_after_ambiguity"]

logger = logging.getLogger("marketo_async")

IDENTITY_PATH = "/identity/oauth/token"
IDENTITY_TIMEOUT_S = 30.0


class Answer(dict[str, Any]):
    """Marketo's decoded body, and whether it answers a resend after a failure that may have
    applied (a 604, a 5xx, a cut connection): then "not found" or "already exists" for a
    record may be the first send's doing. See :func:`resent_after_ambiguity`."""

    __slots__ = ("resent_after_ambiguity",)

    def __init__(self, body: dict[str, Any], *, resent_after_ambiguity: bool = False) -> None:
        super().__init__(body)
        self.resent_after_ambiguity = resent_after_ambiguity


def resent_after_ambiguity(body: object) -> bool:
    """True when ``body`` answers a resend that followed a failure which may have applied."""
    return isinstance(body, Answer) and body.resent_after_ambiguity


@attrs.define
class ClientStats:
    """Counters of one client's traffic."""

    calls: int = 0
    retries: int = 0
    rate_limited: int = 0
    concurrency_limited: int = 0
    tokens_fetched: int = 0
    records_sent: int = 0
    max_in_flight: int = 0
    errors: collections.Counter[str] = attrs.field(factory=collections.Counter)


def _count_records(json: Any, params: Params | None) -> int:
    if isinstance(json, dict) and isinstance(json.get("input"), list):
        return len(json["input"])
    ids = (params or {}).get("id")
    return len(ids) if isinstance(ids, (list, tuple)) else 0


class MarketoTransport:
    """Sends Marketo calls within the limiter's budget, retrying what Marketo says to retry."""

    def __init__(
        self,
        *,
        base_url: str,
        client_id: str,
        client_secret: Secret,
        limiter: Limiter,
        rate_limits: RateLimits,
        retry: RetryPolicy,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self.limiter = limiter
        self.rate_limits = rate_limits
        self.retry = retry
        self.stats = ClientStats()
        self._http = httpx.AsyncClient(
            base_url=base_url,
            transport=transport,
            # Our own limiter bounds the calls in flight; httpx's pool must never queue them.
            limits=httpx.Limits(
                max_connections=None, max_keepalive_connections=rate_limits.concurrency * 2
            ),
            follow_redirects=False,
            headers={"User-Agent": "marketo_async"},
        )
        # A shared limiter (Redis) may also share the token, so a fleet fetches it once.
        self.tokens = TokenCache(
            self._fetch_token, on_fetch=self._count_token, store=limiter.token_store
        )
        self._decide = marketo_decide(retry, rate_limits)
        # The daily counter learns the instance's count (every integration's calls).
        self.daily: DailyUsageWatch | None = None
        if rate_limits.daily_quota is not None and isinstance(limiter, DailyCounter):
            self.daily = DailyUsageWatch(
                limiter, lambda: self.request("GET", USAGE_PATH), lambda: self.stats.calls
            )

    async def aclose(self) -> None:
        await self._http.aclose()

    def _count_token(self) -> None:
        self.stats.tokens_fetched += 1

    async def _fetch_token(self) -> tuple[str, float]:
        # Form body, not query string: the secret must never appear in a URL or an access log.
        request = self._http.build_request(
            "POST",
            IDENTITY_PATH,
            data={
                "grant_type": "client_credentials",
                "client_id": self._client_id,
                "client_secret": self._client_secret.reveal(),
            },
            extensions={"timeout": httpx.Timeout(IDENTITY_TIMEOUT_S).as_dict()},
        )
        response = await self._exchange(request, IDENTITY_PATH, "Marketo identity")
        return decode_identity(response)

    async def _exchange(self, request: httpx.Request, where: str, peer: str) -> httpx.Response:
        """Send ``request`` and read its answer: the one place httpx's errors become ours.

        The translated error keeps the low-level error's type and message as text only, and
        is raised outside the ``except`` block, so neither its ``__context__`` nor anything
        else reachable from it holds the request, its Authorization header or the form body
        with the client secret (error trackers walk exception chains).
        """
        try:
            response = await self._http.send(request)
            await response.aread()
            return response
        except httpx.HTTPError as exc:
            failure = connection_error(exc, where, peer, self.secrets())
        raise failure

    def secrets(self) -> tuple[str, ...]:
        """The client secret and the token held now: never to appear in an error's text."""
        held = (self._client_secret.reveal(), self.tokens.held())
        return tuple(value for value in held if value)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        data: Params | Sequence[tuple[str, str]] | None = None,
        idempotent: bool = True,
    ) -> dict[str, Any]:
        """Send one call and return Marketo's decoded body, or raise a MarketoError."""
        request = build_request(self._http, method, path, params=params, json=json, data=data)
        if self.daily is not None:
            await self.daily.before_call()
        records = _count_records(json, params)
        where = request.url.path

        sends = 0
        resent_after_ambiguity = False

        async def attempt() -> dict[str, Any]:
            nonlocal request, sends
            sends += 1
            try:
                return await self._send_once(request, where, records, sends)
            except UriTooLongError:
                if request.method == "GET":
                    request = to_method_get(self._http, request)
                raise

        def on_retry(error: Exception, state: RetryState, decision: Decision) -> None:
            nonlocal resent_after_ambiguity
            if isinstance(error, MarketoError) and error.may_have_applied:
                resent_after_ambiguity = True
            self.stats.retries += 1
            logger.warning(
                "marketo %s %s failed (%s); retry in %.1fs (attempt %d, %s)",
                method,
                where,
                _short(error),
                decision.wait * self.retry.wait_scale,
                state.attempt,
                "free" if not decision.counts else "counted",
            )

        def decide(error: Exception, state: RetryState) -> Decision | None:
            if not idempotent and isinstance(error, MarketoError) and error.may_have_applied:
                return None
            decision = self._decide(error, state)
            if decision is not None and isinstance(error, RateLimitError):
                self.limiter.pause(decision.wait * self.retry.wait_scale)
            return decision

        try:
            body = await retrying(attempt, decide=decide, policy=self.retry, on_retry=on_retry)
        except MarketoError as error:
            error.after_ambiguous_attempt = resent_after_ambiguity
            if not idempotent and error.may_have_applied:
                message = f"{method} {where} failed after it was sent ({_short(error)})"
                raise recast(error, AmbiguousWriteError, message) from error
            raise
        return Answer(body, resent_after_ambiguity=resent_after_ambiguity)

    async def _send_once(
        self, request: httpx.Request, where: str, records: int, sends: int
    ) -> dict[str, Any]:
        queued()  # a batch write may still call this call off until departing()
        # Fetch outside the window (identity calls are not counted), then attach inside it.
        await self.tokens.get()
        try:
            slot = self.limiter.slot()
            async with slot:
                # Held as a Secret, so not even this frame's locals show it as text.
                token = Secret(await self.tokens.get())
                departing()  # a stopped batch write calls it off here, before the wire
                # A fresh request per send: the token goes only into this one's header.
                outgoing = httpx.Request(
                    request.method,
                    request.url,
                    headers=[*request.headers.raw, (b"Authorization", _bearer(token))],
                    content=request.content,
                    extensions=request.extensions,
                )
                self.stats.calls += 1
                self.stats.records_sent += records
                self.stats.max_in_flight = max(self.stats.max_in_flight, self.limiter.in_flight)
                started = anyio.current_time()
                try:
                    response = await self._exchange(outgoing, where, "Marketo")
                except MarketoConnectionError as error:
                    self.stats.errors[error.low_level_type] += 1
                    raise
        except QuotaExhausted as exc:
            # The limiter's own error holds no request: nothing secret in the context.
            raise DailyQuotaExceeded(str(exc), path=where) from None
        elapsed = anyio.current_time() - started
        try:
            body = decode(response, path=where)
        except MarketoError as error:
            self._count_error(error)
            if error.code in TOKEN_CODES or (error.code is None and error.http_status == 401):
                await self.tokens.invalidate(token.reveal())
            logger.debug(
                "marketo %s %s -> HTTP %d error %s (requestId %s, attempt %d, %.3fs)",
                request.method,
                where,
                response.status_code,
                error.code,
                error.request_id,
                sends,
                elapsed,
            )
            raise
        logger.debug(
            "marketo %s %s -> HTTP %d (requestId %s, attempt %d, %.3fs)",
            request.method,
            where,
            response.status_code,
            body.get("requestId"),
            sends,
            elapsed,
        )
        return body

    def _count_error(self, error: MarketoError) -> None:
        key = error.code or (f"HTTP {error.http_status}" if error.http_status else "other")
        self.stats.errors[key] += 1
        if error.code == "606":
            self.stats.rate_limited += 1
        elif error.code == "615":
            self.stats.concurrency_limited += 1


def _bearer(token: Secret) -> bytes:
    return b"Bearer " + token.reveal().encode()


def _short(error: Exception) -> str:
    if isinstance(error, MarketoError):
        return f"{type(error).__name__} {error.code or error.http_status or ''}".strip()
    return type(error).__name__
