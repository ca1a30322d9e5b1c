"""``marketo-async config show``: the connection settings in effect, the secret masked."""

from __future__ import annotations

import click
from rich import box
from rich.table import Table

from ._connect import ConnectOptions, resolve
from ._options import connection_options
from ._output import stdout_console
from ._settings import VARIABLES

__all__ = ["config"]


@click.command("show")
@connection_options
def config_show(connect: ConnectOptions) -> None:
    """Show the settings in effect and where each comes from; the secret is masked."""
    settings = resolve(connect)
    table = Table(box=box.SIMPLE)
    table.add_column("setting")
    table.add_column("value")
    table.add_column("from")
    for name, value in settings.masked().items():
        table.add_row(VARIABLES[name], value or "(not set)", settings.sources.get(name, ""))
    out = stdout_console()
    out.print(table)
    missing = settings.missing()
    if missing:
        out.print("Missing: " + "; ".join(missing), markup=False)


@click.group(commands=[config_show])
def config() -> None:
    """Inspect the connection settings."""
