"""The access token: fetched once for all concurrent callers, dropped when refused; and
:class:`BearerToken`, the send pipeline's auth strategy for Marketo calls."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol, runtime_checkable

import anyio
import httpx

from .._errors import AuthenticationError, MarketoError
from ._marketo_rules import TOKEN_CODES

__all__ = ["BearerToken", "Secret", "TokenCache", "TokenStore"]

# A token this close to its end is treated as gone: it could expire on the way to Marketo.
TOKEN_EXPIRY_MARGIN_S = 2.0
# Identity hands back the same token until it dies; one that is nearly dead is waited out
# (at most this many times) so the next fetch mints a fresh one.
MAX_DEAD_ON_ARRIVAL_FETCHES = 2


class Secret:
    """A string that never shows itself in a repr, str or log line."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


Fetch = Callable[[], Awaitable[tuple[str, float]]]


@runtime_checkable
class TokenStore(Protocol):
    """A token shared by many processes (for example in Redis), so a fleet fetches it once.

    Expiry times are wall-clock epoch seconds, since processes share no other clock.
    """

    async def load(self) -> tuple[str, float] | None:
        """The shared ``(token, expires_at)``, or None."""
        ...

    async def save(self, token: str, expires_at: float) -> None:
        """Share a freshly fetched token."""
        ...

    async def discard(self, token: str) -> None:
        """Forget the shared token if it is still ``token`` (Marketo refused it)."""
        ...

    def fetch_lock(self) -> AbstractAsyncContextManager[None]:
        """Held by the one process that fetches a new token."""
        ...


class TokenCache:
    """Holds one token; ``get`` fetches it once for every waiting caller.

    ``fetch`` returns ``(token, expires_in_seconds)``.
    """

    def __init__(
        self,
        fetch: Fetch,
        *,
        on_fetch: Callable[[], None] | None = None,
        store: TokenStore | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._fetch = fetch
        self._on_fetch = on_fetch
        self._store = store
        self._wall_clock = wall_clock
        self._lock = anyio.Lock()
        self._token: Secret | None = None
        self._expires_at = 0.0
        # Identity refused the credentials (message, code, HTTP status, path): they cannot
        # change in this client's life, so every later get() says so without asking again.
        # Only the fields are kept: the error's traceback would hold the request's form body.
        self._refused: tuple[str, str | None, int | None, str | None] | None = None

    def __repr__(self) -> str:
        return f"TokenCache(cached={self._token is not None})"

    def _valid(self) -> Secret | None:
        if self._token is not None and anyio.current_time() < self._expires_at:
            return self._token
        return None

    async def get(self) -> str:
        """The current token, fetching it if none is held or it has run out."""
        token = self._valid()
        if token is not None:
            return token.reveal()
        self._raise_if_refused()
        async with self._lock:
            token = self._valid()
            if token is not None:
                return token.reveal()
            self._raise_if_refused()
            if self._store is None:
                return await self._fetch_fresh()
            shared = await self._load_shared()
            if shared is not None:
                return shared
            async with self._store.fetch_lock():
                shared = await self._load_shared()
                if shared is not None:
                    return shared
                value = await self._fetch_fresh()
                await self._store.save(value, self._wall_clock() + self._remaining())
                return value

    def held(self) -> str:
        """The token held now (valid or not), or "" (to scrub it from error text)."""
        return self._token.reveal() if self._token is not None else ""

    def _remaining(self) -> float:
        return max(self._expires_at - anyio.current_time(), 0.0)

    def _hold(self, value: str, expires_in: float) -> None:
        self._token = Secret(value)
        self._expires_at = anyio.current_time() + max(expires_in - TOKEN_EXPIRY_MARGIN_S, 0.0)

    async def _load_shared(self) -> str | None:
        assert self._store is not None
        shared = await self._store.load()
        if shared is None:
            return None
        value, expires_at = shared
        expires_in = expires_at - self._wall_clock()
        if expires_in <= TOKEN_EXPIRY_MARGIN_S:
            return None
        self._hold(value, expires_in)
        return value

    def _raise_if_refused(self) -> None:
        if self._refused is not None:
            message, code, http_status, path = self._refused
            raise AuthenticationError(message, code=code, http_status=http_status, path=path)

    async def _fetch_fresh(self) -> str:
        for _ in range(MAX_DEAD_ON_ARRIVAL_FETCHES + 1):
            try:
                value, expires_in = await self._fetch()
            except AuthenticationError as error:
                self._refused = (error.message, error.code, error.http_status, error.path)
                raise
            if self._on_fetch is not None:
                self._on_fetch()
            if expires_in > TOKEN_EXPIRY_MARGIN_S:
                break
            # Marketo returned the old token with (almost) no life left: wait it out.
            await anyio.sleep(max(expires_in, 0.0) + 0.5)
        self._hold(value, expires_in)
        return value

    async def invalidate(self, token: str | None = None) -> None:
        """Drop the held token (only if it is still ``token``, when given)."""
        if self._token is not None and (token is None or self._token.reveal() == token):
            self._token = None
            self._expires_at = 0.0
        if self._store is not None and token is not None:
            await self._store.discard(token)


class BearerToken:
    """Marketo's auth: an access token in the ``Authorization`` header of each send.

    Fetched before the call waits for the limiter (identity calls are not counted), attached
    inside the slot, and dropped when Marketo refuses it (600/601/602, or HTTP 401), so the
    resend fetches a fresh one.
    """

    def __init__(self, tokens: TokenCache, client_secret: Secret) -> None:
        self.tokens = tokens
        self._client_secret = client_secret

    def wrap(self, transport: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        return transport

    async def ready(self) -> None:
        await self.tokens.get()

    async def credential(self) -> Secret:
        # Held as a Secret, so not even the pipeline's locals show it as text.
        return Secret(await self.tokens.get())

    def sign(self, request: httpx.Request, credential: Secret | None) -> httpx.Request:
        assert credential is not None
        # A fresh request per send: the token goes only into this one's header.
        return httpx.Request(
            request.method,
            request.url,
            headers=[
                *request.headers.raw,
                (b"Authorization", b"Bearer " + credential.reveal().encode()),
            ],
            content=request.content,
            extensions=request.extensions,
        )

    async def refused(self, error: MarketoError, credential: Secret | None) -> None:
        if credential is None:
            return
        if error.code in TOKEN_CODES or (error.code is None and error.http_status == 401):
            await self.tokens.invalidate(credential.reveal())

    def secrets(self) -> tuple[str, ...]:
        """The client secret and the token held now."""
        held = (self._client_secret.reveal(), self.tokens.held())
        return tuple(value for value in held if value)
