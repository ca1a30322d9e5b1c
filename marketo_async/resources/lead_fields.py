"""``client.lead_fields``: the lead schema (get, list, create and update lead fields)."""

from __future__ import annotations

from typing import Any

from .._batch import RecordOutcome
from ..models.leads import LeadField
from ._schema_fields import SchemaFields

__all__ = ["FIELDS_PATH", "MAX_NEW_FIELDS_PER_CALL", "LeadFields"]

FIELDS_PATH = "/rest/v1/leads/schema/fields"
# Marketo: Create Lead Fields takes "up to 100" fields.
MAX_NEW_FIELDS_PER_CALL = 100


class LeadFields(SchemaFields[LeadField]):
    """The lead schema: get, list, create and update lead fields.

    Example::

        await client.lead_fields.create([
            NewField(name="acmeAccessCode", display_name="Acme Access Code", data_type="string"),
        ])
        await client.lead_fields.update("acmeAccessCode", description="Acme direct mail")
    """

    _fields_path = FIELDS_PATH
    _field_type = LeadField
    _new_fields_per_call = MAX_NEW_FIELDS_PER_CALL
    _object_name = "lead"

    async def update(self, name: str, /, **changes: Any) -> RecordOutcome:
        """Change a lead field's ``display_name``, ``description``, ``is_hidden``,
        ``is_html_encoding_in_email`` or ``is_sensitive``; anything else is refused here.

        Standard fields keep their display name and hidden flag, and only fields created
        through the API can be hidden through it: Marketo skips those changes.

        Example::

            outcome = await client.lead_fields.update("acmeAccessCode", is_sensitive=True)
        """
        return await self._update(name, changes)
