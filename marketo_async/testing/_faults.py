"""Injected failures: scripted ("the next 3 calls to /rest/v1/leads.json answer 608") and random.

Example::

    fake.faults.script("/rest/v1/leads.json", code="608", times=3)
    fake.faults.script("/rest/v1/leads.json", code="604", after_apply=True)  # write lands, then 604
    fake.faults.script("/rest/v1/leads.json", drop_connection=True)
    fake.faults.script(http_status=502)                                      # any path
    fake.faults.randomly(rate=0.05, codes=("608", "604"), seed=7)
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

import attrs

__all__ = ["DEFAULT_MESSAGES", "Fault", "Faults"]

DEFAULT_MESSAGES = {
    "601": "Access token invalid",
    "602": "Access token expired",
    "603": "Access denied",
    "604": "Request timed out",
    "606": "Max rate limit '100' exceeded with in '20' secs",
    "607": "Daily quota reached",
    "608": "API Temporarily Unavailable",
    "611": "System error",
    "614": "Invalid Subscription",
    "615": "Concurrent access limit reached",
    "713": "Transient Error",
}

_HTTP_TITLES = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Time-out",
    429: "Too Many Requests",
}


@attrs.define
class Fault:
    """One failure to inject. Exactly one of ``code``, ``http_status``, ``drop_connection``."""

    code: str | None = None
    message: str | None = None
    http_status: int | None = None
    drop_connection: bool = False
    after_apply: bool = False  # run the handler (apply the write) first, then fail
    path: str | re.Pattern[str] | None = None
    method: str | None = None
    times: int = 1

    def __attrs_post_init__(self) -> None:
        chosen = sum((self.code is not None, self.http_status is not None, self.drop_connection))
        if chosen != 1:
            raise ValueError("give exactly one of code=, http_status= or drop_connection=True")
        if self.times < 1:
            raise ValueError("times must be >= 1")

    @property
    def text(self) -> str:
        if self.message is not None:
            return self.message
        return DEFAULT_MESSAGES.get(self.code or "", "Injected fault")

    @property
    def http_title(self) -> str:
        return _HTTP_TITLES.get(self.http_status or 0, "Error")

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method:
            return False
        if self.path is None:
            return True
        if isinstance(self.path, re.Pattern):
            return self.path.search(path) is not None
        return self.path == path


class Faults:
    """The fault plan of one :class:`FakeMarketo`: scripted faults first, then random ones."""

    def __init__(self) -> None:
        self._script: list[Fault] = []
        self._rate = 0.0
        self._codes: tuple[str, ...] = ("608",)
        self._paths: re.Pattern[str] | None = None
        self._after_apply = False
        self._applied_rate = 0.0
        self._applied_codes: tuple[str, ...] = ("604",)
        self._rng = random.Random()

    def script(
        self,
        path: str | re.Pattern[str] | None = None,
        *,
        code: str | None = None,
        message: str | None = None,
        http_status: int | None = None,
        drop_connection: bool = False,
        after_apply: bool = False,
        times: int = 1,
        method: str | None = None,
    ) -> Fault:
        """Fail the next ``times`` calls to ``path`` (exact path, a regex, or None for any)."""
        fault = Fault(
            code=code,
            message=message,
            http_status=http_status,
            drop_connection=drop_connection,
            after_apply=after_apply,
            path=path,
            method=method,
            times=times,
        )
        self._script.append(fault)
        return fault

    def randomly(
        self,
        rate: float,
        *,
        codes: Sequence[str] = ("608",),
        seed: int | None = None,
        paths: str | None = None,
        after_apply: bool = False,
        applied_rate: float = 0.0,
        applied_codes: Sequence[str] = ("604",),
    ) -> None:
        """Fail a share ``rate`` of calls (whose path matches the ``paths`` regex) with ``codes``.

        A code may be ``"502"`` (an HTML gateway page) or ``"drop"`` (the connection closes).
        Another share ``applied_rate`` of calls is applied first, then fails with
        ``applied_codes`` (the write landed; the client cannot know).
        """
        if not 0.0 <= rate <= 1.0 or not 0.0 <= applied_rate <= 1.0 - rate:
            raise ValueError("rate and applied_rate must be within [0, 1], together too")
        self._rate = rate
        self._applied_rate = applied_rate
        self._applied_codes = tuple(applied_codes)
        self._codes = tuple(codes)
        self._paths = re.compile(paths) if paths else None
        self._after_apply = after_apply
        self._rng = random.Random(seed)

    def clear(self) -> None:
        """Forget every scripted and random fault."""
        self._script.clear()
        self._rate = 0.0
        self._applied_rate = 0.0

    @property
    def pending(self) -> list[Fault]:
        """Scripted faults not used up yet."""
        return list(self._script)

    def take(self, method: str, path: str) -> Fault | None:
        """The fault for this call, if any (a scripted one is used up by one call)."""
        for fault in self._script:
            if fault.matches(method, path):
                fault.times -= 1
                if fault.times == 0:
                    self._script.remove(fault)
                return fault
        wanted = self._paths is None or self._paths.search(path) is not None
        if not (self._rate or self._applied_rate) or not wanted:
            return None
        draw = self._rng.random()
        if draw < self._rate:
            return _random_fault(self._rng.choice(self._codes), self._after_apply)
        if draw < self._rate + self._applied_rate:
            return _random_fault(self._rng.choice(self._applied_codes), True)
        return None


def _random_fault(choice: str, after_apply: bool) -> Fault:
    if choice == "drop":
        return Fault(drop_connection=True, after_apply=after_apply)
    if choice.isdigit() and 400 <= int(choice) < 600:
        return Fault(http_status=int(choice), after_apply=after_apply)
    return Fault(code=choice, after_apply=after_apply)
