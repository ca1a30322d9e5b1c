"""``client.static_lists``: list metadata (asset API) and list membership (Lead Database)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._batch import BatchReport, ResultRules, Status, WriteHooks, WriteOptions
from .._errors import MarketoError, RequestError
from .._paging import MAX_ASSET_PAGE, Pager
from ..models import format_datetime
from ..models.leads import Lead
from ..models.static_lists import Folder, StaticList
from ._arguments import (
    FieldNames,
    LeadId,
    LeadIds,
    check_batch_size,
    check_lead_id,
    field_names,
    id_or_none,
    non_empty_text,
    positive_id,
)
from ._assets import AssetKind, Assets
from ._base import RecordRules, after_resend, asset_not_found, first_result

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["StaticLists"]

# Marketo: "Lead not in list".
NOT_IN_LIST = "1015"
# Marketo: a static list name already in use.
NAME_IN_USE = "709"


def _updated_at(value: dt.datetime | dt.date | None, argument: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, dt.date):
        raise ValueError(f"{argument} must be a datetime or a date, not {value!r}")
    return format_datetime(value)


def _as_datetime(value: dt.datetime | dt.date) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)


# Marketo answers membership calls naming each entry's lead ``id``: match on it, so a reordered
# or shortened answer stays on the right records; a skipped entry's id is its record's key.
_MEMBERS: RecordRules[LeadId] = RecordRules(
    key=id_or_none,
    validate=check_lead_id,
    results=ResultRules(match_by="id", ids_from_keys=True),
)


class StaticLists(Assets[StaticList]):
    """Static lists: metadata through the asset API, members through the Lead Database.

    >>> invitees = await client.static_lists.create("Webinar invitees", Folder(13))
    >>> report = await client.static_lists.add_leads(invitees.id, lead_ids)
    >>> async for lead in client.static_lists.leads(invitees.id, fields=["email"]):
    ...     ...
    """

    _kind = AssetKind(StaticList, "staticList", "staticLists", "static list")

    # ---- metadata (asset API; form-encoded bodies) --------------------------------------

    def list(
        self,
        *,
        folder: Folder | Mapping[str, Any] | int | None = None,
        earliest_updated_at: dt.datetime | dt.date | None = None,
        latest_updated_at: dt.datetime | dt.date | None = None,
        max_return: int = MAX_ASSET_PAGE,
    ) -> Pager[StaticList]:
        """Every static list (in ``folder``, updated in the range), 200 per call.

        >>> async for static_list in client.static_lists.list(folder=Folder(13)):
        ...     print(static_list.name)
        """
        params: dict[str, Any] = {}
        if folder is not None:
            params["folder"] = Folder.of(folder).to_json()
        earliest = _updated_at(earliest_updated_at, "earliest_updated_at")
        latest = _updated_at(latest_updated_at, "latest_updated_at")
        if (
            earliest_updated_at is not None
            and latest_updated_at is not None
            and _as_datetime(earliest_updated_at) > _as_datetime(latest_updated_at)
        ):
            raise ValueError("earliest_updated_at must not be after latest_updated_at")
        params["earliestUpdatedAt"] = earliest
        params["latestUpdatedAt"] = latest
        if isinstance(max_return, bool) or not 1 <= max_return <= MAX_ASSET_PAGE:
            raise ValueError(f"max_return must be 1 to {MAX_ASSET_PAGE}, not {max_return!r}")
        query = {k: v for k, v in params.items() if v is not None}
        return Pager(lambda: self._pages(query, max_return))

    async def create(
        self,
        name: str,
        folder: Folder | Mapping[str, Any] | int,
        *,
        description: str | None = None,
    ) -> StaticList:
        """A new static list in ``folder`` (a marketing folder or a program).

        >>> await client.static_lists.create("My Static List", Folder(1034, "Program"))
        """
        non_empty_text(name, "name")
        checked = Folder.of(folder)
        # Names are unique in Marketo, so a resent create cannot make a second list.
        try:
            body = await self._api.post(
                "/rest/asset/v1/staticLists.json",
                data={"folder": checked.to_json(), "name": name, "description": description},
            )
        except RequestError as error:
            # 709 "name in use" to a resend after an ambiguous failure: the first send made it.
            found = None
            if error.code == NAME_IN_USE and error.after_ambiguous_attempt:
                found = await self.by_name(name)
            if found is None:
                raise
            return found
        return self._answered(body, "/rest/asset/v1/staticLists.json")

    async def update(
        self, id: int, *, name: str | None = None, description: str | None = None
    ) -> StaticList:
        """Rename a static list and/or change its description."""
        list_id = positive_id(id, "id")
        if name is None and description is None:
            raise ValueError("nothing to update: pass name and/or description")
        if name is not None:
            non_empty_text(name, "name")
        path = f"/rest/asset/v1/staticList/{list_id}.json"
        body = await self._api.post(path, data={"name": name, "description": description})
        return self._answered(body, path)

    async def delete(self, id: int) -> None:
        """Delete a static list (Marketo refuses while an import, export or asset uses it)."""
        list_id = positive_id(id, "id")
        path = f"/rest/asset/v1/staticList/{list_id}/delete.json"
        body = await self._api.post(path)
        if not body.get("result"):
            raise asset_not_found(f"static list {list_id}", body, path)

    # ---- membership (Lead Database; ids as repeated query parameters) ---------------------

    async def add_leads(
        self,
        list_id: int,
        lead_ids: LeadIds,
        **hooks: Unpack[WriteHooks],
    ) -> BatchReport:
        """Add leads to a static list, 300 per call; statuses ``added`` or ``skipped``.

        Example::

            >>> report = await client.static_lists.add_leads(1001, [318594, 318595])
            >>> [(o.id, o.status) for o in report.outcomes]
            [(318594, 'added'), (318595, 'skipped')]
        """
        path = self._members_path(list_id)
        return await self._write_members(
            lead_ids, hooks, lambda ids: self._api.post(path, params={"id": ids})
        )

    async def remove_leads(
        self,
        list_id: int,
        lead_ids: LeadIds,
        **hooks: Unpack[WriteHooks],
    ) -> BatchReport:
        """Remove leads from a static list, 300 per call; statuses ``removed`` or ``skipped``."""
        path = self._members_path(list_id)
        # The REST API's only DELETE; ids go in the query (some stacks drop DELETE bodies).
        # A 1015 (not in list) to a resend after an ambiguous failure: the first send removed it.
        return await self._write_members(
            lead_ids,
            hooks,
            lambda ids: self._api.delete(path, {"id": ids}),
            {NOT_IN_LIST: "removed"},
        )

    async def contains(
        self,
        list_id: int,
        lead_ids: LeadIds,
        **hooks: Unpack[WriteHooks],
    ) -> BatchReport:
        """Which leads are in a static list: statuses ``memberof``, ``notmemberof``, ``skipped``.

        >>> report = await client.static_lists.contains(1001, lead_ids)
        >>> members = [o.id for o in report.outcomes if o.status == "memberof"]
        """
        path = self._members_path(list_id, "/ismember")
        return await self._write_members(
            lead_ids, hooks, lambda ids: self._api.get(path, {"id": ids})
        )

    def leads(
        self, list_id: int, *, fields: FieldNames = None, batch_size: int | None = None
    ) -> Pager[Lead]:
        """The leads in a static list (``fields`` by REST API name; default: Marketo's set).

        >>> async for lead in client.static_lists.leads(1001, fields=["email", "firstName"]):
        ...     print(lead["email"])
        """
        path = self._members_path(list_id)
        params = {"fields": field_names(fields), "batchSize": check_batch_size(batch_size)}
        return self._api.pages(path, params, Lead)

    # ---- helpers ------------------------------------------------------------------------

    async def _write_members(
        self,
        lead_ids: LeadIds,
        hooks: WriteHooks,
        call: Callable[[Sequence[int]], Awaitable[dict[str, Any]]],
        evidence: Mapping[str, Status] | None = None,
    ) -> BatchReport:
        """A membership write: ``call`` takes each batch's lead ids as repeated ``id``
        parameters; its answer read by :func:`after_resend` with ``evidence``."""

        async def send(batch: Sequence[LeadId]) -> list[Mapping[str, Any]]:
            ids = [lead_id for lead_id in map(id_or_none, batch) if lead_id is not None]
            return after_resend(await call(ids), evidence=evidence)

        return await self._api.write_batches(lead_ids, send, _MEMBERS, WriteOptions(**hooks))

    @staticmethod
    def _members_path(list_id: int, suffix: str = "") -> str:
        """A list's membership endpoint (``list_id`` checked first)."""
        return f"/rest/v1/lists/{positive_id(list_id, 'list_id')}/leads{suffix}.json"

    def _answered(self, body: Mapping[str, Any], path: str) -> StaticList:
        """The list a create or update answered with."""
        found = first_result(body, self._kind.parse)
        if found is None:
            warnings = "; ".join(str(w) for w in body.get("warnings") or ()) or "no warning"
            raise MarketoError(f"Marketo answered without the static list ({warnings})", path=path)
        return found
