"""The Marketo transport: REST calls on the send pipeline, with Marketo's token, envelope,
retry rules and the 414 fallback."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from typing import Any

import httpx

from .._errors import (
    AmbiguousWriteError,
    DailyQuotaExceeded,
    MarketoConnectionError,
    MarketoError,
    recast,
)
from ._auth import BearerToken, Secret, TokenCache
from ._daily import USAGE_PATH, DailyCounter, DailyUsageWatch
from ._decode import UriTooLongError, decode, decode_identity
from ._limiter import BACKGROUND, Priority, lane
from ._marketo_rules import marketo_decide
from ._pipeline import Call, ClientStats, Pipeline, Sending, short
from ._wire import Params, build_request, to_method_get

__all__ = ["Answer", "ClientStats", "MarketoTransport", "resent_after_ambiguity"]

logger = logging.getLogger("marketo_async")

IDENTITY_PATH = "/identity/oauth/token"
IDENTITY_TIMEOUT_S = 30.0
# Marketo's Bulk API: bulk jobs, their polling and their files are background work.
BULK_PATH_PREFIX = "/bulk/"


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


class MarketoEnvelope:
    """The send pipeline's codec for Marketo: its ``{success, result, errors}`` envelope."""

    api = "marketo"
    peer = "Marketo"
    connection_error_class = MarketoConnectionError

    def decode(self, response: httpx.Response, call: Call) -> Any:
        return decode(response, path=call.where)

    def quota_error(self, message: str, where: str) -> MarketoError:
        return DailyQuotaExceeded(message, path=where)

    def trace(self, call: Call, body: Any, error: MarketoError | None) -> str:
        found = error.request_id if error is not None else (body or {}).get("requestId")
        return f"requestId {found}"


def _count_records(json: Any, params: Params | None) -> int:
    if isinstance(json, dict) and isinstance(json.get("input"), list):
        return len(json["input"])
    ids = (params or {}).get("id")
    return len(ids) if isinstance(ids, (list, tuple)) else 0


class MarketoTransport:
    """Sends Marketo calls within the limiter's budget, retrying what Marketo says to retry."""

    def __init__(
        self, sending: Sending, *, base_url: str, client_id: str, client_secret: Secret
    ) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        # A shared limiter (Redis) may also share the token, so a fleet fetches it once.
        self.tokens = TokenCache(
            self._fetch_token, on_fetch=self._count_token, store=sending.limiter.token_store
        )
        self.pipeline = Pipeline(
            sending,
            auth=BearerToken(self.tokens, client_secret),
            codec=MarketoEnvelope(),
            decide=marketo_decide,
            logger=logger,
            base_url=base_url,
        )
        self.stats = self.pipeline.stats
        # The daily counter learns the instance's count (every integration's calls).
        self.daily: DailyUsageWatch | None = None
        limiter = sending.limiter
        if sending.rate_limits.daily_quota is not None and isinstance(limiter, DailyCounter):
            self.daily = DailyUsageWatch(
                limiter, lambda: self.request("GET", USAGE_PATH), lambda: self.stats.calls
            )

    async def aclose(self) -> None:
        await self.pipeline.aclose()

    def _count_token(self) -> None:
        self.stats.tokens_fetched += 1

    async def _fetch_token(self) -> tuple[str, float]:
        # Form body, not query string: the secret must never appear in a URL or an access log.
        request = self.pipeline.http.build_request(
            "POST",
            IDENTITY_PATH,
            data={
                "grant_type": "client_credentials",
                "client_id": self._client_id,
                "client_secret": self._client_secret.reveal(),
            },
            extensions={"timeout": httpx.Timeout(IDENTITY_TIMEOUT_S).as_dict()},
        )
        response = await self.pipeline.exchange(request, IDENTITY_PATH, peer="Marketo identity")
        return decode_identity(response)

    def secrets(self) -> tuple[str, ...]:
        """The client secret and the token held now: never to appear in an error's text."""
        return self.pipeline.auth.secrets()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        data: Params | Sequence[tuple[str, str]] | None = None,
        idempotent: bool = True,
        priority: Priority | None = None,
    ) -> dict[str, Any]:
        """Send one call and return Marketo's decoded body, or raise a MarketoError.

        ``priority`` is the call's lane; None: the caller's (see :func:`current_priority`),
        background for the Bulk API (its jobs, their polling and files).
        """
        if priority is None and path.startswith(BULK_PATH_PREFIX):
            priority = BACKGROUND
        with lane(priority) if priority is not None else contextlib.nullcontext():
            return await self._request(
                method, path, params=params, json=json, data=data, idempotent=idempotent
            )

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None,
        json: Any,
        data: Params | Sequence[tuple[str, str]] | None,
        idempotent: bool,
    ) -> dict[str, Any]:
        http = self.pipeline.http
        request = build_request(http, method, path, params=params, json=json, data=data)
        if self.daily is not None:
            await self.daily.before_call()
        where = request.url.path
        shown = f"{method} {where}"
        records = _count_records(json, params)
        resent = False

        async def attempt(sends: int) -> dict[str, Any]:
            nonlocal request
            call = Call(request=request, where=where, shown=shown, records=records)
            try:
                body: dict[str, Any] = await self.pipeline.send(call, attempt=sends)
            except UriTooLongError:
                if request.method == "GET":
                    request = to_method_get(http, request)
                raise
            return body

        def noticed(error: Exception) -> None:
            nonlocal resent
            resent = resent or (isinstance(error, MarketoError) and error.may_have_applied)

        try:
            body = await self.pipeline.retrying(
                attempt, shown=shown, idempotent=idempotent, on_retry=noticed
            )
        except MarketoError as error:
            error.after_ambiguous_attempt = resent
            if not idempotent and error.may_have_applied:
                message = f"{method} {where} failed after it was sent ({short(error)})"
                raise recast(error, AmbiguousWriteError, message) from error
            raise
        return Answer(body, resent_after_ambiguity=resent)
