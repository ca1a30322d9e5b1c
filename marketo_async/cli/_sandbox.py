"""``marketo-async sandbox serve``: a persistent local Marketo emulator on loopback HTTP."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Any

import anyio
import click

from ._connect import load_leads_into, make_sandbox
from ._entry import stop_status
from ._options import OutputFile, latency_option, seed_option
from ._output import ExitCode, fail

__all__ = ["sandbox"]


def _dump_state(fake: Any, path: Path) -> None:
    duplicates = [
        {"field": group.field, "key": group.key, "ids": [lead.get("id") for lead in group.leads]}
        for group in fake.duplicates()
    ]
    state = {
        "leads": list(fake.leads.values()),
        "duplicates": duplicates,
        "lists": {str(i): sorted(fake.list_members(i)) for i in fake.store.lists},
        "programs": {
            str(i): {str(k): v for k, v in fake.program_members(i).items()}
            for i in fake.store.programs
        },
    }
    path.write_text(json.dumps(state, default=str, indent=1), encoding="utf-8")


@click.command("serve")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8080,
    show_default=True,
    help="0 picks a free port (printed).",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@seed_option("A FakeMarketo JSON seed file (leads, lists, programs ...).", name="--seed")
@click.option(
    "--leads",
    "leads_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Seed leads from a CSV/JSONL file.",
)
@click.option(
    "--limits/--no-limits",
    default=True,
    show_default=True,
    help="Enforce Marketo's limits: 100 calls/20 s, 10 in flight, 50,000 a day.",
)
@latency_option("Server time per call.", name="--latency")
@click.option(
    "--dump",
    type=OutputFile(path_type=Path),
    help="On exit, write the leads, duplicates, lists and programs as JSON here.",
)
def sandbox_serve(
    port: int,
    host: str,
    seed: Path | None,
    leads_file: Path | None,
    limits: bool,
    latency: float,
    dump: Path | None,
) -> None:
    """Serve a persistent emulator on loopback HTTP until Ctrl-C (exit 130; SIGTERM: 143).

    Other commands target it with --base-url http://127.0.0.1:PORT --sandbox-credentials
    (the emulator's client id and secret; never picked from the URL alone).
    """
    fake = make_sandbox(limits=limits, latency=latency, seed=seed, seed_option="--seed")
    seeded = load_leads_into(fake, leads_file) if leads_file is not None else 0

    stopped_by: list[ExitCode] = []

    async def go() -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async with anyio.create_task_group() as group:
                actual = await group.start(
                    lambda task_status: fake.serve(port, host=host, task_status=task_status)
                )
                limits_text = "Marketo's limits" if limits else "no limits"
                loaded = (
                    f", from {seeded:,} rows of {leads_file} (rows repeating an email in any "
                    "letter case update its lead, as Marketo's dedupe does)"
                    if seeded
                    else ""
                )
                click.echo(
                    f"Sandbox serving http://{host}:{actual} ({len(fake.leads):,} leads"
                    f"{loaded}; {limits_text}; latency {latency:g} s)",
                )
                click.echo(
                    f"Target it with: --base-url http://{host}:{actual} --sandbox-credentials "
                    f"(client id {fake.client_id!r} and the emulator's default secret). "
                    "Ctrl-C stops it."
                )
                sys.stdout.flush()
                async for signum in signals:
                    stopped_by.append(ExitCode.for_signal(signal.Signals(signum).name))
                    break
                group.cancel_scope.cancel()

    try:
        anyio.run(go)
    except KeyboardInterrupt as exc:  # a signal before the receiver was listening
        stopped_by.append(stop_status(exc) or ExitCode.INTERRUPTED)
    except Exception as exc:
        from ..testing._server import os_error_in

        refused = os_error_in(exc)
        if refused is None:
            raise
        fail(f"cannot serve on {host}:{port}: {refused.strerror or refused}")
    finally:
        if dump is not None:
            _dump_state(fake, dump)
    click.echo(f"Sandbox stopped ({len(fake.leads):,} leads).")
    if stopped_by:  # stopped by a signal, so its status, as every command (130/143)
        raise SystemExit(int(stopped_by[0]))


@click.group(commands=[sandbox_serve])
def sandbox() -> None:
    """A local Marketo emulator (FakeMarketo) to try commands against."""
