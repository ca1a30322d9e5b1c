"""Marketo's data objects on one resource: ``client.companies``, ``client.opportunities``,
``client.opportunity_roles``, ``client.sales_persons``, ``client.named_accounts`` and
``client.custom_objects.object(api_name)``.

Each kind only declares its path and keys; describe, query, sync and delete are the same for
all. Writes go through the batch engine: records sharing a dedupe key (compound keys too) are
never in flight together, in one process or, with a ``RedisLimiter``, across a fleet.
"""

from __future__ import annotations

from collections.abc import (
    AsyncIterator,
    Callable,
    Iterable,
    Mapping,
    Sequence,
)
from typing import TYPE_CHECKING, Any, Literal

import attrs

from .._batch import (
    MAX_BATCH_SIZE,
    BatchReport,
    Held,
    RecordOutcome,
    WriteHooks,
    WriteOptions,
    keeping_unknown,
)
from .._errors import MarketoError
from .._paging import Page, Pager, token_pages
from ..models.objects import ObjectDescription, ObjectRecord
from ._arguments import (
    MAX_FILTER_VALUES,
    Records,
    check_batch_size,
    check_field_name,
    field_names,
    filter_chunks,
    filter_values,
    many,
    plain_record,
    plain_value,
)
from ._base import Api, Resource, after_resend, results_of
from ._object_rules import key_fields, object_rules
from ._object_settle import Verdict, object_verdicts, settle_objects

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "OBJECT_KINDS",
    "CustomObjects",
    "DataObject",
    "ObjectKind",
    "ObjectSyncAction",
]

ObjectSyncAction = Literal["createOrUpdate", "createOnly", "updateOnly"]
SYNC_ACTIONS: tuple[str, ...] = ("createOrUpdate", "createOnly", "updateOnly")
MATCH_BY: tuple[str, ...] = ("dedupeFields", "idField")
# A resend of these finds the record the first send may have made and updates it again.
_RESEND_SAFE = frozenset({"createOrUpdate", "updateOnly"})
# Marketo: a record a delete does not find is skipped with 1013; to a resent delete, the
# first send deleted it.
RECORD_NOT_FOUND = "1013"


@attrs.frozen(kw_only=True)
class ObjectKind:
    """One data object as the API addresses it: ``path`` without ``.json``, Marketo's id
    field and dedupe fields (Describe answers the same; a custom object's come from it)."""

    name: str
    path: str
    id_field: str = "marketoGUID"
    dedupe_fields: tuple[str, ...] = ()


OBJECT_KINDS: dict[str, ObjectKind] = {
    kind.name: kind
    for kind in (
        ObjectKind(
            name="companies",
            path="/rest/v1/companies",
            id_field="id",
            dedupe_fields=("externalCompanyId",),
        ),
        ObjectKind(
            name="opportunities",
            path="/rest/v1/opportunities",
            dedupe_fields=("externalOpportunityId",),
        ),
        ObjectKind(
            name="opportunity_roles",
            path="/rest/v1/opportunities/roles",
            dedupe_fields=("externalOpportunityId", "leadId", "role"),
        ),
        ObjectKind(
            name="sales_persons",
            path="/rest/v1/salespersons",
            id_field="id",
            dedupe_fields=("externalSalesPersonId",),
        ),
        ObjectKind(name="named_accounts", path="/rest/v1/namedaccounts", dedupe_fields=("name",)),
    )
}


def custom_object_kind(api_name: str) -> ObjectKind:
    name = check_field_name(api_name, "api_name")
    return ObjectKind(name=name, path=f"/rest/v1/customobjects/{name}")


class _Indexed(dict[str, Any]):
    """A record as sent, knowing its place in the input (for the ``marketoGUID`` answered)."""

    __slots__ = ("index",)
    index: int


class _Guids:
    """The ``marketoGUID`` of each record an answer named, by input index."""

    def __init__(self) -> None:
        self.by_index: dict[int, str] = {}
        self._count = 0

    def indexed(
        self, convert: Callable[[Mapping[str, Any]], dict[str, Any]], kept: Held[Any] | None
    ) -> Callable[[Any], Any]:
        """A converter giving each record its input index (and holding it in ``kept``)."""

        def wrap(record: Any) -> Any:
            index, self._count = self._count, self._count + 1
            if not isinstance(record, Mapping):
                return record
            found = _Indexed(convert(record))
            found.index = index
            if kept is not None:
                kept.hold(index, found)
            return found

        return wrap

    def heard(self, batch: Sequence[Any], results: Sequence[Mapping[str, Any]]) -> None:
        for position, entry in enumerate(results):
            if not isinstance(entry, Mapping):
                continue
            seq = entry.get("seq")
            at = seq if type(seq) is int else position
            guid = entry.get("marketoGUID")
            if isinstance(guid, str) and 0 <= at < len(batch):
                record = batch[at]
                if isinstance(record, _Indexed):
                    self.by_index[record.index] = guid

    def told(self, options: WriteOptions) -> WriteOptions:
        on_outcome = options.on_outcome
        if on_outcome is None:
            return options

        def hear(outcome: RecordOutcome) -> None:
            on_outcome(self.given(outcome))

        return attrs.evolve(options, on_outcome=hear)

    def given(self, outcome: RecordOutcome) -> RecordOutcome:
        guid = self.by_index.get(outcome.index)
        if guid is None or not outcome.applied:
            return outcome
        return attrs.evolve(outcome, marketo_guid=guid)

    def report(self, report: BatchReport) -> BatchReport:
        if not self.by_index:
            return report
        changes = {
            index: self.given(report.outcomes[index])
            for index in self.by_index
            if index < len(report.outcomes) and report.outcomes[index].applied
        }
        return report.amended(changes) if changes else report


class DataObject(Resource):
    """One data object: describe, query, sync, delete.

    Example::

        report = await client.companies.sync([{"externalCompanyId": "acme", "company": "Acme"}])
        async for company in client.companies.query("externalCompanyId", ["acme"]):
            ...
    """

    def __init__(self, api: Api, kind: ObjectKind) -> None:
        super().__init__(api)
        self.kind = kind
        self._description: ObjectDescription | None = None

    def __repr__(self) -> str:
        return f"DataObject({self.kind.name!r})"

    async def describe(self) -> ObjectDescription:
        """The object's name, dedupe and searchable fields, fields with types, and links
        (read once, then kept)."""
        if self._description is None:
            path = f"{self.kind.path}/describe.json"
            found = results_of(await self._api.get(path))
            if not found:
                raise MarketoError(
                    f"Describe {self.kind.name} answered without a result", path=path
                )
            self._description = ObjectDescription.from_api(found[0])
        return self._description

    # ---- reads

    def query(
        self,
        filter_type: str,
        values: Iterable[str | int] | Iterable[Mapping[str, Any]],
        *,
        fields: Iterable[str] | None = None,
        batch_size: int | None = None,
    ) -> Pager[ObjectRecord]:
        """Records whose ``filter_type`` (a searchable field, ``dedupeFields`` or
        ``idField``) equals any of ``values``: 300 values a call, each call paged, each
        record once. For a compound key give mappings (``{"externalOpportunityId": "o1",
        "leadId": 7, "role": "Buyer"}``): they go as Marketo's JSON ``input``.

        Example::

            async for role in client.opportunity_roles.query("dedupeFields", keys):
                ...
        """
        filter_type = check_field_name(filter_type, "filter_type")
        if isinstance(values, (str, bytes, Mapping)):
            raise ValueError("values must be a list of values, not a single value")
        given = list(values)
        names = field_names(fields)
        if names is not None and self.kind.id_field not in names.split(","):
            names += f",{self.kind.id_field}"  # each record read once, known by its id
        size = check_batch_size(batch_size)
        if given and all(isinstance(value, Mapping) for value in given):
            keys = [{str(k): plain_value(v) for k, v in value.items()} for value in given]  # type: ignore[union-attr]
            queries: list[dict[str, Any]] = [
                {"filterType": filter_type, "input": keys[at : at + MAX_FILTER_VALUES]}
                for at in range(0, len(keys), MAX_FILTER_VALUES)
            ]
            for query in queries:
                if names is not None:
                    query["fields"] = names.split(",")
                if size is not None:
                    query["batchSize"] = size
            return Pager(lambda: self._pages(queries, compound=True))
        texts = filter_values(given)  # type: ignore[arg-type]
        queries = [
            {"filterType": filter_type, "filterValues": chunk, "fields": names, "batchSize": size}
            for chunk in filter_chunks(texts)
        ]
        return Pager(lambda: self._pages(queries, compound=False))

    async def _pages(
        self, queries: Sequence[Mapping[str, Any]], *, compound: bool
    ) -> AsyncIterator[Page[ObjectRecord]]:
        path = f"{self.kind.path}.json"

        async def fetch(params: Mapping[str, Any]) -> dict[str, Any]:
            if compound:
                # Marketo: a compound key query is POST ?_method=GET with a JSON body; later
                # pages resend the whole input with the token.
                return await self._api.post(path, params={"_method": "GET"}, json=dict(params))
            return await self._api.get(path, params)

        seen: set[object] = set()
        yielded = False
        for number, query in enumerate(queries):
            async for page in token_pages(fetch, query, ObjectRecord):
                items = [item for item in page.items if self._identity(item) not in seen]
                seen.update(self._identity(item) for item in items)
                more = page.more or number < len(queries) - 1
                if items or (not more and not yielded):
                    yielded = True
                    yield Page(items, page.next_page_token, more, page.warnings)

    def _identity(self, record: ObjectRecord) -> object:
        value = record.get(self.kind.id_field)
        return value if value is not None else id(record)

    # ---- writes

    async def sync(
        self,
        records: Records,
        *,
        action: ObjectSyncAction = "createOrUpdate",
        dedupe_by: Literal["dedupeFields", "idField"] = "dedupeFields",
        batch_size: int = MAX_BATCH_SIZE,
        settle_unknown: bool = False,
        **hooks: Unpack[WriteHooks],
    ) -> BatchReport:
        """Create or update any number of records; one outcome per record, with its ``id``
        (companies, sales persons) or ``marketo_guid``.

        The object is described first (one call, kept): a record without its key, with a
        field the object lacks or a value its type cannot hold is ``failed`` before any call.
        Records sharing a key never go out together, so two creates of one new key cannot
        make two records. ``createOrUpdate`` and ``updateOnly`` are resent after a failure
        that may have applied; ``createOnly`` is then ``unknown``, and ``settle_unknown=True``
        reads those back by their key at the end.

        Example::

            report = await client.custom_objects.object("car_c").sync(cars)
            for outcome in report.failed:
                print(outcome.index, outcome.status, outcome.reasons)
        """
        if action not in SYNC_ACTIONS:
            raise ValueError(f"action must be one of {', '.join(SYNC_ACTIONS)}, got {action!r}")
        if dedupe_by not in MATCH_BY:
            raise ValueError(f"dedupe_by must be dedupeFields or idField, got {dedupe_by!r}")
        if dedupe_by == "idField" and action != "updateOnly":
            raise ValueError(
                f"dedupe_by 'idField' works only with action 'updateOnly', not {action!r} "
                "(Marketo makes the ids)"
            )
        description = await self.describe()
        options = WriteOptions(batch_size=batch_size, **hooks)
        guids = _Guids()
        kept: Held[Any] = Held()
        if settle_unknown:
            options = keeping_unknown(kept, options)
        path = f"{self.kind.path}.json"
        body = {"action": action, "dedupeBy": dedupe_by}
        api = self._api.resending(action in _RESEND_SAFE)

        async def send(batch: Sequence[Any]) -> list[Mapping[str, Any]]:
            results = after_resend(await api.post(path, json={**body, "input": list(batch)}))
            guids.heard(batch, results)
            return results

        report = await api.write_batches(
            many(
                records,
                guids.indexed(plain_record, kept if settle_unknown else None),
                "records",
            ),
            send,
            object_rules(description, dedupe_by, scope=self.kind.name),
            guids.told(options),
        )
        report = guids.report(report)
        if not settle_unknown or not report.counts.get("unknown"):
            return report
        return await settle_objects(
            report, kept, self._read_back(description, dedupe_by), action=action,
            fields=key_fields(description, dedupe_by),
        )  # fmt: skip

    async def read_back(
        self,
        records: Sequence[Mapping[str, Any]],
        *,
        action: ObjectSyncAction = "createOrUpdate",
        dedupe_by: Literal["dedupeFields", "idField"] = "dedupeFields",
    ) -> list[Verdict]:
        """What reading each record back by its key says of a write of it: ``(status,
        marketo_guid, reason)`` with ``created``/``updated`` (one record holds every value
        sent), ``not_applied`` or ``unknown``; 300 keys a read. A resume uses it to tell a
        record an earlier, unanswered call created from one that was there before."""
        description = await self.describe()
        return await object_verdicts(
            records,
            self._read_back(description, dedupe_by),
            action=action,
            fields=key_fields(description, dedupe_by),
        )

    def _read_back(
        self, description: ObjectDescription, by: str
    ) -> Callable[[Sequence[Mapping[str, Any]], Sequence[str]], Any]:
        fields = key_fields(description, by)

        async def read(keys: Sequence[Mapping[str, Any]], names: Sequence[str]) -> list[Any]:
            if len(fields) == 1:
                filter_type = fields[0]
                values: list[Any] = [key[fields[0]] for key in keys]
            else:
                filter_type, values = "dedupeFields", list(keys)
            return await self.query(filter_type, values, fields=names).collect()

        return read

    async def delete(
        self,
        records: Records,
        *,
        delete_by: Literal["dedupeFields", "idField"] = "dedupeFields",
        batch_size: int = MAX_BATCH_SIZE,
        **hooks: Unpack[WriteHooks],
    ) -> BatchReport:
        """Delete records by their dedupe fields or id field (other fields are left out);
        ``deleted``, or ``skipped`` (1013) for records Marketo does not have. Resent after a
        failure that may have applied: a 1013 to the resend means the first send deleted it.
        """
        if delete_by not in MATCH_BY:
            raise ValueError(f"delete_by must be dedupeFields or idField, got {delete_by!r}")
        description = await self.describe()
        fields = key_fields(description, delete_by)
        guids = _Guids()

        def keys_only(record: Mapping[str, Any]) -> dict[str, Any]:
            return {name: plain_value(record[name]) for name in fields if name in record}

        path = f"{self.kind.path}/delete.json"

        async def send(batch: Sequence[Any]) -> list[Mapping[str, Any]]:
            answer = await self._api.post(path, json={"deleteBy": delete_by, "input": list(batch)})
            results = after_resend(answer, evidence={RECORD_NOT_FOUND: "deleted"})
            guids.heard(batch, results)
            return results

        options = WriteOptions(batch_size=batch_size, **hooks)
        report = await self._api.write_batches(
            many(records, guids.indexed(keys_only, None), "records"),
            send,
            object_rules(description, delete_by, scope=self.kind.name),
            guids.told(options),
        )
        return guids.report(report)


class CustomObjects(Resource):
    """The instance's custom objects: their types, and one :class:`DataObject` per type.

    Example::

        cars = client.custom_objects.object("car_c")
        await cars.sync([{"vin": "WVW123", "color": "red"}])
    """

    def __init__(self, api: Api) -> None:
        super().__init__(api)
        self._objects: dict[str, DataObject] = {}

    def object(self, api_name: str) -> DataObject:
        """The custom object with this API name (``car_c``)."""
        kind = custom_object_kind(api_name)
        found = self._objects.get(kind.name)
        if found is None:
            found = self._objects[kind.name] = DataObject(self._api, kind)
        return found

    async def types(self) -> list[ObjectDescription]:
        """Every custom object type of the instance (List Custom Objects)."""
        body = await self._api.get("/rest/v1/customobjects.json")
        return [ObjectDescription.from_api(item) for item in results_of(body)]
