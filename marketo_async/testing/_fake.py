"""FakeMarketo: a stateful Marketo Engage emulator for tests, sandboxes and benchmarks."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import anyio
import attrs

from .._config import RateLimits
from . import (
    _activities,
    _bulk_export,
    _bulk_import,
    _campaigns,
    _leads,
    _objects,
    _objects_bulk,
    _program_members,
    _static_lists,
    _usage,
)
from ._activity_log import ActivityDetails, ActivityLog
from ._bulk import Bulk, BulkSettings
from ._call import Call, Limits, Router, parse_date
from ._emulator import EmulatorBase, Latency
from ._faults import Fault
from ._fields import register_schema_routes
from ._limits import UNCOUNTED_CODES, Budget
from ._schema import FIELD_DATA_TYPES, FieldDef
from ._stats import Stats
from ._store import CampaignRun, DuplicateGroup, Store
from ._wire import (
    ApiError,
    FakeReply,
    FakeRequest,
    RequestIds,
    error_envelope,
    html_page,
    json_reply,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._client import MarketoClient

__all__ = ["FakeMarketo"]

IDENTITY_PATH = "/identity/oauth/token"
# Marketo: URIs over 8 KB get HTTP 414, bodies over 1 MB get HTTP 413.
MAX_URL_BYTES = 8 * 1024
MAX_BODY_BYTES = 1024 * 1024
# Bulk import files may be 10 MB; the multipart envelope around one adds a little.
MAX_BULK_BODY_BYTES = 11 * 1024 * 1024
# Marketo: up to 100 custom lead fields through the API.
MAX_CUSTOM_LEAD_FIELDS = 100


@attrs.define
class _Token:
    expires_at: float


class FakeMarketo(EmulatorBase[Stats]):
    """An in-memory Marketo instance speaking the REST API, in-process or over loopback HTTP.

    Example::

        fake = FakeMarketo(latency=0.05, rate_limits=RateLimits(calls=100, period=20.0))
        lead_id = fake.add_lead(email="a@example.com", firstName="Ada")
        async with fake.client() as client:
            body = await client.request("GET", f"/rest/v1/lead/{lead_id}.json")

    ``bulk=BulkSettings.brisk()`` runs bulk jobs in seconds (the default is Marketo's pace: an
    export's status changes once a minute); its ``client()`` then polls exports that often.
    """

    NAME = "FakeMarketo"

    def __init__(
        self,
        *,
        latency: float | Latency = 0.0,
        rate_limits: RateLimits | None = None,
        token_ttl: float = 3600.0,
        client_id: str = "fake-client-id",
        client_secret: str = "fake-client-secret",
        munchkin_id: str = "123-ABC-456",
        api_user: str = "api-user@123-abc-456.marketo.example",
        lead_filter_limit: int = 1_000,
        program_member_query_limit: int = 100_000,
        random_seed: int | None = None,
        clock: Callable[[], datetime] | None = None,
        bulk: BulkSettings | None = None,
    ) -> None:
        super().__init__(latency, random_seed, Stats())
        self.token_ttl = token_ttl
        self.client_id = client_id
        self.client_secret = client_secret
        self.munchkin_id = munchkin_id
        self.api_user = api_user
        self.limits = Limits(
            lead_filter_matches=lead_filter_limit, program_member_query=program_member_query_limit
        )
        self.store = Store(clock=clock or (lambda: datetime.now(timezone.utc)))
        self._rate_limits = rate_limits
        self._budget = Budget.from_rate_limits(rate_limits)
        self._request_ids = RequestIds(self._rng)
        self._tokens: dict[str, _Token] = {}
        self._current_token: str | None = None
        self._router = Router()
        _leads.register(self._router)
        register_schema_routes(
            self._router,
            "/rest/v1/leads",
            lambda store: store.lead_fields,
            kind="leadfields",
            max_custom=MAX_CUSTOM_LEAD_FIELDS,
        )
        _program_members.register(self._router)
        _static_lists.register(self._router)
        _activities.register(self._router)
        _campaigns.register(self._router)
        self.objects = _objects.ObjectStore(self.store.now)
        _objects.register(self._router, self.objects)
        self.usage = _usage.UsageBook(
            clock=self.store.now,
            own_calls=lambda: self._budget.used_today,
            own_user=api_user,
            errors=lambda: self.stats.errors,
        )
        _usage.register(self._router, self.usage)
        self.bulk = Bulk(self.store, bulk)
        self._bulk_given = bulk is not None
        _bulk_import.register(self._router, self.bulk)
        _objects_bulk.register(self._router, self.bulk, self.objects)
        _bulk_export.register(self._router, self.bulk)

    def _summary(self) -> Mapping[str, Any]:
        return {
            "leads": len(self.store.leads),
            "lists": len(self.store.lists),
            "programs": len(self.store.programs),
            "rate_limits": self._rate_limits,
        }

    # ---- configuration ----------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The instance URL the in-process transport answers for."""
        return f"https://{self.munchkin_id}.mktorest.com"

    @property
    def rate_limits(self) -> RateLimits | None:
        return self._rate_limits

    @rate_limits.setter
    def rate_limits(self, value: RateLimits | None) -> None:
        old = self._budget
        self._rate_limits = value
        self._budget = Budget.from_rate_limits(value)
        self._budget.in_flight = old.in_flight
        self._budget.other_calls_today = old.other_calls_today

    @property
    def other_integration_calls(self) -> int:
        """Today's calls by another integration on this instance: ``stats/usage`` counts them
        and they spend the daily quota (607) like this client's own calls.

        >>> fake = FakeMarketo(rate_limits=RateLimits(daily_quota=50_000))
        >>> fake.other_integration_calls = 49_990   # ten calls left today
        """
        return self.usage.other_calls

    @other_integration_calls.setter
    def other_integration_calls(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"other_integration_calls must be a count, not {value!r}")
        self.usage.other_calls = value
        self._budget.other_calls_today = value

    def reset_daily_quota(self) -> None:
        """What Marketo does at midnight US Central time (the export quota resets too)."""
        self._budget.reset_daily_quota()
        self.usage.new_day()
        self.bulk.reset_export_quota()

    def client(self, **kwargs: Any) -> MarketoClient:
        """A ``MarketoClient`` wired to this fake (its own limits unless you pass others)."""
        from .._client import MarketoClient

        kwargs.setdefault("rate_limits", self._rate_limits or RateLimits.unlimited())
        client = MarketoClient(
            base_url=self.base_url,
            client_id=self.client_id,
            client_secret=self.client_secret,
            transport=self.transport,
            **kwargs,
        )
        if self._bulk_given:
            # bulk= settings chose the jobs' pace: poll exports as often as their status changes.
            client.bulk_export.poll_interval = self.bulk.settings.status_interval
            client.bulk_import.poll_interval = min(
                client.bulk_import.poll_interval, self.bulk.settings.import_seconds
            )
        return client

    # ---- tokens -----------------------------------------------------------------------

    def expire_token(self) -> None:
        """Make the current access token expire now (the next API call gets 602)."""
        if self._current_token is not None:
            self._tokens[self._current_token].expires_at = anyio.current_time()
            self._current_token = None

    def revoke_tokens(self) -> None:
        """Forget every token ever issued (the next API call gets 601)."""
        self._tokens.clear()
        self._current_token = None

    # ---- seeding ----------------------------------------------------------------------

    def add_lead(self, *, partition: str | None = None, **fields: Any) -> int:
        """Create a lead from REST field names; returns its id. ``id=`` picks the id;
        ``createdAt=``/``updatedAt=`` (ISO-8601 text) back-date it."""
        lead_id = fields.pop("id", None)
        stamps: dict[str, Any] = {
            name: fields.pop(name) for name in ("createdAt", "updatedAt") if name in fields
        }
        partition_id = 1
        if partition is not None:
            found = self.store.partition_named(partition)
            partition_id = found.id if found else self.add_partition(partition)
        for name in fields:
            if name not in self.store.lead_fields:
                self.add_lead_field(name)
        new_id = self.store.create_lead(fields, partition_id=partition_id, lead_id=lead_id)
        self.store.leads[new_id].update(stamps)
        return new_id

    def add_leads(self, records: Iterable[Mapping[str, Any]]) -> list[int]:
        return [self.add_lead(**dict(record)) for record in records]

    def add_lead_field(
        self,
        name: str,
        data_type: str = "string",
        *,
        display_name: str | None = None,
        length: int | None = None,
        description: str | None = None,
    ) -> None:
        """Add a custom lead field (as if created in the UI)."""
        if data_type not in FIELD_DATA_TYPES:
            raise ValueError(f"unknown dataType {data_type!r}")
        self.store.add_lead_field(
            FieldDef(
                name=name,
                display_name=display_name or name,
                data_type=data_type,
                length=length if length is not None else (255 if data_type == "string" else None),
                description=description,
                is_custom=True,
            )
        )

    def add_program_member_field(
        self, name: str, data_type: str = "string", *, display_name: str | None = None
    ) -> None:
        """Add a custom program member field."""
        self.store.member_fields[name] = FieldDef(
            name=name,
            display_name=display_name or name,
            data_type=data_type,
            length=255 if data_type == "string" else None,
            is_custom=True,
        )

    def add_partition(self, name: str, description: str = "") -> int:
        return self.store.add_partition(name, description)

    def add_list(
        self,
        name: str,
        *,
        lead_ids: Iterable[int] = (),
        id: int | None = None,
        folder: Mapping[str, Any] | None = None,
        description: str | None = None,
    ) -> int:
        """Create a static list, optionally with members; returns its id."""
        static_list = self.store.add_list(name, folder=folder, description=description, list_id=id)
        self.add_to_list(static_list.id, lead_ids)
        return static_list.id

    def add_to_list(self, list_id: int, lead_ids: Iterable[int]) -> None:
        static_list = self.store.lists[list_id]
        for lead_id in lead_ids:
            self.store.add_list_member(static_list, lead_id)

    def add_program(
        self,
        name: str,
        *,
        id: int | None = None,
        statuses: Iterable[str] | None = None,
        success_statuses: Iterable[str] | None = None,
        engagement: bool = False,
        channel: str | None = None,
    ) -> int:
        """Create a program (statuses lowest step first); returns its id.

        ``channel`` names the channel whose statuses it uses (an existing one's statuses when
        ``statuses`` is not given); by default "Online Advertising" with the default statuses,
        or a channel of its own for statuses of its own.
        """
        return self.store.add_program(
            name,
            statuses=statuses,
            success_statuses=success_statuses,
            engagement=engagement,
            program_id=id,
            channel=channel,
        ).id

    def add_channel(
        self, name: str, statuses: Iterable[str], *, success_statuses: Iterable[str] = ()
    ) -> None:
        """A channel and its progression statuses, lowest step first."""
        self.store.add_channel(name, statuses, success_statuses)

    def add_smart_list(
        self,
        name: str,
        *,
        id: int | None = None,
        folder: Mapping[str, Any] | None = None,
        description: str = "",
    ) -> int:
        """A smart list (metadata only); returns its id."""
        return self.store.add_smart_list(
            name, folder=folder, description=description, smart_list_id=id
        ).id

    def add_program_member(
        self, program_id: int, lead_id: int, status: str | None = None, **fields: Any
    ) -> None:
        """Make a lead a program member at ``status`` (the lowest status by default)."""
        program = self.store.programs[program_id]
        program.members.pop(lead_id, None)
        self.store.set_member_status(program, lead_id, status or program.statuses[0])
        for name in fields:
            if name not in self.store.member_fields:
                self.add_program_member_field(name)
        program.members[lead_id].fields.update(fields)

    def add_smart_campaign(
        self,
        name: str,
        *,
        lead_ids: Iterable[int] = (),
        id: int | None = None,
        type: str = "trigger",
        active: bool = True,
        requestable: bool = True,
        program_id: int | None = None,
    ) -> int:
        """A smart campaign; returns its id.

        A ``trigger`` campaign can be requested (``campaigns.trigger``) when it is ``active``
        and ``requestable`` (has a "Campaign is Requested" trigger from Web Service API); a
        ``batch`` campaign can only be scheduled. ``lead_ids`` are already members.
        """
        campaign = self.store.add_smart_campaign(
            name,
            campaign_id=id,
            type=type,
            active=active,
            requested_trigger=requestable,
            program_id=program_id,
        )
        now = self.store.now()
        for lead_id in lead_ids:
            campaign.members[lead_id] = (now, now)
        return campaign.id

    def add_custom_object_type(
        self,
        api_name: str,
        fields: Mapping[str, str],
        *,
        dedupe_fields: Iterable[str],
        display_name: str | None = None,
        searchable: Iterable[Iterable[str]] = (),
    ) -> None:
        """A custom object type (approved): ``fields`` maps each field to its dataType;
        ``dedupe_fields`` is its key (several fields for a compound key).

        >>> fake.add_custom_object_type("car_c", {"vin": "string", "color": "string"},
        ...                             dedupe_fields=["vin"])
        """
        self.objects.add_custom_type(
            api_name,
            fields,
            dedupe_fields=dedupe_fields,
            display_name=display_name,
            searchable=searchable,
        )

    def object_records(self, name: str) -> list[dict[str, Any]]:
        """The records of a data object: ``companies``, ``opportunities``,
        ``opportunities/roles``, ``salespersons``, ``namedaccounts`` or a custom object's API
        name (the live records: read, don't write)."""
        return self.objects.records(self._object_path(name))

    def object_duplicates(self, name: str) -> list[list[dict[str, Any]]]:
        """Groups of two or more records of a data object sharing a dedupe key."""
        return self.objects.duplicates(self._object_path(name))

    def _object_path(self, name: str) -> str:
        return name if name in self.objects.types else f"customobjects/{name}"

    def add_form(
        self, name: str = "Form", *, fields: Iterable[str] = (), id: int | None = None
    ) -> int:
        """A form for Submit Form; ``fields`` limits which fields it accepts (empty: any)."""
        return self.store.add_form(name, fields, form_id=id).id

    @property
    def activity_log(self) -> ActivityLog:
        """Every activity of the instance, in the order the activity endpoints page in
        (``activity_log.entries``; ``activity_log.short_pages(0.3)`` cuts pages short)."""
        return self.store.activities

    def add_activity(
        self,
        lead_id: int,
        activity_type_id: int,
        *,
        activity_date: datetime | str | None = None,
        **details: Unpack[ActivityDetails],
    ) -> int:
        """Record an activity (now, unless ``activity_date`` says when); returns its id.
        ``details``: ``primary_attribute_value``, ``primary_attribute_value_id``,
        ``campaign_id``, ``attributes``."""
        moment = parse_date(activity_date) if isinstance(activity_date, str) else activity_date
        entry = self.store.activities.record(
            lead_id, activity_type_id, activity_date=moment, **details
        )
        return int(entry["id"])

    def add_custom_activity_type(
        self,
        api_name: str,
        name: str | None = None,
        *,
        primary_attribute: str = "name",
        attributes: Iterable[str] = (),
        id: int | None = None,
    ) -> int:
        """An approved custom activity type (string attributes by API name); returns its id."""
        return self.store.activities.add_custom_type(
            api_name,
            name or api_name,
            primary_attribute={"apiName": primary_attribute, "name": primary_attribute},
            attributes=[{"apiName": a, "name": a, "dataType": "string"} for a in attributes],
            type_id=id,
        ).id

    def seed(self, data: Mapping[str, Any]) -> None:
        """Load a whole instance from one mapping (the JSON seed file format).

        Keys: ``leadFields``, ``programMemberFields``, ``channels``, ``partitions``, ``leads``,
        ``lists``, ``programs``, ``smartCampaigns``, ``smartLists``, ``forms``,
        ``customActivityTypes``, ``activities``, ``customObjectTypes``, ``objects``; see the
        README for each shape.
        """
        for field in data.get("leadFields", ()):
            self.add_lead_field(
                field["name"],
                field.get("dataType", "string"),
                display_name=field.get("displayName"),
                description=field.get("description"),
            )
        for field in data.get("programMemberFields", ()):
            self.add_program_member_field(
                field["name"],
                field.get("dataType", "string"),
                display_name=field.get("displayName"),
            )
        for channel in data.get("channels", ()):
            self.add_channel(
                channel["name"],
                channel["statuses"],
                success_statuses=channel.get("successStatuses", ()),
            )
        for partition in data.get("partitions", ()):
            self.add_partition(partition["name"], partition.get("description", ""))
        for lead in data.get("leads", ()):
            lead = dict(lead)
            self.add_lead(partition=lead.pop("partitionName", None), **lead)
        for item in data.get("lists", ()):
            self.add_list(
                item["name"],
                lead_ids=item.get("leadIds", ()),
                id=item.get("id"),
                folder=item.get("folder"),
                description=item.get("description"),
            )
        for item in data.get("programs", ()):
            program_id = self.add_program(
                item["name"],
                id=item.get("id"),
                statuses=item.get("statuses"),
                success_statuses=item.get("successStatuses"),
                engagement=bool(item.get("engagement", False)),
                channel=item.get("channel"),
            )
            for member in item.get("members", ()):
                member = dict(member)
                self.add_program_member(
                    program_id, int(member.pop("leadId")), member.pop("statusName", None), **member
                )
        for item in data.get("smartCampaigns", ()):
            self.add_smart_campaign(
                item["name"],
                lead_ids=item.get("leadIds", ()),
                id=item.get("id"),
                type=item.get("type", "trigger"),
                active=bool(item.get("active", True)),
                requestable=bool(item.get("requestable", True)),
                program_id=item.get("programId"),
            )
        for item in data.get("smartLists", ()):
            self.add_smart_list(item["name"], id=item.get("id"), folder=item.get("folder"))
        for item in data.get("forms", ()):
            self.add_form(
                item.get("name", "Form"), fields=item.get("fields", ()), id=item.get("id")
            )
        self._seed_activities(data)
        _objects.seed_objects(self.objects, data)

    def _seed_activities(self, data: Mapping[str, Any]) -> None:
        for item in data.get("customActivityTypes", ()):
            self.add_custom_activity_type(
                item["apiName"],
                item.get("name"),
                primary_attribute=item.get("primaryAttribute", "name"),
                attributes=item.get("attributes", ()),
                id=item.get("id"),
            )
        for item in data.get("activities", ()):
            self.add_activity(
                int(item["leadId"]),
                int(item["activityTypeId"]),
                activity_date=item.get("activityDate"),
                primary_attribute_value=item.get("primaryAttributeValue"),
                primary_attribute_value_id=item.get("primaryAttributeValueId"),
                campaign_id=item.get("campaignId"),
                attributes=item.get("attributes"),
            )

    # ---- inspection -------------------------------------------------------------------

    @property
    def leads(self) -> dict[int, dict[str, Any]]:
        """Every lead by id (the live records: read, don't write)."""
        return self.store.leads

    def lead(self, lead_id: int) -> dict[str, Any] | None:
        return self.store.leads.get(lead_id)

    def find_leads(self, field: str = "email", value: Any = None) -> list[dict[str, Any]]:
        """Leads whose ``field`` equals ``value`` (emails compared case-insensitively)."""
        return [self.store.leads[i] for i in self.store.find_leads(field, value)]

    def list_members(self, list_id: int) -> set[int]:
        return set(self.store.lists[list_id].members)

    def program_members(self, program_id: int) -> dict[int, str]:
        """Lead id -> status name of every member of a program."""
        return {m.lead_id: m.status for m in self.store.programs[program_id].members.values()}

    def campaign_runs(self, campaign_id: int) -> list[CampaignRun]:
        """Every accepted trigger and schedule of a campaign, in order: ``kind``, ``lead_ids``,
        ``tokens``, ``run_at``, ``clone_to_program_name``."""
        return list(self.store.smart_campaigns[campaign_id].runs)

    def duplicates(self, field: str = "email") -> list[DuplicateGroup]:
        """Groups of two or more leads sharing a value of ``field`` (emails case-insensitively)."""
        return self.store.duplicates(field)

    # ---- the request pipeline (shared by the transport and the server) ------------------

    async def handle(self, request: FakeRequest) -> FakeReply:
        """Answer one HTTP request; raises DropConnection for a scripted dropped connection."""
        refused = None
        if len(request.target.encode()) > MAX_URL_BYTES:
            refused = html_page(414, "Request-URI Too Large")
        body_limit = MAX_BULK_BODY_BYTES if request.path.startswith("/bulk/") else MAX_BODY_BYTES
        if refused is None and len(request.body) > body_limit:
            refused = html_page(413, "Request Entity Too Large")
        if refused is not None:
            return await self.stats.count(request.method, request.path, lambda: _given(refused))
        if request.path == IDENTITY_PATH:
            return self._identity(request)
        return await self.stats.count(request.method, request.path, lambda: self._api_call(request))

    def _error(self, request: FakeRequest, request_id: str, error: ApiError) -> FakeReply:
        body = error_envelope(request_id, error.code, error.message)
        if request.path.startswith("/rest/asset/"):
            body["warnings"] = []
        return json_reply(body, code=error.code)

    async def _api_call(self, request: FakeRequest) -> FakeReply:
        request_id = self._request_ids.next()
        try:
            self._authenticate(request)
        except ApiError as error:
            return self._error(request, request_id, error)
        try:
            arrival = self._budget.admit()
        except ApiError as error:
            return self._error(request, request_id, error)
        self.stats.in_flight = self._budget.in_flight
        self.stats.max_in_flight = max(self.stats.max_in_flight, self._budget.in_flight)
        reply: FakeReply | None = None
        try:
            reply = await self._dispatch(request, request_id)
            return reply
        finally:
            self._budget.release()
            self.stats.in_flight = self._budget.in_flight
            if reply is not None and reply.code in UNCOUNTED_CODES:
                self._budget.uncount(arrival)

    def _authenticate(self, request: FakeRequest) -> None:
        # Marketo: the token goes only in the Authorization header; access_token= is gone.
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise ApiError("600", "Access token not specified")
        known = self._tokens.get(token)
        if known is None:
            raise ApiError("601", "Access token invalid")
        if anyio.current_time() >= known.expires_at:
            raise ApiError("602", "Access token expired")

    async def _dispatch(self, request: FakeRequest, request_id: str) -> FakeReply:
        method = request.method.upper()
        query = request.query
        params: dict[str, list[str]] = {}
        for name, value in query:
            params.setdefault(name, []).append(value)
        body = request.body
        content_type = request.content_type
        if method == "POST" and params.get("_method") == ["GET"]:
            method = "GET"  # Marketo: POST ?_method=GET carries a long query in a form body
        params.pop("_method", None)
        if content_type == "application/x-www-form-urlencoded" and body:
            for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
                params.setdefault(name, []).append(value)
        try:
            route, match = self._router.resolve(method, request.path)
        except ApiError as error:
            return self._error(request, request_id, error)
        call = Call(
            request=request,
            method=method,
            params=params,
            body=body,
            content_type=content_type,
            match=match,
            store=self.store,
            limits=self.limits,
            request_id=request_id,
            delay=self._sleep,
            reasons=self.stats.reasons,
        )

        def error_reply(error: ApiError) -> FakeReply:
            return self._error(request, request_id, error)

        async def answer() -> tuple[FakeReply, int]:
            try:
                answer = await route.handler(call)
                reply = answer if isinstance(answer, FakeReply) else json_reply(answer)
            except ApiError as error:
                reply = error_reply(error)
            await call.delay(0)  # a no-op when the handler already spent its time
            return reply, call.records

        return await self._answer_or_fault(method, request.path, answer, error_reply)

    def _http_failure(self, status: int, title: str) -> FakeReply:
        return html_page(status, title)

    def _fault_error(self, fault: Fault) -> ApiError:
        assert fault.code is not None
        return ApiError(fault.code, fault.text)

    # ---- identity -----------------------------------------------------------------------

    def _identity(self, request: FakeRequest) -> FakeReply:
        self.stats.identity_calls += 1
        params = dict(request.query)
        if request.content_type == "application/x-www-form-urlencoded" and request.body:
            params.update(
                parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)
            )
        if request.method.upper() not in {"GET", "POST"}:
            return json_reply(
                {"error": "method_not_allowed", "error_description": "Use GET or POST"},
                status=405,
                code="405",
            )
        if params.get("grant_type") != "client_credentials":
            self.stats.errors["400"] += 1
            return json_reply(
                {"error": "unsupported_grant_type", "error_description": "Unsupported grant type"},
                status=400,
                code="400",
            )
        if (
            params.get("client_id") != self.client_id
            or params.get("client_secret") != self.client_secret
        ):
            self.stats.errors["401"] += 1
            return json_reply(
                {"error": "unauthorized", "error_description": "Bad client credentials"},
                status=401,
                code="401",
            )
        now = anyio.current_time()
        current = self._tokens.get(self._current_token or "")
        if current is None or now >= current.expires_at:
            # Marketo: the same token comes back until it expires, with its remaining life.
            self._current_token = f"{uuid.UUID(int=self._rng.getrandbits(128))}:int"
            current = _Token(expires_at=now + self.token_ttl)
            self._tokens[self._current_token] = current
            self.stats.tokens_issued += 1
        return json_reply(
            {
                "access_token": self._current_token,
                "token_type": "bearer",
                "expires_in": max(int(current.expires_at - now), 0),
                "scope": self.api_user,
            }
        )


async def _given(reply: FakeReply) -> FakeReply:
    return reply
