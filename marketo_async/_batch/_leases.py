"""Keys shared with other processes: a call goes with the keys its process now holds."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from .._errors import MarketoError
from ._queue import Item

if TYPE_CHECKING:
    from .._transport import KeyLeases

__all__ = ["LeaseGate"]

logger = logging.getLogger("marketo_async")


class LeaseGate:
    """Asks the fleet's :class:`KeyLeases` which of a call's keys may go now."""

    def __init__(self, leases: KeyLeases, scope: str) -> None:
        self._leases = leases
        self._scope = scope

    async def send(
        self,
        batch: Sequence[Item[Any]],
        send: Callable[[Sequence[Item[Any]]], Awaitable[None]],
        give_back: Callable[[Sequence[Item[Any]]], None],
    ) -> None:
        """``send`` the items whose keys this process now holds; ``give_back`` the others.

        A failure to take the leases raises (nothing was sent); a failure to give them back
        is only logged, since they expire by themselves.
        """
        names: dict[str, list[Item[Any]]] = {}
        for item in batch:
            if item.key is not None:  # a key several items carry (one call's followers) once
                names.setdefault(self._name(item.key), []).append(item)
        if not names:
            await send(batch)
            return
        sent = False
        try:
            async with self._leases.holding(names.keys()) as held:
                deferred = [
                    item for name, items in names.items() if name not in held for item in items
                ]
                if deferred:
                    give_back(deferred)
                    later = {id(item) for item in deferred}
                    batch = [item for item in batch if id(item) not in later]
                sent = True
                await send(batch)
        except MarketoError as error:
            if not sent:
                raise
            logger.warning("could not give back key leases (they expire by themselves): %s", error)

    def _name(self, key: str | int) -> str:
        # Hashed: record keys (emails) are personal data and need not sit in a shared store.
        digest = hashlib.blake2b(repr(key).encode(), digest_size=16).hexdigest()
        return f"{self._scope}:{digest}"
