"""How big a call may be: records per call, bytes per body, and a record's JSON size."""

from __future__ import annotations

import json
from collections.abc import Callable

__all__ = [
    "ENVELOPE_BYTES",
    "MAX_BATCH_SIZE",
    "MAX_BODY_BYTES",
    "json_size",
    "size_bound",
]

MAX_BATCH_SIZE = 300  # Marketo: 300 records per Lead Database write
MAX_BODY_BYTES = 1_000_000  # Marketo: 1 MB body (HTTP 413 above); kept under 1 MiB on purpose
ENVELOPE_BYTES = 1_024  # room for the call's own fields (action, lookupField, partitionName...)

# Worst case of one character in a JSON body: a surrogate pair escaped as two \\uXXXX.
_MAX_BYTES_PER_CHAR = 12
_SCALAR_BOUND = 24  # characters of any JSON int (within 64 bits), float, bool or null
_SCALARS: frozenset[type] = frozenset({float, bool, type(None)})


def json_size(record: object) -> int:
    """Bytes ``record`` takes in a JSON body (the default ``size_of``)."""
    if isinstance(record, int):
        return len(str(record))
    # ensure_ascii (the default) makes len(str) the byte count
    return len(json.dumps(record, separators=(",", ":")))


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
                    chars += len(name) + _SCALAR_BOUND + 4
                else:
                    return json_size(record)
            bound = chars * _MAX_BYTES_PER_CHAR
            if bound <= cap:
                return bound
        return json_size(record)

    return size_of
