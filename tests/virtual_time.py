"""Virtual time for tests: asyncio and trio event loops whose clocks jump instead of waiting.

Only for tests whose I/O is in memory (httpx.MockTransport, the emulator's transport):
whenever every task is asleep, the clock jumps to the next timer.
"""

from __future__ import annotations

import asyncio
import selectors
from typing import Any

import trio.testing


class _JumpingSelector(selectors.DefaultSelector):
    """Polls real I/O without blocking; when nothing is ready, advances the loop's clock."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0

    def select(self, timeout: float | None = None) -> list[Any]:
        ready = super().select(0)
        if ready or timeout is None or timeout <= 0:
            if not ready and timeout is None:
                return super().select(None)
            return ready
        self.now += timeout
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An asyncio loop on a virtual clock."""

    def __init__(self) -> None:
        self._jumping = _JumpingSelector()
        super().__init__(self._jumping)

    def time(self) -> float:
        return self._jumping.now


def virtual_backend(name: str) -> tuple[str, dict[str, Any]]:
    """The ``anyio_backend`` value running ``name`` ("asyncio" or "trio") on virtual time."""
    if name == "asyncio":
        return ("asyncio", {"loop_factory": VirtualTimeLoop})
    return ("trio", {"clock": trio.testing.MockClock(autojump_threshold=0)})
