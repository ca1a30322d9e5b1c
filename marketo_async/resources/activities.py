"""``client.activities``: activity types, activities, lead changes and deleted leads read with
a resumable cursor, and custom activities written through the batch engine."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._batch import BatchReport, WriteHooks, WriteOptions, mapped
from .._errors import MarketoError
from ..models import format_datetime, parse_datetime
from ..models.activities import Activity, ActivityType, CustomActivityType, LeadChange
from ._activity_stream import ActivityPager, Query, decode_cursor
from ._arguments import (
    ID_RANGE,
    FieldNames,
    Records,
    field_names,
    id_or_none,
    positive_id,
    unique_ids,
)
from ._base import RecordRules, Resource

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["Activities", "Records"]

ACTIVITIES_PATH = "/rest/v1/activities.json"
LEAD_CHANGES_PATH = "/rest/v1/activities/leadchanges.json"
DELETED_LEADS_PATH = "/rest/v1/activities/deletedleads.json"
PAGING_TOKEN_PATH = "/rest/v1/activities/pagingtoken.json"
TYPES_PATH = "/rest/v1/activities/types.json"
CUSTOM_PATH = "/rest/v1/activities/external.json"
CUSTOM_TYPES_PATH = "/rest/v1/activities/external/types.json"

# Marketo: at most 10 activity type ids and 30 lead ids per activities call.
MAX_TYPE_IDS_PER_CALL = 10
MAX_LEAD_IDS_PER_CALL = 30
# Marketo: 300 custom activities per call; their attributes at most 65,536 bytes (1049).
MAX_CUSTOM_PER_CALL = 300
MAX_ATTRIBUTE_BYTES = 65_536
# A sane ceiling on ids given to one read (each combination of chunks is one token stream).
MAX_IDS_PER_READ = 10_000

Positions = list[tuple[str, int]]


def _chunks(values: Sequence[int], size: int) -> list[list[int]]:
    return [list(values[i : i + size]) for i in range(0, len(values), size)]


def _since_text(since: object) -> str:
    """``since`` as Marketo's ``sinceDatetime`` (a naive datetime or a date is UTC)."""
    if isinstance(since, dt.datetime):
        moment = since if since.tzinfo else since.replace(tzinfo=dt.timezone.utc)
        return format_datetime(moment)
    if isinstance(since, dt.date):
        return format_datetime(
            dt.datetime(since.year, since.month, since.day, tzinfo=dt.timezone.utc)
        )
    raise ValueError(f"since must be a datetime or a date, got {since!r}")


def _one_start(since: object, cursor: object) -> None:
    if (since is None) == (cursor is None):
        raise ValueError(
            "give exactly one of since= (where to start, the first time) or cursor= "
            "(a pager's .cursor, to continue)"
        )


def _ids(values: Iterable[object] | None, argument: str, hint: str) -> list[int] | None:
    if values is None:
        return None
    if isinstance(values, (str, bytes, int)):
        raise ValueError(f"{argument} must be a list of ids, not a single {type(values).__name__}")
    return sorted(
        unique_ids(
            values,
            argument,
            at_most=MAX_IDS_PER_READ,
            empty_hint=hint,
            limit_hint=f"split the read into reads of at most {MAX_IDS_PER_READ:,}",
        )
    )


def _with_leads(base: Mapping[str, Any], lead_ids: list[int] | None) -> list[dict[str, Any]]:
    """One query per chunk of 30 lead ids (Marketo's limit), or the one query."""
    if lead_ids is None:
        return [dict(base)]
    return [
        {**base, "leadIds": ",".join(map(str, chunk))}
        for chunk in _chunks(lead_ids, MAX_LEAD_IDS_PER_CALL)
    ]


def _check_record(index: int, record: Any) -> str | None:
    """Why a custom activity would be refused, before any call; None when it is fine."""
    if not isinstance(record, Mapping):
        return f"record {index}: not a mapping of field names to values ({record!r})"
    for name in ("leadId", "activityTypeId"):
        if id_or_none(record.get(name)) is None:
            return f"record {index}: field {name!r} must be {ID_RANGE}, not {record.get(name)!r}"
    date = record.get("activityDate")
    if not isinstance(date, (str, dt.datetime)) or not _is_time(date):
        return f"record {index}: field 'activityDate' must be an ISO-8601 time, not {date!r}"
    if record.get("primaryAttributeValue") in (None, ""):
        return f"record {index}: field 'primaryAttributeValue' is required"
    attributes = record.get("attributes") or []
    if not isinstance(attributes, (list, tuple, Mapping)):
        return f"record {index}: field 'attributes' must be a list of name/value pairs or a dict"
    size = len(json.dumps(_attributes(attributes), default=str).encode())
    if size > MAX_ATTRIBUTE_BYTES:
        return (
            f"record {index}: field 'attributes' is {size:,} bytes as JSON; Marketo accepts "
            f"at most {MAX_ATTRIBUTE_BYTES:,} (1049)"
        )
    return None


def _is_time(value: str | dt.datetime) -> bool:
    try:
        parse_datetime(value)
    except ValueError:
        return False
    return True


def _attributes(value: Any) -> list[Any]:
    if isinstance(value, Mapping):
        return [{"apiName": name, "value": item} for name, item in value.items()]
    return list(value)


def _custom_wire(record: Any) -> Any:
    """A custom activity as Add Custom Activities takes it: a datetime as ISO text, ids as
    integers, attributes as name/value pairs (anything else is left for the check to refuse)."""
    if not isinstance(record, Mapping):
        return record
    wire = dict(record)
    date = wire.get("activityDate")
    if isinstance(date, dt.datetime):
        wire["activityDate"] = format_datetime(date)
    for name in ("leadId", "activityTypeId"):
        wire[name] = id_or_none(wire.get(name)) or wire.get(name)
    if isinstance(wire.get("attributes"), Mapping):
        wire["attributes"] = _attributes(wire["attributes"])
    return wire


_CUSTOM: RecordRules[Mapping[str, Any]] = RecordRules(validate=_check_record)


class Activities(Resource):
    """Activities: types, reads with a resumable cursor, lead changes, deleted leads, and
    custom activities.

    >>> pager = client.activities.list([1, 12], since=dt.datetime(2026, 1, 1))
    >>> async for activity in pager:
    ...     print(activity.activity_type_id, activity.lead_id, activity.activity_date)
    >>> saved = pager.cursor          # later: client.activities.list([1, 12], cursor=saved)
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._types: list[ActivityType] | None = None

    async def types(self) -> list[ActivityType]:
        """Every activity type of the instance (asked once per client, then remembered)."""
        if self._types is None:
            body = await self._api.get(TYPES_PATH)
            self._types = [ActivityType.from_json(item) for item in body.get("result") or ()]
        return list(self._types)

    async def custom_types(self) -> list[CustomActivityType]:
        """The custom activity types, with their status (draft, approved ...)."""
        body = await self._api.get(CUSTOM_TYPES_PATH)
        return [CustomActivityType.from_json(item) for item in body.get("result") or ()]

    async def paging_token(self, since: dt.datetime | dt.date) -> str:
        """Marketo's paging token for activities at or after ``since`` (naive means UTC)."""
        body = await self._api.get(PAGING_TOKEN_PATH, {"sinceDatetime": _since_text(since)})
        token = body.get("nextPageToken")
        if not isinstance(token, str) or not token:
            raise MarketoError(
                "Marketo answered Get Paging Token without a token",
                request_id=body.get("requestId"),
                path=PAGING_TOKEN_PATH,
            )
        return token

    def list(
        self,
        type_ids: Iterable[int],
        *,
        since: dt.datetime | dt.date | None = None,
        cursor: str | None = None,
        lead_ids: Iterable[int] | None = None,
        list_id: int | None = None,
        asset_ids: Iterable[int] | None = None,
    ) -> ActivityPager[Activity]:
        """The activities of ``type_ids`` from ``since`` (or from a saved ``cursor``), of the
        leads ``lead_ids`` or of the static list ``list_id``; any number of type and lead ids.

        >>> pager = client.activities.list([12, 13], since=dt.date(2026, 1, 1))
        >>> async for activity in pager: ...
        >>> more_later = client.activities.list([12, 13], cursor=pager.cursor)
        """
        types = _ids(type_ids, "type_ids", "name at least one activity type id")
        assert types is not None
        base: dict[str, Any] = {}
        if list_id is not None:
            base["listId"] = positive_id(list_id, "list_id")
        assets = _ids(asset_ids, "asset_ids", "leave it out for every asset")
        if assets is not None:
            base["assetIds"] = ",".join(map(str, assets))
        leads = _ids(lead_ids, "lead_ids", "leave it out for every lead")
        queries = [
            Query(ACTIVITIES_PATH, {**query, "activityTypeIds": chunk})
            for chunk in _chunks(types, MAX_TYPE_IDS_PER_CALL)
            for query in _with_leads(base, leads)
        ]
        return self._pager("activities", queries, since, cursor, Activity.from_json)

    def lead_changes(
        self,
        fields: FieldNames,
        *,
        since: dt.datetime | dt.date | None = None,
        cursor: str | None = None,
        lead_ids: Iterable[int] | None = None,
        list_id: int | None = None,
    ) -> ActivityPager[LeadChange]:
        """Changes to ``fields`` (and new leads) from ``since`` or a saved ``cursor``.

        >>> async for change in client.activities.lead_changes(["email"], since=yesterday):
        ...     print(change.lead_id, [(f.name, f.old_value, f.new_value) for f in change.fields])
        """
        names = field_names(fields)
        if names is None:
            raise ValueError("fields must name at least one lead field")
        base: dict[str, Any] = {"fields": names}
        if list_id is not None:
            base["listId"] = positive_id(list_id, "list_id")
        leads = _ids(lead_ids, "lead_ids", "leave it out for every lead")
        queries = [Query(LEAD_CHANGES_PATH, query) for query in _with_leads(base, leads)]
        return self._pager("lead changes", queries, since, cursor, LeadChange.from_json)

    def deleted_leads(
        self, *, since: dt.datetime | dt.date | None = None, cursor: str | None = None
    ) -> ActivityPager[Activity]:
        """Leads deleted from ``since`` or a saved ``cursor`` (Marketo keeps about 14 days)."""
        queries = [Query(DELETED_LEADS_PATH, {})]
        return self._pager("deleted leads", queries, since, cursor, Activity.from_json)

    async def add_custom(
        self,
        records: Records,
        **hooks: Unpack[WriteHooks],
    ) -> BatchReport:
        """Add custom activities, 300 per call; statuses ``added`` or ``skipped``.

        Each record: ``leadId``, ``activityTypeId``, ``activityDate`` (ISO text or a
        datetime), ``primaryAttributeValue``, and ``attributes`` (``{apiName: value}`` or
        Marketo's list of ``{"apiName", "value"}``). Adding is not idempotent: a call that
        may have applied is reported ``unknown``, never sent again.
        """

        options = WriteOptions(batch_size=MAX_CUSTOM_PER_CALL, **hooks)
        wired = mapped(records, _custom_wire)
        return await self._api.write_input(wired, CUSTOM_PATH, _CUSTOM, options, idempotent=False)

    # ---- helpers ------------------------------------------------------------------------

    def _pager(
        self,
        kind: str,
        queries: Sequence[Query],
        since: dt.datetime | dt.date | None,
        cursor: str | None,
        parse: Any,
    ) -> ActivityPager[Any]:
        _one_start(since, cursor)
        if cursor is not None:
            positions = decode_cursor(cursor, kind, queries)

            async def start() -> Positions:
                return positions

        else:
            assert since is not None
            moment = since
            _since_text(moment)  # refused now, not at the first read

            async def start() -> Positions:
                # One paging token serves every stream: it is only a point in time.
                return [(await self.paging_token(moment), 0)] * len(queries)

        return ActivityPager(
            kind=kind,
            queries=queries,
            start=start,
            fetch=self._api.get,
            parse=parse,
            cursor=cursor,
        )
