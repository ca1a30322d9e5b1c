"""One run per report: an OS lock held for the life of a run, released even on kill -9.

Two runs writing one report interleave their lines and resend each other's rows (two
``leads upsert --report same.jsonl`` at once made 1,273 duplicate leads). A run takes an
exclusive ``flock`` on ``<report>.lock`` beside the report before it reads or writes the
report, and holds it until it ends; the kernel drops the lock when the process dies,
however it dies, so a killed run never blocks the next one. The lock file holds the
holder's pid, which the refusal names; it is removed when the run ends.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

import click

__all__ = ["ReportBusy", "ReportLock"]

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock; runs are not kept apart there
    fcntl = None  # type: ignore[assignment]


class ReportBusy(click.ClickException):
    """Another run (a live process) holds the report."""

    exit_code = 2


def _lock_path(report: Path) -> Path:
    return report.with_name(report.name + ".lock")


def _lockable(report: Path) -> bool:
    """A regular file, or one not created yet; never a device (``/dev/full``) or a pipe."""
    try:
        mode = report.stat().st_mode
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return stat.S_ISREG(mode)


def _holder(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return "another process"
    return f"pid {text}" if text.isdigit() else "another process"


class ReportLock:
    """Holds ``<report>.lock`` exclusively while open; :class:`ReportBusy` when another
    process holds it (the message names its pid)."""

    def __init__(self, report: Path, *, role: str = "--report") -> None:
        self.report = report
        self.path = _lock_path(report)
        self._role = role
        self._fd: int | None = None

    def acquire(self) -> ReportLock:
        if fcntl is None or not _lockable(self.report):
            return self
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise ReportBusy(
                    f"{self._role} {self.report} is in use by another run ({_holder(self.path)}): "
                    "wait for it to end (or stop it) before running again on this report"
                ) from None
            except OSError:
                os.close(fd)  # a file system without locks: runs are not kept apart there
                return self
            # The lock file may have been removed by the run that held it, between our open
            # and our lock: then we hold a file no other run can see. Take the new one.
            if _same_file(fd, self.path):
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()  # while still held: a waiting run re-checks the inode
        os.close(fd)

    def __enter__(self) -> ReportLock:
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def _same_file(fd: int, path: Path) -> bool:
    try:
        on_disk = path.stat()
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (held.st_dev, held.st_ino) == (on_disk.st_dev, on_disk.st_ino)
