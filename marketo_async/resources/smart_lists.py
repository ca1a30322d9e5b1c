"""``client.smart_lists``: smart lists' metadata (asset API)."""

from __future__ import annotations

from ..models.campaigns import SmartList
from ._assets import AssetKind, Assets

__all__ = ["SmartLists"]


class SmartLists(Assets[SmartList]):
    """Smart lists: find them by id or name, or list them all.

    >>> smart_list = await client.smart_lists.by_name("Active customers")
    """

    _kind = AssetKind(SmartList, "smartList", "smartLists", "smart list")
