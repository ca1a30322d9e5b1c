"""``client.program_members``: describe, query, and status/data/delete writes of members."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import (
    Iterable,
    Mapping,
    Sequence,
)
from typing import TYPE_CHECKING, Any, TypeVar

from .._batch import BatchReport, ResultRules, Status, WriteHooks, WriteOptions
from .._errors import MarketoError, TooManyResultsError
from .._paging import Pager
from ..models import converter, format_datetime
from ..models.program_members import ProgramMember, ProgramMemberDescription
from ._arguments import (
    FIELD_NAME,
    ID_RANGE,
    MAX_FILTER_VALUES,
    FieldNames,
    LeadId,
    LeadIds,
    Records,
    check_batch_size,
    check_field_name,
    check_lead_id,
    field_names,
    filter_chunks,
    filter_values,
    id_or_none,
    positive_id,
)
from ._base import Api, RecordRules, Resource, after_resend
from .programs import Programs

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["MAX_FILTER_VALUES", "MAX_UPDATED_AT_WINDOW", "ProgramMembers", "updated_at_windows"]

T = TypeVar("T")

# Marketo: filterType=updatedAt takes a range of seven days or fewer.
MAX_UPDATED_AT_WINDOW = dt.timedelta(days=7)
# Marketo: 1037 "Lead not in program" (to a member delete).
NOT_IN_PROGRAM = "1037"
# Marketo sends no milliseconds, so consecutive windows start one second apart.
_ONE_SECOND = dt.timedelta(seconds=1)

FilterValue = str | int | bool


def _check_member_data(index: int, record: object) -> str | None:
    if not isinstance(record, Mapping):
        return (
            f"record {index}: must be a mapping of field API names to values, "
            f"not {type(record).__name__}"
        )
    if id_or_none(record.get("leadId")) is None:
        return f"record {index}: field 'leadId' must be {ID_RANGE}, not {record.get('leadId')!r}"
    names = [name for name in record if name != "leadId"]
    if not names:
        return f"record {index}: no field to update besides 'leadId'"
    for name in names:
        if not isinstance(name, str) or not FIELD_NAME.fullmatch(name):
            return f"record {index}: {name!r} is not a field API name"
    return None


def _member_key(record: Mapping[str, Any]) -> int | None:
    return id_or_none(record.get("leadId"))


def updated_at_windows(
    start: dt.datetime, end: dt.datetime
) -> list[tuple[dt.datetime, dt.datetime]]:
    """``start``..``end`` cut into consecutive ranges Marketo accepts (seven days or fewer).

    Naive datetimes are UTC. Bounds are whole seconds (start rounded down, end up), and each
    window starts one second after the previous one ends, so no member is read twice.
    """
    for value, argument in ((start, "start"), (end, "end")):
        if not isinstance(value, dt.datetime):
            raise ValueError(f"{argument} must be a datetime, not {value!r}")
    start = start if start.tzinfo else start.replace(tzinfo=dt.timezone.utc)
    end = end if end.tzinfo else end.replace(tzinfo=dt.timezone.utc)
    if end < start:
        raise ValueError(f"end ({end.isoformat()}) is before start ({start.isoformat()})")
    start = start.replace(microsecond=0)
    if end.microsecond:
        end = end.replace(microsecond=0) + _ONE_SECOND
    windows: list[tuple[dt.datetime, dt.datetime]] = []
    while True:
        window_end = min(start + MAX_UPDATED_AT_WINDOW, end)
        windows.append((start, window_end))
        if window_end >= end:
            return windows
        start = window_end + _ONE_SECOND


def _too_many_members(program_id: int, error: TooManyResultsError, query: object) -> str | None:
    if "membership size" not in error.message.lower():
        return None
    return (
        f"{error.message}. Marketo reads at most 100,000 members of program {program_id} "
        "with a filter other than leadId: use the bulk program member extract "
        "(/bulk/v1/program/members/export) for programs this large, or query by leadId"
    )


# Marketo answers member writes by seq; a skipped entry names no lead, so its id is the key.
_BY_LEAD_ID = ResultRules(ids_from_keys=True)
_MEMBER_IDS: RecordRules[LeadId] = RecordRules(
    key=id_or_none, validate=check_lead_id, results=_BY_LEAD_ID
)
_MEMBER_DATA: RecordRules[Mapping[str, Any]] = RecordRules(
    key=_member_key, validate=_check_member_data, results=_BY_LEAD_ID
)


def _parse_member(item: Mapping[str, Any]) -> ProgramMember:
    return converter.structure(item, ProgramMember)


class ProgramMembers(Resource):
    """Program members: who is in a program, at which status, with which member data.

    >>> report = await client.program_members.set_status(1044, "Registered", lead_ids)
    >>> async for member in client.program_members.query(1044, "statusName", ["Registered"]):
    ...     print(member.lead_id, member.membership_date)
    """

    def __init__(self, api: Api, programs: Programs | None = None) -> None:
        super().__init__(api)
        # Where set_status learns a program's valid statuses before any write.
        self._programs = programs

    async def describe(self) -> ProgramMemberDescription:
        """The program member object: its fields, which are searchable and which updateable."""
        path = "/rest/v1/programs/members/describe.json"
        result = (await self._api.get(path)).get("result") or []
        if not result:
            raise MarketoError("Describe Program Member returned no result", path=path)
        return converter.structure(result[0], ProgramMemberDescription)

    def query(
        self,
        program_id: int,
        filter_type: str,
        values: Iterable[FilterValue],
        *,
        fields: FieldNames = None,
        batch_size: int | None = None,
    ) -> Pager[ProgramMember]:
        """The members of a program whose ``filter_type`` field has one of ``values``.

        ``filter_type`` is a searchable field (see :meth:`describe`); any number of values
        is read 300 per call. ``fields`` default to Marketo's: acquiredBy, leadId,
        membershipDate, programId, reachedSuccess. With a filter other than leadId Marketo
        reads at most 100,000 members; beyond that this raises ``TooManyResultsError``.

        >>> async for member in client.program_members.query(1044, "leadId", lead_ids):
        ...     ...
        """
        path = f"/rest/v1/programs/{positive_id(program_id, 'program_id')}/members.json"
        check_field_name(filter_type, "filter_type")
        if filter_type == "updatedAt":
            raise ValueError(
                "filter_type 'updatedAt' takes a date range: use "
                "program_members.updated_between(program_id, start, end)"
            )
        texts = filter_values(values, booleans=True)
        base: dict[str, Any] = {"filterType": filter_type}
        base.update(self._read_params(fields, batch_size))
        queries = [{**base, "filterValues": chunk} for chunk in filter_chunks(texts)]
        return self._pages(program_id, path, queries)

    def updated_between(
        self,
        program_id: int,
        start: dt.datetime,
        end: dt.datetime,
        *,
        fields: FieldNames = None,
        batch_size: int | None = None,
    ) -> Pager[ProgramMember]:
        """The members of a program updated from ``start`` to ``end`` (naive times are UTC).

        Marketo takes seven days or fewer per query, so a longer range is read as consecutive
        seven-day windows, oldest first.

        >>> since = datetime.now(timezone.utc) - timedelta(days=30)
        >>> async for member in client.program_members.updated_between(1044, since, now):
        ...     ...
        """
        path = f"/rest/v1/programs/{positive_id(program_id, 'program_id')}/members.json"
        read = self._read_params(fields, batch_size)
        queries = [
            {
                "filterType": "updatedAt",
                "startAt": format_datetime(window_start),
                "endAt": format_datetime(window_end),
                **read,
            }
            for window_start, window_end in updated_at_windows(start, end)
        ]
        return self._pages(program_id, path, queries)

    async def set_status(
        self,
        program_id: int,
        status_name: str,
        lead_ids: LeadIds,
        **hooks: Unpack[WriteHooks],
    ) -> BatchReport:
        """Put leads at ``status_name`` in a program, adding them as members when needed.

        Statuses are ``created``, ``updated`` or ``skipped`` (1037: already at or past that
        status), 300 leads per call. A ``status_name`` that is not one of the program's
        channel statuses (``programs.statuses``) raises ``ValueError`` naming the valid ones
        before any write.

        >>> report = await client.program_members.set_status(1044, "Influenced", [1800, 1801])
        """
        program = positive_id(program_id, "program_id")
        if not isinstance(status_name, str) or not status_name.strip():
            raise ValueError(f"status_name must be a program status name, not {status_name!r}")
        if self._programs is not None:
            # Marketo would refuse every lead with 1025; one read refuses the run instead.
            await self._programs.check_status(program, status_name)
        path = f"/rest/v1/programs/{program}/members/status.json"
        return await self._write_lead_ids(path, lead_ids, hooks, {"statusName": status_name})

    async def update_data(
        self,
        program_id: int,
        records: Records,
        **hooks: Unpack[WriteHooks],
    ) -> BatchReport:
        """Write member fields: each record is ``{"leadId": ..., "<fieldApiName>": value}``.

        Only existing members and updateable fields (see :meth:`describe`) change; others are
        ``skipped`` (1013: membership not found). A record without a valid ``leadId`` or
        without any field is refused before sending (status ``failed``).

        >>> await client.program_members.update_data(1044, [
        ...     {"leadId": 1789, "registrationCode": "dcff5f12"},
        ... ])
        """
        path = f"/rest/v1/programs/{positive_id(program_id, 'program_id')}/members.json"

        async def send(batch: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
            rows = [{**record, "leadId": _member_key(record)} for record in batch]
            return after_resend(await self._api.post(path, json={"input": rows}))

        return await self._api.write_batches(records, send, _MEMBER_DATA, WriteOptions(**hooks))

    async def delete(
        self,
        program_id: int,
        lead_ids: LeadIds,
        **hooks: Unpack[WriteHooks],
    ) -> BatchReport:
        """Remove leads from a program: ``deleted``, or ``skipped`` (1037: not in program)."""
        path = f"/rest/v1/programs/{positive_id(program_id, 'program_id')}/members/delete.json"
        # 1037 (not in program) to a resend after an ambiguous failure: the first removed it.
        return await self._write_lead_ids(
            path, lead_ids, hooks, evidence={NOT_IN_PROGRAM: "deleted"}
        )

    # ---- helpers ------------------------------------------------------------------------

    async def _write_lead_ids(
        self,
        path: str,
        lead_ids: LeadIds,
        hooks: WriteHooks,
        body: Mapping[str, Any] | None = None,
        *,
        evidence: Mapping[str, Status] | None = None,
    ) -> BatchReport:
        """A write POSTing ``body`` with each batch's leads as ``input`` (``{"leadId": id}``),
        its answer read by :func:`after_resend` with ``evidence``."""

        async def send(batch: Sequence[LeadId]) -> list[Mapping[str, Any]]:
            rows = [{"leadId": id_or_none(value)} for value in batch]
            answer = await self._api.post(path, json={**(body or {}), "input": rows})
            return after_resend(answer, evidence=evidence)

        return await self._api.write_batches(lead_ids, send, _MEMBER_IDS, WriteOptions(**hooks))

    @staticmethod
    def _read_params(fields: FieldNames, batch_size: int | None) -> dict[str, Any]:
        params = {"fields": field_names(fields), "batchSize": check_batch_size(batch_size)}
        return {name: value for name, value in params.items() if value is not None}

    def _pages(
        self, program_id: int, path: str, queries: Sequence[Mapping[str, Any]]
    ) -> Pager[ProgramMember]:
        explain = functools.partial(_too_many_members, program_id)
        return self._api.chained_pages(path, queries, _parse_member, explain_too_many=explain)
