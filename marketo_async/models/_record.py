"""Records kept whole, as Marketo sent them, and read like a mapping by REST field name."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

import attrs

from ._converter import parse_datetime

__all__ = ["Record", "SentFields"]


class SentFields(Mapping[str, Any]):
    """Mixin of a record that keeps every field it was sent: ``record[name]``,
    ``record.get(name)``, ``len(record)`` and iteration read them, as a read-only mapping.

    The subclass says which attribute holds them, in ``_sent``.
    """

    __slots__ = ()

    @property
    def _sent(self) -> Mapping[str, Any]:
        raise NotImplementedError

    def __getitem__(self, name: str) -> Any:
        return self._sent[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._sent)

    def __len__(self) -> int:
        return len(self._sent)


def _as_dict(value: Mapping[str, Any]) -> dict[str, Any]:
    return dict(value)


@attrs.frozen
class Record(SentFields):
    """A Marketo record (a lead, a data object's record) with every field it was sent in
    ``data``; ``created_at`` and ``updated_at`` read Marketo's ``createdAt`` and ``updatedAt``."""

    data: dict[str, Any] = attrs.field(converter=_as_dict)

    @property
    def _sent(self) -> Mapping[str, Any]:
        return self.data

    @property
    def created_at(self) -> dt.datetime | None:
        return self._datetime("createdAt")

    @property
    def updated_at(self) -> dt.datetime | None:
        return self._datetime("updatedAt")

    def _datetime(self, name: str) -> dt.datetime | None:
        value = self.data.get(name)
        return None if value is None else parse_datetime(value)

    def _text(self, name: str) -> str | None:
        value = self.data.get(name)
        return None if value is None else str(value)
