"""LeadGenClient: configuration, lifecycle, the ``leads`` resource and the ``call`` escape hatch."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import Any

import httpx

from .._closing import ClosingClient
from .._config import RateLimits, RetryPolicy
from .._transport import Limiter, Secret
from .._transport._wire import checked_base_url
from ._transport import LeadGenTransport
from .leads import Leads

__all__ = ["DEFAULT_BASE_URL", "LEADGEN_RATE_LIMITS", "LeadGenClient"]

# v1.2 reads and writes times in UTC (v1 uses the account's Company Profile time zone).
DEFAULT_BASE_URL = "https://api.sharpspring.com/pubapi/v1.2/"
# Lead Gen & CRM: 10 calls per second and 50,000 a day per account; no documented cap on
# calls in flight, so at most the whole window's worth.
LEADGEN_RATE_LIMITS = RateLimits(
    calls=10, period=1.0, concurrency=10, daily_quota=50_000, window_margin=0.05
)
_ENVIRONMENT = (
    ("LEADGEN_ACCOUNT_ID", "account_id"),
    ("LEADGEN_SECRET_KEY", "secret_key"),
    ("LEADGEN_BASE_URL", "base_url"),
)


def _normalise_base_url(base_url: str) -> str:
    url = checked_base_url(
        base_url,
        looks_like=DEFAULT_BASE_URL,
        credentials_hint=": the account id and secret key are given as account_id= and secret_key=",
    )
    text = str(url)
    return text if text.endswith("/") else text + "/"


class LeadGenClient(ClosingClient):
    """An async client for the Lead Gen & CRM (formerly SharpSpring) lead API.

    Example::

        async with LeadGenClient(account_id="...", secret_key="...") as lg:
            report = await lg.leads.create([{"emailAddress": "ada@example.com"}])
            async for lead in lg.leads.query({}):
                print(lead.id, lead["emailAddress"])
    """

    _transport: LeadGenTransport

    def __init__(
        self,
        *,
        account_id: str,
        secret_key: str,
        base_url: str = DEFAULT_BASE_URL,
        rate_limits: RateLimits | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        limiter: Limiter | None = None,
    ) -> None:
        if not isinstance(account_id, str) or not account_id.strip():
            raise ValueError("account_id must not be empty")
        if not isinstance(secret_key, str) or not secret_key:
            raise ValueError("secret_key must not be empty")
        self.account_id = account_id.strip()
        self.base_url = _normalise_base_url(base_url)
        sending = self._sending(LEADGEN_RATE_LIMITS, rate_limits, retry, limiter, transport)
        self._transport = LeadGenTransport(
            sending,
            base_url=self.base_url,
            account_id=self.account_id,
            secret_key=Secret(secret_key),
        )

    @functools.cached_property
    def leads(self) -> Leads:
        """Leads: create, update, upsert, delete, get, query, date ranges, fields, events."""
        # A shared limiter (RedisLimiter) also offers per-key leases for the whole fleet.
        return Leads(
            self.call,
            max_in_flight=self.rate_limits.concurrency,
            key_leases=self.limiter.key_leases,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> LeadGenClient:
        """A client from LEADGEN_ACCOUNT_ID, LEADGEN_SECRET_KEY and LEADGEN_BASE_URL (optional,
        default the v1.2 endpoint); keyword arguments override or add."""
        env = os.environ if environ is None else environ
        settings: dict[str, Any] = {
            name: env[variable] for variable, name in _ENVIRONMENT if env.get(variable)
        }
        settings.update(kwargs)
        missing = [variable for variable, name in _ENVIRONMENT[:2] if not settings.get(name)]
        if missing:
            raise ValueError("environment variables not set: " + ", ".join(missing))
        return cls(**settings)

    def __repr__(self) -> str:
        return (
            f"LeadGenClient(base_url={self.base_url!r}, account_id={self.account_id!r}, "
            f"rate_limits={self.rate_limits!r})"
        )

    @property
    def masked_url(self) -> str:
        """The endpoint with its credentials as sent, the secret key masked."""
        return self._transport.masked_url

    async def call(
        self,
        method: str,
        params: Mapping[str, Any],
        *,
        idempotent: bool = True,
        records: int = 0,
    ) -> Any:
        """Call any API method (``getOpportunities``, ...) with the client's limits and retries.

        Returns the answer's ``result``; an API-level error raises the matching LeadGenError.
        Pass ``idempotent=False`` for a create that must not be resent after an ambiguous
        failure.
        """
        if self._closed:
            raise RuntimeError("this LeadGenClient is closed")
        if not isinstance(method, str) or not method:
            raise ValueError("method must be an API method name such as 'getLeads'")
        return await self._transport.call(
            method, dict(params), idempotent=idempotent, records=records
        )
