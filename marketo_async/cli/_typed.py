"""CSV cells (and JSONL values) as the type Describe Lead2 gives their field.

A CSV cell is text; Marketo wants an integer field's value as a JSON number (a strict server
answers 1004 for the lead id ``"1005"`` sent as text). Each value is converted to its field's
type, and a value that does not fit (``2**70`` for an integer, ``n/a`` for a score,
``31/02/1990`` for a date, a list or an object for any lead field) refuses its row, naming
the field, before any call.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..models._field_values import INT32_MAX, INT32_MIN, boolean_value, float_value
from ..resources._arguments import ID_RANGE, id_or_none

__all__ = ["TypeMismatch", "record_check", "typed_record"]

_INTEGER_TYPES = frozenset({"integer", "score"})
_NUMBER_TYPES = frozenset({"float", "currency", "percent"})


class TypeMismatch(ValueError):
    """A value its field's type cannot hold; the message names the field."""


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError
        value = int(value)
    if isinstance(value, str):
        text = value.strip()
        value = int(text) if text.lstrip("+-").isdigit() else _integer(float(text))
    if not isinstance(value, int) or not INT32_MIN <= value <= INT32_MAX:
        raise ValueError
    return value


def _number(value: Any) -> float | int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value  # an integer stays one
    return float_value(value)


def _date(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError
    text = value.strip()
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        return dt.datetime.fromisoformat(text).date().isoformat()


def _datetime(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError
    text = value.strip()
    dt.datetime.fromisoformat(text)  # checked only: the text (and its zone, or none) is kept
    return text


_CONVERT: dict[str, Callable[[Any], Any]] = {
    **dict.fromkeys(_INTEGER_TYPES, _integer),
    **dict.fromkeys(_NUMBER_TYPES, _number),
    "boolean": boolean_value,
    "date": _date,
    "datetime": _datetime,
}

_WANTED = {
    "integer": f"an integer from {INT32_MIN:,} to {INT32_MAX:,}",
    "float": "a finite number",
    "boolean": "true or false (also 1/0, yes/no)",
    "date": "a date as YYYY-MM-DD",
    "datetime": "an ISO 8601 date and time (2024-05-01T09:30:00Z)",
}


def _wanted(data_type: str) -> str:
    if data_type in _INTEGER_TYPES:
        return _WANTED["integer"]
    if data_type in _NUMBER_TYPES:
        return _WANTED["float"]
    return _WANTED.get(data_type, data_type)


def _convert(name: str, value: Any, data_type: str | None) -> Any:
    if isinstance(value, (Mapping, list, tuple, set)):
        raise TypeMismatch(
            f"field {name!r} holds a {type(value).__name__}; a lead field takes one value"
        )
    if name == "id" and value is not None:
        lead_id = id_or_none(value)
        if lead_id is None:
            raise TypeMismatch(f"field 'id' must be {ID_RANGE}, not {value!r}")
        return lead_id
    convert = _CONVERT.get(data_type or "")
    if convert is None or value is None:
        return value
    try:
        return convert(value)
    except (ValueError, TypeError, OverflowError):
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        raise TypeMismatch(
            f"field {name!r} is {data_type}: {shown} is not {_wanted(data_type or '')}"
        ) from None


def typed_record(types: Mapping[str, str]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A record with each value converted to its field's type (``types``: field name to
    Describe Lead2 ``dataType``); raises :class:`TypeMismatch` naming the first field that
    does not fit.

    >>> typed_record({"id": "integer"})({"id": "1005", "city": "Oslo"})
    {'id': 1005, 'city': 'Oslo'}
    """

    checked = _checked_fields(types)

    def typed(record: dict[str, Any]) -> dict[str, Any]:
        return {
            name: (
                value
                if type(value) is str and name not in checked
                else _convert(name, value, types.get(name))
            )
            for name, value in record.items()
        }

    return typed


def record_check(types: Mapping[str, str]) -> Callable[[Mapping[str, Any]], None]:
    """The check of :func:`typed_record` without the typed record, for a write that sends
    the text as written: raises :class:`TypeMismatch` naming the first field that does not
    fit, or returns None."""
    checked = _checked_fields(types)

    def check(record: Mapping[str, Any]) -> None:
        if checked.isdisjoint(record) and _all_text(record.values()):
            return  # the common case: only text, in fields that take any text
        for name, value in record.items():
            if type(value) is not str or name in checked:
                _convert(name, value, types.get(name))

    return check


def _checked_fields(types: Mapping[str, str]) -> frozenset[str]:
    """The fields whose text is converted or checked; plain text in any other field is kept
    as it is (the common case, a CSV cell)."""
    checked = frozenset(name for name, data_type in types.items() if data_type in _CONVERT)
    return checked | {"id"}


def _all_text(values: Iterable[Any]) -> bool:
    try:
        "".join(values)
    except TypeError:  # a value that is not text
        return False
    return True
