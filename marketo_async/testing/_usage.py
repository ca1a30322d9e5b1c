"""The instance's own API usage (``stats/usage``, ``stats/errors``): this client's calls and
those of "another integration", as a test sets them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ._call import Call, Router

__all__ = ["OTHER_INTEGRATION_USER", "UsageBook", "register"]

# Marketo counts days from midnight US Central time.
MARKETO_ZONE = ZoneInfo("America/Chicago")
OTHER_INTEGRATION_USER = "other-integration@123-abc-456.marketo.example"


class UsageBook:
    """Calls per day and API user, as Marketo's usage endpoints report them.

    Today's calls of the emulator's own API user are what its daily budget counted (every
    call but those Marketo does not count); ``other_calls`` are today's calls by another
    integration, which count against the same daily quota.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], datetime],
        own_calls: Callable[[], int],
        own_user: str,
        errors: Callable[[], Counter[str]],
    ) -> None:
        self._clock = clock
        self._own_calls = own_calls
        self.own_user = own_user
        self._errors = errors
        self.other_calls = 0
        self.other_user = OTHER_INTEGRATION_USER
        self.past: dict[date, dict[str, int]] = {}
        self._errors_before_today: Counter[str] = Counter()

    def today(self) -> date:
        return self._clock().astimezone(MARKETO_ZONE).date()

    def new_day(self) -> None:
        """Midnight: today's counts start again (the budget resets its own)."""
        self.other_calls = 0
        self._errors_before_today = Counter(self._errors())

    def by_user_today(self) -> dict[str, int]:
        users = {self.own_user: self._own_calls()}
        if self.other_calls:
            users[self.other_user] = self.other_calls
        return users

    def errors_today(self) -> dict[str, int]:
        today = Counter(self._errors())
        today.subtract(self._errors_before_today)
        # Marketo's codes only (HTTP-level failures are not Marketo errors).
        return {code: n for code, n in sorted(today.items()) if n > 0 and code.isdigit()}


def _usage_view(day: date, users: Mapping[str, int]) -> dict[str, Any]:
    return {
        "date": day.isoformat(),
        "total": sum(users.values()),
        "users": [{"userId": user, "count": count} for user, count in users.items() if count],
    }


def _errors_view(day: date, errors: Mapping[str, int]) -> dict[str, Any]:
    return {
        "date": day.isoformat(),
        "total": sum(errors.values()),
        "errors": [{"errorCode": code, "count": count} for code, count in errors.items()],
    }


def _last_7_days(
    today: date,
    view: Callable[[date, Mapping[str, int]], dict[str, Any]],
    past: Mapping[date, Mapping[str, int]],
    today_counts: Mapping[str, int],
) -> list[dict[str, Any]]:
    """Six past days (oldest first), then today."""
    days = [today - timedelta(days=back) for back in range(6, 0, -1)]
    return [*(view(day, past.get(day, {})) for day in days), view(today, today_counts)]


def register(router: Router, book: UsageBook) -> None:
    async def usage_today(call: Call) -> dict[str, Any]:
        await call.delay(0)
        return call.ok([_usage_view(book.today(), book.by_user_today())])

    async def usage_last_7_days(call: Call) -> dict[str, Any]:
        await call.delay(0)
        return call.ok(_last_7_days(book.today(), _usage_view, book.past, book.by_user_today()))

    async def errors_today(call: Call) -> dict[str, Any]:
        await call.delay(0)
        return call.ok([_errors_view(book.today(), book.errors_today())])

    async def errors_last_7_days(call: Call) -> dict[str, Any]:
        await call.delay(0)  # the emulator keeps no errors of past days
        return call.ok(_last_7_days(book.today(), _errors_view, {}, book.errors_today()))

    router.add("GET", r"/rest/v1/stats/usage\.json", usage_today)
    router.add("GET", r"/rest/v1/stats/usage/last7days\.json", usage_last_7_days)
    router.add("GET", r"/rest/v1/stats/errors\.json", errors_today)
    router.add("GET", r"/rest/v1/stats/errors/last7days\.json", errors_last_7_days)
