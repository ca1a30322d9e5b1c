"""What bulk import and bulk extract share: queue room and job files on disk.

Marketo holds at most 10 jobs per bulk queue (2 running). A client keeps its own count of the
jobs it holds, so it never sends the 11th; room taken by other users shows up as 1016 or 1029,
and is waited out by the transport (``_transport._jobs``), which also follows each job.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

if TYPE_CHECKING:
    from .._transport import FileTransfers
    from .._transport._files import Download

__all__ = [
    "QUEUE_CAPACITY",
    "QueueRoom",
    "download_to",
    "hash_file",
    "job_file",
]

# Marketo: 10 jobs per bulk queue, running ones included (1016 / 1029 beyond).
QUEUE_CAPACITY = 10


class QueueRoom:
    """This client's share of one Marketo bulk queue: at most ``capacity`` jobs held at once."""

    def __init__(self, capacity: int = QUEUE_CAPACITY) -> None:
        self.capacity = capacity
        self.held = 0
        # Made when first waited on: the resource may be built outside any event loop.
        self._freed: anyio.Event | None = None

    async def take(self) -> None:
        while self.held >= self.capacity:
            if self._freed is None:
                self._freed = anyio.Event()
            await self._freed.wait()
        self.held += 1

    def give_back(self) -> None:
        self.held -= 1
        if self._freed is not None:
            self._freed.set()
            self._freed = None


def job_file(prefix: str, suffix: str = ".csv") -> Path:
    """A new empty private temporary file for one job's data."""
    handle, name = tempfile.mkstemp(prefix=f"marketo-{prefix}-", suffix=suffix)
    os.close(handle)
    return Path(name)


def hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


async def download_to(files: FileTransfers, path: str, target: Path) -> Download:
    """Download ``path`` into ``target`` from scratch (resuming within the call on cuts)."""
    from .._transport._files import Sink

    async with await anyio.open_file(target, "wb+") as stream:
        return await files.download(path, Sink(stream))
