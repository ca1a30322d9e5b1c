"""Limits shared through Redis by every worker that calls one Marketo instance.

Install with ``pip install 'marketo-async[redis]'``. Every client whose ``RedisLimiter`` points at
the same Redis and ``key`` shares one sliding window, one pool of in-flight slots, one daily call
count (reset at midnight US Central time), one access token, and per-record-key leases::

    from marketo_async import MarketoClient, RateLimits
    from marketo_async.redis import RedisLimiter

    limits = RateLimits(calls=100, period=20.0, concurrency=10, daily_quota=50_000)
    async with RedisLimiter("redis://redis:6379/0", key="123-ABC-456", rate_limits=limits) as lim:
        async with MarketoClient(munchkin_id="123-ABC-456", client_id=..., client_secret=...,
                                 rate_limits=limits, limiter=lim) as client:
            ...
"""

from ._connection import RedisUnavailableError, SharedLimiterError
from ._leases import DEFAULT_OUTAGE_WAIT_S, KeyLeases, RedisKeyLeases
from ._limiter import DEFAULT_LEASE_S, RedisLimiter, SharedUsage, marketo_days
from ._tokens import RedisTokenStore

__all__ = [
    "DEFAULT_LEASE_S",
    "DEFAULT_OUTAGE_WAIT_S",
    "KeyLeases",
    "RedisKeyLeases",
    "RedisLimiter",
    "RedisTokenStore",
    "RedisUnavailableError",
    "SharedLimiterError",
    "SharedUsage",
    "marketo_days",
]
