"""What every asset of the asset API shares: the folder it lives in and its common fields."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any, Literal

import attrs

__all__ = ["FOLDER_TYPES", "Asset", "Folder", "FolderType"]

FolderType = Literal["Folder", "Program"]
# Marketo: a static list lives in a marketing folder or directly in a program.
FOLDER_TYPES: tuple[FolderType, ...] = ("Folder", "Program")


@attrs.frozen
class Folder:
    """Where an asset lives: ``Folder(13)`` (a marketing folder) or ``Folder(1034, "Program")``.

    The asset API takes it as JSON text: ``folder={"id":13,"type":"Folder"}``.
    """

    id: int
    type: str = "Folder"

    @classmethod
    def of(cls, value: Folder | Mapping[str, Any] | int, *, argument: str = "folder") -> Folder:
        """A checked folder from a ``Folder``, a ``{"id": .., "type": ..}`` mapping or an id.

        A bare id means a marketing folder. Raises ``ValueError`` naming ``argument``.
        """
        if isinstance(value, Folder):
            folder = value
        elif isinstance(value, Mapping):
            if set(value) - {"id", "type"}:
                raise ValueError(
                    f"{argument} must have only 'id' and 'type' keys, got {sorted(value)}"
                )
            raw_id: Any = value.get("id")
            folder = cls(raw_id, value.get("type", "Folder"))
        elif isinstance(value, int) and not isinstance(value, bool):
            folder = cls(value)
        else:
            raise ValueError(
                f"{argument} must be a Folder, a {{'id': .., 'type': ..}} mapping or a folder id, "
                f"not {value!r}"
            )
        if isinstance(folder.id, bool) or not isinstance(folder.id, int) or folder.id <= 0:
            raise ValueError(f"{argument} id must be a positive integer, not {folder.id!r}")
        if folder.type not in FOLDER_TYPES:
            raise ValueError(f"{argument} type must be 'Folder' or 'Program', not {folder.type!r}")
        return folder

    def to_json(self) -> str:
        """The JSON text the asset API expects, e.g. ``{"id":13,"type":"Folder"}``."""
        return json.dumps({"id": self.id, "type": self.type}, separators=(",", ":"))


@attrs.frozen(kw_only=True)
class Asset:
    """The fields Marketo's asset API answers for every asset (static and smart lists, smart
    campaigns, programs): the base of those models."""

    id: int
    name: str
    description: str | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    folder: Folder | None = None
    workspace: str | None = None
