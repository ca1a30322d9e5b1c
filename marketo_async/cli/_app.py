"""The ``marketo-async`` root command, and the list of command groups it offers."""

from __future__ import annotations

import click

from .. import __version__
from ._entry import run_command
from ._lazy import LazyGroup
from ._state import CliState

__all__ = ["COMMANDS", "cli", "main"]


# Every top-level command and group (click's --help sorts them by name), and where it is
# defined: its module is imported only when it runs (or --help lists them all). A new command
# group is a module ending with its click group, which lists the group's commands; add it here.
COMMANDS: dict[str, str] = {
    "leads": "._leads:leads",
    "lists": "._lists:static_lists",
    "program-members": "._program_members:program_members",
    "activities": "._activities:activities",
    "objects": "._objects:objects",
    "campaigns": "._campaigns:campaigns",
    "usage": "._campaigns:usage",
    "describe": "._leads:describe",
    "config": "._config:config",
    "sandbox": "._sandbox:sandbox",
    "leadgen": "._leadgen:leadgen",
    "migrate": "._migrate:migrate",
}


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="marketo-async")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Bulk loads into Marketo Engage, within its limits, with a per-row report.

    Connection settings come from flags, MARKETO_* environment variables, or a dotenv file
    (./.env, or --env-file): MARKETO_BASE_URL or MARKETO_MUNCHKIN_ID, MARKETO_CLIENT_ID and
    MARKETO_CLIENT_SECRET (the secret is read from the environment or dotenv file only).
    Add --sandbox to any command to try it against a local emulator.

    Exit status: 0 when every row applied, 1 when some did not, 130 (143) when stopped by
    SIGINT (SIGTERM).
    """
    ctx.ensure_object(CliState)


def main(argv: list[str] | None = None) -> None:
    """The ``marketo-async`` entry point."""
    run_command(cli, argv, "marketo-async")
