"""``client.lead_fields``: the lead schema (get, list, create and update lead fields)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .._batch import BatchReport, RecordOutcome, run_batches
from .._errors import MarketoError
from .._paging import MAX_BATCH_SIZE, Pager, token_pages
from ..models._converter import converter
from ..models.leads import LeadField
from ._base import Resource
from ._schema_fields import (
    NewField,
    check_field_name,
    field_changes,
    new_field_records,
    single_outcome,
)

__all__ = ["FIELDS_PATH", "MAX_NEW_FIELDS_PER_CALL", "LeadFields"]

FIELDS_PATH = "/rest/v1/leads/schema/fields"
# Marketo: Create Lead Fields takes "up to 100" fields.
MAX_NEW_FIELDS_PER_CALL = 100
# Marketo: the answer for a field name that does not exist.
FIELD_NOT_FOUND = "1006"


class LeadFields(Resource):
    """The lead schema: get, list, create and update lead fields.

    Example::

        await client.lead_fields.create([
            NewField(name="acmeAccessCode", display_name="Acme Access Code", data_type="string"),
        ])
        await client.lead_fields.update("acmeAccessCode", description="Acme direct mail")
    """

    async def get(self, name: str) -> LeadField | None:
        """One lead field by REST API name, or None when there is no such field."""
        name = check_field_name(name, "name")
        try:
            body = await self._api.get(f"{FIELDS_PATH}/{name}.json")
        except MarketoError as error:
            if error.code == FIELD_NOT_FOUND:
                return None
            raise
        found = body.get("result") or []
        return converter.structure(found[0], LeadField) if found else None

    def list(self, *, batch_size: int | None = None) -> Pager[LeadField]:
        """Every lead field, standard, custom and hidden, page by page."""
        if batch_size is not None and (
            isinstance(batch_size, bool)
            or not isinstance(batch_size, int)
            or not 1 <= batch_size <= MAX_BATCH_SIZE
        ):
            raise ValueError(f"batch_size must be 1 to {MAX_BATCH_SIZE}, got {batch_size!r}")

        async def fetch(params: Mapping[str, Any]) -> dict[str, Any]:
            return await self._api.get(f"{FIELDS_PATH}.json", params)

        def parse(item: dict[str, Any]) -> LeadField:
            return converter.structure(item, LeadField)

        params = {"batchSize": batch_size}
        return Pager(lambda: token_pages(fetch, params, parse))

    async def create(
        self,
        fields: Iterable[NewField | Mapping[str, Any]],
        *,
        on_progress: Callable[[int, int | None], None] | None = None,
        on_outcome: Callable[[RecordOutcome], None] | None = None,
    ) -> BatchReport:
        """Create custom lead fields; ``created``, or ``skipped`` with Marketo's reasons.

        Names must start with a letter and hold only letters, digits and underscores; data
        types are boolean, currency, date, datetime, email, float, integer, percent, phone,
        score, string or url. Fields cannot be deleted afterwards, only hidden.
        """
        records = new_field_records(fields, "fields")

        async def send(batch: Sequence[dict[str, Any]]) -> Sequence[Mapping[str, Any]]:
            body = await self._api.post(f"{FIELDS_PATH}.json", json={"input": list(batch)})
            result = body.get("result")
            return result if isinstance(result, list) else []

        return await run_batches(
            records,
            send,
            batch_size=MAX_NEW_FIELDS_PER_CALL,
            max_in_flight=1,  # schema writes are few; one at a time keeps names unique
            on_progress=on_progress,
            on_outcome=on_outcome,
        )

    async def update(self, name: str, /, **changes: Any) -> RecordOutcome:
        """Change a lead field's ``display_name``, ``description``, ``is_hidden``,
        ``is_html_encoding_in_email`` or ``is_sensitive``; anything else is refused here.

        Standard fields keep their display name and hidden flag, and only fields created
        through the API can be hidden through it: Marketo skips those changes.

        Example::

            outcome = await client.lead_fields.update("acmeAccessCode", is_sensitive=True)
        """
        name = check_field_name(name, "name")
        change = field_changes(changes, "changes")
        body = await self._api.post(f"{FIELDS_PATH}/{name}.json", json={"input": [change]})
        return single_outcome(body)
