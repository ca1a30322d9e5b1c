"""The emulated instance's data: leads, fields, partitions, lists, programs, campaigns, forms."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

import attrs

from ._activity_log import (
    ADD_TO_LIST,
    CHANGE_DATA_VALUE,
    CHANGE_STATUS_IN_PROGRESSION,
    DELETE_LEAD,
    MERGE_LEADS,
    NEW_LEAD,
    REMOVE_FROM_LIST,
    ActivityLog,
    Change,
    change_text,
)
from ._schema import FieldDef, default_lead_fields, default_program_member_fields

__all__ = [
    "DEFAULT_PROGRAM_STATUSES",
    "CampaignRun",
    "Channel",
    "DuplicateGroup",
    "Form",
    "Member",
    "Partition",
    "Program",
    "SmartCampaign",
    "SmartList",
    "StaticList",
    "Store",
    "asset_date",
    "iso",
]

# Statuses of the default channel, lowest step first.
DEFAULT_PROGRAM_STATUSES = (
    "Member",
    "Sent",
    "Visited",
    "Filled-out Form",
    "Registered",
    "Attended",
    "Engaged",
    "Influenced",
)
DEFAULT_SUCCESS_STATUSES = ("Attended", "Engaged", "Influenced")
# The channel of programs made without statuses of their own.
DEFAULT_CHANNEL = "Online Advertising"
DEFAULT_FOLDER = {"id": 13, "type": "Folder"}
# Lead fields the API manages itself; values sent for them are ignored.
_SYSTEM_LEAD_FIELDS = frozenset({"id", "createdAt", "updatedAt", "leadPartitionId", "cookies"})
# What the activity log names as the source of a change made through the API.
_API_SOURCE = "Web service API"


def _lead_name(lead: Mapping[str, Any]) -> str:
    """How the activity log names a lead: first and last name, else the email, else the id."""
    name = " ".join(str(lead[part]) for part in ("firstName", "lastName") if lead.get(part))
    return name or str(lead.get("email") or lead.get("id"))


def iso(moment: datetime) -> str:
    """Lead Database dates: ``2016-05-17T22:11:45Z``."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def asset_date(moment: datetime) -> str:
    """Asset API dates keep Marketo's odd ``2017-07-27T01:38:33Z+0000`` form."""
    return iso(moment) + "+0000"


@attrs.define
class Partition:
    id: int
    name: str
    description: str = ""

    def view(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "description": self.description}


@attrs.define
class StaticList:
    id: int
    name: str
    folder: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    description: str | None = None
    members: dict[int, datetime] = attrs.Factory(dict)  # lead id -> added at

    def view(self) -> dict[str, Any]:
        view: dict[str, Any] = {"id": self.id, "name": self.name}
        if self.description is not None:
            view["description"] = self.description
        view.update(
            {
                "createdAt": asset_date(self.created_at),
                "updatedAt": asset_date(self.updated_at),
                "folder": dict(self.folder),
                "computedUrl": f"https://app-sjqe.marketo.com/#ST{self.id}A1",
            }
        )
        return view


@attrs.define
class Member:
    """A lead's membership of one program."""

    lead_id: int
    status: str
    created_at: datetime
    updated_at: datetime
    acquired_by: bool = False
    reached_success: bool = False
    reached_success_date: datetime | None = None
    is_exhausted: bool = False
    nurture_cadence: str | None = None
    stream: str | None = None
    fields: dict[str, Any] = attrs.Factory(dict)

    def values(self, program: Program) -> dict[str, Any]:
        """Every program member field by REST name (None where unset)."""
        values: dict[str, Any] = {
            "leadId": self.lead_id,
            "programId": program.id,
            "program": program.name,
            "statusName": self.status,
            "acquiredBy": self.acquired_by,
            "reachedSuccess": self.reached_success,
            "reachedSuccessDate": iso(self.reached_success_date)
            if self.reached_success_date
            else None,
            "isExhausted": self.is_exhausted,
            "nurtureCadence": self.nurture_cadence,
            "membershipDate": iso(self.created_at),
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at),
            "trackName": self.stream,
        }
        values.update(self.fields)
        return values


@attrs.define
class Program:
    id: int
    name: str
    statuses: list[str]
    success_statuses: list[str]
    engagement: bool = False
    members: dict[int, Member] = attrs.Factory(dict)
    channel: str = "Online Advertising"
    created_at: datetime | None = None

    def step(self, status: str) -> int:
        return self.statuses.index(status)


@attrs.frozen
class CampaignRun:
    """One accepted Request Campaign (``trigger``) or Schedule Campaign call, as recorded."""

    kind: str  # "trigger" or "schedule"
    lead_ids: tuple[int, ...] = ()
    tokens: dict[str, str] = attrs.Factory(dict)
    run_at: datetime | None = None
    clone_to_program_name: str | None = None


@attrs.define
class SmartCampaign:
    id: int
    name: str
    members: dict[int, tuple[datetime, datetime]] = attrs.Factory(dict)
    # "trigger" (requested through the API when requestable) or "batch" (scheduled).
    type: str = "trigger"
    active: bool = True
    # Has a "Campaign is Requested" trigger whose source is Web Service API.
    requested_trigger: bool = True
    program_id: int | None = None
    description: str = ""
    created_at: datetime | None = None
    runs: list[CampaignRun] = attrs.Factory(list)

    @property
    def requestable(self) -> bool:
        return self.type == "trigger" and self.active and self.requested_trigger


@attrs.define
class Channel:
    """A channel: the progression statuses programs of that channel share."""

    id: int
    name: str
    statuses: list[str]
    success_statuses: list[str]


@attrs.define
class SmartList:
    id: int
    name: str
    folder: dict[str, Any]
    created_at: datetime
    description: str = ""


@attrs.define
class Form:
    id: int
    name: str
    fields: list[str]


@attrs.frozen
class DuplicateGroup:
    """Leads sharing one key value (``key`` is the value as compared, e.g. lower-cased email)."""

    field: str
    key: str
    leads: tuple[dict[str, Any], ...]

    @property
    def ids(self) -> list[int]:
        return [int(lead["id"]) for lead in self.leads]


class Store:
    """All state of one emulated instance. Not thread-safe; one event loop drives it."""

    def __init__(self, *, clock: Callable[[], datetime]) -> None:
        self.now = clock
        self.lead_fields: dict[str, FieldDef] = default_lead_fields()
        self.member_fields: dict[str, FieldDef] = default_program_member_fields()
        self.leads: dict[int, dict[str, Any]] = {}
        self.partitions: dict[int, Partition] = {
            1: Partition(1, "Default", "Initial system partition")
        }
        self.lists: dict[int, StaticList] = {}
        self.programs: dict[int, Program] = {}
        self.smart_campaigns: dict[int, SmartCampaign] = {}
        self.channels: dict[str, Channel] = {}
        self.smart_lists: dict[int, SmartList] = {}
        self.forms: dict[int, Form] = {}
        self.cookies: dict[str, int] = {}  # munchkin cookie -> lead id
        self.activities = ActivityLog(clock)
        self._new_lead_days: dict[str, Mapping[str, Any]] = {}
        self._index: dict[str, dict[str, set[int]]] = {}
        self._next = {
            "lead": 1,
            "list": 1001,
            "program": 1001,
            "campaign": 1001,
            "channel": 1,
            "smartlist": 1001,
            "form": 1001,
            "partition": 2,
        }

    # ---- ids ---------------------------------------------------------------------------

    def _new_id(self, kind: str, wanted: int | None = None) -> int:
        if wanted is None:
            wanted = self._next[kind]
        self._next[kind] = max(self._next[kind], wanted + 1)
        return wanted

    # ---- leads -------------------------------------------------------------------------

    def key_of(self, field: str, value: Any) -> str | None:
        """The value as Marketo compares it: emails case-insensitively, the rest exactly."""
        if value is None or value == "":
            return None
        definition = self.lead_fields.get(field)
        if definition is not None and definition.data_type == "email":
            return str(value).strip().lower()
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def _ensure_index(self, field: str) -> dict[str, set[int]]:
        index = self._index.get(field)
        if index is None:
            index = {}
            for lead_id, lead in self.leads.items():
                key = self.key_of(field, lead.get(field))
                if key is not None:
                    index.setdefault(key, set()).add(lead_id)
            self._index[field] = index
        return index

    def _unindex(self, lead_id: int) -> None:
        lead = self.leads[lead_id]
        for field, index in self._index.items():
            key = self.key_of(field, lead.get(field))
            if key is not None and key in index:
                index[key].discard(lead_id)
                if not index[key]:
                    del index[key]

    def _reindex(self, lead_id: int) -> None:
        lead = self.leads[lead_id]
        for field, index in self._index.items():
            key = self.key_of(field, lead.get(field))
            if key is not None:
                index.setdefault(key, set()).add(lead_id)

    def find_leads(self, field: str, value: Any) -> list[int]:
        """Ids of leads whose ``field`` equals ``value`` (emails case-insensitively), sorted."""
        if field == "id":
            try:
                lead_id = int(value)
            except (TypeError, ValueError):
                return []
            return [lead_id] if lead_id in self.leads else []
        key = self.key_of(field, value)
        if key is None:
            return []
        return sorted(self._ensure_index(field).get(key, ()))

    def create_lead(
        self, values: Mapping[str, Any], *, partition_id: int = 1, lead_id: int | None = None
    ) -> int:
        new_id = self._new_id("lead", lead_id)
        stamp = iso(self.now())
        lead: dict[str, Any] = {
            "id": new_id,
            "createdAt": stamp,
            "updatedAt": stamp,
            "leadPartitionId": partition_id,
        }
        self.leads[new_id] = lead
        self._write(lead, values)
        self._reindex(new_id)
        self.activities.record(
            new_id,
            NEW_LEAD,
            attributes=self._new_lead_attributes(stamp[:10]),
            # Raw values: shown as text only when read (most are never read).
            changes=[
                (name, None, value, None)
                for name, value in values.items()
                if value is not None and value != "" and name not in _SYSTEM_LEAD_FIELDS
            ],
        )
        return new_id

    def update_lead(self, lead_id: int, values: Mapping[str, Any]) -> None:
        self._unindex(lead_id)
        lead = self.leads[lead_id]
        before = {name: lead.get(name) for name in values}
        self._write(lead, values)
        lead["updatedAt"] = iso(self.now())
        self._reindex(lead_id)
        for name, old in before.items():
            new = lead.get(name)
            if name not in _SYSTEM_LEAD_FIELDS and new != old:
                self._record_change(lead_id, name, old, new)

    def _new_lead_attributes(self, day: str) -> Mapping[str, Any]:
        # One shared (read-only) mapping per day: an instance may log millions of new leads.
        found = self._new_lead_days.get(day)
        if found is None:
            found = self._new_lead_days[day] = {"Source Type": _API_SOURCE, "Created Date": day}
        return found

    def _change(self, name: str, old: Any, new: Any) -> Change:
        definition = self.lead_fields.get(name)
        field_id = definition.id if definition is not None else None
        return name, field_id, new, old

    def _record_change(self, lead_id: int, name: str, old: Any, new: Any) -> None:
        """One Change Data Value activity per changed field, as Marketo logs them."""
        change = self._change(name, old, new)
        self.activities.record(
            lead_id,
            CHANGE_DATA_VALUE,
            primary_attribute_value=name,
            primary_attribute_value_id=change[1],
            attributes={
                "New Value": change_text(new),
                "Old Value": change_text(old),
                "Reason": _API_SOURCE,
                "Source": _API_SOURCE,
            },
            changes=[change],
        )

    def set_lead_system_field(self, lead_id: int, field: str, value: Any) -> None:
        self._unindex(lead_id)
        self.leads[lead_id][field] = value
        self.leads[lead_id]["updatedAt"] = iso(self.now())
        self._reindex(lead_id)

    def _write(self, lead: dict[str, Any], values: Mapping[str, Any]) -> None:
        for name, value in values.items():
            if name in _SYSTEM_LEAD_FIELDS:
                continue
            # Marketo: null or an empty string is stored as null.
            lead[name] = None if value == "" else value

    def delete_lead(self, lead_id: int) -> None:
        self.activities.record(
            lead_id,
            DELETE_LEAD,
            primary_attribute_value=_lead_name(self.leads[lead_id]),
            primary_attribute_value_id=lead_id,
            attributes={"Remove from CRM": False},
        )
        self._unindex(lead_id)
        del self.leads[lead_id]
        for static_list in self.lists.values():
            static_list.members.pop(lead_id, None)
        for program in self.programs.values():
            program.members.pop(lead_id, None)
        for campaign in self.smart_campaigns.values():
            campaign.members.pop(lead_id, None)
        for cookie in [c for c, owner in self.cookies.items() if owner == lead_id]:
            del self.cookies[cookie]

    def merge_leads(self, winner_id: int, loser_ids: Iterable[int]) -> None:
        """Winner's values prevail unless empty; memberships move to the winner."""
        for loser_id in loser_ids:
            loser = self.leads[loser_id]
            winner = self.leads[winner_id]
            fill = {
                name: value
                for name, value in loser.items()
                if name not in _SYSTEM_LEAD_FIELDS
                and value is not None
                and winner.get(name) is None
            }
            for static_list in self.lists.values():
                if loser_id in static_list.members:
                    static_list.members.setdefault(winner_id, static_list.members[loser_id])
            for program in self.programs.values():
                member = program.members.get(loser_id)
                if member is not None and winner_id not in program.members:
                    program.members[winner_id] = attrs.evolve(member, lead_id=winner_id)
            for campaign in self.smart_campaigns.values():
                if loser_id in campaign.members:
                    campaign.members.setdefault(winner_id, campaign.members[loser_id])
            for cookie, owner in list(self.cookies.items()):
                if owner == loser_id:
                    self.cookies[cookie] = winner_id
            self.activities.record(
                winner_id,
                MERGE_LEADS,
                primary_attribute_value=_lead_name(winner),
                primary_attribute_value_id=winner_id,
                attributes={"Merge IDs": str(loser_id), "Merged in Sales": False},
            )
            self.delete_lead(loser_id)
            self.update_lead(winner_id, fill)

    def duplicates(self, field: str = "email") -> list[DuplicateGroup]:
        groups: dict[str, list[int]] = {}
        for lead_id, lead in self.leads.items():
            key = self.key_of(field, lead.get(field))
            if key is not None:
                groups.setdefault(key, []).append(lead_id)
        return [
            DuplicateGroup(
                field=field, key=key, leads=tuple(copy.deepcopy(self.leads[i]) for i in sorted(ids))
            )
            for key, ids in sorted(groups.items())
            if len(ids) > 1
        ]

    # ---- schema ------------------------------------------------------------------------

    def add_lead_field(self, definition: FieldDef) -> None:
        definition.id = max((f.id for f in self.lead_fields.values()), default=0) + 1
        self.lead_fields[definition.name] = definition

    def partition_named(self, name: str) -> Partition | None:
        return next((p for p in self.partitions.values() if p.name == name), None)

    def add_partition(
        self, name: str, description: str = "", *, partition_id: int | None = None
    ) -> int:
        new_id = self._new_id("partition", partition_id)
        self.partitions[new_id] = Partition(new_id, name, description)
        return new_id

    # ---- lists, programs, campaigns, forms --------------------------------------------

    def add_list(
        self,
        name: str,
        *,
        folder: Mapping[str, Any] | None = None,
        description: str | None = None,
        list_id: int | None = None,
    ) -> StaticList:
        new_id = self._new_id("list", list_id)
        now = self.now()
        static_list = StaticList(
            id=new_id,
            name=name,
            folder=dict(folder or DEFAULT_FOLDER),
            created_at=now,
            updated_at=now,
            description=description,
        )
        self.lists[new_id] = static_list
        return static_list

    def add_list_member(self, static_list: StaticList, lead_id: int) -> bool:
        """Add a lead to a static list (an Add to List activity); False if already there."""
        if lead_id in static_list.members:
            return False
        static_list.members[lead_id] = self.now()
        self._list_activity(static_list, lead_id, ADD_TO_LIST)
        return True

    def remove_list_member(self, static_list: StaticList, lead_id: int) -> bool:
        """Remove a lead from a static list (a Remove from List activity); False if not in it."""
        if static_list.members.pop(lead_id, None) is None:
            return False
        self._list_activity(static_list, lead_id, REMOVE_FROM_LIST)
        return True

    def _list_activity(self, static_list: StaticList, lead_id: int, type_id: int) -> None:
        self.activities.record(
            lead_id,
            type_id,
            primary_attribute_value=static_list.name,
            primary_attribute_value_id=static_list.id,
            attributes={"Source": _API_SOURCE},
        )

    def list_named(self, name: str) -> StaticList | None:
        return next((s for s in self.lists.values() if s.name == name), None)

    def add_program(
        self,
        name: str,
        *,
        statuses: Iterable[str] | None = None,
        success_statuses: Iterable[str] | None = None,
        engagement: bool = False,
        program_id: int | None = None,
        channel: str | None = None,
    ) -> Program:
        found = self.channels.get(channel) if channel is not None else None
        if found is not None and statuses is None:
            statuses, success_statuses = found.statuses, found.success_statuses
        status_list = list(statuses or DEFAULT_PROGRAM_STATUSES)
        success_list = list(
            success_statuses if success_statuses is not None else DEFAULT_SUCCESS_STATUSES
        )
        if channel is None:
            channel = DEFAULT_CHANNEL if statuses is None else f"{name} channel"
        self.add_channel(channel, status_list, success_list)
        new_id = self._new_id("program", program_id)
        program = Program(
            id=new_id,
            name=name,
            statuses=status_list,
            success_statuses=success_list,
            engagement=engagement,
            channel=channel,
            created_at=self.now(),
        )
        self.programs[new_id] = program
        return program

    def add_channel(
        self, name: str, statuses: Iterable[str], success_statuses: Iterable[str] = ()
    ) -> Channel:
        """A channel and its statuses (lowest step first); the same again is the same one."""
        status_list, success_list = list(statuses), list(success_statuses)
        found = self.channels.get(name)
        if found is not None:
            if found.statuses != status_list:
                raise ValueError(f"channel {name!r} already has statuses {found.statuses}")
            return found
        channel = Channel(self._new_id("channel"), name, status_list, success_list)
        self.channels[name] = channel
        return channel

    def add_smart_list(
        self,
        name: str,
        *,
        folder: Mapping[str, Any] | None = None,
        description: str = "",
        smart_list_id: int | None = None,
    ) -> SmartList:
        new_id = self._new_id("smartlist", smart_list_id)
        smart_list = SmartList(
            new_id, name, dict(folder or DEFAULT_FOLDER), self.now(), description
        )
        self.smart_lists[new_id] = smart_list
        return smart_list

    def program_named(self, name: str) -> Program | None:
        return next((p for p in self.programs.values() if p.name == name), None)

    def set_member_status(self, program: Program, lead_id: int, status: str) -> str:
        """Upsert a membership at ``status``: "created", "updated" or "skipped" (already past)."""
        now = self.now()
        member = program.members.get(lead_id)
        success = status in program.success_statuses
        if member is None:
            program.members[lead_id] = Member(
                lead_id=lead_id,
                status=status,
                created_at=now,
                updated_at=now,
                acquired_by=True,
                reached_success=success,
                reached_success_date=now if success else None,
                nurture_cadence="norm" if program.engagement else None,
                stream="Default" if program.engagement else None,
            )
            self._status_activity(program, lead_id, "Not in Program", status)
            return "created"
        if program.step(member.status) >= program.step(status):
            return "skipped"
        self._status_activity(program, lead_id, member.status, status)
        member.status = status
        member.updated_at = now
        if success and not member.reached_success:
            member.reached_success = True
            member.reached_success_date = now
        return "updated"

    def _status_activity(self, program: Program, lead_id: int, old: str, new: str) -> None:
        self.activities.record(
            lead_id,
            CHANGE_STATUS_IN_PROGRESSION,
            primary_attribute_value=program.name,
            primary_attribute_value_id=program.id,
            attributes={
                "Old Status": old,
                "New Status": new,
                "Reason": _API_SOURCE,
                "Success": new in program.success_statuses,
            },
        )

    def add_smart_campaign(
        self,
        name: str,
        *,
        campaign_id: int | None = None,
        type: str = "trigger",
        active: bool = True,
        requested_trigger: bool = True,
        program_id: int | None = None,
        description: str = "",
    ) -> SmartCampaign:
        if type not in ("trigger", "batch"):
            raise ValueError(f"a smart campaign's type is 'trigger' or 'batch', not {type!r}")
        new_id = self._new_id("campaign", campaign_id)
        campaign = SmartCampaign(
            id=new_id,
            name=name,
            type=type,
            active=active,
            requested_trigger=requested_trigger and type == "trigger",
            program_id=program_id,
            description=description,
            created_at=self.now(),
        )
        self.smart_campaigns[new_id] = campaign
        return campaign

    def add_form(self, name: str, fields: Iterable[str], *, form_id: int | None = None) -> Form:
        new_id = self._new_id("form", form_id)
        form = Form(id=new_id, name=name, fields=list(fields))
        self.forms[new_id] = form
        return form
