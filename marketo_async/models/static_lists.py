"""Static lists as the asset API describes them; the folder a list lives in is re-exported."""

from __future__ import annotations

import attrs

from ._asset import FOLDER_TYPES, Asset, Folder, FolderType

__all__ = ["FOLDER_TYPES", "Folder", "FolderType", "StaticList"]


@attrs.frozen(kw_only=True)
class StaticList(Asset):
    """A static list's metadata (asset API); its members are read with ``static_lists.leads``.

    ``computed_url`` opens the list in the Marketo Engage UI.
    """

    url: str | None = None
    computed_url: str | None = None
