"""What the user sees: the two consoles, the exit codes, and the one way to fail with a message."""

from __future__ import annotations

import enum
import sys
from typing import NoReturn

from rich.console import Console

__all__ = ["ExitCode", "fail", "stderr_console", "stdout_console"]


class ExitCode(enum.IntEnum):
    """The process exit status of every command."""

    OK = 0
    NOT_APPLIED = 1  # some rows did not apply, or the command failed
    USAGE = 2  # click's own status for a bad option or argument
    # 128 + the signal's number, as shells report a process a signal ended.
    INTERRUPTED = 130  # SIGINT (Ctrl-C)
    TERMINATED = 143  # SIGTERM

    @classmethod
    def for_signal(cls, name: str | None) -> ExitCode:
        return cls.TERMINATED if name == "SIGTERM" else cls.INTERRUPTED


def stdout_console() -> Console:
    """Results: tables and summaries (what a pipe downstream would read)."""
    return Console(file=sys.stdout, highlight=False, soft_wrap=True)


def stderr_console() -> Console:
    """Notes, warnings, progress and errors, kept out of the results."""
    return Console(file=sys.stderr, highlight=False, soft_wrap=True)


def fail(message: str, code: ExitCode = ExitCode.NOT_APPLIED) -> NoReturn:
    """Print ``Error: message`` on stderr and exit with ``code`` (no traceback)."""
    stderr_console().print(f"Error: {message}", markup=False)
    raise SystemExit(int(code))
