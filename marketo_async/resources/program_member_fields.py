"""``client.program_member_fields``: the program member schema (get, list, create, update)."""

from __future__ import annotations

from typing import Any

from .._batch import RecordOutcome
from ..models.program_members import ProgramMemberField
from ._schema_fields import SchemaFields

__all__ = ["FIELDS_PATH", "MAX_CUSTOM_MEMBER_FIELDS", "ProgramMemberFields"]

FIELDS_PATH = "/rest/v1/programs/members/schema/fields"
# Marketo: a program member object has at most 20 custom fields.
MAX_CUSTOM_MEMBER_FIELDS = 20


class ProgramMemberFields(SchemaFields[ProgramMemberField]):
    """The program member schema: standard fields and up to 20 custom ones.

    ``create`` takes at most 20 new fields, Marketo's limit for the whole object (so fewer
    when some exist), all in one call.

    Example::

        existing = await client.program_member_fields.list().collect()
        await client.program_member_fields.create([
            NewField(name="lunchPreference", display_name="Lunch Preference", data_type="string"),
        ])
    """

    _fields_path = FIELDS_PATH
    _field_type = ProgramMemberField
    _new_fields_per_call = MAX_CUSTOM_MEMBER_FIELDS
    _max_custom_fields = MAX_CUSTOM_MEMBER_FIELDS
    _object_name = "program member"

    async def update(self, name: str, **changes: Any) -> RecordOutcome:
        """Change a program member field: ``display_name``, ``description``, ``is_hidden``,
        ``is_html_encoding_in_email`` or ``is_sensitive`` (nothing else; refused here).

        Marketo skips a change of a standard field's display name or hidden flag, and
        hides through the API only the fields created through it.

        Example::

            outcome = await client.program_member_fields.update(
                "pMCFCustomField03", display_name="Lunch Preference"
            )
        """
        return await self._update(name, changes)
