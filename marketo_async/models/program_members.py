"""Program members, their description, and the program member schema fields."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from ._converter import camel_case, converter, strict_converter
from ._schema import DescribedField, DescribedFields, SchemaField

__all__ = [
    "ProgramMember",
    "ProgramMemberDescription",
    "ProgramMemberField",
]


@attrs.frozen(kw_only=True)
class ProgramMember:
    """One lead's membership of a program.

    Standard fields are attributes; every other field Marketo sent (custom member fields, and
    fields this library does not know yet) is kept unchanged in ``fields``, by REST API name.
    ``member["registrationCode"]`` reads either kind.
    """

    lead_id: int
    program_id: int | None = None
    program: str | None = None
    status_name: str | None = None
    status_reason: str | None = None
    acquired_by: bool | None = None
    reached_success: bool | None = None
    reached_success_date: dt.datetime | None = None
    membership_date: dt.datetime | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    is_exhausted: bool | None = None
    nurture_cadence: str | None = None
    track_name: str | None = None
    waitlist_priority: int | None = None
    registration_likelihood: int | None = None
    attendance_likelihood: int | None = None
    # Marketo: the record's position in the page (response only).
    seq: int | None = None
    fields: dict[str, Any] = attrs.field(factory=dict)

    def __getitem__(self, name: str) -> Any:
        """A field by REST API name (``"statusName"``, ``"myCustomField"``)."""
        attribute = _ATTRIBUTE_OF.get(name)
        if attribute is not None:
            return getattr(self, attribute)
        return self.fields[name]

    def get(self, name: str, default: Any = None) -> Any:
        """A field by REST API name, or ``default`` when Marketo did not send it."""
        attribute = _ATTRIBUTE_OF.get(name)
        if attribute is not None:
            value = getattr(self, attribute)
            return default if value is None else value
        return self.fields.get(name, default)

    def to_dict(self) -> dict[str, Any]:
        """The record as Marketo sends it: camelCase names, custom fields included."""
        return converter.unstructure(self)  # type: ignore[no-any-return]


# REST API name -> attribute, for every attribute but ``fields``.
_ATTRIBUTE_OF: dict[str, str] = {
    camel_case(a.name): a.name for a in attrs.fields(ProgramMember) if a.name != "fields"
}


def _register_program_member(conv: cattrs.Converter) -> None:
    """Structure known keys into attributes and keep the rest in ``fields``, both ways."""
    renames: dict[str, Any] = {
        attribute: override(rename=wire) for wire, attribute in _ATTRIBUTE_OF.items()
    }
    structure_known = make_dict_structure_fn(
        ProgramMember, conv, fields=override(omit=True), **renames
    )
    omitting: dict[str, Any] = {
        attribute: override(rename=wire, omit_if_default=True)
        for wire, attribute in _ATTRIBUTE_OF.items()
    }
    unstructure_known = make_dict_unstructure_fn(
        ProgramMember, conv, fields=override(omit=True), **omitting
    )

    def structure(value: Mapping[str, Any], _: Any) -> ProgramMember:
        known = {k: v for k, v in value.items() if k in _ATTRIBUTE_OF}
        member = structure_known(known, ProgramMember)
        member.fields.update((k, v) for k, v in value.items() if k not in _ATTRIBUTE_OF)
        return member

    def unstructure(member: ProgramMember) -> dict[str, Any]:
        return {**unstructure_known(member), **member.fields}

    conv.register_structure_hook(ProgramMember, structure)
    conv.register_unstructure_hook(ProgramMember, unstructure)


@attrs.frozen(kw_only=True)
class ProgramMemberDescription(DescribedFields):
    """Describe Program Member: the fields, which can be searched on, and the dedupe key.

    >>> description = await client.program_members.describe()
    >>> description.updateable_fields
    ['myCustomField', 'registrationCode', 'webinarUrl']
    """

    name: str
    description: str | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    dedupe_fields: list[str] = attrs.Factory(list)
    searchable_fields: list[list[str]] = attrs.Factory(list)
    fields: list[DescribedField] = attrs.Factory(list)

    @property
    def filter_types(self) -> list[str]:
        """Names usable as ``filter_type`` in ``program_members.query`` (single-field keys)."""
        return [key[0] for key in self.searchable_fields if len(key) == 1]

    @property
    def updateable_fields(self) -> list[str]:
        """Names ``program_members.update_data`` may write."""
        return [field.name for field in self.fields if field.updateable]


@attrs.frozen(kw_only=True)
class ProgramMemberField(SchemaField):
    """A program member schema field (Get Program Member Field(s))."""


for _conv in (converter, strict_converter):
    _register_program_member(_conv)
