"""Smart campaigns (asset reads, Request and Schedule Campaign), programs, channels, smart lists."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from ._assets import browse_all, browse_window, by_id_and_name, found
from ._call import Call, Router, parse_date
from ._store import (
    CampaignRun,
    Channel,
    Program,
    SmartCampaign,
    SmartList,
    Store,
    asset_date,
)
from ._wire import ApiError

__all__ = ["MAX_TRIGGER_LEADS", "register"]

# Marketo: Request Campaign takes at most 100 leads per call.
MAX_TRIGGER_LEADS = 100
# Marketo: 1042 for a runAt more than two years ahead.
MAX_RUN_AT_AHEAD = timedelta(days=2 * 365)
_TOKEN_NAME = re.compile(r"\{\{my\.[^{}]+\}\}")
_WORKSPACE = "Default"


def _flag(call: Call, name: str) -> bool:
    value = (call.param(name) or "").lower()
    if value not in ("", "true", "false"):
        raise ApiError("1003", f"Invalid value '{value}' for {name}")
    return value == "true"


# ---- smart campaigns (asset API) ------------------------------------------------------------


def campaign_view(store: Store, campaign: SmartCampaign) -> dict[str, Any]:
    created = campaign.created_at or store.now()
    if campaign.type == "batch":
        status = "Single Run" if campaign.runs else "Never Run"
    else:
        status = "Active" if campaign.active else "Inactive"
    view: dict[str, Any] = {
        "id": campaign.id,
        "name": campaign.name,
        "description": campaign.description,
        "type": campaign.type,
        "isSystem": False,
        "isActive": campaign.active,
        "isRequestable": campaign.requestable,
        "isCommunicationLimitEnabled": False,
        "qualificationRuleType": "once",
        "smartListId": campaign.id + 5000,
        "flowId": campaign.id + 9000,
        "folder": (
            {"id": campaign.program_id, "type": "Program"}
            if campaign.program_id
            else {"id": 13, "type": "Folder"}
        ),
        "createdAt": asset_date(created),
        "updatedAt": asset_date(created),
        "workspace": _WORKSPACE,
        "computedUrl": f"https://app-sjqe.marketo.com/#SC{campaign.id}A1",
        "status": status,
    }
    if campaign.program_id is not None:
        view["parentProgramId"] = campaign.program_id
    return view


campaign_by_id, campaign_by_name = by_id_and_name(lambda s: s.smart_campaigns, campaign_view)


async def browse_campaigns(call: Call) -> dict[str, Any]:
    active_only = _flag(call, "isActive")
    campaigns = [
        c
        for c in sorted(call.store.smart_campaigns.values(), key=lambda c: c.id)
        if c.active or not active_only
    ]
    return found(call, [campaign_view(call.store, c) for c in campaigns[browse_window(call)]])


# ---- Request Campaign and Schedule Campaign (Lead Database) ----------------------------------


def _campaign(call: Call) -> SmartCampaign:
    return call.path_item("id", call.store.smart_campaigns, "1013", "Campaign")


def _run_input(call: Call) -> dict[str, Any]:
    body = call.json_or_none() or {}
    data = body.get("input", {})
    if not isinstance(data, dict):
        raise ApiError("609", "Invalid JSON: input must be an object")
    return data


def _tokens(data: dict[str, Any]) -> dict[str, str]:
    raw = data.get("tokens") or []
    if not isinstance(raw, list):
        raise ApiError("1003", "tokens must be an array")
    tokens: dict[str, str] = {}
    for token in raw:
        name = token.get("name") if isinstance(token, dict) else None
        value = token.get("value") if isinstance(token, dict) else None
        if not isinstance(name, str) or not _TOKEN_NAME.fullmatch(name):
            raise ApiError("1003", f"Invalid token name '{name}'")
        if not isinstance(value, str):
            raise ApiError("1003", f"Invalid value for token '{name}'")
        tokens[name] = value
    return tokens


def _trigger_leads(data: dict[str, Any]) -> list[int]:
    leads = data.get("leads")
    if not isinstance(leads, list) or not leads:
        raise ApiError("701", "leads cannot be blank")
    if len(leads) > MAX_TRIGGER_LEADS:
        raise ApiError("1003", f"Too many leads: {len(leads)}, the limit is 100")
    ids = []
    for lead in leads:
        lead_id = lead.get("id") if isinstance(lead, dict) else None
        if type(lead_id) is not int or lead_id <= 0:
            raise ApiError("1003", f"Invalid lead id '{lead_id}'")
        ids.append(lead_id)
    return ids


async def trigger(call: Call) -> dict[str, Any]:
    campaign = _campaign(call)
    if campaign.type == "batch":
        raise ApiError("1003", f"Cannot request a batch campaign '{campaign.name}'")
    if not campaign.active:
        raise ApiError("1003", f"Trigger campaign '{campaign.name}' is not active")
    if not campaign.requested_trigger:
        raise ApiError(
            "1003",
            f"Campaign '{campaign.name}' has no 'Campaign is Requested' trigger with source "
            "'Web Service API'",
        )
    data = _run_input(call)
    lead_ids = _trigger_leads(data)
    tokens = _tokens(data)
    await call.delay(len(lead_ids))
    campaign.runs.append(CampaignRun("trigger", tuple(lead_ids), tokens))
    now = call.store.now()
    for lead_id in lead_ids:
        # Marketo accepts unknown ids; only leads that exist join the campaign.
        if lead_id in call.store.leads:
            joined = campaign.members.get(lead_id, (now, now))[0]
            campaign.members[lead_id] = (joined, now)
    return call.ok([{"id": campaign.id}])


async def schedule(call: Call) -> dict[str, Any]:
    campaign = _campaign(call)
    if campaign.type != "batch":
        raise ApiError("1003", f"Cannot schedule a trigger campaign '{campaign.name}'")
    data = _run_input(call)
    run_at = None
    if data.get("runAt") is not None:
        run_at = parse_date(str(data["runAt"]))
        if run_at - call.store.now() > MAX_RUN_AT_AHEAD:
            raise ApiError("1042", "Invalid runAt date")
    clone = data.get("cloneToProgramName")
    if clone is not None and (not isinstance(clone, str) or not clone.strip()):
        raise ApiError("1003", "Invalid cloneToProgramName")
    tokens = _tokens(data)
    await call.delay(0)
    when = run_at or call.store.now() + timedelta(minutes=5)
    campaign.runs.append(CampaignRun("schedule", (), tokens, when, clone))
    return call.ok([{"id": campaign.id}])


# ---- programs and channels (asset API) -------------------------------------------------------


def program_view(store: Store, program: Program) -> dict[str, Any]:
    created = program.created_at or store.now()
    return {
        "id": program.id,
        "name": program.name,
        "description": "",
        "createdAt": asset_date(created),
        "updatedAt": asset_date(created),
        "url": f"https://app-sjqe.marketo.com/#PG{program.id}A1",
        "type": "Engagement" if program.engagement else "Default",
        "channel": program.channel,
        "folder": {"id": 13, "type": "Folder"},
        "status": "on" if program.engagement else "",
        "workspace": _WORKSPACE,
        "tags": [],
        "costs": [],
    }


program_by_id, program_by_name = by_id_and_name(lambda s: s.programs, program_view)
browse_programs = browse_all(lambda s: s.programs, program_view)


def channel_view(store: Store, channel: Channel) -> dict[str, Any]:
    stamp = asset_date(store.now())
    return {
        "id": channel.id,
        "name": channel.name,
        "applicableProgramType": "program",
        "createdAt": stamp,
        "updatedAt": stamp,
        "progressionStatuses": [
            {
                "name": name,
                "step": step,
                "success": name in channel.success_statuses,
                "hidden": False,
                "description": "",
            }
            for step, name in enumerate(channel.statuses)
        ],
    }


async def channel_by_name(call: Call) -> dict[str, Any]:
    # The Swagger file spells the parameter "Name"; the docs and clients send "name".
    name = call.param("name") or call.param("Name")
    if not name:
        raise ApiError("701", "name cannot be blank")
    channel = call.store.channels.get(name)
    return found(call, [channel_view(call.store, channel)] if channel else [])


async def browse_channels(call: Call) -> dict[str, Any]:
    channels = sorted(call.store.channels.values(), key=lambda c: c.id)
    return found(call, [channel_view(call.store, c) for c in channels[browse_window(call)]])


# ---- smart lists (asset API) -----------------------------------------------------------------


def smart_list_view(smart_list: SmartList) -> dict[str, Any]:
    return {
        "id": smart_list.id,
        "name": smart_list.name,
        "description": smart_list.description,
        "createdAt": asset_date(smart_list.created_at),
        "updatedAt": asset_date(smart_list.created_at),
        "url": f"https://app-sjqe.marketo.com/#SL{smart_list.id}A1",
        "folder": dict(smart_list.folder),
        "workspace": _WORKSPACE,
    }


smart_list_by_id, smart_list_by_name = by_id_and_name(
    lambda s: s.smart_lists, lambda _, smart_list: smart_list_view(smart_list)
)
browse_smart_lists = browse_all(
    lambda s: s.smart_lists, lambda _, smart_list: smart_list_view(smart_list)
)


def register(router: Router) -> None:
    asset = "/rest/asset/v1"
    router.add("GET", rf"{asset}/smartCampaign/(?P<id>\d+)\.json", campaign_by_id)
    router.add("GET", rf"{asset}/smartCampaign/byName\.json", campaign_by_name)
    router.add("GET", rf"{asset}/smartCampaigns\.json", browse_campaigns)
    router.add("POST", r"/rest/v1/campaigns/(?P<id>\d+)/trigger\.json", trigger)
    router.add("POST", r"/rest/v1/campaigns/(?P<id>\d+)/schedule\.json", schedule)
    router.add("GET", rf"{asset}/program/(?P<id>\d+)\.json", program_by_id)
    router.add("GET", rf"{asset}/program/byName\.json", program_by_name)
    router.add("GET", rf"{asset}/programs\.json", browse_programs)
    router.add("GET", rf"{asset}/channel/byName\.json", channel_by_name)
    router.add("GET", rf"{asset}/channels\.json", browse_channels)
    router.add("GET", rf"{asset}/smartList/(?P<id>\d+)\.json", smart_list_by_id)
    router.add("GET", rf"{asset}/smartList/byName\.json", smart_list_by_name)
    router.add("GET", rf"{asset}/smartLists\.json", browse_smart_lists)
