"""What a Lead Gen & CRM lead record may hold, its keys, and how it goes on the wire.

Checks run before any call and name the record and the field they refuse; conversion turns
``None`` into ``""`` (a null on a standard field is object error 205) and datetimes into UTC
``Y-m-d H:i:s``, as each record is read, so a sequence stays sized for progress.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .._batch import mapped
from .models import TIMESTAMP_FORMAT

__all__ = [
    "as_lead_id",
    "as_utc",
    "bad_value",
    "email_key",
    "field_list",
    "listed",
    "update_key",
    "validate_create",
    "validate_update",
    "where_clause",
    "wire_call",
    "wire_lead",
    "wire_value",
    "wired",
]


def email_key(record: Mapping[str, Any]) -> str | None:
    """The record's email as the API compares it (case-insensitively), or None."""
    value = record.get("emailAddress")
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip().casefold()  # the API matches emails case-insensitively


def as_lead_id(value: object) -> int | None:
    """A positive lead id from an int or a string of digits (a CSV cell); None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value.strip())
        return number if number > 0 else None
    return None


SCALARS = (str, int, float, bool, type(None), dt.datetime, dt.date)


def bad_value(index: int, record: Mapping[str, Any]) -> str | None:
    """Why ``record`` is not a flat mapping of systemName to one value (None when it is)."""
    if not isinstance(record, Mapping):
        return f"record {index}: a lead must be a mapping of systemName to value"
    for name, value in record.items():
        if not isinstance(name, str) or not name:
            return f"record {index}: field names must be non-empty systemNames, got {name!r}"
        if not isinstance(value, SCALARS):
            return (
                f"record {index}: field {name!r} must be a single value, not {type(value).__name__}"
            )
    return None


def check_email(index: int, record: Mapping[str, Any]) -> str | None:
    value = record.get("emailAddress")
    if not isinstance(value, str) or not value.strip():
        return f"record {index}: field 'emailAddress' is required to create a lead"
    text = value.strip()
    # The API does not check syntax; a lead created with a broken address is hard to undo.
    local, at, domain = text.rpartition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in text):
        return f"record {index}: field 'emailAddress' is not an email address ({value!r})"
    return None


def validate_create(index: int, record: Mapping[str, Any]) -> str | None:
    """Refuse, before any call, a lead createLeads could not take."""
    problem = bad_value(index, record) or check_email(index, record)
    if problem is None and "id" in record and record["id"] not in (None, ""):
        problem = f"record {index}: field 'id' cannot be set on a new lead"
    return problem


def validate_update(index: int, record: Mapping[str, Any]) -> str | None:
    """Refuse a record with neither a lead ``id`` nor an ``emailAddress`` to find it by."""
    problem = bad_value(index, record)
    if problem is not None:
        return problem
    raw_id = record.get("id")
    if raw_id not in (None, ""):
        if as_lead_id(raw_id) is None:
            return f"record {index}: field 'id' must be a positive integer lead id, not {raw_id!r}"
        return None
    if email_key(record) is None:
        return f"record {index}: give 'id' or 'emailAddress' to find the lead to update"
    return check_email(index, record)


def update_key(record: Mapping[str, Any]) -> str | None:
    lead_id = as_lead_id(record.get("id"))
    if lead_id is not None:
        return f"id:{lead_id}"
    email = email_key(record)
    return None if email is None else f"email:{email}"


def wire_value(value: Any) -> Any:
    """A value as the API takes it: null as "" (a null on a standard field is error 205),
    datetimes as ``Y-m-d H:i:s`` UTC."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return as_utc(value).strftime(TIMESTAMP_FORMAT)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def wire_lead(record: Mapping[str, Any]) -> dict[str, Any]:
    lead = {name: wire_value(value) for name, value in record.items()}
    if "id" in lead:
        lead_id = as_lead_id(lead["id"])
        if lead_id is not None:
            lead["id"] = lead_id
        elif isinstance(lead["id"], str) and not lead["id"].strip():
            del lead["id"]  # empty (a CSV cell): find the lead by email
    if isinstance(lead.get("emailAddress"), str):
        lead["emailAddress"] = lead["emailAddress"].strip()
    return lead


def as_utc(moment: dt.datetime) -> dt.datetime:
    """Naive datetimes are UTC (the v1.2 API's zone)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc)


def field_list(fields: str | Iterable[str] | None) -> list[str] | None:
    if fields is None:
        return None
    names = [fields] if isinstance(fields, str) else list(fields)
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"fields must be systemNames, got {name!r}")
    # The id always comes back, so that every lead has .id and pages can be de-duplicated.
    return ["id", *(name for name in names if name != "id")]


def listed(result: Any, key: str) -> list[Mapping[str, Any]]:
    raw = result.get(key) if isinstance(result, Mapping) else None
    return [item for item in raw if isinstance(item, Mapping)] if isinstance(raw, list) else []


def wired(records: Any, convert: Callable[[Any], Any]) -> Any:
    """``records`` with each mapping converted for the wire as it is read (see
    :func:`mapped`); anything else passes as is, for validation to refuse."""

    def one(record: Any) -> Any:
        return convert(record) if isinstance(record, Mapping) else record

    return mapped(records, one)


def wire_call(record: Mapping[str, Any]) -> dict[str, Any]:
    return {name: wire_value(value) for name, value in record.items()}


def where_clause(where: Mapping[str, Any] | None) -> dict[str, Any]:
    if where is None:
        return {}
    if not isinstance(where, Mapping):
        raise ValueError(f"where must be a mapping of field to value, got {where!r}")
    return {str(name): wire_value(value) for name, value in where.items()}
