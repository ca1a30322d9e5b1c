"""What the asset API's reads share: the answer for what was found (a warning when nothing
was), the browse window, and Get by Id / Get by Name / Browse of one asset type."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from ._call import Call, Handler
from ._store import Store
from ._wire import ApiError, asset_envelope

__all__ = ["NO_ASSETS_WARNING", "browse_all", "browse_window", "by_id_and_name", "found"]

NO_ASSETS_WARNING = "No assets found for the given search criteria."
# Marketo: asset browse maxReturn defaults to 20, at most 200.
DEFAULT_MAX_RETURN = 20
MAX_MAX_RETURN = 200


class _Asset(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def name(self) -> str: ...


AssetT = TypeVar("AssetT", bound=_Asset)
View = Callable[[Store, AssetT], dict[str, Any]]
Table = Callable[[Store], Mapping[int, AssetT]]


def found(call: Call, views: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The asset answer: the views, or no result and Marketo's warning when there are none."""
    if not views:
        return asset_envelope(call.request_id, None, [NO_ASSETS_WARNING])
    return asset_envelope(call.request_id, views)


def browse_window(call: Call) -> slice:
    """The items an asset browse shows: ``offset`` and ``maxReturn`` (20 by default, 1 to 200)."""
    offset = call.int_param("offset", 0)
    max_return = call.int_param("maxReturn", DEFAULT_MAX_RETURN)
    if not 1 <= max_return <= MAX_MAX_RETURN:
        raise ApiError("1003", f"Invalid maxReturn {max_return}, it must be 1 to 200")
    if offset < 0:
        raise ApiError("1003", f"Invalid offset {offset}")
    return slice(offset, offset + max_return)


def by_id_and_name(table: Table[AssetT], view: View[AssetT]) -> tuple[Handler, Handler]:
    """Get by Id (the path's ``id``) and Get by Name (the first asset of that ``name``) of the
    assets ``table`` holds."""

    async def by_id(call: Call) -> dict[str, Any]:
        asset = table(call.store).get(call.path_int("id"))
        return found(call, [view(call.store, asset)] if asset else [])

    async def by_name(call: Call) -> dict[str, Any]:
        name = call.required("name")
        named = [asset for asset in table(call.store).values() if asset.name == name]
        return found(call, [view(call.store, asset) for asset in named[:1]])

    return by_id, by_name


def browse_all(table: Table[AssetT], view: View[AssetT]) -> Handler:
    """Browse of the assets ``table`` holds, by id, within the browse window."""

    async def browse(call: Call) -> dict[str, Any]:
        assets = sorted(table(call.store).values(), key=lambda asset: asset.id)
        return found(call, [view(call.store, asset) for asset in assets[browse_window(call)]])

    return browse
