"""Command groups are imported when one of their commands runs: a command does not pay for
the modules of the others, and --help still lists every command."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from marketo_async.cli._app import COMMANDS, cli
from marketo_async.cli._lazy import LazyGroup, load_command
from tests.cli_runner import child_env

# The modules of the commands `leads import` does not run.
OTHER_COMMANDS = (
    "marketo_async.cli._activities",
    "marketo_async.cli._campaigns",
    "marketo_async.cli._config",
    "marketo_async.cli._leadgen",
    "marketo_async.cli._lists",
    "marketo_async.cli._migrate",
    "marketo_async.cli._objects",
    "marketo_async.cli._program_members",
    "marketo_async.cli._sandbox",
    "marketo_async.leadgen",
    "marketo_async.migrate",
)

_IMPORTED_BY = """
import sys
from marketo_async.cli._app import cli
try:
    cli.main(sys.argv[1:], prog_name="marketo-async")
except SystemExit:
    pass
print(" ".join(sorted(name for name in sys.modules if name.startswith("marketo_async"))))
"""


def _imported_by(*args: str) -> set[str]:
    """The package's modules a child process imported to run ``marketo-async ARGS``."""
    done = subprocess.run(
        [sys.executable, "-c", _IMPORTED_BY, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=child_env(),
        check=True,
    )
    return set(done.stdout.strip().splitlines()[-1].split())  # after the help text


def test_leads_import_does_not_import_the_other_command_groups() -> None:
    imported = _imported_by("leads", "import", "--help")
    assert "marketo_async.cli._bulk_api" in imported  # the command itself was loaded
    assert imported.isdisjoint(OTHER_COMMANDS), sorted(imported & set(OTHER_COMMANDS))


def test_the_top_level_help_lists_every_command() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    listed = result.output.split("Commands:")[1]
    for name in COMMANDS:
        assert f"\n  {name} " in listed


def test_every_command_is_defined_where_the_table_says_under_its_name() -> None:
    for name, where in COMMANDS.items():
        assert load_command(where).name == name


def test_leads_help_lists_its_lazily_imported_commands() -> None:
    result = CliRunner().invoke(cli, ["leads", "--help"])
    assert result.exit_code == 0
    for name in ("changes", "deleted", "delete", "export", "import", "upsert"):
        assert f"\n  {name} " in result.output


def test_an_unknown_command_is_refused_as_before() -> None:
    result = CliRunner().invoke(cli, ["leeds"])
    assert result.exit_code == 2 and "No such command 'leeds'" in result.output


def test_a_lazy_entry_that_is_no_command_is_refused() -> None:
    group = LazyGroup("g", lazy={"x": "._lazy:LazyGroup"})
    with pytest.raises(TypeError, match="is not a click command"):
        group.get_command(click.Context(group), "x")
