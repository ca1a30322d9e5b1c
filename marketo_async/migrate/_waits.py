"""How long calls waited for the limiter: the "waits" half of the migrate progress line."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

from .._transport import INTERACTIVE, LocalLimiter, Priority

__all__ = ["TimedLimiter"]


class TimedLimiter(LocalLimiter):
    """A :class:`LocalLimiter` that adds up the time calls spent waiting to be admitted."""

    waited_s: float = 0.0

    @asynccontextmanager
    async def slot(self, priority: Priority = INTERACTIVE) -> AsyncIterator[None]:
        asked = anyio.current_time()
        async with super().slot(priority):
            self.waited_s += anyio.current_time() - asked
            yield
