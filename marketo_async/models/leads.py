"""Lead records, the lead schema, partitions, and a lead's list, program and campaign memberships.

A :class:`Lead` keeps every field Marketo returned, standard and custom, exactly as sent; the
other models are plain attrs classes decoded by the one converter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs
import cattrs

from ._converter import converter, strict_converter
from ._record import Record
from ._schema import DescribedField, DescribedFields, SchemaField

__all__ = [
    "DescribedField",
    "FieldApiAccess",
    "Lead",
    "LeadDescription",
    "LeadField",
    "LeadFieldDescription",
    "ListMembership",
    "Partition",
    "ProgramMembership",
    "SmartCampaignMembership",
    "VisitorData",
]


# ------------------------------------------------------------------------------ memberships


@attrs.frozen(kw_only=True)
class ProgramMembership:
    """A lead's membership of one program (Get Programs by Lead Id, Get Leads by Program Id).

    ``stream``, ``nurture_cadence`` and ``is_exhausted`` are set for engagement programs.
    """

    id: int | None = None
    progression_status: str | None = None
    progression_status_type: str | None = None
    acquired_by: bool | None = None
    reached_success: bool | None = None
    membership_date: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    is_exhausted: bool | None = None
    stream: str | None = None
    nurture_cadence: str | None = None

    @property
    def program_id(self) -> int | None:
        """The program's id (Marketo calls it ``id``)."""
        return self.id


@attrs.frozen(kw_only=True)
class ListMembership:
    """A static list a lead belongs to (Get Lists by Lead Id)."""

    list_id: int
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


@attrs.frozen(kw_only=True)
class SmartCampaignMembership:
    """A smart campaign a lead is (or was) in (Get Smart Campaigns by Lead Id)."""

    smart_campaign_id: int
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


# ------------------------------------------------------------------------------------ leads


@attrs.frozen
class Lead(Record):
    """A lead: every field Marketo returned (by REST name), read like a mapping.

    ``id``, ``email``, ``created_at`` and ``updated_at`` are typed shortcuts, ``membership``
    is set on leads read by program; any other field, custom ones included, is ``lead[name]``
    or ``lead.get(name)``. Fields asked for but not returned are null in Marketo.

    >>> lead = Lead({"id": 318581, "email": "jdoe@marketo.com", "acmeCode": "A1"})
    >>> lead.id, lead["acmeCode"], lead.get("firstName")
    (318581, 'A1', None)
    """

    membership: ProgramMembership | None = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        raw = self.data.get("membership")
        membership = (
            converter.structure(raw, ProgramMembership) if isinstance(raw, Mapping) else None
        )
        object.__setattr__(self, "membership", membership)

    @property
    def id(self) -> int:
        """The lead's id (every lead Marketo returns has one)."""
        return int(self.data["id"])

    @property
    def email(self) -> str | None:
        return self._text("email")


def _register_lead(conv: cattrs.Converter) -> None:
    def structure(value: Any, _: Any) -> Lead:
        if not isinstance(value, Mapping):
            raise ValueError(f"a lead record must be an object, got {value!r}")
        return Lead(value)

    conv.register_structure_hook(Lead, structure)
    conv.register_unstructure_hook(Lead, lambda lead: dict(lead.data))


_register_lead(converter)
_register_lead(strict_converter)


@attrs.frozen(kw_only=True)
class VisitorData:
    """Page-visit data sent with Submit Form (fills the "Fill Out Form" activity)."""

    page_url: str | None = attrs.field(default=None, metadata={"wire": "pageURL"})
    query_string: str | None = None
    lead_client_ip_address: str | None = None
    user_agent_string: str | None = None


# ------------------------------------------------------------------------------ the schema


@attrs.frozen(kw_only=True)
class FieldApiAccess:
    """How one API names a field and whether it may write it (Describe Lead ``rest``/``soap``)."""

    name: str
    read_only: bool = False


@attrs.frozen(kw_only=True)
class LeadFieldDescription:
    """One field of Describe Lead: ``rest`` is None when the REST API cannot use the field."""

    id: int
    display_name: str
    data_type: str
    length: int | None = None
    rest: FieldApiAccess | None = None
    soap: FieldApiAccess | None = None

    @property
    def name(self) -> str | None:
        """The field's REST API name, or None when REST cannot use it."""
        return None if self.rest is None else self.rest.name


@attrs.frozen(kw_only=True)
class LeadDescription(DescribedFields):
    """Describe Lead2: the lead object's fields and the keys it can be searched by.

    Every entry of ``searchable_fields`` is a usable ``filter_type`` (single-field entries)
    or compound key.
    """

    name: str
    searchable_fields: list[list[str]] = attrs.Factory(list)
    fields: list[DescribedField] = attrs.Factory(list)


@attrs.frozen(kw_only=True)
class LeadField(SchemaField):
    """A lead field's schema record (Get Lead Field by Name, Get Lead Fields)."""


@attrs.frozen(kw_only=True)
class Partition:
    """A lead partition (``Default`` is the system one)."""

    id: int
    name: str
    description: str | None = None
