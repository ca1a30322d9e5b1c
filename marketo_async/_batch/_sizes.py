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
    """Bytes ``record`` takes in a JSON body (the default ``size_of``).

    Raises ``TypeError`` or ``ValueError`` for what JSON cannot carry (bytes, a set, an
    object, NaN or an infinity): :func:`unsendable` says where.
    """
    if isinstance(record, int):
        return len(str(record))
    # ensure_ascii (the default) makes len(str) the byte count
    return len(json.dumps(record, separators=(",", ":"), allow_nan=False))


def unsendable(record: object, where: str = "") -> str | None:
    """Why ``record`` cannot go in a JSON body, naming the field; None when it can.

    >>> unsendable({"email": "a@x.com", "photo": b"\\x89PNG"})
    "field 'photo' holds bytes, which JSON cannot carry"
    """
    if record is None or isinstance(record, (str, int)):
        return None
    name = f"field {where!r}" if where else "the record"
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
                if kind is str:
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
