"""The ``marketo-async`` command line: bulk loads with a per-row report, resume and a sandbox.

``marketo-async leads upsert leads.csv --sandbox --report report.jsonl``; see
``marketo-async --help``.

Layout: one module per command group, plus the shared parts.

- ``_app``: the root ``cli`` group and ``COMMANDS``, the tuple of groups it offers.
- ``_leads`` (``leads upsert|delete|export``, ``describe``), ``_lists``,
  ``_program_members``, ``_config``, ``_sandbox``: the commands.
- ``_bulk``: :class:`BulkSpec` and ``add_bulk_command``, which turn a spec into a bulk write
  command with FILE, ``--report``, ``--resume``, progress and connection options, and the one
  runner (report, signals, summary, exit status) every bulk command shares.
- ``_options`` (shared click options), ``_output`` (consoles, :class:`ExitCode`, ``fail``),
  ``_state`` (:class:`CliState`, ``cli_state(ctx)``), ``_connect`` (options -> client).
- ``_input``, ``_report``, ``_run``, ``_progress``, ``_export``, ``_settings``: reading rows,
  the report file, the run engine, the display, writing exports, connection settings.

To add a command group: write ``_<group>.py`` defining a ``@click.group()``; declare bulk
writes with ``add_bulk_command(group, BulkSpec(...))`` (about ten lines each, see ``_bulk``)
and other commands with ``@group.command()`` plus ``@connection_options``; then add the group
to ``COMMANDS`` in ``_app.py``. Fail with ``_output.fail(message)`` (never a traceback for
anything a user can cause) and exit with an :class:`ExitCode`. Tests go in ``tests/cli/``.
"""

from ._app import cli, main

__all__ = ["cli", "main"]
