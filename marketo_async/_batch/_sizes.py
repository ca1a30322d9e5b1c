"""How big a call may be: records per call, bytes per body, and a record's JSON size."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping

__all__ = [
    "ENVELOPE_BYTES",
    "MAX_BATCH_SIZE",
    "MAX_BODY_BYTES",
    "json_size",
    "largest_field",
    "size_bound",
    "unencodable",
    "unsendable",
]

MAX_BATCH_SIZE = 300  # Marketo: 300 records per Lead Database write
MAX_BODY_BYTES = 1_000_000  # Marketo: 1 MB body (HTTP 413 above); kept under 1 MiB on purpose
ENVELOPE_BYTES = 1_024  # room for the call's own fields (action, lookupField, partitionName...)

# Worst case of one character in a JSON body: a surrogate pair escaped as two \\uXXXX.
_MAX_BYTES_PER_CHAR = 12
_SCALAR_BOUND = 24  # characters of any JSON int (within 64 bits), float, bool or null
_SCALARS: frozenset[type] = frozenset({float, bool, type(None)})


def json_size(record: object) -> int:
    """Bytes ``record`` takes in a JSON body (the default ``size_of``), as UTF-8.

    Raises ``TypeError`` or ``ValueError`` for what JSON cannot carry (bytes, a set, an
    object, NaN or an infinity, text with a lone surrogate): :func:`unsendable` says where.
    """
    if isinstance(record, int):
        return len(str(record))
    text = json.dumps(record, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    # A lone surrogate ("\ud800" from a JSON escape) raises UnicodeEncodeError here, as it
    # would when the body is encoded for the wire, after other calls of the run went out.
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def unencodable(text: str) -> str | None:
    """Why ``text`` cannot be sent as UTF-8 (a lone surrogate, saying where); None when it can.

    >>> unencodable("ab\ud800")
    "a lone surrogate '\\ud800' at character 2, which UTF-8 cannot encode"
    """
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return (
            f"a lone surrogate {text[exc.start]!r} at character {exc.start}, "
            "which UTF-8 cannot encode"
        )
    return None


def unsendable(record: object, where: str = "") -> str | None:
    """Why ``record`` cannot go in a JSON body, naming the field; None when it can.

    >>> unsendable({"email": "a@x.com", "photo": b"\\x89PNG"})
    "field 'photo' holds bytes, which JSON cannot carry"
    """
    name = f"field {where!r}" if where else "the record"
    if isinstance(record, str):
        why = unencodable(record)
        return None if why is None else f"{name} holds {why}"
    if record is None or isinstance(record, int):
        return None
    if isinstance(record, float):
        return None if math.isfinite(record) else f"{name} is {record!r}, which JSON cannot carry"
    if isinstance(record, Mapping):
        return _first_unsendable(record.items(), where, name)
    if isinstance(record, (list, tuple)):
        return _first_unsendable(enumerate(record), where, name)
    return f"{name} holds {type(record).__name__}, which JSON cannot carry"


def _first_unsendable(items: Iterable[tuple[object, object]], where: str, name: str) -> str | None:
    for key, value in items:
        if isinstance(key, int):
            inner = f"{where}[{key}]"
        elif isinstance(key, str):
            inner = f"{where}.{key}" if where else key
            why = unencodable(key)
            if why is not None:
                return f"{name} has a field named {key!r} with {why}"
        else:
            return f"{name} has a field named {key!r}; JSON field names are text"
        found = unsendable(value, inner)
        if found is not None:
            return found
    return None


def largest_field(record: object) -> tuple[str, int] | None:
    """The name and JSON size of ``record``'s largest field (for a record over the limit)."""
    if not isinstance(record, Mapping) or not record:
        return None
    sizes = [(str(name), json_size(value)) for name, value in record.items()]
    return max(sizes, key=lambda pair: pair[1])


def size_bound(cap: int) -> Callable[[object], int]:
    """A ``size_of`` that bounds a flat record's JSON size without encoding it.

    Exact encoding costs microseconds a record; an upper bound costs a fraction of that. The
    bound is used while it is at most ``cap`` (a call's share of the body limit), so calls of
    bounded records can never pass the limit; larger or nested records are measured exactly.
    """

    def size_of(record: object) -> int:
        if type(record) is dict:
            chars = 2
            for name, value in record.items():
                kind = type(value)
                if type(name) is str and not name.isascii():
                    return json_size(record)  # measured (and checked) exactly
                if kind is str:
                    if not value.isascii():
                        value.encode("utf-8")  # a lone surrogate raises, as on the wire
                    chars += len(name) + len(value) + 6
                elif (kind is int and -(2**63) <= value < 2**63) or kind in _SCALARS:
                    if kind is float and not math.isfinite(value):
                        return json_size(record)  # raises: JSON has no NaN or infinity
                    chars += len(name) + _SCALAR_BOUND + 4
                else:
                    return json_size(record)
            bound = chars * _MAX_BYTES_PER_CHAR
            if bound <= cap:
                return bound
        return json_size(record)

    return size_of
