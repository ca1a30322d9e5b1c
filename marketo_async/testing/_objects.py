"""Data objects: companies, opportunities, opportunity roles, sales persons, named accounts
and custom objects, in one generic store; each type only declares its path, keys and fields.

Sync has Marketo's dedupe race, as leads do: a call looks its keys up when it arrives and
writes when it completes, so two overlapping calls creating one new key make two records.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from ._call import MAX_RECORDS, Call, Router
from ._wire import ApiError

__all__ = ["ObjectStore", "ObjectType", "register", "standard_types"]

Key = tuple[str, ...]
_FIELD = r"[A-Za-z][A-Za-z0-9_]*"
_SYNC_ACTIONS = frozenset({"createOrUpdate", "createOnly", "updateOnly"})
_MATCH_BY = frozenset({"dedupeFields", "idField"})
_STAMPS = ("createdAt", "updatedAt")


@attrs.define(kw_only=True)
class ObjectType:
    """One data object type: where it lives, its keys, its fields (name -> dataType)."""

    name: str
    path: str
    id_field: str
    dedupe_fields: tuple[str, ...]
    fields: dict[str, str]
    searchable: tuple[tuple[str, ...], ...] = ()
    links: tuple[tuple[str, str, str], ...] = ()  # (field, related object, related field)
    display_name: str = ""
    custom: bool = False
    records: dict[int, dict[str, Any]] = attrs.Factory(dict)
    _by_key: dict[Key, set[int]] = attrs.field(factory=dict, init=False)  # dedupe key -> numbers
    _by_id: dict[str, int] = attrs.field(factory=dict, init=False)

    def put(self, number: int, record: dict[str, Any]) -> None:
        """Store ``record`` (new or changed) under ``number``, its keys indexed."""
        self.remove(number)
        self.records[number] = record
        key = self.key_of(record, self.dedupe_fields)
        if key is not None:
            self._by_key.setdefault(key, set()).add(number)
        self._by_id[str(record[self.id_field])] = number

    def remove(self, number: int) -> None:
        record = self.records.pop(number, None)
        if record is None:
            return
        key = self.key_of(record, self.dedupe_fields)
        if key is not None:
            self._by_key.get(key, set()).discard(number)
        self._by_id.pop(str(record[self.id_field]), None)

    def all_fields(self) -> dict[str, str]:
        id_type = "integer" if self.id_field == "id" else "string"
        return {
            self.id_field: id_type,
            **self.fields,
            "createdAt": "datetime",
            "updatedAt": "datetime",
        }

    def searchable_fields(self) -> list[list[str]]:
        found = [list(self.dedupe_fields), [self.id_field]]
        found += [list(group) for group in self.searchable if list(group) not in found]
        return found

    def description(self, *, with_fields: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": self.name,
            "displayName": self.display_name or self.name,
            "pluralName": self.display_name or self.name,
            "idField": self.id_field,
            "dedupeFields": list(self.dedupe_fields),
            "searchableFields": self.searchable_fields(),
            "relationships": [
                {"field": field, "type": "parent", "relatedTo": {"name": other, "field": at}}
                for field, other, at in self.links
            ],
        }
        if with_fields:
            body["fields"] = [
                {
                    "name": name,
                    "displayName": name,
                    "dataType": data_type,
                    "length": 255 if data_type == "string" else None,
                    "updateable": name not in (self.id_field, *_STAMPS),
                    "crmManaged": False,
                }
                for name, data_type in self.all_fields().items()
            ]
        return body

    def key_of(self, record: Mapping[str, Any], fields: Sequence[str]) -> Key | None:
        parts: list[str] = []
        for name in fields:
            part = _text(record.get(name))
            if part is None:
                return None
            parts.append(part)
        return tuple(parts)

    def find(self, fields: Sequence[str], key: Key) -> list[int]:
        if tuple(fields) == self.dedupe_fields:
            return sorted(self._by_key.get(key, ()))
        if tuple(fields) == (self.id_field,):
            found = self._by_id.get(key[0])
            return [] if found is None else [found]
        return [
            number for number, record in self.records.items() if self.key_of(record, fields) == key
        ]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip().lower() if isinstance(value, bool) else str(value).strip()
    return text or None


# Marketo's standard data objects, with a typical set of fields each (ObjectType's arguments).
_STANDARD_TYPES: tuple[dict[str, Any], ...] = (
    dict(
        name="company",
        path="companies",
        id_field="id",
        dedupe_fields=("externalCompanyId",),
        fields={
            "externalCompanyId": "string",
            "company": "string",
            "website": "url",
            "industry": "string",
            "numberOfEmployees": "integer",
            "annualRevenue": "currency",
            "billingCity": "string",
            "billingCountry": "string",
            "externalSalesPersonId": "string",
        },
        searchable=(("company",), ("externalSalesPersonId",)),
        links=(("externalSalesPersonId", "SalesPerson", "externalSalesPersonId"),),
        display_name="Company",
    ),
    dict(
        name="opportunity",
        path="opportunities",
        id_field="marketoGUID",
        dedupe_fields=("externalOpportunityId",),
        fields={
            "externalOpportunityId": "string",
            "name": "string",
            "description": "text",
            "amount": "currency",
            "stage": "string",
            "isClosed": "boolean",
            "isWon": "boolean",
            "probability": "integer",
            "closeDate": "date",
            "externalCompanyId": "string",
            "externalSalesPersonId": "string",
        },
        searchable=(("externalCompanyId",), ("externalSalesPersonId",)),
        links=(
            ("externalCompanyId", "Company", "externalCompanyId"),
            ("externalSalesPersonId", "SalesPerson", "externalSalesPersonId"),
        ),
        display_name="Opportunity",
    ),
    dict(
        name="opportunityPersonRole",
        path="opportunities/roles",
        id_field="marketoGUID",
        dedupe_fields=("externalOpportunityId", "leadId", "role"),
        fields={
            "externalOpportunityId": "string",
            "leadId": "integer",
            "role": "string",
            "isPrimary": "boolean",
        },
        searchable=(("externalOpportunityId",), ("leadId",)),
        links=(
            ("externalOpportunityId", "Opportunity", "externalOpportunityId"),
            ("leadId", "Lead", "id"),
        ),
        display_name="Opportunity Role",
    ),
    dict(
        name="salesPerson",
        path="salespersons",
        id_field="id",
        dedupe_fields=("externalSalesPersonId",),
        fields={
            "externalSalesPersonId": "string",
            "email": "email",
            "firstName": "string",
            "lastName": "string",
            "phone": "phone",
            "title": "string",
        },
        searchable=(("email",),),
        display_name="Sales Person",
    ),
    dict(
        name="namedAccount",
        path="namedaccounts",
        id_field="marketoGUID",
        dedupe_fields=("name",),
        fields={
            "name": "string",
            "domain": "string",
            "industry": "string",
            "annualRevenue": "currency",
            "numberOfEmployees": "integer",
            "city": "string",
            "country": "string",
        },
        searchable=(("domain",),),
        display_name="Named Account",
    ),
)


def standard_types() -> list[ObjectType]:
    """Marketo's standard data objects, each new (with its own field table)."""
    return [ObjectType(**{**spec, "fields": dict(spec["fields"])}) for spec in _STANDARD_TYPES]


class ObjectStore:
    """Every data object type of the instance and its records."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now
        self.types: dict[str, ObjectType] = {t.path: t for t in standard_types()}
        self._next = 1

    def add_custom_type(
        self,
        api_name: str,
        fields: Mapping[str, str],
        *,
        dedupe_fields: Iterable[str],
        display_name: str | None = None,
        searchable: Iterable[Iterable[str]] = (),
        links: Iterable[tuple[str, str, str]] = (),
    ) -> ObjectType:
        """A custom object type (approved), its records at ``customobjects/{api_name}``."""
        keys = tuple(dedupe_fields)
        missing = [name for name in keys if name not in fields]
        if not keys or missing:
            raise ValueError(f"dedupe_fields must name fields of {api_name}, not {missing}")
        found = ObjectType(
            name=api_name,
            path=f"customobjects/{api_name}",
            id_field="marketoGUID",
            dedupe_fields=keys,
            fields=dict(fields),
            searchable=tuple(tuple(group) for group in searchable),
            links=tuple(links),
            display_name=display_name or api_name,
            custom=True,
        )
        self.types[found.path] = found
        return found

    def type_at(self, path: str) -> ObjectType:
        found = self.types.get(path)
        if found is None:
            raise ApiError("1013", f"Object '{path.rsplit('/', 1)[-1]}' not found")
        return found

    def records(self, path: str) -> list[dict[str, Any]]:
        """The records of the type at ``path`` (``companies``, ``customobjects/car_c``)."""
        return list(self.type_at(path).records.values())

    def duplicates(self, path: str) -> list[list[dict[str, Any]]]:
        """Groups of two or more records sharing a dedupe key."""
        kind = self.type_at(path)
        groups: dict[Key, list[dict[str, Any]]] = {}
        for record in kind.records.values():
            key = kind.key_of(record, kind.dedupe_fields)
            if key is not None:
                groups.setdefault(key, []).append(record)
        return [group for group in groups.values() if len(group) > 1]

    def create(self, kind: ObjectType, values: Mapping[str, Any]) -> dict[str, Any]:
        number = self._next
        self._next += 1
        stamp = _iso(self._now())
        record = {**values, "createdAt": stamp, "updatedAt": stamp}
        record[kind.id_field] = number if kind.id_field == "id" else str(uuid.uuid4())
        kind.put(number, record)
        return record

    def update(self, kind: ObjectType, number: int, values: Mapping[str, Any]) -> dict[str, Any]:
        record = {**kind.records[number], **values, "updatedAt": _iso(self._now())}
        kind.put(number, record)
        return record


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- handlers --------------------------------------------------------------------------------


@attrs.define
class _Plan:
    values: dict[str, Any]
    key: Key | None = None
    target: int | None = None
    skip: dict[str, Any] | None = None


def _answer(kind: ObjectType, seq: int, record: dict[str, Any], status: str) -> dict[str, Any]:
    return {"seq": seq, "status": status, kind.id_field: record[kind.id_field]}


def _key_fields(kind: ObjectType, by: str) -> tuple[str, ...]:
    return kind.dedupe_fields if by == "dedupeFields" else (kind.id_field,)


def _plan(call: Call, kind: ObjectType, records: list[Any], action: str, by: str) -> list[_Plan]:
    """Each record looked up now, at arrival (the first half of the race)."""
    fields = _key_fields(kind, by)
    known = kind.all_fields()
    seen: set[Key] = set()
    plans: list[_Plan] = []
    for seq, record in enumerate(records):
        plan = _Plan(dict(record) if isinstance(record, dict) else {})
        plans.append(plan)
        unknown = next((name for name in plan.values if name not in known), None)
        plan.key = kind.key_of(plan.values, fields)
        if not isinstance(record, dict):
            plan.skip = call.skipped("1003", "Invalid data", seq=seq)
        elif unknown is not None:
            plan.skip = call.skipped("1006", f"Field '{unknown}' not found", seq=seq)
        elif plan.key is None:
            missing = next(name for name in fields if _text(plan.values.get(name)) is None)
            plan.skip = call.skipped("1003", f"Value for field '{missing}' is required", seq=seq)
        elif plan.key in seen:
            plan.skip = call.skipped("1036", "Duplicate object found in input", seq=seq)
        else:
            seen.add(plan.key)
            _look_up(call, kind, plan, seq, action, fields)
    return plans


def _look_up(
    call: Call, kind: ObjectType, plan: _Plan, seq: int, action: str, fields: Sequence[str]
) -> None:
    assert plan.key is not None
    matches = kind.find(fields, plan.key)
    if len(matches) > 1:
        plan.skip = call.skipped("1007", "Multiple objects match the dedupe fields", seq=seq)
    elif matches and action == "createOnly":
        plan.skip = call.skipped("1017", "Object already exists", seq=seq)
    elif matches:
        plan.target = matches[0]
    elif action == "updateOnly":
        plan.skip = call.skipped("1013", "Object not found", seq=seq)


def _apply(
    call: Call, objects: ObjectStore, kind: ObjectType, plans: list[_Plan], action: str
) -> list[dict[str, Any]]:
    """Each record written now, at completion (the second half of the race)."""
    results: list[dict[str, Any]] = []
    for seq, plan in enumerate(plans):
        if plan.skip is not None:
            results.append(plan.skip)
            continue
        values = {k: v for k, v in plan.values.items() if k not in (kind.id_field, *_STAMPS)}
        target = plan.target if plan.target in kind.records else None
        if target is None and action == "updateOnly":
            results.append(call.skipped("1013", "Object not found", seq=seq))
        elif target is None:
            results.append(_answer(kind, seq, objects.create(kind, values), "created"))
        else:
            record = objects.update(kind, target, values)
            results.append(_answer(kind, seq, record, "updated"))
    return results


def _body(call: Call) -> dict[str, Any]:
    body = call.json()
    if not isinstance(body.get("input"), list):
        raise ApiError("701", "input cannot be blank")
    return body


async def _sync(call: Call, objects: ObjectStore) -> dict[str, Any]:
    kind = objects.type_at(call.match.group("path"))
    body = _body(call)
    action = body.get("action") or "createOrUpdate"
    by = body.get("dedupeBy") or "dedupeFields"
    if action not in _SYNC_ACTIONS:
        raise ApiError("1003", f"Invalid action '{action}'")
    if by not in _MATCH_BY:
        raise ApiError("1003", f"Invalid dedupeBy '{by}'")
    records = call.input(body)
    plans = _plan(call, kind, records, action, by)
    await call.delay(len(records))
    return call.ok(_apply(call, objects, kind, plans, action))


async def _delete(call: Call, objects: ObjectStore) -> dict[str, Any]:
    kind = objects.type_at(call.match.group("path"))
    body = _body(call)
    by = body.get("deleteBy") or "dedupeFields"
    if by not in _MATCH_BY:
        raise ApiError("1003", f"Invalid deleteBy '{by}'")
    records = call.input(body)
    fields = _key_fields(kind, by)
    await call.delay(len(records))
    results: list[dict[str, Any]] = []
    for seq, record in enumerate(records):
        key = kind.key_of(record, fields) if isinstance(record, dict) else None
        matches = kind.find(fields, key) if key is not None else []
        if not matches:
            results.append(call.skipped("1013", "Object not found", seq=seq))
            continue
        found = kind.records[matches[0]]
        for number in matches:
            kind.remove(number)
        results.append(_answer(kind, seq, found, "deleted"))
    return call.ok(results)


def _query_args(call: Call) -> tuple[str, list[Key] | None, list[str] | None, list[Any] | None]:
    """filterType, its values (one-field keys) or input (compound keys), and fields."""
    if call.content_type == "application/json" and call.body.strip():
        body = call.json()  # a compound key query: POST ?_method=GET with a JSON body
        for name in ("nextPageToken", "batchSize"):
            if body.get(name) is not None:
                call.params[name] = [str(body[name])]
        fields = body.get("fields")
        names = fields.split(",") if isinstance(fields, str) else fields
        filter_type = str(body.get("filterType") or "")
        if not filter_type:
            raise ApiError("701", "filterType cannot be blank")
        return filter_type, None, names, body.get("input") or []
    names = call.values("fields") or None
    return call.required("filterType"), [(v,) for v in call.values("filterValues")], names, None


def _filter_fields(kind: ObjectType, filter_type: str) -> tuple[str, ...]:
    if filter_type == "dedupeFields":
        return kind.dedupe_fields
    if filter_type == "idField":
        return (kind.id_field,)
    if [filter_type] in kind.searchable_fields():
        return (filter_type,)
    raise ApiError("1003", f"Invalid filterType '{filter_type}'")


def _wanted(
    kind: ObjectType, fields: tuple[str, ...], values: list[Key] | None, given: list[Any] | None
) -> set[Key]:
    """The keys a query asks for: its filterValues, or its input (a compound key's)."""
    count = len(given) if given is not None else len(values or [])
    if not count:
        raise ApiError("701", "filterValues cannot be blank")
    if count > MAX_RECORDS:
        raise ApiError("1003", f"Too many filter values: {count}, the limit is 300")
    if given is not None:
        keys = [kind.key_of(item, fields) if isinstance(item, dict) else None for item in given]
        return {key for key in keys if key is not None}
    if len(fields) > 1:
        raise ApiError("1003", "A compound key filter needs its values as input")
    return set(values or [])


def _matched(
    kind: ObjectType, fields: tuple[str, ...], wanted: set[Key]
) -> list[tuple[int, dict[str, Any]]]:
    if fields in (kind.dedupe_fields, (kind.id_field,)):
        numbers = {number for key in wanted for number in kind.find(fields, key)}
        return [(number, kind.records[number]) for number in numbers]
    return [
        (number, record)
        for number, record in kind.records.items()
        if kind.key_of(record, fields) in wanted
    ]


async def _query(call: Call, objects: ObjectStore) -> dict[str, Any]:
    kind = objects.type_at(call.match.group("path"))
    filter_type, values, names, given = _query_args(call)
    fields = _filter_fields(kind, filter_type)
    wanted = _wanted(kind, fields, values, given)
    known = kind.all_fields()
    unknown = next((name for name in names or () if name not in known), None)
    if unknown is not None:
        raise ApiError("1006", f"Field '{unknown}' not found")
    shown = names or [kind.id_field, *kind.dedupe_fields, *_STAMPS]
    matched = _matched(kind, fields, wanted)
    await call.delay(0)
    return call.page(
        f"objects:{kind.path}",
        matched,
        lambda item: item[0],
        lambda item: {name: item[1].get(name) for name in shown},
    )


async def _describe(call: Call, objects: ObjectStore) -> dict[str, Any]:
    return call.ok([objects.type_at(call.match.group("path")).description()])


async def _list_custom(call: Call, objects: ObjectStore) -> dict[str, Any]:
    wanted = set(call.values("names"))
    found = [
        kind.description(with_fields=False)
        for kind in objects.types.values()
        if kind.custom and (not wanted or kind.name in wanted)
    ]
    return call.ok(found)


def register(router: Router, objects: ObjectStore) -> None:
    kinds = "companies|opportunities/roles|opportunities|salespersons|namedaccounts"
    paths = rf"(?P<path>{kinds}|customobjects/{_FIELD})"
    base = rf"/rest/v1/{paths}"

    def bound(handler: Callable[[Call, ObjectStore], Any]) -> Callable[[Call], Any]:
        async def handle(call: Call) -> dict[str, Any]:
            return await handler(call, objects)  # type: ignore[no-any-return]

        return handle

    router.add("GET", r"/rest/v1/customobjects\.json", bound(_list_custom))
    router.add("GET", base + r"/describe\.json", bound(_describe))
    router.add("POST", base + r"/delete\.json", bound(_delete))
    router.add("GET", base + r"\.json", bound(_query))
    router.add("POST", base + r"\.json", bound(_sync))


def seed_objects(objects: ObjectStore, data: Mapping[str, Any]) -> None:
    """``customObjectTypes`` (apiName, fields {name: dataType}, dedupeFields) and ``objects``
    ({path: [records]}, say ``{"companies": [...], "customobjects/car_c": [...]}``)."""
    for item in data.get("customObjectTypes", ()):
        objects.add_custom_type(
            item["apiName"],
            item["fields"],
            dedupe_fields=item["dedupeFields"],
            display_name=item.get("displayName"),
            searchable=item.get("searchableFields", ()),
        )
    for path, records in (data.get("objects") or {}).items():
        kind = objects.type_at(path)
        for record in records:
            objects.create(kind, record)
