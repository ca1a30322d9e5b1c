"""The ``marketo-async`` root command, and the list of command groups it offers."""

from __future__ import annotations

import click

from .. import __version__
from ._activities import activities
from ._campaigns import campaigns, usage
from ._config import config
from ._entry import run_command
from ._leadgen import leadgen
from ._leads import describe, leads
from ._lists import static_lists
from ._migrate import migrate
from ._objects import objects
from ._program_members import program_members
from ._sandbox import sandbox
from ._state import CliState

__all__ = ["COMMANDS", "cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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


# Every top-level command and group (click's --help sorts them by name). A new command group
# is a module ending with its click group, which lists the group's commands; add it here.
COMMANDS: tuple[click.Command, ...] = (
    leads,
    static_lists,
    program_members,
    activities,
    objects,
    campaigns,
    usage,
    describe,
    config,
    sandbox,
    leadgen,
    migrate,
)
for _command in COMMANDS:
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    """The ``marketo-async`` entry point."""
    run_command(cli, argv, "marketo-async")
