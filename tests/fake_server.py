"""A small scriptable Marketo stand-in on httpx.MockTransport, for transport tests."""

from __future__ import annotations

import collections
import itertools
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import anyio
import httpx

Handler = Callable[[httpx.Request], "httpx.Response | None"]


def ok(result: Any = None, **extra: Any) -> httpx.Response:
    body: dict[str, Any] = {"requestId": "abc#1", "success": True, "result": result or []}
    body.update(extra)
    return httpx.Response(200, json=body)


def fail(code: str, message: str = "failed", status: int = 200) -> httpx.Response:
    body = {"requestId": "abc#2", "success": False, "errors": [{"code": code, "message": message}]}
    return httpx.Response(status, json=body)


class Server:
    """Enforces a sliding window and an in-flight limit like Marketo, with scripted answers.

    ``script`` holds responses (or callables) returned, in order, before the default answer.
    """

    def __init__(
        self,
        *,
        calls: int | None = None,
        period: float = 20.0,
        concurrency: int | None = None,
        latency: float = 0.0,
        arrival_delay: float | Callable[[], float] = 0.0,
        token_ttl: float = 3600.0,
        secret: str = "s3cr3t-value",
    ) -> None:
        self.calls_limit = calls
        self.period = period
        self.concurrency = concurrency
        self.latency = latency
        self.arrival_delay = arrival_delay
        self.token_ttl = token_ttl
        self.secret = secret
        self.script: collections.deque[httpx.Response | Handler] = collections.deque()
        self.requests: list[httpx.Request] = []
        self.starts: list[float] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.codes: collections.Counter[str] = collections.Counter()
        self.token_fetches = 0
        self._serial = itertools.count(1)
        self.token = self._mint()
        self.token_expires = 0.0
        self.valid_tokens: set[str] = set()

    def _mint(self) -> str:
        return f"tok-{next(self._serial):04d}-cdf01657-110d-4155-99a7:int"

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def expire_token(self) -> None:
        """The current token stops working (Marketo answers 602)."""
        self.token_expires = 0.0

    def age_token(self, remaining: float) -> None:
        """As if another process fetched the token long ago: ``remaining`` seconds are left."""
        self.valid_tokens = {self.token}
        self.token_expires = anyio.current_time() + remaining

    async def handle(self, request: httpx.Request) -> httpx.Response:
        now = anyio.current_time()
        if request.url.path == "/identity/oauth/token":
            return self._identity(request, now)
        self.requests.append(request)
        delay = self.arrival_delay() if callable(self.arrival_delay) else self.arrival_delay
        if delay:
            await anyio.sleep(delay)
            now = anyio.current_time()
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return self._count(fail("600", "Access token not specified"))
        if auth[7:] not in self.valid_tokens:
            return self._count(fail("601", "Access token invalid"))
        if now >= self.token_expires:
            return self._count(fail("602", "Access token expired"))
        self.starts.append(now)
        if self.calls_limit is not None:
            recent = [t for t in self.starts if t > now - self.period]
            if len(recent) > self.calls_limit:
                return self._count(fail("606", "Max rate limit exceeded"))
        if self.concurrency is not None and self.in_flight >= self.concurrency:
            return self._count(fail("615", "Concurrent access limit reached"))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.latency:
                await anyio.sleep(self.latency)
            if self.script:
                item = self.script.popleft()
                response = item(request) if callable(item) else item
                if response is not None:
                    return self._count(response)
            return ok([{"id": 1}])
        finally:
            self.in_flight -= 1

    def _count(self, response: httpx.Response) -> httpx.Response:
        try:
            body = json.loads(response.content)
        except ValueError:
            self.codes[f"HTTP {response.status_code}"] += 1
            return response
        for error in body.get("errors", []) if isinstance(body, dict) else []:
            self.codes[error["code"]] += 1
        return response

    def _identity(self, request: httpx.Request, now: float) -> httpx.Response:
        form = parse_qs(request.content.decode())
        if form.get("client_secret") != [self.secret] or form.get("client_id") != ["cid"]:
            return httpx.Response(401, json={"error": "unauthorized"})
        self.token_fetches += 1
        if now >= self.token_expires or self.token not in self.valid_tokens:
            self.token = self._mint()
            self.valid_tokens = {self.token}
            self.token_expires = now + self.token_ttl
        return httpx.Response(
            200,
            json={
                "access_token": self.token,
                "token_type": "bearer",
                "expires_in": int(self.token_expires - now),
                "scope": "api@example.com",
            },
        )
