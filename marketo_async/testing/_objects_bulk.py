"""Bulk Custom Object Import and Export in the emulator: the same queues, job pace, files and
answers as the lead import (``_bulk_import``) and export (``_bulk_export``), rows read from
and applied into the object store.

Two imports running at once do not see each other's new records: a key new to the instance
that both files hold is created twice (the dedupe race, as for leads). An export takes an
``updatedAt`` filter of at most 31 days.
"""

from __future__ import annotations

from typing import Any

from ..models._field_values import typed_value
from ._bulk import (
    MAX_IMPORT_FILE_BYTES,
    Bulk,
    Job,
    cell,
    delimiter_of,
    job_handler,
    too_large,
    write_rows,
)
from ._bulk_export import (
    _date_range,
    _fields,
    _header,
    _quota_left,
    _within,
    create_export,
    register_export,
)
from ._bulk_import import (
    _check_columns,
    _checked_file,
    _file,
    _queue_import,
    _read,
    _status_view,
)
from ._call import Call, Router
from ._objects import ObjectStore, ObjectType
from ._store import Store
from ._wire import ApiError, FakeReply

__all__ = ["register"]

KIND = "custom object import"
EXPORT_KIND = "custom object export"


def _row(objects: ObjectStore, kind: ObjectType) -> Any:
    types = kind.all_fields()

    def apply_row(store: Store, job: Job, cells: dict[str, str]) -> tuple[str | None, str | None]:
        values: dict[str, Any] = {}
        for name, text in cells.items():
            try:
                values[name] = typed_value(types.get(name, "string"), text)
            except ValueError as exc:
                return str(exc), None
        key = kind.key_of(values, kind.dedupe_fields)
        if key is None:
            missing = next(name for name in kind.dedupe_fields if name not in values)
            return f"Missing value for dedupe field '{missing}'", None
        found = [] if key in job.details["racing"] else kind.find(kind.dedupe_fields, key)
        if found:
            objects.update(kind, found[0], values)
        else:
            objects.create(kind, values)
            job.details["created"].add(key)
        return None, None

    return apply_row


def _import(bulk: Bulk, objects: ObjectStore) -> Any:
    async def handler(call: Call) -> dict[str, Any] | FakeReply:
        kind = objects.type_at(f"customobjects/{call.match.group('name')}")
        fmt, delimiter, content = _checked_file(call, bulk)
        if len(content) > MAX_IMPORT_FILE_BYTES:
            return too_large()
        header, _ = _read(content, delimiter)
        _check_columns(header, kind.all_fields())
        missing = [name for name in kind.dedupe_fields if name not in header]
        if missing:
            raise ApiError("1003", f"Column '{missing[0]}' is required")
        file = (fmt, delimiter, content)
        details = {"object": kind.name}
        job = await _queue_import(call, bulk, KIND, file, _row(objects, kind), details)
        return call.ok([{"batchId": int(job.id), "status": "Queued", "objectApiName": kind.name}])

    return handler


def _status_of_objects(job: Job, now: float) -> dict[str, Any]:
    view = _status_view(job, now)
    # Marketo counts a custom object import's rows as objects.
    view["numOfObjectsProcessed"] = view.pop("numOfLeadsProcessed")
    view["objectApiName"] = job.details["object"]
    view.pop("importId", None)
    return view


def _create_export(bulk: Bulk, objects: ObjectStore) -> Any:
    async def handler(call: Call) -> dict[str, Any]:
        now = bulk.refresh()
        kind = objects.type_at(f"customobjects/{call.match.group('name')}")
        body = call.json()
        fmt, delimiter = delimiter_of(body.get("format"))
        known = kind.all_fields()
        fields = _fields(body, lambda name: name in known)
        where = body.get("filter")
        if not isinstance(where, dict) or set(where) != {"updatedAt"}:
            raise ApiError("1003", "A custom object export takes an updatedAt filter")
        window = _date_range(where["updatedAt"], "updatedAt")
        _quota_left(bulk)

        def contents() -> tuple[bytes, int]:
            chosen = [
                kind.records[number]
                for number in sorted(kind.records)
                if _within(kind.records[number].get("updatedAt"), window)
            ]
            lines = ([cell(record.get(name)) for name in fields] for record in chosen)
            return write_rows(_header(fields, body), lines, delimiter), len(chosen)

        return await create_export(call, bulk, EXPORT_KIND, fmt, now, contents)

    return handler


def register(router: Router, bulk: Bulk, objects: ObjectStore) -> None:
    name = r"/bulk/v1/customobjects/(?P<name>[A-Za-z][A-Za-z0-9_]*)"
    base = rf"{name}/import"
    router.add("POST", rf"{base}\.json", _import(bulk, objects))
    router.add(
        "GET",
        rf"{base}/(?P<batch>\d+)/status\.json",
        job_handler(bulk, KIND, "batch", _status_of_objects),
    )
    for which in ("failures", "warnings"):
        router.add("GET", rf"{base}/(?P<batch>\d+)/{which}\.json", _file(bulk, KIND, which))
    register_export(router, bulk, rf"{name}/export", EXPORT_KIND, _create_export(bulk, objects))
