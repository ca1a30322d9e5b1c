"""What Marketo accepts in a lead field of each data type, and the typed value it stores.

Describe Lead2 gives every field a ``dataType``. Marketo refuses a value that does not fit it
(error 1001, "Invalid value '%s'. Required of type '%s'"): text for an integer, a date that
does not exist, an address that is not one. The emulator answers with these rules, and the
command line checks rows against them before any call, so both say what a real run would.

>>> value_problem("integer", "n/a")
"Invalid value 'n/a'. Required of type 'integer'"
>>> typed_value("integer", " 68 "), typed_value("boolean", "yes"), typed_value("string", "68")
(68, True, '68')
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

__all__ = [
    "CHECKED_TYPES",
    "INT32_MAX",
    "INT32_MIN",
    "boolean_value",
    "float_value",
    "is_email",
    "typed_value",
    "value_problem",
]

# Marketo: integer fields are 32-bit signed.
INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
_INTEGER = re.compile(r"^[+-]?\d+$")
# One @ with text on both sides, a dot in the domain, no whitespace; Marketo takes ASCII only.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TRUE = frozenset({"true", "1", "yes", "y"})
_FALSE = frozenset({"false", "0", "no", "n"})

_INTEGER_TYPES = frozenset({"integer", "score"})
_FLOAT_TYPES = frozenset({"float", "currency", "percent"})
# The data types whose values are checked; any other (string, text, phone, url ...) takes text.
CHECKED_TYPES = _INTEGER_TYPES | _FLOAT_TYPES | {"boolean", "date", "datetime", "email"}


def is_email(value: str) -> bool:
    """True for an address Marketo would store: ASCII, one ``@``, a dotted domain, no spaces."""
    return value.isascii() and _EMAIL.match(value) is not None


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _INTEGER.match(value.strip()):
        number = int(value.strip())
    else:
        raise ValueError
    if not INT32_MIN <= number <= INT32_MAX:
        raise ValueError
    return number


def float_value(value: Any) -> float:
    """A finite number (text or number, not a bool); ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError
    number = float(value.strip() if isinstance(value, str) else value)
    if not math.isfinite(number):
        raise ValueError
    return number


def boolean_value(value: Any) -> bool:
    """true/false, 1/0, yes/no, y/n (any case, as text or number); ValueError otherwise."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, str | int) else ""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError


def _date(value: Any) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not _DATE.match(text[:10]) or (len(text) > 10 and text[10] not in "T "):
        raise ValueError
    dt.date.fromisoformat(text[:10])  # ValueError for 1990-02-31
    return text[:10]


def _datetime(value: Any) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if _DATE.match(text):
        dt.date.fromisoformat(text)
        return text
    dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if not _DATE.match(text[:10]):
        raise ValueError
    return text


def _email(value: Any) -> str:
    if not isinstance(value, str) or not is_email(value.strip()):
        raise ValueError
    return value.strip()


_CONVERT = {
    **dict.fromkeys(_INTEGER_TYPES, _integer),
    **dict.fromkeys(_FLOAT_TYPES, float_value),
    "boolean": boolean_value,
    "date": _date,
    "datetime": _datetime,
    "email": _email,
}


def typed_value(data_type: str, value: Any) -> Any:
    """``value`` as Marketo stores it in a field of ``data_type`` (None and "" stay as they
    are: an empty cell); ``ValueError`` with Marketo's 1001 message when it does not fit."""
    if value is None or value == "":
        return value
    convert = _CONVERT.get(data_type)
    if convert is None:
        return value
    try:
        return convert(value)
    except (ValueError, TypeError, OverflowError):
        raise ValueError(_invalid(data_type, value)) from None


def value_problem(data_type: str, value: Any) -> str | None:
    """Marketo's 1001 message for ``value`` in a field of ``data_type``, or None if it fits."""
    try:
        typed_value(data_type, value)
    except ValueError as exc:
        return str(exc)
    return None


def _invalid(data_type: str, value: Any) -> str:
    shown = value if isinstance(value, str) else repr(value)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return f"Invalid value '{shown}'. Required of type '{data_type}'"
