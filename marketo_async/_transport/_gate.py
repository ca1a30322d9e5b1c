"""The last moment a call can still be stopped: after the limiter, before the wire.

A batch write gives each of its calls a :class:`SendGate` (in a context variable, so it
reaches the transport through the resource without an argument). The transport says when
the call starts waiting (for a token, the rate window, a slot: :func:`queued`) and calls
:func:`departing` just before its first byte goes out: the gate lets it go (and remembers
that it is on the wire) or, once the run was asked to stop, raises :class:`CallNotSent`. So
a stop sends nothing more, not even calls that were waiting for the rate window, and a
cancel knows which calls may have reached Marketo. A call whose send function never reports
(any other transport) counts as on the wire: it may have applied.
"""

from __future__ import annotations

import contextvars
import enum
from collections.abc import Callable

__all__ = ["CURRENT_GATE", "CallNotSent", "SendGate", "departing", "queued"]


class CallNotSent(Exception):
    """The call was stopped before it was sent: nothing of it reached Marketo."""


class _State(enum.Enum):
    STARTED = "started"  # nothing reported: it may be on the wire
    WAITING = "waiting"  # the transport holds it before the wire
    ON_WIRE = "on the wire"  # a send began: it may have applied


class SendGate:
    """Lets one call go on the wire unless ``stop()`` says the run is stopping."""

    def __init__(self, stop: Callable[[], bool] | None = None) -> None:
        self._stop = stop
        self._state = _State.STARTED

    @property
    def waiting(self) -> bool:
        """True while the call is known not to have been sent yet."""
        return self._state is _State.WAITING

    def queued(self) -> None:
        if self._state is _State.STARTED:
            self._state = _State.WAITING

    def departing(self) -> None:
        """Called just before a send: raises CallNotSent when the call must not start.

        Only a call's first send is held back: a resend after a failure belongs to a call
        already on the wire, which a stop lets finish.
        """
        if self._state is _State.ON_WIRE:
            return
        if self._stop is not None and self._stop():
            raise CallNotSent
        self._state = _State.ON_WIRE


CURRENT_GATE: contextvars.ContextVar[SendGate | None] = contextvars.ContextVar(
    "marketo_async_send_gate", default=None
)


def queued() -> None:
    """The transport's hook when a call starts waiting to be sent (a no-op outside a batch)."""
    gate = CURRENT_GATE.get()
    if gate is not None:
        gate.queued()


def departing() -> None:
    """The transport's hook just before a call's bytes go out (a no-op outside a batch)."""
    gate = CURRENT_GATE.get()
    if gate is not None:
        gate.departing()
