"""Rules shared by the lead and program-member schema endpoints: names, new fields, updates.

Both objects take the same shapes (``.../schema/fields.json``), so both resources check their
arguments here, before any call, and both are a :class:`SchemaFields` told their endpoint,
field model and limits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import attrs

from .._batch import (
    BatchReport,
    RecordOutcome,
    WriteHooks,
    WriteOptions,
)
from .._errors import MarketoError
from .._paging import Pager
from ..models._converter import converter
from ._arguments import FIELD_NAME, check_batch_size, check_field_name
from ._base import RecordRules, Resource

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "FIELD_DATA_TYPES",
    "FIELD_NAME",
    "FIELD_NOT_FOUND",
    "UPDATABLE_ATTRIBUTES",
    "NewField",
    "SchemaFields",
    "check_field_name",
    "field_changes",
    "new_field_records",
]

FieldT = TypeVar("FieldT")

# Marketo: the answer for a field name that does not exist.
FIELD_NOT_FOUND = "1006"
# Marketo: the data types Create Lead Fields accepts (the Swagger enum).
FIELD_DATA_TYPES = frozenset(
    {
        "boolean",
        "currency",
        "date",
        "datetime",
        "email",
        "float",
        "integer",
        "percent",
        "phone",
        "score",
        "string",
        "url",
    }
)
# Marketo: the only attributes Update ... Field may change (dataType, length, name and isCustom
# never change through the API; standard fields also keep displayName and isHidden).
UPDATABLE_ATTRIBUTES: Mapping[str, str] = {
    "display_name": "displayName",
    "description": "description",
    "is_hidden": "isHidden",
    "is_html_encoding_in_email": "isHtmlEncodingInEmail",
    "is_sensitive": "isSensitive",
}
_BOOLEAN_ATTRIBUTES = frozenset({"isHidden", "isHtmlEncodingInEmail", "isSensitive"})
# Attributes a new field may carry, by Python name and by REST name.
_CREATE_ATTRIBUTES: Mapping[str, str] = {
    "name": "name",
    "data_type": "dataType",
    **UPDATABLE_ATTRIBUTES,
}
_CREATE_REQUIRED = ("name", "displayName", "dataType")


@attrs.frozen(kw_only=True)
class NewField:
    """A field to create (``name``, ``display_name`` and ``data_type`` are required).

    >>> NewField(name="acmeAccessCode", display_name="Acme Access Code", data_type="string")
    """

    name: str
    display_name: str
    data_type: str
    description: str | None = None
    is_hidden: bool | None = None
    is_html_encoding_in_email: bool | None = None
    is_sensitive: bool | None = None


def _wire_names(
    record: Mapping[str, Any], allowed: Mapping[str, str], argument: str
) -> dict[str, Any]:
    """``record`` with Python or REST attribute names, as REST names; unknown names refused."""
    rest_names = set(allowed.values())
    wire: dict[str, Any] = {}
    unknown: list[str] = []
    for name, value in record.items():
        key = allowed.get(name, name if name in rest_names else None)
        if key is None:
            unknown.append(str(name))
        elif value is not None:
            wire[key] = value
    if unknown:
        can = ", ".join(allowed)
        raise ValueError(
            f"{argument}: Marketo's API cannot set {', '.join(unknown)}; it can set only {can}"
        )
    for key, value in wire.items():
        if key in _BOOLEAN_ATTRIBUTES and not isinstance(value, bool):
            raise ValueError(f"{argument}: {key} must be True or False, not {value!r}")
        if key not in _BOOLEAN_ATTRIBUTES and not isinstance(value, str):
            raise ValueError(f"{argument}: {key} must be a string, not {value!r}")
    return wire


def new_field_records(
    fields: Iterable[NewField | Mapping[str, Any]], argument: str = "fields"
) -> list[dict[str, Any]]:
    """The ``input`` of Create ... Fields, checked: names, required attributes, data types.

    Items are :class:`NewField` or mappings with Python (``display_name``) or REST
    (``displayName``) attribute names.
    """
    if isinstance(fields, (str, bytes, NewField, Mapping)):
        raise ValueError(f"{argument} must be a list of fields to create, not one field")
    records: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, field in enumerate(fields):
        where = f"{argument}[{index}]"
        if isinstance(field, NewField):
            raw: Mapping[str, Any] = converter.unstructure(field)
        elif isinstance(field, Mapping):
            raw = field
        else:
            raise ValueError(f"{where} must be a NewField or a mapping, not {field!r}")
        record = _wire_names(raw, _CREATE_ATTRIBUTES, where)
        missing = [key for key in _CREATE_REQUIRED if not record.get(key)]
        if missing:
            raise ValueError(f"{where} has no {', '.join(missing)} (required)")
        check_field_name(record["name"], f"{where}.name")
        if record["dataType"] not in FIELD_DATA_TYPES:
            raise ValueError(
                f"{where}.data_type must be one of {', '.join(sorted(FIELD_DATA_TYPES))}, "
                f"not {record['dataType']!r}"
            )
        if record["name"].casefold() in seen:
            raise ValueError(f"{where}.name {record['name']!r} is given twice")
        seen.add(record["name"].casefold())
        records.append(record)
    if not records:
        raise ValueError(f"{argument} must hold at least one field to create")
    return records


def field_changes(changes: Mapping[str, Any], argument: str = "changes") -> dict[str, Any]:
    """The single ``input`` record of Update ... Field; attributes the API can't change refused.

    >>> field_changes({"display_name": "Acme Code", "is_sensitive": True})
    {'displayName': 'Acme Code', 'isSensitive': True}
    """
    if not changes:
        raise ValueError(
            f"{argument}: nothing to change; give any of {', '.join(UPDATABLE_ATTRIBUTES)}"
        )
    wire = _wire_names(changes, UPDATABLE_ATTRIBUTES, argument)
    if not wire:
        raise ValueError(f"{argument}: every change is None; nothing to send")
    if wire.get("displayName") == "":
        raise ValueError(f"{argument}: display_name must not be empty")
    return wire


class SchemaFields(Resource, Generic[FieldT]):
    """An object's schema fields (``.../schema/fields``): get, list, create, update.

    Subclasses name the endpoint, the model of one field and how many new fields one call
    (and the whole object) takes; each defines ``update`` with its own signature on top of
    :meth:`_update`.
    """

    # The endpoint without ``.json``, e.g. "/rest/v1/leads/schema/fields".
    _fields_path: ClassVar[str]
    # The model each field is decoded into.
    _field_type: type[FieldT]
    # How many new fields one create call carries.
    _new_fields_per_call: ClassVar[int]
    # How many custom fields the object holds at most (None: no limit checked here).
    _max_custom_fields: ClassVar[int | None] = None
    # The object's name in messages, e.g. "program member".
    _object_name: ClassVar[str]

    async def get(self, name: str) -> FieldT | None:
        """One field by REST API name, or None when there is no such field."""
        name = check_field_name(name, "name")
        try:
            body = await self._api.get(f"{self._fields_path}/{name}.json")
        except MarketoError as error:
            if error.code == FIELD_NOT_FOUND:
                return None
            raise
        found = body.get("result") or []
        return self._parse(found[0]) if found else None

    def list(self, *, batch_size: int | None = None) -> Pager[FieldT]:
        """Every field, standard, custom and hidden, page by page."""
        params = {"batchSize": check_batch_size(batch_size)}
        return self._api.pages(f"{self._fields_path}.json", params, self._parse)

    async def create(
        self,
        fields: Iterable[NewField | Mapping[str, Any]],
        **hooks: Unpack[WriteHooks],
    ) -> BatchReport:
        """Create custom fields: each ``created``, or ``skipped`` with Marketo's reasons.

        Names must start with a letter and hold only letters, digits and underscores; data
        types are boolean, currency, date, datetime, email, float, integer, percent, phone,
        score, string or url. Fields cannot be deleted afterwards, only hidden.
        """
        records = new_field_records(fields, "fields")
        limit = self._max_custom_fields
        if limit is not None and len(records) > limit:
            raise ValueError(
                f"fields holds {len(records)} fields; the {self._object_name} object takes at "
                f"most {limit} custom fields"
            )

        options = WriteOptions(batch_size=self._new_fields_per_call, **hooks)
        return await self._api.write_input(
            records,
            f"{self._fields_path}.json",
            RecordRules(),
            options,
            max_in_flight=1,  # schema writes are few; one at a time keeps names unique
        )

    async def _update(self, name: str, changes: Mapping[str, Any]) -> RecordOutcome:
        """Send ``changes`` to the field ``name`` (Update ... Field), checked first."""
        name = check_field_name(name, "name")
        change = field_changes(changes, "changes")
        path = f"{self._fields_path}/{name}.json"
        return await self._api.write_one(path, json={"input": [change]})

    def _parse(self, item: Mapping[str, Any]) -> FieldT:
        return converter.structure(item, self._field_type)
