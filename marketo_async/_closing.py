"""What every client of this package shares: ``async with``, and an ``aclose()`` that closes its
transport once."""

from __future__ import annotations

from typing import Protocol, TypeVar

__all__ = ["ClosingClient"]

ClientT = TypeVar("ClientT", bound="ClosingClient")


class _Closable(Protocol):
    async def aclose(self) -> None: ...


class ClosingClient:
    """A client whose ``_transport`` holds the connection pool; ``_closed`` once closed."""

    _transport: _Closable
    _closed: bool = False

    async def __aenter__(self: ClientT) -> ClientT:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool. The client cannot be used afterwards."""
        if not self._closed:
            self._closed = True
            await self._transport.aclose()
