"""MarketoClient: configuration, lifecycle, resource accessors and the request() escape hatch."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

import httpx

from ._closing import ClosingClient
from ._config import RateLimits, RetryPolicy
from ._transport import (
    FileTransfers,
    Jobs,
    Limiter,
    MarketoTransport,
    Priority,
    Secret,
)
from ._transport._wire import checked_base_url
from .resources import Api

if TYPE_CHECKING:
    from .models.usage import Usage
    from .resources.activities import Activities
    from .resources.bulk_export import BulkExport
    from .resources.bulk_import import BulkImport
    from .resources.campaigns import Campaigns
    from .resources.lead_fields import LeadFields
    from .resources.leads import Leads
    from .resources.objects import CustomObjects, DataObject
    from .resources.program_member_fields import ProgramMemberFields
    from .resources.program_members import ProgramMembers
    from .resources.programs import Programs
    from .resources.smart_lists import SmartLists
    from .resources.static_lists import StaticLists
    from .resources.usage import UsageStats

__all__ = ["MarketoClient"]

_CREDENTIAL_VARIABLES = (
    ("MARKETO_CLIENT_ID", "client_id"),
    ("MARKETO_CLIENT_SECRET", "client_secret"),
)
_MUNCHKIN_ID = re.compile(r"^\d{3}-[A-Za-z]{3}-\d{3}$")


def _normalise_base_url(base_url: str) -> str:
    url = checked_base_url(base_url, looks_like="https://123-ABC-456.mktorest.com")
    text = str(url.copy_with(path="/")).rstrip("/")
    path = url.path.rstrip("/")
    # The REST paths already start with /rest; a base that ends in /rest would double it.
    if path.endswith("/rest"):
        path = path[: -len("/rest")]
    return text + path


class MarketoClient(ClosingClient):
    """An async Marketo Engage client that keeps within the instance's limits.

    Example::

        async with MarketoClient(munchkin_id="123-ABC-456", client_id=..., client_secret=...) as mk:
            body = await mk.request("GET", "/rest/v1/leads/describe.json")
    """

    _transport: MarketoTransport

    def __init__(
        self,
        base_url: str | None = None,
        *,
        munchkin_id: str | None = None,
        client_id: str,
        client_secret: str,
        rate_limits: RateLimits | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        limiter: Limiter | None = None,
    ) -> None:
        if (base_url is None) == (munchkin_id is None):
            raise ValueError("give exactly one of base_url or munchkin_id")
        if munchkin_id is not None:
            if not _MUNCHKIN_ID.match(munchkin_id):
                raise ValueError(f"munchkin_id must look like 123-ABC-456, got {munchkin_id!r}")
            base_url = f"https://{munchkin_id}.mktorest.com"
        assert base_url is not None
        if not client_id:
            raise ValueError("client_id must not be empty")
        if not client_secret:
            raise ValueError("client_secret must not be empty")
        self.base_url = _normalise_base_url(base_url)
        sending = self._sending(RateLimits(), rate_limits, retry, limiter, transport)
        self._transport = MarketoTransport(
            sending,
            base_url=self.base_url,
            client_id=client_id,
            client_secret=Secret(client_secret),
        )
        # A shared limiter (RedisLimiter) also offers per-key leases for the whole fleet.
        self._api = Api(
            request=self.request,
            max_in_flight=self.rate_limits.concurrency,
            key_leases=self.limiter.key_leases,
        )

    @functools.cached_property
    def leads(self) -> Leads:
        """Leads: describe, read, sync, push, forms, delete, merge, partitions, memberships."""
        from .resources.leads import Leads

        return Leads(self._api)

    @functools.cached_property
    def lead_fields(self) -> LeadFields:
        """The lead schema: get, list, create and update lead fields."""
        from .resources.lead_fields import LeadFields

        return LeadFields(self._api)

    @functools.cached_property
    def program_members(self) -> ProgramMembers:
        """Program members: describe, query, status and data sync, delete."""
        from .resources.program_members import ProgramMembers

        return ProgramMembers(self._api, self.programs)

    @functools.cached_property
    def program_member_fields(self) -> ProgramMemberFields:
        """The program member schema: get, list, create and update member fields."""
        from .resources.program_member_fields import ProgramMemberFields

        return ProgramMemberFields(self._api)

    @functools.cached_property
    def static_lists(self) -> StaticLists:
        """Static lists: the asset side (metadata) and the lead-database side (membership)."""
        from .resources.static_lists import StaticLists

        return StaticLists(self._api)

    @functools.cached_property
    def activities(self) -> Activities:
        """Activities, lead changes and deleted leads with a resumable cursor; custom
        activities."""
        from .resources.activities import Activities

        return Activities(self._api)

    @functools.cached_property
    def campaigns(self) -> Campaigns:
        """Smart campaigns: get, find by name, list, trigger for leads, schedule."""
        from .resources.campaigns import Campaigns

        return Campaigns(self._api)

    @functools.cached_property
    def programs(self) -> Programs:
        """Programs: get, find by name, list, and their channel's progression statuses."""
        from .resources.programs import Programs

        return Programs(self._api)

    @functools.cached_property
    def smart_lists(self) -> SmartLists:
        """Smart lists: get, find by name, list."""
        from .resources.smart_lists import SmartLists

        return SmartLists(self._api)

    def _data_object(self, name: str) -> DataObject:
        from .resources.objects import OBJECT_KINDS, DataObject

        return DataObject(self._api, OBJECT_KINDS[name])

    @functools.cached_property
    def companies(self) -> DataObject:
        """Companies (keyed by externalCompanyId): describe, query, sync, delete."""
        return self._data_object("companies")

    @functools.cached_property
    def opportunities(self) -> DataObject:
        """Opportunities (keyed by externalOpportunityId): describe, query, sync, delete."""
        return self._data_object("opportunities")

    @functools.cached_property
    def opportunity_roles(self) -> DataObject:
        """Opportunity roles (keyed by externalOpportunityId, leadId and role together)."""
        return self._data_object("opportunity_roles")

    @functools.cached_property
    def sales_persons(self) -> DataObject:
        """Sales persons (keyed by externalSalesPersonId): describe, query, sync, delete."""
        return self._data_object("sales_persons")

    @functools.cached_property
    def named_accounts(self) -> DataObject:
        """Named accounts (keyed by name): describe, query, sync, delete."""
        return self._data_object("named_accounts")

    @functools.cached_property
    def custom_objects(self) -> CustomObjects:
        """Custom objects: ``types()``, and ``object(api_name)`` for each one's records."""
        from .resources.objects import CustomObjects

        return CustomObjects(self._api)

    @functools.cached_property
    def _usage_stats(self) -> UsageStats:
        from .resources.usage import UsageStats

        return UsageStats(self._api)

    @overload
    async def usage(self, *, last_7_days: Literal[False] = False) -> Usage: ...
    @overload
    async def usage(self, *, last_7_days: Literal[True]) -> list[Usage]: ...
    async def usage(self, *, last_7_days: bool = False) -> Usage | list[Usage]:
        """The instance's API calls today, every integration counted (``Usage``: date, total,
        by_user); with ``last_7_days=True`` one ``Usage`` per day, oldest first.

        >>> usage = await client.usage()
        >>> client.rate_limits.daily_quota - usage.total   # calls left today
        """
        if last_7_days:
            return await self._usage_stats.last_7_days()
        return await self._usage_stats.today()

    async def error_counts(self) -> dict[str, int]:
        """Today's API errors on the instance, by Marketo error code (``{"606": 3}``)."""
        return await self._usage_stats.error_counts()

    @functools.cached_property
    def bulk_import(self) -> BulkImport:
        """Bulk Lead Import and Bulk Program Member Import: any size of input, one report."""
        from .resources.bulk_import import BulkImport

        return BulkImport(self._api, FileTransfers(self._transport), Jobs(self.retry))

    @functools.cached_property
    def bulk_export(self) -> BulkExport:
        """Bulk Extract of leads, program members and activities, as typed rows."""
        from .resources.bulk_export import BulkExport

        return BulkExport(self._api, FileTransfers(self._transport), Jobs(self.retry))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> MarketoClient:
        """A client from MARKETO_BASE_URL or MARKETO_MUNCHKIN_ID, MARKETO_CLIENT_ID and
        MARKETO_CLIENT_SECRET; keyword arguments override or add (rate_limits, retry ...)."""
        env = os.environ if environ is None else environ
        settings: dict[str, Any] = {}
        if env.get("MARKETO_BASE_URL"):
            settings["base_url"] = env["MARKETO_BASE_URL"]
        elif env.get("MARKETO_MUNCHKIN_ID"):
            settings["munchkin_id"] = env["MARKETO_MUNCHKIN_ID"]
        for variable, name in _CREDENTIAL_VARIABLES:
            if env.get(variable):
                settings[name] = env[variable]
        if kwargs.keys() & {"base_url", "munchkin_id"}:
            settings.pop("base_url", None)
            settings.pop("munchkin_id", None)
        settings.update(kwargs)
        missing = [variable for variable, name in _CREDENTIAL_VARIABLES if not settings.get(name)]
        if not (settings.get("base_url") or settings.get("munchkin_id")):
            missing.insert(0, "MARKETO_BASE_URL or MARKETO_MUNCHKIN_ID")
        if missing:
            raise ValueError("environment variables not set: " + ", ".join(missing))
        return cls(**settings)

    def __repr__(self) -> str:
        return f"MarketoClient(base_url={self.base_url!r}, rate_limits={self.rate_limits!r})"

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | Sequence[tuple[str, str]] | None = None,
        idempotent: bool = True,
        priority: Priority | None = None,
    ) -> dict[str, Any]:
        """Call any Marketo endpoint with the client's limits, retries and auth.

        ``params`` values that are lists become repeated keys; ``json`` is sent as JSON,
        ``data`` as a form. Pass ``idempotent=False`` for writes that must not be resent
        after an ambiguous failure (createDuplicate, push, form fills, merges).
        ``priority`` is the call's lane (see :class:`~marketo_async.Lanes`): interactive
        unless given, or made inside a batch write's send, or a Bulk API path (background).
        Returns the decoded body; ``success: false`` raises the matching MarketoError.
        """
        if self._closed:
            raise RuntimeError("this MarketoClient is closed")
        return await self._transport.request(
            method,
            path,
            params=params,
            json=json,
            data=data,
            idempotent=idempotent,
            priority=priority,
        )
