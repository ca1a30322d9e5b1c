"""What the lead and program member schemas share: a described field, a schema field record,
and the lookup of a description's fields by name."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

__all__ = ["DescribedField", "DescribedFields", "SchemaField"]


@attrs.frozen(kw_only=True)
class DescribedField:
    """One field of Describe Lead2 (and of Describe Program Member, which has the same shape)."""

    name: str
    display_name: str
    data_type: str
    length: int | None = None
    updateable: bool = False
    crm_managed: bool = False


class DescribedFields:
    """Mixin of a description holding ``fields``: look one up by its REST name."""

    __slots__ = ()

    if TYPE_CHECKING:  # an attrs field of each subclass; no annotation here for cattrs to read
        fields: list[DescribedField]

    def field(self, name: str) -> DescribedField | None:
        """The field with this REST name, if any."""
        return next((field for field in self.fields if field.name == name), None)


@attrs.frozen(kw_only=True)
class SchemaField:
    """A field's schema record, as Get ... Field by Name and Get ... Fields answer it.

    The base of :class:`~marketo_async.models.LeadField` and
    :class:`~marketo_async.models.ProgramMemberField`, which take the same shape.
    """

    name: str
    display_name: str
    data_type: str
    description: str | None = None
    length: int | None = None
    is_hidden: bool = False
    is_html_encoding_in_email: bool = False
    is_sensitive: bool = False
    is_custom: bool = False
    is_api_created: bool = False
