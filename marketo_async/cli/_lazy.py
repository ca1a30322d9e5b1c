"""A command group that imports a command's module only when the command runs (or ``--help``
lists it), so a command does not pay for the modules of all the others."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import click

__all__ = ["LazyGroup"]


class LazyGroup(click.Group):
    """A click group listing some of its commands by where they are defined.

    ``lazy`` maps a command's name to ``"._module:attribute"`` (relative to this package);
    the module is imported the first time the command is looked up::

        @click.group("leads", cls=LazyGroup, commands=[leads_upsert],
                     lazy={"changes": "._activities:leads_changes"})
    """

    def __init__(self, *args: Any, lazy: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        where = self.lazy.pop(cmd_name, None)
        if where is not None:
            self.add_command(load_command(where), cmd_name)
        return super().get_command(ctx, cmd_name)


def load_command(where: str) -> click.Command:
    """The command at ``"._module:attribute"`` (relative to this package)."""
    module, _, attribute = where.partition(":")
    command = getattr(importlib.import_module(module, __package__), attribute)
    if not isinstance(command, click.Command):
        raise TypeError(f"{where} is not a click command")
    return command
