"""Running the root command as a program: exit statuses and signals outside a run.

A bulk run watches SIGINT and SIGTERM itself (it stops sending, finishes the report and the
summary, then exits 130 or 143). Before a run starts (reading settings, the preflight, the
token) and in commands that are not runs, click would print ``Aborted!`` with exit 1 for
Ctrl-C, and SIGTERM would end the process with no word. Here both say in one line that the
command was interrupted and exit 130 (SIGINT) or 143 (SIGTERM), as shells report a process a
signal ended; a disk or network error a user can cause is one line too, never a traceback.

The SIGTERM handler raises in whichever task is running, so in a command whose event loop runs
a task group (progress beside an export, a server) the signal's exception reaches here wrapped
in an exception group: ``stop_status`` looks at the group's leaves, so every command gets the
same one line and status.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator, Sequence
from types import FrameType
from typing import NoReturn

import click

from .._errors import MarketoError
from ._output import ExitCode, stderr_console

__all__ = ["Terminated", "exit_if_stopped", "run_command", "stop_status"]


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived outside a run's own signal handling.

    A KeyboardInterrupt, because asyncio lets only those (and SystemExit) through its callbacks
    and transports: any other exception the handler raises while a socket write runs is logged
    and swallowed, and the command went on to say it finished (exit 0).
    """


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def _leaves(error: BaseException) -> Iterator[BaseException]:
    inner = getattr(error, "exceptions", None)  # an exception group (3.10: anyio's backport)
    if isinstance(inner, tuple):
        for each in inner:
            yield from _leaves(each)
    else:
        yield error


def stop_status(error: BaseException) -> ExitCode | None:
    """143 or 130 when ``error`` is SIGTERM's or SIGINT's exception, also inside an exception
    group (a task group's); None for any other error. SIGTERM wins when both are there."""
    leaves = list(_leaves(error))
    if any(isinstance(leaf, Terminated) for leaf in leaves):
        return ExitCode.TERMINATED
    if any(isinstance(leaf, KeyboardInterrupt) for leaf in leaves):
        return ExitCode.INTERRUPTED
    return None


def exit_if_stopped(error: BaseException, say: str) -> None:
    """Say ``say`` and exit 130 or 143 when ``error`` is SIGINT's or SIGTERM's (see
    ``stop_status``); return for any other error, for the caller to re-raise."""
    code = stop_status(error)
    if code is not None:
        _say(say)
        raise SystemExit(int(code)) from None


def _say(text: str) -> None:
    stderr_console().print(text, markup=False)


def _interrupted_by(error: BaseException) -> NoReturn:
    code = stop_status(error)
    name = "SIGTERM" if code is ExitCode.TERMINATED else "SIGINT"
    _say(f"Interrupted ({name}); exit status {int(code or ExitCode.INTERRUPTED)}.")
    raise SystemExit(int(code or ExitCode.INTERRUPTED)) from None


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
    except click.Abort as exc:  # click turns a KeyboardInterrupt (so also Terminated) into Abort
        if isinstance(exc.__cause__, KeyboardInterrupt):
            _interrupted_by(exc.__cause__)
        _say("Aborted.")
        raise SystemExit(int(ExitCode.NOT_APPLIED)) from None
    except MarketoError as exc:  # its message says what to do next
        _say(f"Error: {exc}")
        raise SystemExit(int(ExitCode.NOT_APPLIED)) from None
    except OSError as exc:  # a disk, a file or the network: a condition, not a bug
        where = f" ({exc.filename})" if exc.filename else ""
        _say(f"Error: {exc.strerror or exc}{where}")
        raise SystemExit(int(ExitCode.NOT_APPLIED)) from None
    except BaseException as error:  # the signals, alone or inside a task group's group
        if stop_status(error) is None:
            raise
        _interrupted_by(error)
    finally:
        signal.signal(signal.SIGTERM, previous)
    sys.exit(status if isinstance(status, int) else 0)
