"""The instance's API usage and error counts (``stats/usage``, ``stats/errors``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._errors import MarketoError
from ..models.usage import Usage, usage_from_wire
from ._base import Resource, results_of

__all__ = ["USAGE_PATH", "UsageStats", "error_counts_from_wire"]

USAGE_PATH = "/rest/v1/stats/usage.json"
LAST_7_DAYS_PATH = "/rest/v1/stats/usage/last7days.json"
ERRORS_PATH = "/rest/v1/stats/errors.json"


def error_counts_from_wire(body: Mapping[str, Any]) -> dict[str, int]:
    """``stats/errors``'s ``result[0].errors`` as ``{code: count}``."""
    counts: dict[str, int] = {}
    for day in results_of(body)[:1]:
        for entry in day.get("errors") or ():
            if isinstance(entry, Mapping):
                code = str(entry.get("errorCode", ""))
                count = entry.get("count")
                if isinstance(count, int) and not isinstance(count, bool):
                    counts[code] = counts.get(code, 0) + count
    return counts


class UsageStats(Resource):
    """What ``client.usage()`` and ``client.error_counts()`` read."""

    async def today(self) -> Usage:
        body = await self._api.get(USAGE_PATH)
        days = results_of(body)
        if not days:
            raise MarketoError("Get Daily Usage returned no result", path=USAGE_PATH)
        return usage_from_wire(days[0])

    async def last_7_days(self) -> list[Usage]:
        body = await self._api.get(LAST_7_DAYS_PATH)
        return sorted((usage_from_wire(day) for day in results_of(body)), key=lambda u: u.date)

    async def error_counts(self) -> dict[str, int]:
        return error_counts_from_wire(await self._api.get(ERRORS_PATH))
