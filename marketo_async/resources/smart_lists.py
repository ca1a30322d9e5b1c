"""``client.smart_lists``: smart lists' metadata (asset API)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from .._paging import MAX_ASSET_PAGE, Pager, offset_pages
from ..models import converter
from ..models.campaigns import SmartList
from ._arguments import non_empty_text, positive_id
from ._base import Resource

__all__ = ["SmartLists"]


class SmartLists(Resource):
    """Smart lists: find them by id or name, or list them all.

    >>> smart_list = await client.smart_lists.by_name("Active customers")
    """

    async def get(self, id: int) -> SmartList:
        """The smart list with this id; ``NotFoundError`` when there is none."""
        list_id = positive_id(id, "id")
        path = f"/rest/asset/v1/smartList/{list_id}.json"
        return await self._api.asset(path, _parse, what=f"smart list {list_id}")

    async def by_name(self, name: str) -> SmartList | None:
        """The smart list named exactly ``name``, or None."""
        non_empty_text(name, "name")
        return await self._api.asset_named("/rest/asset/v1/smartList/byName.json", name, _parse)

    def list(self) -> Pager[SmartList]:
        """Every smart list, 200 per call."""
        fetch = functools.partial(self._api.get, "/rest/asset/v1/smartLists.json")
        return Pager(lambda: offset_pages(fetch, {}, _parse, max_return=MAX_ASSET_PAGE))


def _parse(item: Mapping[str, Any]) -> SmartList:
    return converter.structure(item, SmartList)
