"""Per-record-key leases, so two workers never have the same key in flight at once.

Marketo applies two overlapping upserts of the same new key as two creates (a duplicate lead);
one process keeps same-key records apart itself, a fleet needs these leases.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import random
from collections.abc import AsyncIterator, Collection, Iterable
from contextlib import asynccontextmanager

import anyio

from .._transport import KeyLeases
from . import _scripts
from ._connection import Connection, RedisUnavailableError, SharedLimiterError, keeping

__all__ = ["DEFAULT_OUTAGE_WAIT_S", "KeyLeases", "RedisKeyLeases"]

logger = logging.getLogger("marketo_async")

# Held keys free when their holder's call returns, which no script can foresee: ask this often.
KEY_POLL_S = 0.05
POLL_JITTER_S = 0.01
RELEASE_TIMEOUT_S = 5.0
# While Redis is away, a keyed write waits this long (from the start of the outage) for it to
# come back before its records are given up as not attempted.
DEFAULT_OUTAGE_WAIT_S = 60.0
# How often a waiting key lease asks Redis again during an outage.
OUTAGE_POLL_S = 1.0


# True in a task while it holds fleet key leases (a keyed write's call is on its way): such a
# call is never admitted by per-process limits during an outage, but waits for Redis.
_HOLDING: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "marketo_async_holding_keys", default=False
)


def holding_keys() -> bool:
    """Does the current task hold fleet key leases (see :meth:`RedisKeyLeases.holding`)?"""
    return _HOLDING.get()


class RedisKeyLeases:
    """:class:`KeyLeases` kept in Redis, with an expiry so a crashed holder frees its keys.

    Example::

        async with limiter.key_leases.holding(keys) as held:
            await send([r for r in records if key_of(r) in held])
    """

    def __init__(
        self,
        connection: Connection,
        prefix: str,
        *,
        lease_seconds: float,
        outage_wait: float = DEFAULT_OUTAGE_WAIT_S,
        restart_hold: float | None = None,
    ) -> None:
        self._connection = connection
        self._prefix = f"{prefix}:key:"
        self._epoch_key = f"{prefix}:epoch"
        # After a Redis restart no key is leased for this long (see RedisLimiter).
        self.restart_hold = lease_seconds if restart_hold is None else restart_hold
        self.lease_seconds = lease_seconds
        self.outage_wait = outage_wait
        self._owner = random.getrandbits(128).to_bytes(16, "big").hex()
        # Keys held (or being asked for) by this process: tasks of one process exclude each
        # other here, since Redis sees them all as one owner.
        self._held: set[str] = set()

    def __repr__(self) -> str:
        return f"RedisKeyLeases({self._connection.shown_url!r}, held={len(self._held)})"

    @property
    def held(self) -> frozenset[str]:
        """Keys this process holds right now."""
        return frozenset(self._held)

    def _lease_ms(self) -> int:
        return max(int(self.lease_seconds * 1000), 1)

    async def acquire(self, keys: Collection[str]) -> frozenset[str]:
        """Take the free keys of ``keys``, waiting until at least one is free.

        Never hands out a key Redis did not lease: while Redis is away, waits for it (up to
        ``outage_wait`` seconds from the start of the outage), then raises
        :class:`RedisUnavailableError`, so a keyed write is never sent without a fleet lease.
        """
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return frozenset()
        while True:
            candidates = [key for key in wanted if key not in self._held]
            if candidates:
                self._held.update(candidates)
                taken: set[str] = set()
                try:
                    positions = await self._ask(candidates)
                    taken = {candidates[int(i) - 1] for i in positions}
                finally:
                    self._held.difference_update(set(candidates) - taken)
                if taken:
                    return frozenset(taken)
            await anyio.sleep(KEY_POLL_S + random.uniform(0.0, POLL_JITTER_S))

    async def _ask(self, candidates: list[str]) -> list[int]:
        """Redis's answer to ACQUIRE_KEYS, once Redis answers and holders could take back
        their leases."""
        connection = self._connection
        while True:
            await self._redis_back()
            keys = [self._prefix + key for key in candidates]
            keys.append(self._epoch_key)
            args = [self._owner, self._lease_ms(), *connection.epoch_args(self.restart_hold)]
            try:
                # Shielded: keys Redis leased to a cancelled caller would stay held.
                with anyio.CancelScope(shield=True):
                    positions = await connection.run(_scripts.ACQUIRE_KEYS, keys, args)
            except RedisUnavailableError as error:
                if connection.fallback != "local":
                    raise
                connection.mark_down(error)
                continue
            connection.mark_up()
            if positions and int(positions[0]) == _scripts.EPOCH_CHANGED:
                connection.adopt_epoch(str(positions[1]), self.restart_hold)
                continue
            if positions and int(positions[0]) == _scripts.EPOCH_HOLD:
                await anyio.sleep(float(positions[1]) + random.uniform(0.0, POLL_JITTER_S))
                continue
            return [int(position) for position in positions]

    async def wait_for_redis(self) -> None:
        """Wait out an outage as a keyed write does (see :meth:`acquire`)."""
        await self._redis_back()

    async def _redis_back(self) -> None:
        """Wait out an outage (up to ``outage_wait`` from its start, else raise), then a lease
        period after it: Redis may have come back empty, and holders renew (taking their keys
        back) within a third of one."""
        connection = self._connection
        while connection.is_down():
            try:
                await connection.run(_scripts.PING, [], [])
            except RedisUnavailableError as error:
                connection.mark_down(error)
                waited = connection.outage_seconds()
                if connection.fallback != "local" or waited >= self.outage_wait:
                    raise RedisUnavailableError(
                        f"{error.message}; away {waited:.1f}s (outage_wait="
                        f"{self.outage_wait:g}s), and a record with a lookup key is never "
                        "sent without a fleet key lease"
                    ) from None
                await anyio.sleep(min(OUTAGE_POLL_S, self.outage_wait - waited))
                continue
            connection.mark_up()
        if connection.recovered_at is not None:
            grace_ends = connection.recovered_at + self.lease_seconds
            await anyio.sleep(max(grace_ends - anyio.current_time(), 0.0))

    async def release(self, keys: Iterable[str]) -> None:
        mine = [key for key in dict.fromkeys(keys) if key in self._held]
        if not mine:
            return
        self._held.difference_update(mine)
        with anyio.CancelScope(shield=True) as scope:
            scope.deadline = anyio.current_time() + RELEASE_TIMEOUT_S
            # On failure the leases free themselves after lease_seconds.
            with contextlib.suppress(SharedLimiterError):
                await self._connection.shared(
                    _scripts.RELEASE_KEYS, [self._prefix + key for key in mine], [self._owner]
                )

    async def renew(self, keys: Iterable[str]) -> frozenset[str]:
        """Extend the leases on ``keys`` (taking back any Redis lost); returns those held.

        Asks Redis even during an outage, so a holder takes its keys back as soon as Redis
        returns; while Redis is away (``fallback="local"``) the keys count as still held.
        """
        mine = [key for key in dict.fromkeys(keys) if key in self._held]
        if not mine:
            return frozenset()
        try:
            positions = await self._connection.run(
                _scripts.RENEW_KEYS,
                [self._prefix + key for key in mine],
                [self._owner, self._lease_ms()],
            )
        except RedisUnavailableError as error:
            if self._connection.fallback != "local":
                raise
            self._connection.mark_down(error)
            return frozenset(mine)
        self._connection.mark_up()
        return frozenset(mine[int(i) - 1] for i in positions)

    @asynccontextmanager
    async def holding(self, keys: Collection[str]) -> AsyncIterator[frozenset[str]]:
        held = await self.acquire(keys)

        async def keep() -> None:
            while True:
                await anyio.sleep(self.lease_seconds / 3)
                try:
                    kept = await self.renew(held)
                except SharedLimiterError:
                    continue  # tried again at the next beat; the lease lasts two more
                if kept != held & self._held:
                    logger.warning(
                        "%d key lease(s) expired while held (was the event loop blocked?)",
                        len(held - kept),
                    )
                    return

        holding = _HOLDING.set(bool(held))
        try:
            async with keeping(keep):
                yield held
        finally:
            _HOLDING.reset(holding)
            await self.release(held)
