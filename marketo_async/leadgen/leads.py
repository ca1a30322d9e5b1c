"""``lg.leads``: every lead method of the Lead Gen & CRM API, typed.

Writes of any size go through the batch engine (calls of up to 500 objects, one outcome per
record by index in the answer, no two records with one email in flight together); reads are
pagers (``await`` for the first page, ``async for`` for every record).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import (
    AsyncIterable,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

import attrs

from .._batch import (
    BatchReport,
    Held,
    OutcomeSequence,
    RecordOutcome,
    ResultRules,
    WriteHooks,
    WriteOptions,
    mapped,
    run_batches,
)
from .._paging import Pager
from ._envelope import is_success, object_entries
from ._paging import MAX_PAGE, date_range_pages, offset_pages, single_page
from ._records import (
    as_lead_id,
    as_utc,
    bad_value,
    email_key,
    field_list,
    listed,
    update_key,
    validate_create,
    validate_update,
    where_clause,
    wire_call,
    wire_lead,
    wired,
)
from ._writes import (
    CREATED,
    DELETED,
    MAX_OBJECTS_PER_CALL,
    UPDATED,
    UPDATED_UNCHECKED,
)
from .models import TIMESTAMP_FORMAT, LeadGenEvent, LeadGenField, LeadGenLead

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._transport import KeyLeases

__all__ = ["DUPLICATE_EMAIL", "Leads"]

logger = logging.getLogger("marketo_async.leadgen")

T = TypeVar("T")

DUPLICATE_EMAIL = "301"  # Lead Gen & CRM: object error "Entry already exists"
MAX_MEMBERSHIP_LEADS = 100  # Lead Gen & CRM: getLeadListMemberships takes 100 member ids a call

Records = Iterable[Mapping[str, Any]] | AsyncIterable[Mapping[str, Any]]


class Call(Protocol):
    def __call__(
        self, method: str, params: Mapping[str, Any], *, idempotent: bool = ..., records: int = ...
    ) -> Awaitable[Any]: ...


# One write call: ``send(call, batch)`` -> the answer's entries, one per object sent.
_Send = Callable[["Call", Sequence[T]], Awaitable[Sequence[Mapping[str, Any]]]]


def _objects_sender(method: str, listed_as: str) -> _Send[Mapping[str, Any]]:
    """A ``send`` calling ``method`` with the batch as ``objects``; entries under ``listed_as``."""

    async def send(call: Call, batch: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        result = await call(method, {"objects": list(batch)}, records=len(batch))
        return object_entries(result, listed_as)

    return send


# ------------------------------------------------------------------------------- upsert


class _Upserted(OutcomeSequence):
    """The create pass's outcomes, with those of records that already existed replaced."""

    def __init__(self, created: Sequence[RecordOutcome], updated: dict[int, RecordOutcome]):
        self._created = created
        self._updated = updated

    def __len__(self) -> int:
        return len(self._created)

    def _outcome(self, index: int) -> RecordOutcome:
        return self._updated.get(index) or self._created[index]


def _is_duplicate(outcome: RecordOutcome) -> bool:
    return outcome.status == "failed" and any(r.code == DUPLICATE_EMAIL for r in outcome.reasons)


# ------------------------------------------------------------------------------ resource


class Leads:
    """Lead Gen & CRM leads: create, update, upsert, delete, read, fields, events, calls."""

    def __init__(
        self, call: Call, *, max_in_flight: int = 10, key_leases: KeyLeases | None = None
    ) -> None:
        self._call = call
        self._max_in_flight = max_in_flight
        self._key_leases = key_leases

    # ---- writes

    async def _write(
        self,
        records: Iterable[T] | AsyncIterable[T],
        send: _Send[T],
        options: WriteOptions,
        *,
        results: ResultRules,
        key: Callable[[T], str | int | None] | None = None,
        validate: Callable[[int, T], str | None] | None = None,
        idempotent: bool = True,
        lease_scope: str | None = None,
    ) -> BatchReport:
        """``records`` through the batch engine with the caller's ``options`` as they are.

        ``send(call, batch)`` makes one call through ``call``: this client's, resending after
        an ambiguous failure only when ``idempotent`` (decided here, once, for the calls and
        the report). The client's calls in flight and, for a write keyed in ``lease_scope``,
        the fleet's key leases apply.
        """
        call = functools.partial(self._call, idempotent=idempotent)
        return await run_batches(
            records,
            functools.partial(send, call),
            options,
            key=key,
            validate=validate,
            results=results,
            idempotent=idempotent,
            max_in_flight=self._max_in_flight,
            key_leases=None if lease_scope is None else self._key_leases,
            lease_scope=lease_scope or "records",
        )

    async def create(
        self,
        records: Records,
        *,
        batch_size: int = MAX_OBJECTS_PER_CALL,
        **hooks: Unpack[WriteHooks],
    ) -> BatchReport:
        """createLeads for any number of leads (dicts keyed by systemName, custom fields too).

        Outcomes: ``created`` with the new ``id``, or ``failed`` with the API's reason (code
        ``"301"`` when the email already exists, in any letter case). A call that may or may
        not have landed is never resent: its records are ``unknown``.

        >>> report = await lg.leads.create([{"emailAddress": "ada@example.com"}])
        >>> report.outcomes[0].status, report.outcomes[0].id
        ('created', 58305)
        """
        options = WriteOptions(batch_size=batch_size, **hooks)
        return await self._create(records, options)

    async def _create(self, records: Records, options: WriteOptions) -> BatchReport:
        return await self._write(
            wired(records, wire_lead),
            _objects_sender("createLeads", "creates"),
            options,
            results=CREATED,
            key=email_key,
            validate=validate_create,
            idempotent=False,
            lease_scope="leadgen:leads:email",
        )

    async def update(
        self,
        records: Records,
        *,
        method: Literal["updateLeadsV2", "updateLeads"] = "updateLeadsV2",
        batch_size: int = MAX_OBJECTS_PER_CALL,
        **hooks: Unpack[WriteHooks],
    ) -> BatchReport:
        """Update leads found by ``id``, or by ``emailAddress`` when ``id`` is absent.

        ``updateLeadsV2`` (the default) answers 404 for a lead that does not exist, reported
        ``failed``; a lead that already held the values (302) is ``updated``, with that
        reason. ``updateLeads`` answers success even for a missing lead, so its successes are
        reported ``unknown`` (reason ``unconfirmed``): the API cannot say they applied.
        """
        if method not in ("updateLeadsV2", "updateLeads"):
            raise ValueError(f"method must be 'updateLeadsV2' or 'updateLeads', not {method!r}")
        options = WriteOptions(batch_size=batch_size, **hooks)
        return await self._update(records, options, method)

    async def _update(
        self, records: Records, options: WriteOptions, method: str = "updateLeadsV2"
    ) -> BatchReport:
        return await self._write(
            wired(records, wire_lead),
            _objects_sender(method, "updates"),
            options,
            results=UPDATED if method == "updateLeadsV2" else UPDATED_UNCHECKED,
            key=update_key,
            validate=validate_update,
            lease_scope="leadgen:leads:update",
        )

    async def upsert(
        self,
        records: Records,
        *,
        batch_size: int = MAX_OBJECTS_PER_CALL,
        **hooks: Unpack[WriteHooks],
    ) -> BatchReport:
        """Create each lead; update by email the ones whose email already exists (301).

        Outcomes are ``created`` or ``updated`` when applied. Records with one email are
        applied in input order, so the last one's values win.
        """
        options = WriteOptions(batch_size=batch_size, **hooks)
        on_outcome, stop = options.on_outcome, options.stop
        # Records read and not finished yet, then those whose email already existed.
        pending: Held[Mapping[str, Any]] = Held()
        existing: Held[Mapping[str, Any]] = Held()

        def route(outcome: RecordOutcome) -> None:
            record = pending.release(outcome.index)
            if _is_duplicate(outcome) and record is not None:
                existing.hold(outcome.index, record)
            elif on_outcome is not None:
                on_outcome(outcome)

        created = await self._create(
            mapped(records, pending.keep), attrs.evolve(options, on_outcome=route)
        )
        if not existing:
            return created
        order = list(existing)
        replaced: dict[int, RecordOutcome] = {}

        def forward(outcome: RecordOutcome) -> None:
            index = order[outcome.index]
            moved = attrs.evolve(outcome, index=index)
            replaced[index] = moved
            if on_outcome is not None:
                on_outcome(moved)

        stopped = created.stopped
        updates = [{k: v for k, v in record.items() if k != "id"} for record in existing.values()]
        second = WriteOptions(
            on_outcome=forward,
            stop=(lambda: stopped is not None) if stop is None else stop,
            batch_size=batch_size,
        )
        updated = await self._update(updates, second)
        outcomes = _Upserted(created.outcomes, replaced)
        counts: dict[str, int] = {}
        failed = []
        for outcome in outcomes:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
            if not outcome.applied:
                failed.append(outcome.index)
        return BatchReport(
            outcomes=outcomes,
            counts=counts,
            stopped=created.stopped or updated.stopped,
            resume_from=created.resume_from,
            idempotent=False,
            failed_indices=failed,
        )

    async def delete(
        self,
        ids: Iterable[int | str] | AsyncIterable[int | str],
        *,
        batch_size: int = MAX_OBJECTS_PER_CALL,
        **hooks: Unpack[WriteHooks],
    ) -> BatchReport:
        """deleteLeads by id; outcomes ``deleted`` or ``failed`` with the API's reason."""

        def validate(index: int, value: int | str) -> str | None:
            if as_lead_id(value) is None:
                return f"record {index}: a lead id must be a positive integer, not {value!r}"
            return None

        async def send(call: Call, batch: Sequence[int | str]) -> list[Mapping[str, Any]]:
            objects = [{"id": as_lead_id(value)} for value in batch]
            result = await call("deleteLeads", {"objects": objects}, records=len(batch))
            return object_entries(result, "deletes")

        options = WriteOptions(batch_size=batch_size, **hooks)
        return await self._write(
            ids, send, options, results=DELETED, key=as_lead_id, validate=validate
        )

    async def log_calls(
        self, calls: Iterable[Mapping[str, Any]] | AsyncIterable[Mapping[str, Any]]
    ) -> BatchReport:
        """logCalls: record phone calls with leads (timestamps as datetimes or Y-m-d H:i:s).

        Each call is ``created`` when the API accepted its batch.
        """

        async def send(call: Call, batch: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
            result = await call("logCalls", {"objects": list(batch)}, records=len(batch))
            listed = object_entries(result, "creates")
            if listed:
                return listed
            # Documented answer: one "success" for the whole call.
            accepted = is_success(result.get("success") if isinstance(result, Mapping) else result)
            error = None if accepted else {"code": "", "message": "logCalls answered failure"}
            return [{"success": accepted, "error": error} for _ in batch]

        return await self._write(
            wired(calls, wire_call),
            send,
            WriteOptions(),
            results=CREATED,
            validate=bad_value,
            idempotent=False,
        )

    async def subscribe_to_updates(self, url: str) -> bool:
        """subscribeToLeadUpdates: ask the service to POST updated leads to ``url``."""
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise ValueError(f"url must be an http(s) URL, got {url!r}")
        result = await self._call("subscribeToLeadUpdates", {"url": url})
        return is_success(result.get("success") if isinstance(result, Mapping) else result)

    # ---- reads

    async def get(self, lead_id: int | str) -> LeadGenLead | None:
        """getLead: one lead by id, or None when it does not exist."""
        number = as_lead_id(lead_id)
        if number is None:
            raise ValueError(f"lead_id must be a positive integer, got {lead_id!r}")
        leads = listed(await self._call("getLead", {"id": number}), "lead")
        # Observed: a missing id may come back as a made-up lead with no id.
        found = [LeadGenLead.from_api(raw) for raw in leads if as_lead_id(raw.get("id")) == number]
        return found[0] if found else None

    def query(
        self,
        where: Mapping[str, Any] | None = None,
        fields: str | Iterable[str] | None = None,
        *,
        page_size: int = MAX_PAGE,
    ) -> Pager[LeadGenLead]:
        """getLeads: every lead matching ``where`` (``{}``: all active leads), page by page.

        >>> async for lead in lg.leads.query({"emailAddress": "ada@example.com"}):
        ...     print(lead.id, lead["firstName"])
        """
        clause = where_clause(where)
        names = field_list(fields)
        _check_page_size(page_size)

        async def fetch(offset: int, limit: int) -> list[Mapping[str, Any]]:
            params: dict[str, Any] = {"where": clause, "limit": limit, "offset": offset}
            if names is not None:
                params["fields"] = names
            return listed(await self._call("getLeads", params), "lead")

        return Pager(lambda: offset_pages(fetch, LeadGenLead.from_api, page_size=page_size))

    def updated_between(
        self,
        start: dt.datetime,
        end: dt.datetime,
        *,
        timestamp: Literal["update", "create"] = "update",
        fields: str | Iterable[str] | None = None,
        page_size: int = MAX_PAGE,
    ) -> Pager[LeadGenLead]:
        """getLeadsDateRange: every lead created or updated in ``[start, end)``, any length.

        Naive datetimes are UTC. Works whether the server pages this method or not (see
        :mod:`marketo_async.leadgen._paging`).
        """
        if timestamp not in ("update", "create"):
            raise ValueError(f"timestamp must be 'update' or 'create', not {timestamp!r}")
        if not isinstance(start, dt.datetime) or not isinstance(end, dt.datetime):
            raise ValueError("start and end must be datetimes")
        _check_page_size(page_size)
        low = as_utc(start).replace(microsecond=0)
        # The API's window is whole seconds, both ends included: [start, end) ends a second
        # before ``end`` (or at its second when it has a fraction).
        high = as_utc(end)
        high = high.replace(microsecond=0) if high.microsecond else high - dt.timedelta(seconds=1)
        names = field_list(fields)

        async def fetch(
            first: dt.datetime, last: dt.datetime, offset: int, limit: int
        ) -> list[Mapping[str, Any]]:
            params: dict[str, Any] = {
                "startDate": first.strftime(TIMESTAMP_FORMAT),
                "endDate": last.strftime(TIMESTAMP_FORMAT),
                "timestamp": timestamp,
                "limit": limit,
                "offset": offset,
            }
            if names is not None:
                params["fields"] = names
            return listed(await self._call("getLeadsDateRange", params), "lead")

        if high < low:
            return Pager(lambda: single_page(_nothing, LeadGenLead.from_api))
        return Pager(
            lambda: date_range_pages(fetch, LeadGenLead.from_api, low, high, page_size=page_size)
        )

    async def list_memberships(self, lead_ids: Iterable[int | str]) -> dict[int, list[int]]:
        """getLeadListMemberships: the list ids of each lead (100 leads a call)."""
        numbers = []
        for value in lead_ids:
            number = as_lead_id(value)
            if number is None:
                raise ValueError(f"lead ids must be positive integers, got {value!r}")
            numbers.append(number)
        found: dict[int, list[int]] = {number: [] for number in numbers}
        for first in range(0, len(numbers), MAX_MEMBERSHIP_LEADS):
            chunk = numbers[first : first + MAX_MEMBERSHIP_LEADS]
            result = await self._call("getLeadListMemberships", {"memberIDs": chunk})
            for member, list_id in _memberships(result, chunk):
                found.setdefault(member, []).append(list_id)
        return found

    def timeline(self, where: Mapping[str, Any] | None = None) -> Pager[LeadGenEvent]:
        """getLeadTimeline: a lead's event history (``where``: leadID, eventSource ...)."""
        clause = where_clause(where)

        async def fetch() -> list[Mapping[str, Any]]:
            return listed(await self._call("getLeadTimeline", {"where": clause}), "leadTimeline")

        return Pager(lambda: single_page(fetch, LeadGenEvent.from_api))

    def events(
        self, where: Mapping[str, Any] | None = None, *, page_size: int = MAX_PAGE
    ) -> Pager[LeadGenEvent]:
        """getEvents: events of a lead (``{"leadID": ...}``) or after a ``createTimestamp``."""
        clause = where_clause(where)
        _check_page_size(page_size)

        async def fetch(offset: int, limit: int) -> list[Mapping[str, Any]]:
            params = {"where": clause, "limit": limit, "offset": offset}
            return _first_list(await self._call("getEvents", params), ("event", "events"))

        return Pager(lambda: offset_pages(fetch, LeadGenEvent.from_api, page_size=page_size))

    def fields(
        self, where: Mapping[str, Any] | None = None, *, page_size: int = MAX_PAGE
    ) -> Pager[LeadGenField]:
        """getFields: the schema, custom fields with their systemNames (``where``:
        ``{"isCustom": "1"}``, ``{"systemName": ...}``)."""
        clause = where_clause(where)
        _check_page_size(page_size)

        async def fetch(offset: int, limit: int) -> list[Mapping[str, Any]]:
            params = {"where": clause, "limit": limit, "offset": offset}
            return listed(await self._call("getFields", params), "field")

        return Pager(lambda: offset_pages(fetch, LeadGenField.from_api, page_size=page_size))


# ------------------------------------------------------------------------------- helpers


async def _nothing() -> list[Mapping[str, Any]]:
    return []


def _check_page_size(page_size: int) -> None:
    if not 1 <= page_size <= MAX_PAGE:
        raise ValueError(f"page_size must be 1 to {MAX_PAGE} (the API's limit)")


def _first_list(result: Any, keys: Sequence[str]) -> list[Mapping[str, Any]]:
    for key in keys:
        found = listed(result, key)
        if found:
            return found
    return []


def _memberships(result: Any, asked: Sequence[int]) -> Iterator[tuple[int, int]]:
    """(lead id, list id) pairs from getLeadListMemberships' ``getWhereIns``.

    The shape is not documented beyond ``list<ListID>``: entries ``{memberID, listID}`` are
    read as such; bare list ids are credited to the one lead asked about.
    """
    raw = result.get("getWhereIns") if isinstance(result, Mapping) else result
    for entry in raw if isinstance(raw, list) else ():
        if isinstance(entry, Mapping):
            member = as_lead_id(entry.get("memberID", entry.get("leadID")))
            list_id = as_lead_id(entry.get("listID"))
            if member is not None and list_id is not None:
                yield member, list_id
        elif len(asked) == 1 and as_lead_id(entry) is not None:
            yield asked[0], as_lead_id(entry) or 0
