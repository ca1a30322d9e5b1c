"""What FakeMarketo and FakeLeadGen share: the latency model, the in-process transport, the
fault plan and counters, serving over loopback HTTP and seeding from a file.

Each emulator keeps what differs: its own envelope, authentication, budget and error replies.
"""

from __future__ import annotations

import abc
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

import anyio
import attrs
import httpx

from ._faults import Fault, Faults
from ._stats import Stats
from ._wire import ApiError, DropConnection, FakeReply, FakeRequest, read_seed

if TYPE_CHECKING:
    from anyio.abc import TaskStatus

__all__ = ["EmulatorBase", "FakeTransport", "Latency"]

StatsT = TypeVar("StatsT", bound=Stats)


@attrs.frozen(kw_only=True)
class Latency:
    """Server time per call: ``base + per_record * records + uniform(0, jitter)`` seconds.

    Slept with ``anyio.sleep``, so tests running on a virtual clock stay fast.
    """

    base: float = 0.0
    per_record: float = 0.0
    jitter: float = 0.0

    def seconds(self, records: int, rng: random.Random) -> float:
        extra = rng.uniform(0.0, self.jitter) if self.jitter else 0.0
        return self.base + self.per_record * records + extra


class Emulator(Protocol):
    """What an emulator offers its transport: one HTTP request answered."""

    async def handle(self, request: FakeRequest) -> FakeReply: ...


class FakeTransport(httpx.AsyncBaseTransport):
    """An httpx transport that answers from an emulator (:class:`FakeMarketo`, FakeLeadGen),
    with no sockets."""

    def __init__(self, fake: Emulator) -> None:
        self._fake = fake

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        fake_request = FakeRequest(
            method=request.method,
            target=request.url.raw_path.decode("ascii"),
            headers={
                k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.headers.raw
            },
            body=body,
        )
        try:
            reply = await self._fake.handle(fake_request)
        except DropConnection:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            ) from None
        headers = {"content-type": reply.content_type, **reply.headers}
        if reply.cut_at is not None:
            headers["content-length"] = str(len(reply.body))
            return httpx.Response(
                reply.status,
                headers=headers,
                stream=_CutStream(reply.body[: reply.cut_at]),
                request=request,
            )
        return httpx.Response(reply.status, headers=headers, content=reply.body, request=request)


class _CutStream(httpx.AsyncByteStream):
    """A body that ends early with the error httpx raises when the peer closes mid-body."""

    def __init__(self, part: bytes) -> None:
        self._part = part

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._part:
            yield self._part
        raise httpx.RemoteProtocolError(
            "peer closed connection without sending complete message body"
        )


class EmulatorBase(abc.ABC, Generic[StatsT]):
    """The parts of an emulator that do not depend on the API it speaks.

    A subclass names itself (``NAME``: its repr and the ``server`` header), sums itself up
    (``_summary``), loads seeds (``seed``) and says how it fails a call when a fault takes it
    (``_http_failure`` for an HTTP-level fault, ``_fault_error`` for an API error code).
    """

    NAME: ClassVar[str]

    def __init__(self, latency: float | Latency, random_seed: int | None, stats: StatsT) -> None:
        self.latency = latency if isinstance(latency, Latency) else Latency(base=latency)
        self.stats: StatsT = stats
        self.faults = Faults()
        self._rng = random.Random(random_seed)
        self.transport: httpx.AsyncBaseTransport = FakeTransport(self)

    def __repr__(self) -> str:
        summary = ", ".join(f"{name}={value!r}" for name, value in self._summary().items())
        return f"{self.NAME}({summary})"

    @abc.abstractmethod
    def _summary(self) -> Mapping[str, Any]:
        """What the repr shows."""

    @abc.abstractmethod
    async def handle(self, request: FakeRequest) -> FakeReply:
        """Answer one HTTP request; raises DropConnection for a scripted dropped connection."""

    # ---- seeding

    @abc.abstractmethod
    def seed(self, data: Mapping[str, Any]) -> None:
        """Load records from one mapping (the JSON seed file format)."""

    def seed_file(self, path: str | Path) -> None:
        """Load a JSON seed file (see :meth:`seed`)."""
        self.seed(read_seed(path))

    # ---- serving

    async def serve(
        self,
        port: int = 8080,
        *,
        host: str = "127.0.0.1",
        task_status: TaskStatus[int] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Serve HTTP/1.1 on ``host:port`` until cancelled; ``task_status`` gets the real port.

        Example::

            async with anyio.create_task_group() as tg:
                port = await tg.start(fake.serve, 0)
                ...  # talk to http://127.0.0.1:{port}
                tg.cancel_scope.cancel()
        """
        from ._server import serve_http

        await serve_http(self.handle, host=host, port=port, name=self.NAME, task_status=task_status)

    # ---- answering a call

    async def _sleep(self, records: int) -> None:
        seconds = self.latency.seconds(records, self._rng)
        if seconds > 0:
            await anyio.sleep(seconds)
        else:
            await anyio.lowlevel.checkpoint()

    async def _answer_or_fault(
        self,
        method: str,
        path: str,
        answer: Callable[[], Awaitable[tuple[FakeReply, int]]],
        error_reply: Callable[[ApiError], FakeReply],
    ) -> FakeReply:
        """``answer()`` (its reply and the records it handled), unless the fault plan fails the
        call: before it runs (nothing applied) or after (applied, then failed)."""
        fault = self.faults.take(method, path)
        if fault is not None and not fault.after_apply:
            await self._sleep(0)
            return self._fault_reply(fault, error_reply)
        reply, records = await answer()
        self.stats.records += records
        if fault is not None:
            return self._fault_reply(fault, error_reply)
        return reply

    def _fault_reply(self, fault: Fault, error_reply: Callable[[ApiError], FakeReply]) -> FakeReply:
        if fault.drop_connection:
            raise DropConnection()
        if fault.http_status is not None:
            return self._http_failure(fault.http_status, fault.http_title)
        return error_reply(self._fault_error(fault))

    @abc.abstractmethod
    def _http_failure(self, status: int, title: str) -> FakeReply:
        """The reply of an HTTP-level fault (a gateway's 502 page)."""

    @abc.abstractmethod
    def _fault_error(self, fault: Fault) -> ApiError:
        """The API error a fault with an error code answers."""
