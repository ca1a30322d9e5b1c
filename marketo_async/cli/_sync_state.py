"""The state file of an incremental export, and the output file it keeps in step.

The state names what is read (kind and filters), the output file and format, and two
positions that always agree: ``cursor`` (where the read continues) and ``offset`` (how many
bytes of the output hold everything read before that cursor). A checkpoint makes the output's
bytes durable first (flush, fsync), then replaces the state file atomically (write a
temporary file, fsync, rename). A run killed at any moment leaves a state whose offset is at
most the file's length; the next run cuts the file back to that offset and continues from the
cursor, so every activity ends up in the output exactly once.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import attrs

__all__ = ["STATE_VERSION", "StateError", "SyncState", "open_at", "write_atomically"]

STATE_VERSION = 1


class StateError(Exception):
    """A state file that cannot be used as it is (damaged, another read's, out of step)."""


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``: readers see the old file or the new one, never a mix,
    and after a crash the file is one of the two."""
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    with contextlib.suppress(OSError):  # not every platform can open a directory
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


_FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "kind": str,
    "filters": dict,
    "out": str,
    "format": str,
    "since": str,
    "cursor": (str, type(None)),
    "offset": int,
    "count": int,
    "reached": (str, type(None)),
}


@attrs.define(kw_only=True)
class SyncState:
    """Where an incremental export stands (``cursor`` None: not started, use ``since``)."""

    kind: str
    filters: dict[str, Any]
    out: str
    format: str
    since: str
    cursor: str | None = None
    offset: int = 0
    count: int = 0
    reached: str | None = None
    version: int = STATE_VERSION

    @classmethod
    def load(cls, path: Path) -> SyncState:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError(f"a JSON {type(data).__name__}, not an object")
            if data.get("version") != STATE_VERSION:
                raise StateError(f"{path}: state version {data.get('version')!r} is not known")
            for name, kinds in _FIELD_TYPES.items():
                value = data.get(name)
                if isinstance(value, bool) or not isinstance(value, kinds):
                    raise ValueError(f"{name} is {value!r}")
            if data["offset"] < 0 or data["count"] < 0:
                raise ValueError("a negative offset or count")
            return cls(**data)
        except (ValueError, TypeError) as exc:
            raise StateError(f"{path} is not a state file this command wrote ({exc})") from None

    def save(self, path: Path) -> None:
        write_atomically(path, json.dumps(attrs.asdict(self), indent=1) + "\n")


@contextlib.contextmanager
def open_at(path: Path, offset: int) -> Iterator[IO[bytes]]:
    """The output file opened for writing at ``offset``, anything after it cut off (what a
    killed run wrote after its last checkpoint)."""
    handle = path.open("r+b") if path.exists() else path.open("w+b")
    with handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            if offset:  # a device or a pipe: nothing to cut back or continue after
                raise StateError(f"{path} is not a regular file: a state can continue only a file")
            yield handle
            return
        size = os.fstat(handle.fileno()).st_size
        if size < offset:
            raise StateError(
                f"{path} holds {size:,} bytes but the state file says {offset:,} were written: "
                "the file was changed or replaced since; restore it, or start again with a new "
                "state file"
            )
        handle.truncate(offset)
        handle.seek(offset)
        yield handle
