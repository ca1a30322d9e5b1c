"""Schema field endpoints, shared by leads and program members: get, browse, create, update."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ._call import Call, Router
from ._schema import FIELD_DATA_TYPES, FIELD_NAME, FieldDef
from ._store import Store
from ._wire import ApiError

__all__ = ["register_schema_routes"]

_NEVER_UPDATED = ("dataType", "length", "name", "isCustom")
_STANDARD_LOCKED = ("displayName", "isHidden")
_ATTRIBUTES = {
    "displayName": "display_name",
    "description": "description",
    "isHidden": "is_hidden",
    "isHtmlEncodingInEmail": "is_html_encoding_in_email",
    "isSensitive": "is_sensitive",
}

FieldTable = Callable[[Store], dict[str, FieldDef]]


def register_schema_routes(
    router: Router, prefix: str, table: FieldTable, *, kind: str, max_custom: int
) -> None:
    """Add ``{prefix}/schema/fields.json`` and ``{prefix}/schema/fields/{name}.json``."""

    async def get_one(call: Call) -> dict[str, Any]:
        name = call.match.group("name")
        field = table(call.store).get(name)
        if field is None:
            raise ApiError("1006", f"Field '{name}' not found")
        return call.ok([field.schema_view()])

    async def browse(call: Call) -> dict[str, Any]:
        fields = list(table(call.store).values())
        position = {field.name: number for number, field in enumerate(fields, start=1)}
        return call.page(
            kind, fields, lambda field: position[field.name], lambda field: field.schema_view()
        )

    async def create(call: Call) -> dict[str, Any]:
        records = call.input(call.json())
        fields = table(call.store)
        taken = _Taken(fields.values(), max_custom)
        planned = [taken.plan(call, record) for record in records]
        await call.delay(len(records))
        results: list[dict[str, Any]] = []
        for item in planned:
            if isinstance(item, FieldDef):
                if kind == "leadfields":
                    call.store.add_lead_field(item)
                else:
                    fields[item.name] = item
                results.append({"name": item.name, "status": "created"})
            else:
                results.append(item)
        return call.ok(results)

    async def update(call: Call) -> dict[str, Any]:
        name = call.match.group("name")
        records = call.input(call.json())
        change = records[0] if isinstance(records[0], dict) else {}
        field = table(call.store).get(name)
        await call.delay(1)
        if field is None:
            return call.ok([call.skipped("1006", f"Field '{name}' not found", name=name)])
        locked = next((k for k in change if k in _NEVER_UPDATED), None)
        if locked is None and not field.is_custom:
            locked = next((k for k in change if k in _STANDARD_LOCKED), None)
        if locked is None and "isHidden" in change and not field.is_api_created:
            locked = "isHidden"
        if locked is not None:
            return call.ok(
                [
                    call.skipped(
                        "1003",
                        f"Attribute '{locked}' cannot be updated on field '{name}'",
                        name=name,
                    )
                ]
            )
        for key, value in change.items():
            if key in _ATTRIBUTES:
                setattr(field, _ATTRIBUTES[key], value)
        return call.ok([{"name": name, "status": "updated"}])

    base = prefix.replace(".", r"\.")
    router.add("GET", rf"{base}/schema/fields/(?P<name>[^/]+)\.json", get_one)
    router.add("POST", rf"{base}/schema/fields/(?P<name>[^/]+)\.json", update)
    router.add("GET", rf"{base}/schema/fields\.json", browse)
    router.add("POST", rf"{base}/schema/fields\.json", create)


class _Taken:
    """The names, display names and custom-field count a create call has used so far."""

    def __init__(self, fields: Iterable[FieldDef], max_custom: int) -> None:
        existing = list(fields)
        self._custom = sum(1 for f in existing if f.is_custom)
        self._max_custom = max_custom
        self._names = {f.name.lower() for f in existing}
        self._display_names = {f.display_name.lower() for f in existing}

    def plan(self, call: Call, record: Any) -> FieldDef | dict[str, Any]:
        """The field one record creates, or its ``skipped`` entry."""
        record = record if isinstance(record, dict) else {}
        name = str(record.get("name") or "")
        display = str(record.get("displayName") or "")
        refused = self._refusal(record, name, display)
        if refused is not None:
            code, message = refused
            return call.skipped(code, message, name=name)
        self._custom += 1
        self._names.add(name.lower())
        self._display_names.add(display.lower())
        data_type = str(record["dataType"])
        return FieldDef(
            name=name,
            display_name=display,
            data_type=data_type,
            length=255 if data_type in {"string", "email", "phone", "url"} else None,
            description=record.get("description"),
            is_custom=True,
            is_api_created=True,
            is_hidden=bool(record.get("isHidden", False)),
            is_html_encoding_in_email=bool(record.get("isHtmlEncodingInEmail", True)),
            is_sensitive=bool(record.get("isSensitive", False)),
        )

    def _refusal(self, record: dict[str, Any], name: str, display: str) -> tuple[str, str] | None:
        data_type = str(record.get("dataType") or "")
        missing = next((k for k in ("displayName", "name", "dataType") if not record.get(k)), None)
        if missing is not None:
            return "1002", f"Missing value for required parameter '{missing}'"
        if not FIELD_NAME.match(name):
            return "1003", f"Invalid field name '{name}'"
        if data_type not in FIELD_DATA_TYPES:
            return "1003", f"Invalid dataType '{data_type}'"
        if name.lower() in self._names or display.lower() in self._display_names:
            return "1017", f"Field '{name}' already exists"
        if self._custom >= self._max_custom:
            return "1028", "Maximum field limit reached"
        return None
