"""The ``marketo-async`` command line: bulk loads with a per-row report, resume and a sandbox.

``marketo-async leads upsert leads.csv --sandbox --report report.jsonl``; see
``marketo-async --help``.

Layout: one module per command group, plus the shared parts.

- ``_app``: the root ``cli`` group and ``COMMANDS``, the groups it offers and where each is
  defined (``_lazy.LazyGroup`` imports a group's module only when it runs).
- ``_leads`` (``leads upsert|delete|import|export``, ``describe``), ``_lists``,
  ``_program_members``, ``_config``, ``_sandbox``, ``_leadgen``, ``_migrate``: the command
  groups; ``_bulk_api``: the Bulk API commands (imports, exports) the ``leads`` and
  ``program-members`` groups list, and the ``activities`` group.
- ``_bulk``: :class:`BulkSpec` and ``bulk_command``, which turn a spec into a bulk write
  command with FILE, ``--report``, ``--resume``, progress and connection options, and the one
  runner (report, signals, summary, exit status) every bulk command shares.
- ``_options`` (shared click options), ``_output`` (consoles, :class:`ExitCode`, ``fail``),
  ``_state`` (:class:`CliState`, ``cli_state(ctx)``), ``_connect`` (options -> client).
- ``_input``, ``_report``, ``_run``, ``_progress``, ``_export``, ``_settings``: reading rows,
  the report file, the run engine, the display, writing exports, connection settings.

Commands are registered explicitly, never as a side effect of importing a module. To add a
command group: write ``_<group>.py``; declare bulk writes with
``name = bulk_command(BulkSpec(...))`` (about ten lines each, see ``_bulk``) and other commands
with ``@click.command()`` plus ``@connection_options``; end the module with the group, listing
its commands: ``@click.group("group", commands=[...])`` (or ``cls=LazyGroup`` with
``lazy={"name": "._module:command"}`` for commands of a module only they need); then add the
group to ``COMMANDS`` in ``_app.py`` (``"group": "._group:group"``). A module imports only the
shared parts, or the commands of a module it lists (``_leads`` lists
``_bulk_api.leads_import``), never the module whose group lists it: ``tests/test_imports.py``
refuses any import cycle, counting the lazy entries as imports. Fail with
``_output.fail(message)`` (never a traceback for anything a user can cause) and exit with an
:class:`ExitCode`. Tests go in ``tests/cli/``.
"""

from ._app import cli, main

__all__ = ["cli", "main"]
