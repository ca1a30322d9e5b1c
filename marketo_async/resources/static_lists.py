"""``client.static_lists``: list metadata (asset API) and list membership (Lead Database)."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

from .._batch import BatchReport, RecordOutcome, run_batches
from .._errors import MarketoError, NotFoundError
from .._paging import (
    MAX_ASSET_PAGE,
    MAX_BATCH_SIZE,
    Pager,
    offset_pages,
    token_pages,
)
from ..models import converter, format_datetime
from ..models.leads import Lead
from ..models.static_lists import Folder, StaticList
from ._base import Resource
from ._schema_fields import check_field_name

__all__ = ["StaticLists"]

LeadId = int | str  # a string of digits (a CSV cell) is accepted too
FieldNames = str | Iterable[str] | None
LeadIds = Iterable[LeadId] | AsyncIterable[LeadId]
Call = Callable[[Mapping[str, Any]], Awaitable[dict[str, Any]]]
Progress = Callable[[int, int | None], None]
OutcomeHook = Callable[[RecordOutcome], None]


def _positive_id(value: object, argument: str) -> int:
    """An id given as an int (or digits): positive, never a bool; ValueError otherwise."""
    number = _lead_id(value)
    if number is None:
        raise ValueError(f"{argument} must be a positive integer id, got {value!r}")
    return number


def _lead_id(value: object) -> int | None:
    """A positive lead id from an int or a string of digits (a CSV cell); None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.isdigit() and int(text) > 0:
            return int(text)
    return None


def _check_lead_id(index: int, value: object) -> str | None:
    if _lead_id(value) is None:
        return f"record {index}: a lead id must be a positive integer, not {value!r}"
    return None


def _field_names(fields: FieldNames) -> str | None:
    """The ``fields`` query value: REST names joined by commas (None keeps Marketo's default)."""
    if fields is None:
        return None
    names = fields.split(",") if isinstance(fields, str) else list(fields)
    checked = [
        check_field_name(name.strip() if isinstance(name, str) else name, f"fields[{index}]")
        for index, name in enumerate(names)
    ]
    if not checked:
        raise ValueError("fields must name at least one field, or be None for the defaults")
    return ",".join(dict.fromkeys(checked))


def _batch_size(batch_size: int | None) -> int | None:
    if batch_size is not None and (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, int)
        or not 1 <= batch_size <= MAX_BATCH_SIZE
    ):
        raise ValueError(f"batch_size must be 1 to {MAX_BATCH_SIZE}, got {batch_size!r}")
    return batch_size


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


def _aligned_by_id(
    ids: Sequence[int], results: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Give each result entry the ``seq`` of the input id it answers, and that id.

    Marketo answers list membership calls in input order, each entry naming its lead ``id``;
    matching on the id keeps a reordered or shortened answer on the right records. Ids are
    unique within a call (the batch engine never puts one key twice in a call).
    """
    position = {lead_id: seq for seq, lead_id in enumerate(ids)}
    aligned: list[dict[str, Any]] = []
    for index, entry in enumerate(results):
        entry_id = entry.get("id")
        seq = position.get(entry_id) if type(entry_id) is int else None
        if seq is None:
            seq = index
        fixed = {**entry, "seq": seq}
        if type(entry_id) is not int and seq < len(ids):
            fixed["id"] = ids[seq]
        aligned.append(fixed)
    return aligned


class StaticLists(Resource):
    """Static lists: metadata through the asset API, members through the Lead Database.

    >>> invitees = await client.static_lists.create("Webinar invitees", Folder(13))
    >>> report = await client.static_lists.add_leads(invitees.id, lead_ids)
    >>> async for lead in client.static_lists.leads(invitees.id, fields=["email"]):
    ...     ...
    """

    # ---- metadata (asset API; form-encoded bodies) --------------------------------------

    async def get(self, id: int) -> StaticList:
        """The static list with this id; ``NotFoundError`` when there is none."""
        list_id = _positive_id(id, "id")
        path = f"/rest/asset/v1/staticList/{list_id}.json"
        found = self._one(await self._api.get(path))
        if found is None:
            raise NotFoundError(f"static list {list_id} not found", path=path)
        return found

    async def by_name(self, name: str) -> StaticList | None:
        """The static list named exactly ``name``, or None."""
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"name must be a non-empty string, not {name!r}")
        body = await self._api.get("/rest/asset/v1/staticList/byName.json", {"name": name})
        return self._one(body)

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
        fetch = functools.partial(self._api.get, "/rest/asset/v1/staticLists.json")
        query = {k: v for k, v in params.items() if v is not None}
        return Pager(lambda: offset_pages(fetch, query, _parse_list, max_return=max_return))

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
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"name must be a non-empty string, not {name!r}")
        checked = Folder.of(folder)
        # Names are unique in Marketo, so a resent create cannot make a second list.
        body = await self._api.post(
            "/rest/asset/v1/staticLists.json",
            data={"folder": checked.to_json(), "name": name, "description": description},
        )
        return self._answered(body, "/rest/asset/v1/staticLists.json")

    async def update(
        self, id: int, *, name: str | None = None, description: str | None = None
    ) -> StaticList:
        """Rename a static list and/or change its description."""
        list_id = _positive_id(id, "id")
        if name is None and description is None:
            raise ValueError("nothing to update: pass name and/or description")
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise ValueError(f"name must be a non-empty string, not {name!r}")
        path = f"/rest/asset/v1/staticList/{list_id}.json"
        body = await self._api.post(path, data={"name": name, "description": description})
        return self._answered(body, path)

    async def delete(self, id: int) -> None:
        """Delete a static list (Marketo refuses while an import, export or asset uses it)."""
        list_id = _positive_id(id, "id")
        path = f"/rest/asset/v1/staticList/{list_id}/delete.json"
        body = await self._api.post(path)
        if not body.get("result"):
            raise NotFoundError(f"static list {list_id} not found", path=path)

    # ---- membership (Lead Database; ids as repeated query parameters) ---------------------

    async def add_leads(
        self,
        list_id: int,
        lead_ids: LeadIds,
        *,
        on_progress: Progress | None = None,
        on_outcome: OutcomeHook | None = None,
    ) -> BatchReport:
        """Add leads to a static list, 300 per call; statuses ``added`` or ``skipped``.

        >>> report = await client.static_lists.add_leads(1001, [318594, 318595])
        >>> [(o.id, o.status) for o in report.outcomes]
        [(318594, 'added'), (318595, 'skipped')]
        """
        path = f"/rest/v1/lists/{_positive_id(list_id, 'list_id')}/leads.json"
        return await self._membership(
            lambda params: self._api.post(path, params=params), lead_ids, on_progress, on_outcome
        )

    async def remove_leads(
        self,
        list_id: int,
        lead_ids: LeadIds,
        *,
        on_progress: Progress | None = None,
        on_outcome: OutcomeHook | None = None,
    ) -> BatchReport:
        """Remove leads from a static list, 300 per call; statuses ``removed`` or ``skipped``."""
        path = f"/rest/v1/lists/{_positive_id(list_id, 'list_id')}/leads.json"
        # The REST API's only DELETE; ids go in the query (some stacks drop DELETE bodies).
        return await self._membership(
            lambda params: self._api.delete(path, params), lead_ids, on_progress, on_outcome
        )

    async def contains(
        self,
        list_id: int,
        lead_ids: LeadIds,
        *,
        on_progress: Progress | None = None,
        on_outcome: OutcomeHook | None = None,
    ) -> BatchReport:
        """Which leads are in a static list: statuses ``memberof``, ``notmemberof``, ``skipped``.

        >>> report = await client.static_lists.contains(1001, lead_ids)
        >>> members = [o.id for o in report.outcomes if o.status == "memberof"]
        """
        path = f"/rest/v1/lists/{_positive_id(list_id, 'list_id')}/leads/ismember.json"
        return await self._membership(
            lambda params: self._api.get(path, params), lead_ids, on_progress, on_outcome
        )

    def leads(
        self, list_id: int, *, fields: FieldNames = None, batch_size: int | None = None
    ) -> Pager[Lead]:
        """The leads in a static list (``fields`` by REST API name; default: Marketo's set).

        >>> async for lead in client.static_lists.leads(1001, fields=["email", "firstName"]):
        ...     print(lead["email"])
        """
        path = f"/rest/v1/lists/{_positive_id(list_id, 'list_id')}/leads.json"
        params = {"fields": _field_names(fields), "batchSize": _batch_size(batch_size)}
        fetch = functools.partial(self._api.get, path)
        return Pager(lambda: token_pages(fetch, params, Lead))

    # ---- helpers ------------------------------------------------------------------------

    @staticmethod
    def _one(body: Mapping[str, Any]) -> StaticList | None:
        result = body.get("result") or []
        return _parse_list(result[0]) if result else None

    @staticmethod
    def _answered(body: Mapping[str, Any], path: str) -> StaticList:
        """The list a create or update answered with."""
        found = StaticLists._one(body)
        if found is None:
            warnings = "; ".join(str(w) for w in body.get("warnings") or ()) or "no warning"
            raise MarketoError(f"Marketo answered without the static list ({warnings})", path=path)
        return found

    async def _membership(
        self,
        call: Call,
        lead_ids: LeadIds,
        on_progress: Progress | None,
        on_outcome: OutcomeHook | None,
    ) -> BatchReport:
        async def send(batch: Sequence[LeadId]) -> list[dict[str, Any]]:
            ids = [lead_id for lead_id in map(_lead_id, batch) if lead_id is not None]
            body = await call({"id": ids})
            return _aligned_by_id(ids, body.get("result") or [])

        return await run_batches(
            lead_ids,
            send,
            key=_lead_id,
            validate=_check_lead_id,
            max_in_flight=self._api.max_in_flight,
            on_progress=on_progress,
            on_outcome=on_outcome,
        )


def _parse_list(item: Mapping[str, Any]) -> StaticList:
    return converter.structure(item, StaticList)
