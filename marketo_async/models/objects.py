"""Marketo's data objects (companies, opportunities and their roles, sales persons, named
accounts, custom objects): their description and their records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from ._record import Record
from ._schema import DescribedField

__all__ = ["ObjectDescription", "ObjectRecord", "ObjectRelationship"]


@attrs.frozen
class ObjectRecord(Record):
    """One record of a data object: every field Marketo returned, read like a mapping.

    >>> car = ObjectRecord({"marketoGUID": "a1b2", "vin": "WVW123", "seq": 0})
    >>> car["vin"], car.get("color")
    ('WVW123', None)
    """

    @property
    def marketo_guid(self) -> str | None:
        return self._text("marketoGUID")


@attrs.frozen(kw_only=True)
class ObjectRelationship:
    """A link field: ``field`` of this object points at ``related_field`` of ``related_to``
    (say an opportunity's ``externalCompanyId`` at the company's)."""

    field: str
    type: str
    related_to: str
    related_field: str


@attrs.frozen(kw_only=True)
class ObjectDescription:
    """What Describe answers for a data object: its name, keys, fields and links.

    ``dedupe_fields`` is the key ``sync`` matches records by (an opportunity role's is three
    fields); ``id_field`` is Marketo's own id (``id`` or ``marketoGUID``);
    ``searchable_fields`` lists the filter types ``query`` takes, each one or more fields.
    """

    name: str
    display_name: str
    plural_name: str | None
    id_field: str
    dedupe_fields: tuple[str, ...]
    searchable_fields: tuple[tuple[str, ...], ...]
    fields: tuple[DescribedField, ...]
    relationships: tuple[ObjectRelationship, ...] = ()
    description: str | None = None

    def field(self, name: str) -> DescribedField | None:
        """The field with this REST name, if any."""
        return next((field for field in self.fields if field.name == name), None)

    @property
    def link_fields(self) -> tuple[str, ...]:
        """The fields that link to another object."""
        return tuple(link.field for link in self.relationships)

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> ObjectDescription:
        """A description from Marketo's JSON (Describe, or an entry of List Custom Objects)."""
        fields = raw.get("fields") or ()
        links = raw.get("relationships") or ()
        return cls(
            name=str(raw.get("name") or ""),
            display_name=str(raw.get("displayName") or raw.get("name") or ""),
            plural_name=raw.get("pluralName"),
            id_field=str(raw.get("idField") or "marketoGUID"),
            dedupe_fields=_names(raw.get("dedupeFields")),
            searchable_fields=tuple(
                _names(group) for group in raw.get("searchableFields") or () if group
            ),
            fields=tuple(
                _field(item) for item in fields if isinstance(item, Mapping) and item.get("name")
            ),
            relationships=tuple(_link(item) for item in links if isinstance(item, Mapping)),
            description=raw.get("description"),
        )


def _field(item: Mapping[str, Any]) -> DescribedField:
    length = item.get("length")
    return DescribedField(
        name=str(item["name"]),
        display_name=str(item.get("displayName") or item["name"]),
        data_type=str(item.get("dataType") or "string"),
        length=length if type(length) is int else None,
        updateable=bool(item.get("updateable", False)),
        crm_managed=bool(item.get("crmManaged", False)),
    )


def _link(item: Mapping[str, Any]) -> ObjectRelationship:
    related = item.get("relatedTo") or {}
    return ObjectRelationship(
        field=str(item.get("field")),
        type=str(item.get("type") or ""),
        related_to=str(related.get("name") or ""),
        related_field=str(related.get("field") or ""),
    )


def _names(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Sequence):
        return tuple(str(name) for name in value)
    return ()
