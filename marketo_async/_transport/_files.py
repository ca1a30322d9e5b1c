"""Bulk files over the Marketo transport: multipart uploads, and streamed downloads that resume.

Both go through the same limiter slot, token and retry rules as every other call. An upload
creates a job, so once it may have reached Marketo it is never sent again. A download is
written to a file as it arrives; when the connection is cut it resumes with
``Range: bytes=N-`` from the bytes already on disk instead of starting over.
"""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

import anyio
import attrs
import httpx

from .._errors import (
    AmbiguousWriteError,
    MarketoConnectionError,
    MarketoError,
    TransientError,
    recast,
)
from ._decode import decode
from ._limiter import BACKGROUND
from ._pipeline import Call, connection_error
from ._retry import Decision, RetryState
from ._wire import CONNECT_TIMEOUT_S, WRITE_TIMEOUT_S, clean_path, encode_params, read_timeout_for

if TYPE_CHECKING:
    from ._http import MarketoTransport

__all__ = ["Download", "FileTransfers", "Sink"]

_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


class Sink:
    """Where a download goes: an async binary file (positioned by the download itself)."""

    def __init__(self, file: anyio.AsyncFile[bytes]) -> None:
        self.file = file

    async def restart_at(self, offset: int) -> None:
        await self.file.seek(offset)
        await self.file.truncate()

    async def write(self, chunk: bytes) -> None:
        await self.file.write(chunk)


@attrs.define
class Download:
    """Progress of one file download: bytes on disk, the file's size, and how it went."""

    offset: int = 0
    total: int | None = None
    requests: int = 0
    partial_answers: int = 0  # HTTP 206 answers to a Range request
    resumptions: int = 0  # requests that continued after a cut connection
    progressed: bool = False

    @property
    def complete(self) -> bool:
        return self.total is not None and self.offset >= self.total


class FileTransfers:
    """Upload and download bulk files through one client's send pipeline."""

    def __init__(self, transport: MarketoTransport) -> None:
        self._pipeline = transport.pipeline

    # ---- upload -------------------------------------------------------------------------

    async def upload(
        self,
        path: str,
        *,
        params: Mapping[str, Any],
        filename: str,
        content: bytes,
        records: int = 0,
    ) -> dict[str, Any]:
        """POST ``content`` as the multipart ``file`` part; returns Marketo's decoded body.

        Resent only after failures that prove it never arrived (a 606, 615, a refused token);
        otherwise raises :class:`AmbiguousWriteError`: the job may exist.
        """
        pipeline = self._pipeline
        where = clean_path(path)
        request = pipeline.http.build_request(
            "POST",
            where,
            params=encode_params(params),
            files={"file": (filename, content, "text/csv")},
            extensions={"timeout": _timeout("POST", where)},
        )
        request.read()  # a multipart body is a stream; the pipeline resends bytes
        call = Call(
            request=request,
            where=where,
            shown=f"POST {where}",
            records=records,
            priority=BACKGROUND,  # a bulk job's file: background work, like the job
        )

        async def attempt(sends: int) -> dict[str, Any]:
            body: dict[str, Any] = await pipeline.send(call, attempt=sends)
            return body

        try:
            return await pipeline.retrying(attempt, shown=call.shown, idempotent=False)
        except MarketoError as error:
            if not error.may_have_applied:
                raise
            message = (
                f"POST {where} failed after the file was sent ({type(error).__name__}); "
                "the job may have been created"
            )
            raise recast(error, AmbiguousWriteError, message) from error

    # ---- download -----------------------------------------------------------------------

    async def download(self, path: str, sink: Sink, *, offset: int = 0) -> Download:
        """Stream the file at ``path`` into ``sink`` from byte ``offset`` to its end.

        A cut connection after some bytes resumes at once with ``Range`` (a free retry); one
        that delivered nothing is retried with the usual backoff.
        """
        pipeline = self._pipeline
        where = clean_path(path)
        progress = Download(offset=offset)

        async def attempt(sends: int) -> None:
            progress.progressed = False
            headers = {"Accept-Encoding": "identity"}
            if progress.offset:
                headers["Range"] = f"bytes={progress.offset}-"
            request = pipeline.http.build_request(
                "GET", where, headers=headers, extensions={"timeout": _timeout("GET", where)}
            )
            progress.requests += 1
            await pipeline.send(
                Call(
                    request=request,
                    where=where,
                    shown=f"GET {where}",
                    doing=_downloaded(progress),
                    priority=BACKGROUND,
                ),
                attempt=sends,
                receive=functools.partial(self._receive, where, sink, progress),
                decode=_refusal,
            )

        def decide(error: Exception, state: RetryState) -> Decision | None:
            if isinstance(error, MarketoConnectionError) and progress.progressed:
                progress.resumptions += 1
                return Decision(0.0, counts=False)
            return pipeline.decide(error, state)

        await pipeline.retrying(attempt, shown=f"GET {where}", decide=decide)
        return progress

    async def _receive(
        self, where: str, sink: Sink, progress: Download, response: httpx.Response
    ) -> bool:
        """Write the file's bytes to ``sink``; False for an answer that is not the file."""
        content_type = response.headers.get("content-type", "")
        if response.status_code not in (200, 206) or "application/json" in content_type:
            # Marketo answers errors (a refused token, a quota) as JSON, even with HTTP 200:
            # the pipeline reads and decodes it (_refusal).
            return False
        if response.status_code == 206:
            progress.partial_answers += 1
            start, total = _content_range(response, where)
            if start != progress.offset:
                await sink.restart_at(start)
                progress.offset = start
            progress.total = total
        else:
            if progress.offset:
                await sink.restart_at(0)  # the server ignored Range: take the whole file
                progress.offset = 0
            length = response.headers.get("content-length")
            progress.total = int(length) if length and length.isdigit() else None
        failure: MarketoConnectionError | None = None
        try:
            async for chunk in _chunks(response):
                await sink.write(chunk)
                progress.offset += len(chunk)
                progress.progressed = True
        except httpx.HTTPError as exc:
            failure = self._cut(exc, where, progress)
        if failure is not None:  # raised outside the except: see connection_error
            raise failure
        if progress.total is None:
            progress.total = progress.offset
        if not progress.complete:
            raise _cut_short(where, progress)
        return True

    def _cut(self, exc: httpx.HTTPError, where: str, progress: Download) -> MarketoConnectionError:
        pipeline = self._pipeline
        error = connection_error(
            exc, where, pipeline.codec.peer, pipeline.auth.secrets(), doing=_downloaded(progress)
        )
        pipeline.stats.errors[error.low_level_type] += 1
        return error


async def _chunks(response: httpx.Response) -> AsyncIterator[bytes]:
    if response.is_stream_consumed:  # an in-memory transport hands the body over already read
        yield response.content
        return
    # No chunk size: a chunker would hold back bytes already received when the cut comes.
    async for chunk in response.aiter_raw():
        yield chunk


def _timeout(method: str, path: str) -> dict[str, float | None]:
    return httpx.Timeout(
        CONNECT_TIMEOUT_S, read=read_timeout_for(method, path), write=WRITE_TIMEOUT_S, pool=None
    ).as_dict()


def _downloaded(progress: Download) -> str:
    total = f" of {progress.total:,}" if progress.total is not None else ""
    return f"download cut after {progress.offset:,}{total} bytes"


def _cut_short(where: str, progress: Download) -> MarketoConnectionError:
    return MarketoConnectionError(f"{_downloaded(progress)} (the body ended early)", path=where)


def _refusal(response: httpx.Response, call: Call) -> None:
    """Decodes an answer to a download that is not the file: always raises."""
    where = call.where
    decode(response, path=where)
    raise TransientError(
        f"Marketo answered a file download with JSON instead of the file (HTTP "
        f"{response.status_code})",
        http_status=response.status_code,
        path=where,
    )


def _content_range(response: httpx.Response, where: str) -> tuple[int, int]:
    found = _CONTENT_RANGE.match(response.headers.get("content-range", "").strip())
    if found is None or found.group(3) == "*":
        raise TransientError(
            "Marketo answered 206 without a usable Content-Range", http_status=206, path=where
        )
    return int(found.group(1)), int(found.group(3))
