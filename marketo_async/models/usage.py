"""The instance's API usage for a day, as ``stats/usage`` counts it (every integration)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["Usage", "usage_from_wire"]


@attrs.frozen(kw_only=True)
class Usage:
    """Calls one Marketo instance counted on ``date`` (its own day: midnight US Central).

    ``total`` counts every API user (every integration); ``by_user`` maps each API user to
    its calls.
    """

    date: dt.date
    total: int
    by_user: dict[str, int] = attrs.field(factory=dict)


def _day(value: object) -> dt.date:
    # Marketo writes the day as a date or as a midnight datetime ("2026-12-07T00:00:00Z"):
    # the day is the one written, whatever the offset.
    if isinstance(value, str) and len(value) >= 10:
        return dt.date.fromisoformat(value[:10])
    raise ValueError(f"usage date must be an ISO-8601 date, not {value!r}")


def _count(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{what} must be a count of calls, not {value!r}")
    return value


def usage_from_wire(item: Mapping[str, Any]) -> Usage:
    """One entry of ``stats/usage``'s ``result[]``: ``{date, total, users: [{userId, count}]}``."""
    by_user: dict[str, int] = {}
    for user in item.get("users") or ():
        if isinstance(user, Mapping):
            name = str(user.get("userId", ""))
            by_user[name] = by_user.get(name, 0) + _count(user.get("count"), "a user's count")
    total = item.get("total")
    return Usage(
        date=_day(item.get("date")),
        total=_count(total, "total") if total is not None else sum(by_user.values()),
        by_user=by_user,
    )
