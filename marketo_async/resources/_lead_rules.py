"""A lead record's rules: its normalised lookup key, and what Marketo would refuse in it.

The batch engine knows nothing of leads; ``leads.sync`` and ``leads.push`` hand it
:func:`lead_key` and :func:`validate_lead`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._arguments import ID_RANGE, id_or_none
from ._base import RecordRules

__all__ = ["email_problem", "lead_key", "lead_rules", "lookup_key", "validate_lead"]

_INTEGER_FIELDS = frozenset({"id", "leadId"})


def lookup_key(record: Mapping[str, Any], field: str) -> str | int | None:
    """The normalised lookup key of ``record`` for ``field``, or None when it has no value.

    Emails are stripped and casefolded (Marketo matches them case-insensitively), ids become
    integers, anything else a stripped string.

    >>> lookup_key({"email": " Ann@Example.com"}, "email")
    'ann@example.com'
    """
    value = record.get(field)
    if type(value) is str:  # the common case first
        text = value.strip()
    elif value is None or isinstance(value, bool):
        return None
    elif isinstance(value, int):
        return value
    else:
        text = str(value).strip()
    if not text:
        return None
    if field == "email":
        return text.casefold()
    if field in _INTEGER_FIELDS and text.isdigit():
        return int(text)
    return text


def lead_key(lookup_field: str) -> Callable[[Any], str | int | None]:
    """The batch engine's key of a lead record: its :func:`lookup_key` (None for a non-record)."""

    def key(record: Any) -> str | int | None:
        if type(record) is dict or isinstance(record, Mapping):
            return lookup_key(record, lookup_field)
        return None

    return key


# No Marketo lead field holds an integer beyond 64 bits (integer fields hold 32).
_MAX_INTEGER = 2**63


def _container(record: Mapping[str, Any]) -> str | None:
    """The first field holding a list or an object, or an integer no field can hold."""
    for name, value in record.items():
        kind = type(value)
        if kind is str or kind is bool or value is None or kind is float:
            continue
        if isinstance(value, (Mapping, list, tuple, set)):
            return (
                f"field {name!r} holds a {type(value).__name__}; every lead field takes one "
                "value (text, a number, a boolean or a date)"
            )
        if isinstance(value, int) and not -_MAX_INTEGER <= value < _MAX_INTEGER:
            return f"field {name!r} holds {value}, beyond any number a lead field can hold"
    return None


def email_problem(record: Mapping[str, Any]) -> str | None:
    """Why a lead record's ``email`` would be refused by Marketo (it takes ASCII only), or None."""
    email = record.get("email")
    if isinstance(email, str) and not email.isascii():
        return (
            f"field 'email' has non-ASCII characters ({email!r}); "
            "Marketo accepts ASCII email addresses only"
        )
    return None


def validate_lead(action: str, lookup_field: str) -> Callable[[int, Any], str | None]:
    """A validator for lead upserts: refuses, before sending, a record Marketo would skip.

    ``createDuplicate`` always inserts, so it needs no lookup value; the other rules stand.

    >>> check = validate_lead("createOrUpdate", "email")
    >>> check(17, {"firstName": "Ann"})
    "record 17: no value for lookup field 'email'"
    """
    keyed = action != "createDuplicate"

    def validate(index: int, record: Any) -> str | None:
        if type(record) is not dict and not isinstance(record, Mapping):
            return f"record {index}: not a mapping of field names to values ({record!r})"
        if keyed and lookup_key(record, lookup_field) is None:
            return f"record {index}: no value for lookup field {lookup_field!r}"
        problem = email_problem(record)
        if problem is not None:
            return f"record {index}: {problem}"
        lead_id = record.get("id")
        if lead_id is not None and action != "updateOnly":
            return (
                f"record {index}: field 'id' is allowed only with action 'updateOnly', "
                f"not {action!r} (Marketo answers 1003)"
            )
        if lead_id is not None and id_or_none(lead_id) is None:
            return f"record {index}: field 'id' must be {ID_RANGE}, not {lead_id!r}"
        problem = _container(record)
        return None if problem is None else f"record {index}: {problem}"

    return validate


def lead_rules(action: str, lookup_field: str) -> RecordRules[Any]:
    """Lead records for Sync Leads or Push Lead: keyed by ``lookup_field`` (leased fleet-wide)
    unless ``createDuplicate``, which has no key."""
    keyed = action != "createDuplicate"
    return RecordRules(
        key=lead_key(lookup_field) if keyed else None,
        validate=validate_lead(action, lookup_field),
        lease_scope=f"leads:{lookup_field}" if keyed else None,
    )
