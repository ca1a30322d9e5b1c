"""Lead Gen & CRM values (every one a string) as the Marketo field they go to expects them.

Values arrive HTML-decoded once (:class:`~marketo_async.leadgen.LeadGenLead` does it), so
``O&#039;Brien`` is already ``O'Brien`` here and is never decoded a second time.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

__all__ = ["EMPTY", "ConversionError", "convert", "email_problem"]

EMPTY = object()  # convert(): nothing to send (an empty source value never blanks a field)

_TRUE = frozenset({"1", "true", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "no", "n", "off"})
_INTEGER_TYPES = frozenset({"integer", "score"})
_NUMBER_TYPES = frozenset({"float", "currency", "percent"})
# Lead Gen & CRM times: "Y-m-d H:i:s", no zone (UTC on v1.2); a date alone is common too.
_SOURCE_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")


class ConversionError(ValueError):
    """A source value the target field's type cannot hold; the message names both fields."""


def email_problem(value: Any) -> str | None:
    """Why ``value`` is not a usable email, or None: exactly one ``@`` with text on both sides
    and no whitespace.

    >>> email_problem("ada@example.com") is None, email_problem("ada at example.com")
    (True, "email 'ada at example.com' is not an address (one @ with text on both sides)")
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return "no email address"
    text = str(value)
    if any(character.isspace() for character in text):
        return f"email {text!r} has whitespace in it"
    local, at, domain = text.partition("@")
    if not at or not local or not domain or "@" in domain:
        return f"email {text!r} is not an address (one @ with text on both sides)"
    return None


def _integer(text: str) -> int:
    number = float(text)
    if not math.isfinite(number) or number != int(number):
        raise ValueError(text)
    return int(number)


def _number(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(text)
    return number


def _boolean(text: str) -> bool:
    folded = text.lower()
    if folded in _TRUE:
        return True
    if folded in _FALSE:
        return False
    raise ValueError(text)


def _moment(text: str) -> dt.datetime:
    for pattern in _SOURCE_TIME_FORMATS:
        try:
            return dt.datetime.strptime(text, pattern)
        except ValueError:
            continue
    return dt.datetime.fromisoformat(text)


def _date(text: str) -> str:
    return _moment(text).date().isoformat()


def _datetime(text: str) -> str:
    moment = _moment(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


_CONVERTERS = {
    **{name: _integer for name in _INTEGER_TYPES},
    **{name: _number for name in _NUMBER_TYPES},
    "boolean": _boolean,
    "date": _date,
    "datetime": _datetime,
}


def convert(value: Any, data_type: str, *, source: str, target: str) -> Any:
    """``value`` as Marketo's ``data_type`` takes it, or :data:`EMPTY` for an empty value.

    Text types (string, text, email, phone, url ...) keep the value as it is. Raises
    :class:`ConversionError` naming the fields when the value does not fit the type.

    >>> convert("42", "integer", source="leadScore", target="leadScore")
    42
    """
    if value is None:
        return EMPTY
    text = value if isinstance(value, str) else str(value)
    if not text.strip():
        return EMPTY
    converter = _CONVERTERS.get(data_type)
    if converter is None:
        return text
    try:
        return converter(text.strip())
    except (ValueError, OverflowError):
        raise ConversionError(
            f"field {source} -> {target}: {text!r} is not a valid {data_type}"
        ) from None
