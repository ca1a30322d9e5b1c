"""What one invocation shares between its commands: the sandbox a test seeded, client options."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
import click

if TYPE_CHECKING:
    from ..testing import FakeMarketo

__all__ = ["CliState", "cli_state"]


@attrs.define
class CliState:
    """Shared across one invocation; tests pass ``CliState(sandbox=fake)`` as click's ``obj``
    to run ``--sandbox`` commands against a FakeMarketo they seeded and inspect."""

    sandbox: FakeMarketo | None = None
    # Extra MarketoClient arguments for that sandbox's client (e.g. a no-wait RetryPolicy).
    client_options: dict[str, Any] = attrs.Factory(dict)


def cli_state(ctx: click.Context) -> CliState:
    """The invocation's state (a fresh, empty one when the command runs outside the group)."""
    state = ctx.find_object(CliState)
    return state if state is not None else CliState()
