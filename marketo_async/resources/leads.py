"""``client.leads``: describe, read, sync, push, forms, delete, merge, cookies, partitions, and
each lead's list, program and smart-campaign memberships.

Every argument is checked before the first call; a bad one raises ``ValueError`` naming it.
Writes of many records go through the batch engine and return a :class:`BatchReport`.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import (
    AsyncIterable,
    Callable,
    Iterable,
    Mapping,
    Sequence,
)
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import unquote

from .._batch import (
    MAX_BATCH_SIZE,
    BatchReport,
    Held,
    RecordOutcome,
    WriteHooks,
    WriteOptions,
    keeping_unknown,
)
from .._errors import MarketoError, TooManyResultsError
from .._paging import Pager
from ..models._converter import converter, format_datetime
from ..models.leads import (
    Lead,
    LeadDescription,
    LeadFieldDescription,
    ListMembership,
    Partition,
    ProgramMembership,
    SmartCampaignMembership,
    VisitorData,
)
from ._arguments import (
    MAX_FILTER_VALUES,
    FieldNames,
    Records,
    check_batch_size,
    check_field_name,
    check_id_field,
    field_names,
    filter_chunks,
    filter_values,
    id_or_none,
    many,
    non_empty_text,
    plain_record,
    positive_id,
    unique_ids,
)
from ._base import RecordRules, Resource, after_resend, results_of
from ._lead_rules import lead_rules
from ._settle import settle_report, unknown_records

__all__ = ["MAX_FILTER_VALUES", "MAX_MERGE_LOSERS", "SYNC_ACTIONS", "Leads", "SyncAction"]

T = TypeVar("T")

# Marketo: more than 25 losing leads in one merge is skipped with 1080.
MAX_MERGE_LOSERS = 25

SyncAction = Literal["createOrUpdate", "createOnly", "updateOnly", "createDuplicate"]
SYNC_ACTIONS: tuple[SyncAction, ...] = (
    "createOrUpdate",
    "createOnly",
    "updateOnly",
    "createDuplicate",
)

if TYPE_CHECKING:
    from typing_extensions import Unpack
DESCRIBE2_PATH = "/rest/v1/leads/describe2.json"
# Sync Leads actions a resend cannot make worse: by key, the second send updates the same lead.
_RESEND_SAFE_ACTIONS = frozenset({"createOrUpdate", "updateOnly"})
# Marketo: "Lead not found"; to a resent delete, the first send deleted it.
LEAD_NOT_FOUND = "1004"
# Marketo: partitionName applies only to these actions.
_PARTITION_ACTIONS = frozenset({"createOnly", "createOrUpdate"})

LeadIds = Iterable[int] | AsyncIterable[int]
Moment = dt.datetime | dt.date | str


# --------------------------------------------------------------------------- argument checks


def _moment(value: Moment | None, argument: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        if not value.strip():
            raise ValueError(f"{argument} must not be empty")
        return value.strip()
    if not isinstance(value, (dt.datetime, dt.date)):
        raise ValueError(f"{argument} must be a datetime, a date or an ISO-8601 string")
    return format_datetime(value)


def _kept(kept: Held[Any], record: Any) -> Any:
    return kept.keep(plain_record(record))


def _cookie(cookie: object) -> str:
    """The munchkin cookie as is: one already percent-encoded (``%26``) is decoded first,
    since httpx encodes it (``&`` becomes ``%26``) and twice would be garbage."""
    text = non_empty_text(cookie, "cookie").strip()
    return unquote(text) if "%" in text else text


# --------------------------------------------------------------------------------- resource


class Leads(Resource):
    """Leads: describe, read, sync, push, forms, delete, merge, partitions, memberships.

    Example::

        lead = await client.leads.get(318581, fields=["email", "acmeCode"])
        report = await client.leads.sync(rows, lookup_field="email")
        async for lead in client.leads.by_filter("email", emails):
            ...
    """

    # ---- describe

    async def describe(self) -> list[LeadFieldDescription]:
        """Every lead field with its REST/SOAP names and types (Describe Lead)."""
        body = await self._api.get("/rest/v1/leads/describe.json")
        return converter.structure(results_of(body), list[LeadFieldDescription])

    async def describe2(self) -> LeadDescription:
        """The lead object's fields and searchable keys (Describe Lead2)."""
        body = await self._api.get(DESCRIBE2_PATH)
        found = results_of(body)
        if not found:
            raise MarketoError("Describe Lead2 answered without a result", path=DESCRIBE2_PATH)
        return converter.structure(found[0], LeadDescription)

    # ---- reads

    async def get(self, id: int, *, fields: FieldNames = None) -> Lead | None:
        """One lead by id, or None when there is no such lead.

        Without ``fields`` Marketo returns id, email, firstName, lastName, createdAt, updatedAt.
        """
        lead_id = positive_id(id, "id")
        params = {"fields": field_names(fields)}
        body = await self._api.get(f"/rest/v1/lead/{lead_id}.json", params)
        found = results_of(body)
        return converter.structure(found[0], Lead) if found else None

    def by_filter(
        self,
        filter_type: str,
        values: Iterable[str | int],
        *,
        fields: FieldNames = None,
        batch_size: int | None = None,
    ) -> Pager[Lead]:
        """Leads whose ``filter_type`` field equals any of ``values`` (any number of them).

        Values go 300 to a call, each call paged; each lead comes once. More than 1,000
        matches for one call of 300 raises :class:`TooManyResultsError`: narrow the filter or
        use a bulk extract. Describe Lead2 lists the usable filter types.

        Example::

            async for lead in client.leads.by_filter("email", emails, fields=["email", "score"]):
                ...
        """
        filter_type = check_field_name(filter_type, "filter_type")
        # Marketo compares emails case-insensitively, so two spellings are one value.
        texts = filter_values(values, fold_case=filter_type == "email")
        base: dict[str, Any] = {
            "filterType": filter_type,
            "fields": field_names(fields),
            "batchSize": check_batch_size(batch_size),
        }
        starts = {
            chunk: number * MAX_FILTER_VALUES for number, chunk in enumerate(filter_chunks(texts))
        }

        def explain(error: TooManyResultsError, query: Mapping[str, Any]) -> str:
            chunk = query["filterValues"]
            count, total = chunk.count(",") + 1, len(texts)
            where = (
                f"values {starts[chunk] + 1:,}-{starts[chunk] + count:,} of {total:,}"
                if total > count
                else f"the {count:,} values given"
            )
            return (
                f"{error.message}: more than 1,000 leads match filter_type {filter_type!r} "
                f"for {where}"
            )

        return self._api.chained_pages(
            "/rest/v1/leads.json",
            [{**base, "filterValues": chunk} for chunk in starts],
            _parse_lead,
            # A lead matching two values (say two spellings) comes once.
            unique=lambda lead: lead.get("id"),
            explain_too_many=explain,
        )

    def by_list(
        self, list_id: int, *, fields: FieldNames = None, batch_size: int | None = None
    ) -> Pager[Lead]:
        """The leads of a static list, page by page (Get Leads by List Id)."""
        list_id = positive_id(list_id, "list_id")
        params = {"fields": field_names(fields), "batchSize": check_batch_size(batch_size)}
        return self._api.pages(f"/rest/v1/lists/{list_id}/leads.json", params, _parse_lead)

    def by_program(
        self, program_id: int, *, fields: FieldNames = None, batch_size: int | None = None
    ) -> Pager[Lead]:
        """The members of a program, each with its typed ``lead.membership``.

        ``membership`` is asked for even when ``fields`` leaves it out.
        """
        program_id = positive_id(program_id, "program_id")
        names = field_names(fields)
        if names is not None and "membership" not in names.split(","):
            names += ",membership"
        params = {"fields": names, "batchSize": check_batch_size(batch_size)}
        return self._api.pages(f"/rest/v1/leads/programs/{program_id}.json", params, _parse_lead)

    def lists_of(self, id: int, *, batch_size: int | None = None) -> Pager[ListMembership]:
        """The static lists a lead belongs to."""
        lead_id = positive_id(id, "id")
        params = {"batchSize": check_batch_size(batch_size)}
        path = f"/rest/v1/leads/{lead_id}/listMembership.json"
        return self._api.pages(path, params, _parser(ListMembership))

    def programs_of(
        self,
        id: int,
        *,
        program_ids: Iterable[int] | None = None,
        earliest_updated_at: Moment | None = None,
        latest_updated_at: Moment | None = None,
        batch_size: int | None = None,
    ) -> Pager[ProgramMembership]:
        """The programs a lead is a member of, optionally only ``program_ids`` or those
        updated between ``earliest_updated_at`` and ``latest_updated_at``."""
        lead_id = positive_id(id, "id")
        params: dict[str, Any] = {
            "earliestUpdatedAt": _moment(earliest_updated_at, "earliest_updated_at"),
            "latestUpdatedAt": _moment(latest_updated_at, "latest_updated_at"),
            "batchSize": check_batch_size(batch_size),
        }
        if program_ids is not None:
            if isinstance(program_ids, (str, bytes, int)):
                raise ValueError("program_ids must be a list of program ids")
            ids = unique_ids(
                program_ids,
                "program_ids",
                at_most=MAX_FILTER_VALUES,
                empty_hint="give at least one id, or None for all",
                limit_hint=f"Marketo filters on at most {MAX_FILTER_VALUES}",
            )
            params.update(filterType="programId", filterValues=",".join(map(str, ids)))
        path = f"/rest/v1/leads/{lead_id}/programMembership.json"
        return self._api.pages(path, params, _parser(ProgramMembership))

    def smart_campaigns_of(
        self,
        id: int,
        *,
        earliest_updated_at: Moment | None = None,
        latest_updated_at: Moment | None = None,
        batch_size: int | None = None,
    ) -> Pager[SmartCampaignMembership]:
        """The smart campaigns a lead is in."""
        lead_id = positive_id(id, "id")
        params = {
            "earliestUpdatedAt": _moment(earliest_updated_at, "earliest_updated_at"),
            "latestUpdatedAt": _moment(latest_updated_at, "latest_updated_at"),
            "batchSize": check_batch_size(batch_size),
        }
        path = f"/rest/v1/leads/{lead_id}/smartCampaignMembership.json"
        return self._api.pages(path, params, _parser(SmartCampaignMembership))

    # ---- writes of many records

    async def sync(
        self,
        records: Records,
        *,
        action: SyncAction = "createOrUpdate",
        lookup_field: str = "email",
        partition_name: str | None = None,
        async_processing: bool = False,
        coalesce: bool = False,
        batch_size: int = MAX_BATCH_SIZE,
        settle_unknown: bool = False,
        **hooks: Unpack[WriteHooks],
    ) -> BatchReport:
        """Create or update any number of leads (Sync Leads); one outcome per record.

        Records sharing a lookup key never go out together, so ``createOrUpdate`` cannot make
        duplicates; ``coalesce=True`` merges consecutive same-key records into one. A record
        Marketo would refuse (no lookup value, a non-ASCII email, ``id`` with an action other
        than ``updateOnly``, a value JSON cannot carry) is ``failed`` locally and the rest go
        on. ``createOnly`` and ``createDuplicate`` are never resent after a failure that may
        have applied: such records are ``unknown``. ``createOrUpdate`` and ``updateOnly`` are
        resent, and a resent record's reasons say the first send may have applied it.
        ``settle_unknown=True`` reads the unknown ones back at the end (see :meth:`settle`);
        ``on_outcome`` still hears them as ``unknown``, the report has them settled.

        Example::

            report = await client.leads.sync(rows, action="createOrUpdate", lookup_field="email")
            for outcome in report.failed:
                print(outcome.index, outcome.status, outcome.reasons)
        """
        if action not in SYNC_ACTIONS:
            raise ValueError(f"action must be one of {', '.join(SYNC_ACTIONS)}, got {action!r}")
        lookup_field = check_field_name(lookup_field, "lookup_field")
        if lookup_field == "id" and action != "updateOnly":
            raise ValueError(
                f"lookup_field 'id' works only with action 'updateOnly', not {action!r} "
                "(Marketo manages lead ids itself)"
            )
        body: dict[str, Any] = {"action": action, "lookupField": lookup_field}
        if partition_name is not None:
            body["partitionName"] = non_empty_text(partition_name, "partition_name")
            if action not in _PARTITION_ACTIONS:
                raise ValueError(
                    "partition_name applies only to actions createOnly and createOrUpdate "
                    f"(Marketo ignores it with {action})"
                )
        if async_processing:
            body["asyncProcessing"] = True
        if action == "createDuplicate" and coalesce:
            raise ValueError("coalesce=True needs a lookup key; createDuplicate has none")
        options = WriteOptions(batch_size=batch_size, coalesce=coalesce, **hooks)
        # settle_unknown: each record is kept as read, and let go unless it ends unknown.
        kept: Held[Any] = Held()
        convert: Callable[[Any], Any] = plain_record
        if settle_unknown:
            convert = functools.partial(_kept, kept)
            options = keeping_unknown(kept, options)
        report = await self._api.write_input(
            many(records, convert, "records"),
            "/rest/v1/leads.json",
            lead_rules(action, lookup_field),
            options,
            body=body,
            # createOnly and createDuplicate are never resent after a failure that may have
            # applied: a resent createOnly answers 1005 for the lead its first send created.
            idempotent=action in _RESEND_SAFE_ACTIONS,
        )
        if not settle_unknown or not report.counts.get("unknown"):
            return report
        return await settle_report(
            report, kept, self._read_back, action=action, lookup_field=lookup_field
        )

    async def settle(
        self,
        report: BatchReport,
        records: Iterable[Mapping[str, Any]],
        *,
        action: SyncAction = "createOrUpdate",
        lookup_field: str = "email",
    ) -> BatchReport:
        """``report`` (of :meth:`sync`) with its ``unknown`` records settled by reading the
        leads back by their lookup key, one filtered read per 300 keys.

        ``records`` is the input given to :meth:`sync` again (in the same order). A lead that
        now exists with every value sent makes its record ``created`` (``updated`` when the
        lead changed after it was created, or the action was ``updateOnly``); a lead that
        does not exist, or holds another value for a field sent, makes it ``not_applied``
        (send it again to apply it). Two leads with one key, a record without a key or a
        read that fails leave it ``unknown``. Each settled outcome gets a ``read-back``
        reason saying what was seen.

        Example::

            report = await client.leads.sync(rows, action="createOnly")
            if report.counts.get("unknown"):
                report = await client.leads.settle(report, rows, action="createOnly")
        """
        if action not in SYNC_ACTIONS:
            raise ValueError(f"action must be one of {', '.join(SYNC_ACTIONS)}, got {action!r}")
        lookup_field = check_field_name(lookup_field, "lookup_field")
        if isinstance(records, (str, bytes, Mapping)) or not isinstance(records, Iterable):
            raise ValueError("records must be the records given to sync, in the same order")
        by_index = {
            index: plain_record(record)
            for index, record in unknown_records(report, records).items()
        }
        return await settle_report(
            report, by_index, self._read_back, action=action, lookup_field=lookup_field
        )

    async def _read_back(
        self, lookup_field: str, keys: Sequence[str | int], fields: Sequence[str]
    ) -> list[Lead]:
        return await self.by_filter(lookup_field, keys, fields=list(fields)).collect()

    async def push(
        self,
        records: Records,
        *,
        program_name: str,
        lookup_field: str = "email",
        source: str | None = None,
        reason: str | None = None,
        program_status: str | None = None,
        partition_name: str | None = None,
        coalesce: bool = False,
        batch_size: int = MAX_BATCH_SIZE,
        **hooks: Unpack[WriteHooks],
    ) -> BatchReport:
        """Upsert leads with a "Push Lead to Marketo" activity in ``program_name``.

        ``lookup_field="mktToken"`` matches by the ``mkt_tok`` of an email click-through
        (put it in each record's ``mktToken``). Never resent after an ambiguous failure.
        """
        body: dict[str, Any] = {
            "programName": non_empty_text(program_name, "program_name"),
            "lookupField": check_field_name(lookup_field, "lookup_field"),
        }
        for name, value, argument in (
            ("source", source, "source"),
            ("reason", reason, "reason"),
            ("programStatus", program_status, "program_status"),
            ("partitionName", partition_name, "partition_name"),
        ):
            if value is not None:
                body[name] = non_empty_text(value, argument)

        options = WriteOptions(batch_size=batch_size, coalesce=coalesce, **hooks)
        return await self._api.write_input(
            many(records, plain_record, "records"),
            "/rest/v1/leads/push.json",
            lead_rules("createOrUpdate", lookup_field),
            options,
            body=body,
            idempotent=False,  # each push logs an activity
        )

    async def delete(
        self,
        ids: LeadIds,
        *,
        batch_size: int = MAX_BATCH_SIZE,
        **hooks: Unpack[WriteHooks],
    ) -> BatchReport:
        """Delete leads by id; ``deleted``, or ``skipped`` (1004) for ids Marketo doesn't know.

        An id that cannot be a lead id (not a positive 32-bit integer) is ``failed`` before
        any call, naming it; the others go on. Resent after an ambiguous failure: a 1004 to
        the resend means the first send deleted the lead, and says so (``deleted``).
        """

        async def send(batch: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
            records = [{"id": id_or_none(record["id"])} for record in batch]
            answer = await self._api.post("/rest/v1/leads/delete.json", json={"input": records})
            return after_resend(answer, evidence={LEAD_NOT_FOUND: "deleted"})

        options = WriteOptions(batch_size=batch_size, **hooks)
        return await self._api.write_batches(
            many(ids, lambda value: {"id": value}, "ids"),
            send,
            RecordRules(validate=check_id_field("id")),
            options,
        )

    async def update_partitions(
        self,
        assignments: Mapping[int, str] | Iterable[tuple[int, str]],
        **hooks: Unpack[WriteHooks],
    ) -> BatchReport:
        """Move leads to partitions: ``{lead_id: partition_name}`` or ``(id, name)`` pairs.

        A pair whose id cannot be a lead id is ``failed`` before any call, naming it.
        """
        pairs = assignments.items() if isinstance(assignments, Mapping) else assignments
        if isinstance(pairs, (str, bytes)):
            raise ValueError("assignments must map lead ids to partition names")
        records: list[dict[str, Any]] = []
        for index, pair in enumerate(pairs):
            if isinstance(pair, (str, bytes)) or not isinstance(pair, Sequence) or len(pair) != 2:
                raise ValueError(f"assignments[{index}] must be a (lead id, partition name) pair")
            name = non_empty_text(pair[1], f"assignments[{index}] partition name")
            records.append({"id": pair[0], "partitionName": name})

        return await self._api.write_input(
            records,
            "/rest/v1/leads/partitions.json",
            # One lead's moves stay in order.
            RecordRules(key=lambda record: id_or_none(record["id"]), validate=check_id_field("id")),
            WriteOptions(**hooks),
        )

    # ---- one-call writes

    async def submit_form(
        self,
        form_id: int,
        fields: Mapping[str, Any],
        *,
        visitor_data: VisitorData | Mapping[str, Any] | None = None,
        cookie: str | None = None,
        program_id: int | None = None,
    ) -> RecordOutcome:
        """Fill out a Marketo form for a lead (upserts by email, logs "Fill out Form").

        ``fields`` are the form's fields by REST name and must include ``email``. Never resent
        after an ambiguous failure.

        Example::

            outcome = await client.leads.submit_form(
                1029, {"email": "marge@example.com", "firstName": "Marge"},
                visitor_data=VisitorData(page_url="https://example.com/lp"),
            )
        """
        form_id = positive_id(form_id, "form_id")
        if not isinstance(fields, Mapping):
            raise ValueError("fields must map form field names to values")
        for name in fields:
            check_field_name(name, f"fields[{name!r}]")
        email = fields.get("email")
        if not isinstance(email, str) or not email.strip():
            raise ValueError("fields must include 'email': Submit Form upserts by email")
        if not email.isascii():
            raise ValueError(f"fields['email'] must be ASCII for Marketo, got {email!r}")
        record: dict[str, Any] = {"leadFormFields": plain_record(fields)}
        if visitor_data is not None:
            if isinstance(visitor_data, VisitorData):
                record["visitorData"] = converter.unstructure(visitor_data)
            elif isinstance(visitor_data, Mapping):
                record["visitorData"] = dict(visitor_data)
            else:
                raise ValueError("visitor_data must be a VisitorData or a mapping")
        if cookie is not None:
            record["cookie"] = _cookie(cookie)
        body: dict[str, Any] = {"formId": form_id, "input": [record]}
        if program_id is not None:
            body["programId"] = positive_id(program_id, "program_id")
        path = "/rest/v1/leads/submitForm.json"
        return await self._api.write_one(path, json=body, idempotent=False)

    async def merge(
        self, winner_id: int, loser_ids: Iterable[int] | int, *, merge_in_crm: bool = False
    ) -> None:
        """Merge ``loser_ids`` (at most 25) into ``winner_id``, whose values win unless empty.

        ``merge_in_crm=True`` also merges in a natively synced Salesforce. Never resent after
        an ambiguous failure.
        """
        winner = positive_id(winner_id, "winner_id")
        if isinstance(loser_ids, (str, bytes)):
            raise ValueError("loser_ids must be lead ids, not a string")
        losers = unique_ids(
            [loser_ids] if isinstance(loser_ids, int) else loser_ids,
            "loser_ids",
            at_most=MAX_MERGE_LOSERS,
            empty_hint="give the lead ids to merge into the winner",
            limit_hint=f"Marketo merges at most {MAX_MERGE_LOSERS} at once (1080 above): "
            "merge in several calls",
            noun="leads",
        )
        if winner in losers:
            raise ValueError(f"loser_ids must not hold the winner {winner}")
        params: dict[str, Any] = (
            {"leadId": losers[0]} if len(losers) == 1 else {"leadIds": ",".join(map(str, losers))}
        )
        if merge_in_crm:
            params["mergeInCRM"] = True
        await self._api.post(f"/rest/v1/leads/{winner}/merge.json", params=params, idempotent=False)

    async def associate(self, lead_id: int, cookie: str) -> None:
        """Tie a munchkin cookie (``_mkto_trk``, e.g. ``id:123-ABC-456&token:_mch-...``) and
        its future web activity to a known lead."""
        lead_id = positive_id(lead_id, "lead_id")
        # Marketo: the cookie is a query parameter; httpx percent-encodes it (& -> %26).
        params = {"cookie": _cookie(cookie)}
        await self._api.post(f"/rest/v1/leads/{lead_id}/associate.json", params=params)

    # ---- partitions

    async def partitions(self) -> list[Partition]:
        """The instance's lead partitions (cacheable: they rarely change)."""
        body = await self._api.get("/rest/v1/leads/partitions.json")
        return converter.structure(results_of(body), list[Partition])


def _parser(model: type[T]) -> Callable[[dict[str, Any]], T]:
    def parse(item: dict[str, Any]) -> T:
        return converter.structure(item, model)

    return parse


_parse_lead = _parser(Lead)
