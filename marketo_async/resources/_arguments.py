"""Argument checks shared by the resources: ids, field-name lists, page sizes, filter values.

Each check runs before any call and raises ``ValueError`` naming the argument it refuses.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterable, Callable, Iterable, Mapping, Sequence
from typing import Any

from .._batch import OutcomeHook, Progress, StopHook, mapped
from .._paging import MAX_BATCH_SIZE
from ..models._converter import format_datetime

__all__ = [
    "FIELD_NAME",
    "ID_RANGE",
    "MAX_FILTER_VALUES",
    "MAX_ID",
    "FieldNames",
    "LeadId",
    "LeadIds",
    "OutcomeHook",
    "Progress",
    "Records",
    "StopHook",
    "check_batch_size",
    "check_field_name",
    "check_id_field",
    "check_lead_id",
    "field_names",
    "filter_chunks",
    "filter_values",
    "id_or_none",
    "many",
    "non_empty_text",
    "plain_record",
    "plain_value",
    "positive_id",
    "unique_ids",
]

LeadId = int | str  # a string of digits (a CSV cell) is accepted too
LeadIds = Iterable[LeadId] | AsyncIterable[LeadId]
FieldNames = str | Iterable[str] | None
# The records of a write of many: mappings of field names to values, read as they come.
Records = Iterable[Mapping[str, Any]] | AsyncIterable[Mapping[str, Any]]

# Marketo: filterValues (or a compound key query's input) holds at most 300 values per call.
MAX_FILTER_VALUES = 300

# Marketo: ids are positive 32-bit integers.
MAX_ID = 2**31 - 1
ID_RANGE = f"a positive integer id of at most 32 bits (1 to {MAX_ID:,})"
_MAX_ID_DIGITS = len(str(MAX_ID))

# Marketo: a field's API name starts with a letter and holds only letters, digits, underscores.
FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def check_field_name(name: object, argument: str) -> str:
    """``name`` when it is a valid field API name; a ValueError naming ``argument`` otherwise.

    >>> check_field_name("acmeAccessCode", "name")
    'acmeAccessCode'
    """
    if not isinstance(name, str) or not FIELD_NAME.fullmatch(name):
        raise ValueError(
            f"{argument} must be a field API name: a letter, then letters, digits or "
            f"underscores (got {name!r})"
        )
    return name


def id_or_none(value: object) -> int | None:
    """A Marketo id (1 to 2**31 - 1) from an int or a string of digits (a CSV cell); None
    otherwise.

    >>> id_or_none(" 42 "), id_or_none(0), id_or_none(True), id_or_none(2**70)
    (42, None, None, None)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value <= MAX_ID else None
    if isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.isdigit() and len(text) <= _MAX_ID_DIGITS:
            number = int(text)
            return number if 0 < number <= MAX_ID else None
    return None


def positive_id(value: object, argument: str) -> int:
    """An id given as an int (or digits): 1 to 2**31 - 1, never a bool; ValueError otherwise."""
    number = id_or_none(value)
    if number is None:
        raise ValueError(f"{argument} must be {ID_RANGE}, got {value!r}")
    return number


def unique_ids(
    values: Iterable[object],
    argument: str,
    *,
    at_most: int,
    empty_hint: str,
    limit_hint: str,
    noun: str = "ids",
) -> list[int]:
    """Each value a positive id (a bad one refused as ``argument[i]``), each once, in order.

    None at all is refused (``"<argument> is empty: <empty_hint>"``), and so are more than
    ``at_most`` (``"<argument> holds <count> <noun>; <limit_hint>"``).
    """
    ids = list(
        dict.fromkeys(positive_id(value, f"{argument}[{i}]") for i, value in enumerate(values))
    )
    if not ids:
        raise ValueError(f"{argument} is empty: {empty_hint}")
    if len(ids) > at_most:
        raise ValueError(f"{argument} holds {len(ids)} {noun}; {limit_hint}")
    return ids


def check_lead_id(index: int, value: object) -> str | None:
    """The batch engine's check of one lead id: why it is refused, or None."""
    if id_or_none(value) is None:
        return f"record {index}: a lead id must be {ID_RANGE}, not {value!r}"
    return None


def check_id_field(field: str) -> Callable[[int, Any], str | None]:
    """The batch engine's check of a record's id ``field`` (``id``, ``leadId``)."""

    def check(index: int, record: Any) -> str | None:
        if not isinstance(record, Mapping):
            return f"record {index}: not a mapping of field names to values ({record!r})"
        value = record.get(field)
        if id_or_none(value) is None:
            return f"record {index}: field {field!r} must be {ID_RANGE}, not {value!r}"
        return None

    return check


def field_names(fields: FieldNames, argument: str = "fields") -> str | None:
    """The ``fields`` query value: REST names joined by commas (None keeps Marketo's default)."""
    if fields is None:
        return None
    names = fields.split(",") if isinstance(fields, str) else list(fields)
    checked = [
        check_field_name(name.strip() if isinstance(name, str) else name, f"{argument}[{i}]")
        for i, name in enumerate(names)
    ]
    if not checked:
        raise ValueError(f"{argument} must name at least one field, or be None for the defaults")
    return ",".join(dict.fromkeys(checked))


def check_batch_size(batch_size: int | None) -> int | None:
    """A page size for a lead-database read: None (Marketo's default) or 1 to 300."""
    if batch_size is not None and (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, int)
        or not 1 <= batch_size <= MAX_BATCH_SIZE
    ):
        raise ValueError(f"batch_size must be 1 to {MAX_BATCH_SIZE}, got {batch_size!r}")
    return batch_size


def non_empty_text(value: object, argument: str) -> str:
    """``value`` when it is a string with something besides white space."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{argument} must be a non-empty string, got {value!r}")
    return value


def filter_values(
    values: Iterable[str | int | bool], *, booleans: bool = False, fold_case: bool = False
) -> list[str]:
    """Marketo's ``filterValues`` for ``values``: each as text, once, in order.

    Strings and integers are taken, and booleans (as ``true``/``false``) when ``booleans``;
    with ``fold_case`` two values differing only in case count once (the first is kept).
    """
    if isinstance(values, (str, bytes, int, Mapping)):
        raise ValueError(
            f"values must be a list of values, not a single {type(values).__name__} "
            "(wrap one value in a list)"
        )
    kinds = "strings, integers or booleans" if booleans else "strings or integers"
    kept: dict[str, str] = {}
    for index, value in enumerate(values):
        if isinstance(value, bool) and booleans:
            text = "true" if value else "false"
        elif isinstance(value, (str, int)) and not isinstance(value, bool):
            text = str(value).strip()
        else:
            raise ValueError(f"values must be {kinds}; values[{index}] is {value!r}")
        if not text or "," in text:
            # Marketo splits filterValues on commas, so such a value could never match.
            raise ValueError(f"values[{index}] must be non-empty and without commas, got {value!r}")
        kept.setdefault(text.casefold() if fold_case else text, text)
    if not kept:
        raise ValueError("values must hold at least one value to filter on")
    return list(kept.values())


def filter_chunks(texts: Sequence[str]) -> list[str]:
    """``texts`` (see :func:`filter_values`) as the ``filterValues`` of one call each:
    comma-joined, at most 300 a call."""
    step = MAX_FILTER_VALUES
    return [",".join(texts[at : at + step]) for at in range(0, len(texts), step)]


def plain_value(value: Any) -> Any:
    """A value as JSON carries it: a datetime or date as ISO-8601 text, anything else as is."""
    if isinstance(value, (dt.datetime, dt.date)):
        return format_datetime(value)
    return value


_JSON_SCALARS: frozenset[type] = frozenset({str, int, float, bool, type(None)})


def plain_record(record: Any) -> Any:
    """A record as a JSON-ready dict (datetimes as ISO-8601); non-mappings pass unchanged.

    A plain dict of JSON values (the usual case) is passed as it is, without a copy.
    """
    if type(record) is dict:
        for name, value in record.items():
            if type(name) is not str:
                break
            if type(value) in _JSON_SCALARS:  # the usual case: no isinstance walk
                continue
            if isinstance(value, dt.date):
                break
        else:
            return record
    elif not isinstance(record, Mapping):
        return record
    return {str(name): plain_value(value) for name, value in record.items()}


def many(
    items: Iterable[Any] | AsyncIterable[Any], convert: Callable[[Any], Any], argument: str
) -> Iterable[Any] | AsyncIterable[Any]:
    """A write's input (``argument``), each record converted as it is read (see
    :func:`mapped`); a single value (a string, a mapping) is refused, naming the argument."""
    if isinstance(items, (str, bytes, Mapping)):
        raise ValueError(f"{argument} must be an iterable of many, not a single value")
    if not isinstance(items, (Iterable, AsyncIterable)):
        raise ValueError(f"{argument} must be an iterable or an async iterable, got {items!r}")
    return mapped(items, convert)
