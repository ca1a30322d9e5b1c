"""What every asset-API resource (smart campaigns, programs, smart lists, static lists) reads
the same way: one asset by id, one by exact name, and every one in pages of 200."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Mapping
from typing import Any, Generic, TypeVar

import attrs

from .._paging import MAX_ASSET_PAGE, Page, Pager, offset_pages
from ..models import converter
from ._arguments import non_empty_text, positive_id
from ._base import Resource

__all__ = ["AssetKind", "Assets"]

T = TypeVar("T")


@attrs.frozen
class AssetKind(Generic[T]):
    """One kind of asset: its model, the nouns of its paths (``/rest/asset/v1/smartList/1.json``,
    ``.../smartLists.json``) and its name in errors (``smart list``)."""

    model: type[T]
    noun: str
    plural: str
    what: str

    def parse(self, item: Mapping[str, Any]) -> T:
        return converter.structure(item, self.model)


class Assets(Resource, Generic[T]):
    """A resource of one kind of asset: ``get(id)``, ``by_name(name)`` and ``list()``."""

    _kind: AssetKind[T]

    async def get(self, id: int) -> T:
        """The asset with this id; ``NotFoundError`` when there is none."""
        asset_id = positive_id(id, "id")
        kind = self._kind
        path = f"/rest/asset/v1/{kind.noun}/{asset_id}.json"
        return await self._api.asset(path, kind.parse, what=f"{kind.what} {asset_id}")

    async def by_name(self, name: str) -> T | None:
        """The asset named exactly ``name``, or None."""
        non_empty_text(name, "name")
        path = f"/rest/asset/v1/{self._kind.noun}/byName.json"
        return await self._api.asset_named(path, name, self._kind.parse)

    def list(self) -> Pager[T]:
        """Every asset of this kind, 200 per call."""
        return Pager(lambda: self._pages({}))

    def _pages(
        self, query: Mapping[str, Any], max_return: int = MAX_ASSET_PAGE
    ) -> AsyncIterator[Page[T]]:
        """The asset browse's pages for ``query`` (``offset``/``maxReturn`` added)."""
        fetch = functools.partial(self._api.get, f"/rest/asset/v1/{self._kind.plural}.json")
        return offset_pages(fetch, query, self._kind.parse, max_return=max_return)
