"""Lead Gen & CRM list memberships carried into Marketo static lists of the same name."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import attrs

from ..models.static_lists import Folder

if TYPE_CHECKING:
    from .._client import MarketoClient
    from ..leadgen import LeadGenClient

__all__ = ["ListResult", "carry_list_memberships", "leadgen_list_names"]

# Lead Gen & CRM: getLeadListMemberships takes 100 leads a call, getActiveLists pages by 500.
MEMBERSHIP_LEADS_PER_CALL = 100
ACTIVE_LISTS_PAGE = 500


@attrs.define
class ListResult:
    """What happened to one Lead Gen & CRM list: its Marketo list and its members' outcomes."""

    name: str
    source_id: int
    marketo_id: int | None = None
    created: bool = False
    members: int = 0
    added: int = 0
    failed: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.failed == 0


async def leadgen_list_names(lg: LeadGenClient) -> dict[int, str]:
    """getActiveLists: every list's name by id (a list with no name is ``List <id>``)."""
    names: dict[int, str] = {}
    offset = 0
    while True:
        params = {"where": {}, "limit": ACTIVE_LISTS_PAGE, "offset": offset}
        result = await lg.call("getActiveLists", params)
        found = result.get("activeList") if isinstance(result, Mapping) else None
        rows = [row for row in found if isinstance(row, Mapping)] if isinstance(found, list) else []
        for row in rows:
            text = str(row.get("id", ""))
            if text.isdigit():
                # Names typed in the UI come HTML-encoded ("Webinar &amp; Events"), as values do.
                names[int(text)] = html.unescape(str(row.get("name") or "")) or f"List {text}"
        if len(rows) < ACTIVE_LISTS_PAGE:
            return names
        offset += len(rows)


async def _members_by_list(
    lg: LeadGenClient, pairs: Iterable[tuple[int, int]]
) -> dict[int, list[int]]:
    """Lead Gen list id -> the Marketo ids of its members, from (source id, Marketo id) pairs."""
    members: dict[int, list[int]] = {}
    chunk: dict[int, int] = {}

    async def flush() -> None:
        found = await lg.leads.list_memberships(list(chunk))
        for source_id, list_ids in found.items():
            marketo_id = chunk.get(source_id)
            if marketo_id is None:
                continue
            for list_id in list_ids:
                members.setdefault(list_id, []).append(marketo_id)
        chunk.clear()

    for source_id, marketo_id in pairs:
        chunk[source_id] = marketo_id
        if len(chunk) == MEMBERSHIP_LEADS_PER_CALL:
            await flush()
    if chunk:
        await flush()
    return members


async def _marketo_list(mk: MarketoClient, result: ListResult, folder: Folder | None) -> int | None:
    found = await mk.static_lists.by_name(result.name)
    if found is not None:
        return found.id
    if folder is None:
        result.error = (
            f"Marketo has no static list named {result.name!r}: pass --lists-folder ID "
            "to create it there"
        )
        return None
    created = await mk.static_lists.create(result.name, folder)
    result.created = True
    return created.id


async def carry_list_memberships(
    lg: LeadGenClient,
    mk: MarketoClient,
    pairs: Iterable[tuple[int, int]],
    *,
    folder: Folder | int | None = None,
) -> list[ListResult]:
    """Add each migrated lead to the Marketo static lists named like its Lead Gen lists.

    ``pairs`` are (Lead Gen lead id, Marketo lead id). A missing Marketo list is created in
    ``folder`` (names are unique in Marketo, so a resent create cannot make two). Membership
    goes through the batch engine; adding a lead twice is harmless.
    """
    target = None if folder is None else Folder.of(folder)
    members = await _members_by_list(lg, pairs)
    if not members:
        return []
    names = await leadgen_list_names(lg)
    results: list[ListResult] = []
    for list_id in sorted(members):
        result = ListResult(names.get(list_id, f"List {list_id}"), list_id)
        results.append(result)
        ids = list(dict.fromkeys(members[list_id]))
        result.members = len(ids)
        try:
            result.marketo_id = await _marketo_list(mk, result, target)
            if result.marketo_id is None:
                result.failed = len(ids)
                continue
            report = await mk.static_lists.add_leads(result.marketo_id, ids)
        except Exception as exc:  # one list's trouble is reported; the other lists go on
            result.error = str(exc) or type(exc).__name__
            result.failed = len(ids)
            continue
        # Marketo answers "added" for a lead already in the list: adding is idempotent.
        result.added = int(report.counts.get("added", 0))
        result.failed = len(report.failed)
    return results
