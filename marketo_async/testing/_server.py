"""The loopback HTTP/1.1 server mode (anyio + h11, so it runs under asyncio and trio alike)."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable

import anyio
import h11
from anyio.abc import SocketAttribute, SocketStream, TaskStatus

from ._wire import DropConnection, FakeReply, FakeRequest

__all__ = ["os_error_in", "serve_http"]

Handle = Callable[[FakeRequest], Awaitable[FakeReply]]

# Room for a request line over Marketo's 8 KB URI limit, so we can answer 414 ourselves.
MAX_HEAD_BYTES = 64 * 1024
RECEIVE_BYTES = 64 * 1024


async def serve_http(
    handle: Handle,
    *,
    host: str,
    port: int,
    name: str = "FakeMarketo",
    task_status: TaskStatus[int] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Answer HTTP/1.1 on ``host:port`` with ``handle``; ``name`` is the ``server`` header."""
    listener = await anyio.create_tcp_listener(local_host=host, local_port=port)
    async with listener:
        actual_port = listener.listeners[0].extra(SocketAttribute.local_port)
        task_status.started(actual_port)

        async def serve_connection(stream: SocketStream) -> None:
            await _serve_connection(stream, handle, name)

        await listener.serve(serve_connection)


async def _read_request(conn: h11.Connection, stream: SocketStream) -> FakeRequest | None:
    """The next request on a keep-alive connection, or None when the peer closed it."""
    head: h11.Request | None = None
    body = bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            try:
                data = await stream.receive(RECEIVE_BYTES)
            except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
                data = b""
            conn.receive_data(data)
        elif isinstance(event, h11.Request):
            head = event
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            assert head is not None
            return FakeRequest(
                method=head.method.decode("ascii"),
                target=head.target.decode("ascii"),
                headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in head.headers},
                body=bytes(body),
            )
        else:  # ConnectionClosed or PAUSED
            return None


async def _send(
    conn: h11.Connection, stream: SocketStream, reply: FakeReply, name: str = "FakeMarketo"
) -> None:
    headers = [
        ("content-type", reply.content_type),
        ("content-length", str(len(reply.body))),
        ("server", name),
        *reply.headers.items(),
    ]
    data = conn.send(h11.Response(status_code=reply.status, headers=headers))
    if reply.cut_at is not None:
        # A cut download: the head promises the whole body, the connection ends part-way.
        await stream.send((data or b"") + reply.body[: reply.cut_at])
        raise DropConnection()
    data = (data or b"") + (conn.send(h11.Data(data=reply.body)) or b"")
    data += conn.send(h11.EndOfMessage()) or b""
    await stream.send(data)


async def _serve_connection(stream: SocketStream, handle: Handle, name: str) -> None:
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
    async with stream:
        while True:
            try:
                request = await _read_request(conn, stream)
            except h11.RemoteProtocolError as exc:
                if conn.our_state in {h11.IDLE, h11.SEND_RESPONSE}:
                    status = exc.error_status_hint
                    body = f"{status} Bad Request".encode()
                    reply = FakeReply(status=status, body=body, content_type="text/plain")
                    with contextlib.suppress(h11.LocalProtocolError, anyio.BrokenResourceError):
                        await _send(conn, stream, reply, name)
                return
            if request is None:
                return
            try:
                reply = await handle(request)
            except DropConnection:
                return  # closing the stream is the fault
            try:
                await _send(conn, stream, reply, name)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError, DropConnection):
                return
            if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                return
            try:
                conn.start_next_cycle()
            except h11.LocalProtocolError:
                return


def os_error_in(exc: BaseException) -> OSError | None:
    """The OSError (a busy port, an address not on this machine) in ``exc`` or its group."""
    if isinstance(exc, OSError):
        return exc
    for inner in getattr(exc, "exceptions", ()):
        found = os_error_in(inner)
        if found is not None:
            return found
    return None
