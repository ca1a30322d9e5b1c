"""What every client of this package shares: how its calls go out (limits, retry policy,
limiter), its traffic's stats, ``async with``, and an ``aclose()`` that closes its transport
once."""

from __future__ import annotations

from typing import Protocol, TypeVar

import httpx

from ._config import RateLimits, RetryPolicy
from ._transport import ClientStats, Limiter, LocalLimiter, Sending

__all__ = ["ClosingClient"]

ClientT = TypeVar("ClientT", bound="ClosingClient")


class _Transport(Protocol):
    stats: ClientStats

    async def aclose(self) -> None: ...


class ClosingClient:
    """A client whose ``_transport`` holds the connection pool; ``_closed`` once closed."""

    _transport: _Transport
    _closed: bool = False
    rate_limits: RateLimits
    retry: RetryPolicy
    limiter: Limiter

    def _sending(
        self,
        default_limits: RateLimits,
        rate_limits: RateLimits | None,
        retry: RetryPolicy | None,
        limiter: Limiter | None,
        transport: httpx.AsyncBaseTransport | None,
    ) -> Sending:
        """What this client's calls go out under, each setting not given defaulted (the API's
        ``default_limits``, a default RetryPolicy, a LocalLimiter of the limits); the limits,
        policy and limiter are also this client's public attributes."""
        self.rate_limits = default_limits if rate_limits is None else rate_limits
        self.retry = RetryPolicy() if retry is None else retry
        self.limiter = LocalLimiter(self.rate_limits) if limiter is None else limiter
        return Sending(
            rate_limits=self.rate_limits,
            retry=self.retry,
            limiter=self.limiter,
            transport=transport,
        )

    @property
    def stats(self) -> ClientStats:
        """Calls made, retries, rate limits met (Marketo's 606 and 615, Lead Gen & CRM's 107
        as ``rate_limited``), tokens fetched, records sent, errors by code, calls per lane."""
        return self._transport.stats

    async def __aenter__(self: ClientT) -> ClientT:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool. The client cannot be used afterwards."""
        if not self._closed:
            self._closed = True
            await self._transport.aclose()
