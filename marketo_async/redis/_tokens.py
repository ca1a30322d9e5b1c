"""The access token shared through Redis, so a whole fleet fetches it once."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

from . import _scripts
from ._connection import Connection, SharedLimiterError

__all__ = ["RedisTokenStore"]

# Held by the one process fetching a token; a crashed fetcher's lock frees itself after this.
TOKEN_LOCK_S = 60.0
# Waiters stop waiting for a stuck fetcher after this long and fetch for themselves
# (Marketo hands back the same token, so a second fetch is harmless).
TOKEN_LOCK_WAIT_S = 35.0
TOKEN_LOCK_POLL_S = 0.1


class RedisTokenStore:
    """A :class:`~marketo_async._transport.TokenStore` kept in Redis.

    The token lives only in Redis (and in each client's memory); it is never logged or shown.
    """

    def __init__(self, connection: Connection, prefix: str) -> None:
        self._connection = connection
        self._token_key = f"{prefix}:token"
        self._lock_key = f"{prefix}:token-lock"

    def __repr__(self) -> str:
        return f"RedisTokenStore({self._connection.shown_url!r})"

    async def load(self) -> tuple[str, float] | None:
        found = await self._connection.shared(_scripts.LOAD_TOKEN, [self._token_key], [])
        if not found:
            return None
        token, expires_at = found
        if token is None or expires_at is None:
            return None
        return str(token), float(expires_at)

    async def save(self, token: str, expires_at: float) -> None:
        await self._connection.shared(
            _scripts.SAVE_TOKEN, [self._token_key], [token, repr(float(expires_at))]
        )

    async def discard(self, token: str) -> None:
        await self._connection.shared(_scripts.DISCARD_TOKEN, [self._token_key], [token])

    @asynccontextmanager
    async def fetch_lock(self) -> AsyncIterator[None]:
        owner = uuid.uuid4().hex
        taken = False
        with anyio.move_on_after(TOKEN_LOCK_WAIT_S):
            while True:
                result = await self._connection.shared(
                    _scripts.LOCK, [self._lock_key], [owner, int(TOKEN_LOCK_S * 1000)]
                )
                if result is None or int(result):
                    taken = result is not None
                    break
                await anyio.sleep(TOKEN_LOCK_POLL_S)
        try:
            yield
        finally:
            if taken:
                # On failure the lock frees itself after TOKEN_LOCK_S.
                with anyio.CancelScope(shield=True), contextlib.suppress(SharedLimiterError):
                    await self._connection.run(_scripts.UNLOCK, [self._lock_key], [owner])
