"""What a resource is handed by the client: bound request helpers, and nothing else."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import attrs

if TYPE_CHECKING:
    from .._transport import KeyLeases

__all__ = ["Api", "RequestFn", "Resource"]


class RequestFn(Protocol):
    def __call__(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | Sequence[tuple[str, str]] | None = None,
        idempotent: bool = True,
    ) -> Awaitable[dict[str, Any]]: ...


@attrs.frozen
class Api:
    """Bound helpers over the client's transport (limits, retries and auth happen below)."""

    request: RequestFn
    # How many calls the transport lets run at once: batch writes keep this many in flight.
    max_in_flight: int = 10
    # Per-record-key leases shared by a fleet (a RedisLimiter's); None keeps the rule in-process.
    key_leases: KeyLeases | None = None

    async def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return await self.request("GET", path, params=params)

    async def post(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | Sequence[tuple[str, str]] | None = None,
        idempotent: bool = True,
    ) -> dict[str, Any]:
        return await self.request(
            "POST", path, params=params, json=json, data=data, idempotent=idempotent
        )

    async def delete(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return await self.request("DELETE", path, params=params)


class Resource:
    """Base of every resource: holds the :class:`Api` it was handed."""

    def __init__(self, api: Api) -> None:
        self._api = api

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
