"""A data object record's rules: its dedupe key (one field or several), and what Marketo
would refuse in it, checked against the object's description before any call."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..models._field_values import value_problem
from ..models.objects import ObjectDescription
from ._base import RecordRules
from ._lead_rules import lookup_key

__all__ = ["key_fields", "object_key", "object_rules", "validate_object"]

_SYSTEM_FIELDS = frozenset({"createdAt", "updatedAt", "seq"})


def key_fields(description: ObjectDescription, by: str) -> tuple[str, ...]:
    """The fields a record is matched by: the dedupe fields, or the id field."""
    return description.dedupe_fields if by == "dedupeFields" else (description.id_field,)


def _part(value: Any) -> str | int | None:
    if value is None or isinstance(value, bool):
        return None if value is None else str(value).lower()
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not text:
        return None
    return int(text) if text.isdigit() and len(text) < 19 else text


def object_key(record: Mapping[str, Any], fields: Sequence[str]) -> str | int | None:
    """The normalised key of ``record`` over ``fields``; None when any part is missing.

    One field gives its value as a bulk import of the object keys it (``lookup_key``);
    several give one JSON text, so ``("o1", 7, "Buyer")`` is one key whether ``leadId`` came
    as a number or as text.

    >>> object_key({"externalOpportunityId": "o1", "leadId": "7", "role": "Buyer"},
    ...            ("externalOpportunityId", "leadId", "role"))
    '["o1", 7, "Buyer"]'
    """
    if len(fields) == 1:
        # One field: the key a bulk import of the same object leases too (lookup_key).
        return lookup_key(record, fields[0])
    parts = [_part(record.get(name)) for name in fields]
    if any(part is None for part in parts):
        return None
    return json.dumps(parts)


def _value_problem(data_type: str, value: Any) -> str | None:
    if isinstance(value, (Mapping, list, tuple, set)):
        return f"holds a {type(value).__name__}; a field takes one value"
    problem = value_problem(data_type, value)
    return None if problem is None else f"holds a value Marketo refuses: {problem}"


def validate_object(
    description: ObjectDescription, fields: Sequence[str]
) -> Callable[[int, Any], str | None]:
    """A validator refusing, before sending, a record Marketo would skip: not a mapping, a
    key field without a value, a field the object lacks, a value its type cannot hold."""
    types = {field.name: field.data_type for field in description.fields}
    known = set(types) | _SYSTEM_FIELDS | {description.id_field}
    what = description.name or "object"

    def validate(index: int, record: Any) -> str | None:
        if not isinstance(record, Mapping):
            return f"record {index}: not a mapping of field names to values ({record!r})"
        for name in fields:
            if _part(record.get(name)) is None:
                return f"record {index}: no value for key field {name!r}"
        for name, value in record.items():
            if name not in known:
                return f"record {index}: field {name!r} is not a field of {what}"
            problem = _value_problem(types.get(name, "string"), value)
            if problem is not None:
                return f"record {index}: field {name!r} {problem}"
        return None

    return validate


def object_rules(
    description: ObjectDescription, by: str, *, scope: str, keyed: bool = True
) -> RecordRules[Any]:
    """Records of one object matched ``by`` its dedupe fields or id field: keyed by them
    (leased fleet-wide under ``scope``), validated against ``description``."""
    fields = key_fields(description, by)

    def key(record: Any) -> str | int | None:
        return object_key(record, fields) if isinstance(record, Mapping) else None

    return RecordRules(
        key=key if keyed else None,
        validate=validate_object(description, fields),
        lease_scope=f"objects:{scope}:{by}" if keyed else None,
    )
