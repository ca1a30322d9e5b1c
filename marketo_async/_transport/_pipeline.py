"""The one send pipeline: every call of every API is admitted, signed, sent, counted, timed,
translated, decoded and logged here, and retried by :meth:`Pipeline.retrying`.

An API plugs in two strategies, in the manner of httpx's ``Auth`` flow: an :class:`Auth` (how
a call proves who sends it: Marketo's bearer token in a header, Lead Gen & CRM's key in the
URL) and a :class:`Codec` (how its answers and failures read: Marketo's envelope, a JSON-RPC
envelope). A Marketo REST call, a bulk file upload or download and a Lead Gen & CRM call differ
in nothing else.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol, TypeVar

import anyio
import attrs
import httpx

from .._config import RateLimits, RetryPolicy
from .._errors import ConcurrencyLimitError, MarketoConnectionError, MarketoError, RateLimitError
from ._auth import Secret
from ._gate import departing, queued
from ._limiter import PRIORITIES, Limiter, Priority, QuotaExhausted, current_priority
from ._retry import Decide, Decision, RetryState, retrying
from ._tls import tls_context

__all__ = ["Auth", "Call", "ClientStats", "Codec", "LaneStats", "Pipeline", "Sending", "short"]

T = TypeVar("T")

# What httpx uses when given no timeout (a Marketo request carries its own per endpoint).
HTTPX_DEFAULT_TIMEOUT = httpx.Timeout(5.0)


@attrs.define
class LaneStats:
    """One lane's calls (each send counts) and the seconds they waited to be admitted."""

    calls: int = 0
    waited_s: float = 0.0
    max_wait_s: float = 0.0

    def count(self, waited: float) -> None:
        self.calls += 1
        self.waited_s += waited
        self.max_wait_s = max(self.max_wait_s, waited)


def _lane_stats() -> dict[Priority, LaneStats]:
    return {priority: LaneStats() for priority in PRIORITIES}


@attrs.define
class ClientStats:
    """Counters of one client's traffic; ``lanes["interactive"]`` and ``lanes["background"]``
    count each lane's calls and admission waits (see :class:`~marketo_async.Lanes`)."""

    calls: int = 0
    retries: int = 0
    rate_limited: int = 0
    concurrency_limited: int = 0
    tokens_fetched: int = 0
    records_sent: int = 0
    max_in_flight: int = 0
    errors: collections.Counter[str] = attrs.field(factory=collections.Counter)
    lanes: dict[Priority, LaneStats] = attrs.field(factory=_lane_stats)


def short(error: Exception) -> str:
    """An error's class and code (``RateLimitError 606``), for log lines and messages."""
    if isinstance(error, MarketoError):
        return f"{type(error).__name__} {error.code or error.http_status or ''}".strip()
    return type(error).__name__


@attrs.frozen(kw_only=True)
class Call:
    """One call as the pipeline sends it.

    ``where`` names it in errors (the URL path, or the API method), ``shown`` in log lines
    (never with a credential); ``doing`` prefixes a connection error's message. ``priority``
    is its lane; None: the caller's (:func:`~marketo_async._transport.current_priority`).
    """

    request: httpx.Request
    where: str
    shown: str
    records: int = 0
    call_id: str | None = None
    doing: str | None = None
    priority: Priority | None = None


class Auth(Protocol):
    """How one API's calls prove who sends them.

    ``ready`` runs before the call waits for the limiter (a token fetch must not spend the
    window), ``credential`` inside its slot, just before the send; ``sign`` returns the request
    to send, carrying it. A credential that must not appear in httpx's own logs (a key in the
    URL) is added instead by the innermost transport ``wrap`` returns.
    """

    def wrap(self, transport: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        """The httpx transport to send through (``transport`` itself when nothing is added)."""
        ...

    async def ready(self) -> None:
        """Before admission: have a credential at hand."""
        ...

    async def credential(self) -> Secret | None:
        """Inside the slot: the credential this send carries."""
        ...

    def sign(self, request: httpx.Request, credential: Secret | None) -> httpx.Request:
        """A fresh request carrying ``credential`` (``request`` itself is never changed)."""
        ...

    async def refused(self, error: MarketoError, credential: Secret | None) -> None:
        """The answer was ``error``: drop ``credential`` when it says the credential is bad."""
        ...

    def secrets(self) -> tuple[str, ...]:
        """Every secret held now: never to appear in an error's text."""
        ...


class Codec(Protocol):
    """How one API's answers and failures read."""

    api: str  # the first word of a log line: "marketo", "leadgen"
    peer: str  # who a connection error was talking to

    @property
    def connection_error_class(self) -> type[MarketoConnectionError]:
        """The class of a failed exchange's error."""
        ...

    def decode(self, response: httpx.Response, call: Call) -> Any:
        """The answer's data, or raise the :class:`MarketoError` it stands for."""
        ...

    def quota_error(self, message: str, where: str) -> MarketoError:
        """The error for a call the limiter refused: the daily budget is spent."""
        ...

    def trace(self, call: Call, body: Any, error: MarketoError | None) -> str:
        """What identifies the answer in a log line (``requestId ...``, ``id 3``)."""
        ...


# Raised before the request could reach the server: safe to resend even a non-idempotent write.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def connection_error(
    exc: httpx.HTTPError,
    where: str,
    peer: str,
    secrets: tuple[str, ...] | list[str],
    *,
    doing: str | None = None,
    kind: type[MarketoConnectionError] = MarketoConnectionError,
) -> MarketoConnectionError:
    """The error for a failed HTTP exchange: ``exc``'s type and message as text only.

    ``exc`` itself is not kept (it holds the request, whose headers or URL carry a
    credential), and any of ``secrets`` in its message is masked. Raise the result outside
    the ``except`` block that caught ``exc``, or ``exc`` stays reachable as its
    ``__context__``.
    """
    text = str(exc)
    for secret in secrets:
        text = text.replace(secret, "********")
    what = f"{type(exc).__name__} talking to {peer}" + (f": {text}" if text else "")
    error = kind(f"{doing} ({what})" if doing else what, path=where)
    error.low_level_type = type(exc).__name__
    error.may_have_applied = not isinstance(exc, _NOT_SENT)
    return error


# Receives a streamed answer inside the slot; True when it consumed the body (a file).
Receive = Callable[[httpx.Response], Awaitable[bool]]


@attrs.frozen(kw_only=True)
class Sending:
    """What one client's calls go out under, decided once by the client and handed to its
    transport's pipeline: rate limits, retry policy, limiter, and the httpx transport
    (None: the network; tests and emulators pass theirs)."""

    rate_limits: RateLimits
    retry: RetryPolicy
    limiter: Limiter
    transport: httpx.AsyncBaseTransport | None = None


class Pipeline:
    """Sends one API's calls: its httpx client, limiter, auth, codec, retry rules and stats.

    ``decide(retry, rate_limits)`` makes the API's retry decision function.
    """

    def __init__(
        self,
        sending: Sending,
        *,
        auth: Auth,
        codec: Codec,
        decide: Callable[[RetryPolicy, RateLimits], Decide],
        logger: logging.Logger,
        base_url: str = "",
        timeout: httpx.Timeout | None = None,
    ) -> None:
        self.auth = auth
        self.codec = codec
        self.limiter = sending.limiter
        self.retry = sending.retry
        self.decide = decide(sending.retry, sending.rate_limits)
        self.logger = logger
        self.stats = ClientStats()
        # Our own limiter bounds the calls in flight; httpx's pool must never queue them.
        limits = httpx.Limits(
            max_connections=None, max_keepalive_connections=sending.rate_limits.concurrency * 2
        )
        tls = tls_context(base_url)
        network = sending.transport or httpx.AsyncHTTPTransport(verify=tls, limits=limits)
        self.http = httpx.AsyncClient(
            base_url=base_url,
            transport=auth.wrap(network),
            verify=tls,  # for the proxies httpx may add from the environment
            limits=limits,
            follow_redirects=False,
            headers={"User-Agent": "marketo_async"},
            timeout=HTTPX_DEFAULT_TIMEOUT if timeout is None else timeout,
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    @asynccontextmanager
    async def admit(self, call: Call) -> AsyncIterator[None]:
        """The call's place in the limiter (the window, an in-flight slot) in its lane. The
        one place a call is admitted; each lane's calls and waits are counted here."""
        priority = call.priority or current_priority()
        asked = anyio.current_time()
        async with self.limiter.slot(priority):
            self.stats.lanes[priority].count(anyio.current_time() - asked)
            yield

    async def exchange(
        self,
        request: httpx.Request,
        where: str,
        *,
        peer: str | None = None,
        doing: str | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """Send ``request`` and read its answer: the one place httpx's errors become ours."""
        try:
            response = await self.http.send(request, stream=stream)
            if not stream:
                await response.aread()
            return response
        except httpx.HTTPError as exc:
            failure = connection_error(
                exc,
                where,
                peer or self.codec.peer,
                self.auth.secrets(),
                doing=doing,
                kind=self.codec.connection_error_class,
            )
        raise failure  # outside the except: see connection_error

    async def send(
        self,
        call: Call,
        *,
        attempt: int = 1,
        receive: Receive | None = None,
        decode: Callable[[httpx.Response, Call], Any] | None = None,
    ) -> Any:
        """Send ``call`` once: wait for admission, send, and return the decoded answer.

        ``receive`` reads a streamed answer inside the slot (a file download); ``decode``
        replaces the codec's for this call.
        """
        queued()  # a batch write may still call this call off until departing()
        await self.auth.ready()  # outside the window: a token fetch is not a counted call
        quota: QuotaExhausted | None = None
        try:
            async with self.admit(call):
                credential = await self.auth.credential()
                departing()  # a stopped batch write calls it off here, before the wire
                self._count_sent(call)
                started = anyio.current_time()
                response, consumed = await self._send_signed(call, credential, receive)
        except QuotaExhausted as exc:
            quota = exc  # the limiter's own error holds no request: nothing secret
        if quota is not None:
            raise self.codec.quota_error(str(quota), call.where)
        elapsed = anyio.current_time() - started
        body: Any = None
        if not consumed:
            try:
                body = (decode or self.codec.decode)(response, call)
            except MarketoError as error:
                _count_error(self.stats, error)
                await self.auth.refused(error, credential)
                self._log(call, response, attempt, elapsed, None, error)
                raise
        self._log(call, response, attempt, elapsed, body, None)
        return body

    def _count_sent(self, call: Call) -> None:
        self.stats.calls += 1
        self.stats.records_sent += call.records
        self.stats.max_in_flight = max(self.stats.max_in_flight, self.limiter.in_flight)

    async def _send_signed(
        self, call: Call, credential: Secret | None, receive: Receive | None
    ) -> tuple[httpx.Response, bool]:
        outgoing = self.auth.sign(call.request, credential)
        try:
            response = await self.exchange(
                outgoing, call.where, doing=call.doing, stream=receive is not None
            )
        except MarketoConnectionError as error:
            self.stats.errors[error.low_level_type] += 1
            raise
        if receive is None:
            return response, False
        try:
            consumed = await receive(response)
            if not consumed:
                await response.aread()
        finally:
            await response.aclose()
        return response, consumed

    def _log(
        self,
        call: Call,
        response: httpx.Response,
        attempt: int,
        elapsed: float,
        body: Any,
        error: MarketoError | None,
    ) -> None:
        self.logger.debug(
            "%s %s -> HTTP %d%s (%s, attempt %d, %d records, %.3fs)",
            self.codec.api,
            call.shown,
            response.status_code,
            "" if error is None else f" error {error.code or error.http_status}",
            self.codec.trace(call, body, error),
            attempt,
            call.records,
            elapsed,
        )

    async def retrying(
        self,
        attempt: Callable[[int], Awaitable[T]],
        *,
        shown: str,
        idempotent: bool = True,
        decide: Decide | None = None,
        on_retry: Callable[[Exception], None] | None = None,
    ) -> T:
        """Run ``attempt(sends)`` until it succeeds or the rules say stop.

        A failure that may have applied is never resent for a call that is not idempotent; a
        full window (a rate-limit error) pauses the limiter for every call; each retry is
        counted in ``stats.retries`` and logged. ``decide`` replaces the API's rules.
        """
        rules = self.decide if decide is None else decide
        sends = 0

        async def once() -> T:
            nonlocal sends
            sends += 1
            return await attempt(sends)

        def decide_here(error: Exception, state: RetryState) -> Decision | None:
            if not idempotent and isinstance(error, MarketoError) and error.may_have_applied:
                return None  # a write that may have landed is reported, never resent blindly
            decision = rules(error, state)
            if decision is not None and isinstance(error, RateLimitError):
                self.limiter.pause(decision.wait * self.retry.wait_scale)
            return decision

        def retried(error: Exception, state: RetryState, decision: Decision) -> None:
            if on_retry is not None:
                on_retry(error)
            self.stats.retries += 1
            self.logger.warning(
                "%s %s failed (%s%s); retry in %.1fs (attempt %d, %s)",
                self.codec.api,
                shown,
                short(error),
                _elsewhere(error, shown),
                decision.wait * self.retry.wait_scale,
                state.attempt,
                "counted" if decision.counts else "free",
            )

        return await retrying(once, decide=decide_here, policy=self.retry, on_retry=retried)


def _count_error(stats: ClientStats, error: MarketoError) -> None:
    stats.errors[error.code or (f"HTTP {error.http_status}" if error.http_status else "other")] += 1
    if isinstance(error, RateLimitError):
        stats.rate_limited += 1
    elif isinstance(error, ConcurrencyLimitError):
        stats.concurrency_limited += 1


def _elsewhere(error: Exception, shown: str) -> str:
    """`` at /identity/oauth/token`` when the call failed on another path (its token fetch)."""
    path = error.path if isinstance(error, MarketoError) else None
    return f" at {path}" if path and path not in shown else ""
