"""``client.program_member_fields``: the program member schema (get, list, create, update)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .._batch import BatchReport, RecordOutcome, run_batches
from .._errors import MarketoError
from .._paging import MAX_BATCH_SIZE, Pager, token_pages
from ..models import converter
from ..models.program_members import ProgramMemberField
from ._base import Resource
from ._schema_fields import (
    NewField,
    check_field_name,
    field_changes,
    new_field_records,
    single_outcome,
)

__all__ = ["FIELDS_PATH", "MAX_CUSTOM_MEMBER_FIELDS", "ProgramMemberFields"]

FIELDS_PATH = "/rest/v1/programs/members/schema/fields"
# Marketo: a program member object has at most 20 custom fields.
MAX_CUSTOM_MEMBER_FIELDS = 20
# Marketo: the answer for a field name that does not exist.
FIELD_NOT_FOUND = "1006"


def _parse_field(item: Mapping[str, Any]) -> ProgramMemberField:
    return converter.structure(item, ProgramMemberField)


class ProgramMemberFields(Resource):
    """The program member schema: standard fields and up to 20 custom ones.

    Example::

        await client.program_member_fields.create([
            NewField(name="lunchPreference", display_name="Lunch Preference", data_type="string"),
        ])
        await client.program_member_fields.update("lunchPreference", description="Food")
    """

    async def get(self, name: str) -> ProgramMemberField | None:
        """One program member field by REST API name, or None when there is no such field."""
        name = check_field_name(name, "name")
        try:
            body = await self._api.get(f"{FIELDS_PATH}/{name}.json")
        except MarketoError as error:
            if error.code == FIELD_NOT_FOUND:
                return None
            raise
        found = body.get("result") or []
        return _parse_field(found[0]) if found else None

    def list(self, *, batch_size: int | None = None) -> Pager[ProgramMemberField]:
        """Every program member field, standard, custom and hidden, page by page."""
        if batch_size is not None and (
            isinstance(batch_size, bool)
            or not isinstance(batch_size, int)
            or not 1 <= batch_size <= MAX_BATCH_SIZE
        ):
            raise ValueError(f"batch_size must be 1 to {MAX_BATCH_SIZE}, got {batch_size!r}")

        async def fetch(params: Mapping[str, Any]) -> dict[str, Any]:
            return await self._api.get(f"{FIELDS_PATH}.json", params)

        params = {"batchSize": batch_size}
        return Pager(lambda: token_pages(fetch, params, _parse_field))

    async def create(
        self,
        fields: Iterable[NewField | Mapping[str, Any]],
        *,
        on_progress: Callable[[int, int | None], None] | None = None,
        on_outcome: Callable[[RecordOutcome], None] | None = None,
    ) -> BatchReport:
        """Create custom program member fields: ``created``, or ``skipped`` with the reasons.

        At most 20 (Marketo's limit for the whole object, so fewer when some exist). Names
        start with a letter and hold only letters, digits and underscores. Fields cannot be
        deleted afterwards, only hidden.
        """
        records = new_field_records(fields, "fields")
        if len(records) > MAX_CUSTOM_MEMBER_FIELDS:
            raise ValueError(
                f"fields holds {len(records)} fields; the program member object takes at most "
                f"{MAX_CUSTOM_MEMBER_FIELDS} custom fields"
            )

        async def send(batch: Sequence[dict[str, Any]]) -> Sequence[Mapping[str, Any]]:
            body = await self._api.post(f"{FIELDS_PATH}.json", json={"input": list(batch)})
            result = body.get("result")
            return result if isinstance(result, list) else []

        return await run_batches(
            records,
            send,
            batch_size=MAX_CUSTOM_MEMBER_FIELDS,
            max_in_flight=1,  # one call: every new field in the same request
            on_progress=on_progress,
            on_outcome=on_outcome,
        )

    async def update(self, name: str, **changes: Any) -> RecordOutcome:
        """Change a field's ``display_name``, ``description``, ``is_hidden``,
        ``is_html_encoding_in_email`` or ``is_sensitive``; anything else is refused here.

        Standard fields keep their display name and hidden flag, and only fields created
        through the API can be hidden through it: Marketo skips those changes.

        Example::

            outcome = await client.program_member_fields.update(
                "pMCFCustomField03", display_name="Lunch Preference"
            )
        """
        name = check_field_name(name, "name")
        change = field_changes(changes, "changes")
        body = await self._api.post(f"{FIELDS_PATH}/{name}.json", json={"input": [change]})
        return single_outcome(body)
