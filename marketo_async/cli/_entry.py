"""Running the root command as a program: exit statuses and signals outside a run.

A bulk run watches SIGINT and SIGTERM itself (it stops sending, finishes the report and the
summary, then exits 130 or 143). Before a run starts (reading settings, the preflight, the
token) and in commands that are not runs, click would print ``Aborted!`` with exit 1 for
Ctrl-C, and SIGTERM would end the process with no word. Here both say in one line that the
command was interrupted and exit 130 (SIGINT) or 143 (SIGTERM), as shells report a process a
signal ended; a disk or network error a user can cause is one line too, never a traceback.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence
from types import FrameType
from typing import NoReturn

import click

from .._errors import MarketoError
from ._output import ExitCode, stderr_console

__all__ = ["Terminated", "run_command"]


class Terminated(BaseException):
    """SIGTERM arrived outside a run's own signal handling."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def _say(text: str) -> None:
    stderr_console().print(text, markup=False)


def _interrupted(name: str, code: ExitCode) -> NoReturn:
    _say(f"Interrupted ({name}); exit status {int(code)}.")
    raise SystemExit(int(code))


def run_command(command: click.Command, argv: Sequence[str] | None, prog_name: str) -> NoReturn:
    """Run ``command`` as the program's entry point and exit with its status."""
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        status = command.main(
            args=list(argv) if argv is not None else None,
            prog_name=prog_name,
            standalone_mode=False,
        )
    except click.ClickException as exc:
        exc.show()
        raise SystemExit(exc.exit_code) from None
    except click.Abort as exc:
        if isinstance(exc.__cause__, KeyboardInterrupt):
            _interrupted("SIGINT", ExitCode.INTERRUPTED)
        _say("Aborted.")
        raise SystemExit(int(ExitCode.NOT_APPLIED)) from None
    except KeyboardInterrupt:
        _interrupted("SIGINT", ExitCode.INTERRUPTED)
    except Terminated:
        _interrupted("SIGTERM", ExitCode.TERMINATED)
    except MarketoError as exc:  # its message says what to do next
        _say(f"Error: {exc}")
        raise SystemExit(int(ExitCode.NOT_APPLIED)) from None
    except OSError as exc:  # a disk, a file or the network: a condition, not a bug
        where = f" ({exc.filename})" if exc.filename else ""
        _say(f"Error: {exc.strerror or exc}{where}")
        raise SystemExit(int(ExitCode.NOT_APPLIED)) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    sys.exit(status if isinstance(status, int) else 0)
