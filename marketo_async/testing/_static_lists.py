"""Static lists: the asset API (metadata, form-encoded) and Lead Database list membership."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ._assets import browse_window, by_id_and_name, found
from ._call import MAX_RECORDS, Call, Router
from ._leads import DEFAULT_LEAD_FIELDS, lead_view, requested_fields
from ._store import StaticList, iso
from ._wire import ApiError, asset_envelope

__all__ = ["register"]


def _asset_params(call: Call) -> None:
    """Asset writes are form-encoded; a JSON body is refused like Marketo does (612)."""
    if call.body.strip() and call.content_type != "application/x-www-form-urlencoded":
        raise ApiError("612", "Invalid Content Type")


def _folder(text: str) -> dict[str, Any]:
    try:
        folder = json.loads(text)
    except ValueError as exc:
        raise ApiError("1003", f"Invalid folder '{text}'") from exc
    if not isinstance(folder, dict) or not isinstance(folder.get("id"), int):
        raise ApiError("1003", f"Invalid folder '{text}'")
    return {"id": folder["id"], "type": folder.get("type", "Folder")}


get_by_id, get_by_name = by_id_and_name(lambda s: s.lists, lambda _, s: s.view())


async def browse(call: Call) -> dict[str, Any]:
    window = browse_window(call)
    folder_text = call.param("folder")
    folder = _folder(folder_text) if folder_text else None
    earliest = call.date_param("earliestUpdatedAt")
    latest = call.date_param("latestUpdatedAt")
    lists = [
        s
        for s in sorted(call.store.lists.values(), key=lambda s: s.id)
        if (folder is None or s.folder == folder)
        and (earliest is None or s.updated_at >= earliest)
        and (latest is None or s.updated_at <= latest)
    ]
    return found(call, [s.view() for s in lists[window]])


async def create(call: Call) -> dict[str, Any]:
    _asset_params(call)
    store = call.store
    name = call.required("name")
    folder = _folder(call.required("folder"))
    if folder["type"] not in {"Folder", "Program"}:
        raise ApiError("711", f"Incompatible folder type '{folder['type']}'")
    if folder["type"] == "Program" and folder["id"] not in store.programs:
        raise ApiError("710", "Parent folder not found")
    if store.list_named(name) is not None:
        raise ApiError("709", f"Static list name '{name}' is already in use")
    await call.delay(1)
    static_list = store.add_list(name, folder=folder, description=call.param("description"))
    return asset_envelope(call.request_id, [static_list.view()])


def _existing(call: Call) -> StaticList:
    return call.path_item("id", call.store.lists, "702", "Static list")


async def update(call: Call) -> dict[str, Any]:
    _asset_params(call)
    static_list = _existing(call)
    name = call.param("name")
    description = call.param("description")
    if name and name != static_list.name and call.store.list_named(name) is not None:
        raise ApiError("709", f"Static list name '{name}' is already in use")
    await call.delay(1)
    if name:
        static_list.name = name
    if description is not None:
        static_list.description = description
    static_list.updated_at = call.store.now()
    return asset_envelope(call.request_id, [static_list.view()])


async def delete(call: Call) -> dict[str, Any]:
    static_list = _existing(call)
    await call.delay(1)
    del call.store.lists[static_list.id]
    return asset_envelope(call.request_id, [{"id": static_list.id}])


# ---- list membership (Lead Database) ----------------------------------------------------------


def _lead_ids(call: Call) -> list[Any]:
    """Ids from repeated ``id=`` query parameters, or a JSON ``{"input": [{"id": ...}]}``."""
    raw: list[Any] = list(call.values("id"))
    if not raw:
        body = call.json_or_none()
        if body is not None:
            raw = [r.get("id") if isinstance(r, dict) else r for r in call.input(body)]
    if not raw:
        raise ApiError("701", "id cannot be blank")
    if len(raw) > MAX_RECORDS:
        raise ApiError("1003", f"Too many ids: {len(raw)}, the limit is 300")
    return raw


def _membership_list(call: Call) -> StaticList:
    return call.path_item("id", call.store.lists, "1013", "Static list")


def _as_lead_id(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# What a membership call does for one lead that exists: its result entry.
MemberAction = Callable[[Call, StaticList, int], dict[str, Any]]


async def _for_each_lead(call: Call, action: MemberAction, *, delay: bool = True) -> dict[str, Any]:
    """A membership call: ``action`` for each lead id given; 1004 for those that do not exist."""
    static_list = _membership_list(call)
    raw = _lead_ids(call)
    if delay:
        await call.delay(len(raw))
    results: list[dict[str, Any]] = []
    for value in raw:
        lead_id = _as_lead_id(value)
        if lead_id is None or lead_id not in call.store.leads:
            results.append(call.skipped("1004", "Lead not found", id=lead_id))
        else:
            results.append(action(call, static_list, lead_id))
    return call.ok(results)


def _add(call: Call, static_list: StaticList, lead_id: int) -> dict[str, Any]:
    call.store.add_list_member(static_list, lead_id)
    return {"id": lead_id, "status": "added"}


def _remove(call: Call, static_list: StaticList, lead_id: int) -> dict[str, Any]:
    if not call.store.remove_list_member(static_list, lead_id):
        return call.skipped("1015", "Lead not in list", id=lead_id)
    return {"id": lead_id, "status": "removed"}


def _check(call: Call, static_list: StaticList, lead_id: int) -> dict[str, Any]:
    status = "memberof" if lead_id in static_list.members else "notmemberof"
    return {"id": lead_id, "status": status}


async def add_members(call: Call) -> dict[str, Any]:
    return await _for_each_lead(call, _add)


async def remove_members(call: Call) -> dict[str, Any]:
    return await _for_each_lead(call, _remove)


async def is_member(call: Call) -> dict[str, Any]:
    return await _for_each_lead(call, _check, delay=False)


async def leads_of_list(call: Call) -> dict[str, Any]:
    static_list = _membership_list(call)
    store = call.store
    fields = requested_fields(call, store, DEFAULT_LEAD_FIELDS)
    members = [lead_id for lead_id in static_list.members if lead_id in store.leads]
    return call.page(
        "leads-of-list",
        members,
        lambda lead_id: lead_id,
        lambda lead_id: lead_view(store.leads[lead_id], fields),
    )


# ---- list metadata (Lead Database) -------------------------------------------------------------


def _lead_database_view(call: Call, static_list: StaticList) -> dict[str, Any]:
    folder = static_list.folder
    program = call.store.programs.get(folder["id"]) if folder.get("type") == "Program" else None
    view: dict[str, Any] = {"id": static_list.id, "name": static_list.name}
    if static_list.description is not None:
        view["description"] = static_list.description
    if program is not None:
        view["programName"] = program.name
    view.update(
        {
            "workspaceName": "Default",
            "createdAt": iso(static_list.created_at),
            "updatedAt": iso(static_list.updated_at),
        }
    )
    return view


async def lead_database_list(call: Call) -> dict[str, Any]:
    static_list = _membership_list(call)
    return call.ok([_lead_database_view(call, static_list)])


async def lead_database_lists(call: Call) -> dict[str, Any]:
    ids = {int(value) for value in call.values("id") if value.strip().isdigit()}
    names = set(call.values("name"))
    programs = set(call.values("programName"))
    workspaces = set(call.values("workspaceName"))
    views = [
        _lead_database_view(call, s)
        for s in sorted(call.store.lists.values(), key=lambda s: s.id)
        if (not call.values("id") or s.id in ids) and (not names or s.name in names)
    ]
    views = [
        v
        for v in views
        if (not programs or v.get("programName") in programs)
        and (not workspaces or v["workspaceName"] in workspaces)
    ]
    return call.page("lists", views, lambda view: int(view["id"]), lambda view: view)


def register(router: Router) -> None:
    router.add("GET", r"/rest/v1/lists\.json", lead_database_lists)
    router.add("GET", r"/rest/v1/lists/(?P<id>\d+)\.json", lead_database_list)
    router.add("GET", r"/rest/asset/v1/staticList/byName\.json", get_by_name)
    router.add("GET", r"/rest/asset/v1/staticList/(?P<id>\d+)\.json", get_by_id)
    router.add("POST", r"/rest/asset/v1/staticList/(?P<id>\d+)\.json", update)
    router.add("POST", r"/rest/asset/v1/staticList/(?P<id>\d+)/delete\.json", delete)
    router.add("GET", r"/rest/asset/v1/staticLists\.json", browse)
    router.add("POST", r"/rest/asset/v1/staticLists\.json", create)
    router.add("GET", r"/rest/v1/lists/(?P<id>\d+)/leads\.json", leads_of_list)
    router.add("GET", r"/rest/v1/list/(?P<id>\d+)/leads\.json", leads_of_list)  # legacy path
    router.add("POST", r"/rest/v1/lists/(?P<id>\d+)/leads\.json", add_members)
    router.add("DELETE", r"/rest/v1/lists/(?P<id>\d+)/leads\.json", remove_members)
    router.add("GET", r"/rest/v1/lists/(?P<id>\d+)/leads/ismember\.json", is_member)
