"""The commands that are not bulk writes: export, describe, sandbox serve."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import anyio
import click
from rich import box
from rich.console import Console
from rich.table import Table

from .._errors import MarketoError
from ..models import converter
from ..models.leads import LeadFieldDescription
from ._connect import CliState, ConnectOptions, load_leads_into, make_sandbox, open_client
from ._export import RecordWriter, open_output, read_values, to_mapping
from ._progress import ProgressDisplay
from ._run import beside

__all__ = ["describe_leads", "export_leads", "serve_sandbox"]


def _state(ctx: click.Context) -> CliState | None:
    return ctx.find_object(CliState)


def _fail(error: MarketoError) -> None:
    Console(file=sys.stderr, highlight=False, soft_wrap=True).print(f"Error: {error}", markup=False)
    raise SystemExit(1)


def export_leads(
    ctx: click.Context,
    *,
    connect: ConnectOptions,
    filter_type: str | None,
    values_file: Path | None,
    list_id: int | None,
    program_id: int | None,
    fields: Sequence[str],
    out: str,
    output_format: str,
    progress_mode: str,
    progress_interval: float,
) -> None:
    values = read_values(values_file, filter_type) if values_file is not None else []
    if values_file is not None and not values:
        raise click.UsageError(f"{values_file} holds no values")
    field_list = list(fields) or None
    written = 0

    async def go() -> int:
        async with open_client(connect, _state(ctx)) as client:
            pager: Any
            if filter_type is not None:
                pager = client.leads.by_filter(filter_type, values, fields=field_list)
            elif list_id is not None:
                pager = client.leads.by_list(list_id, fields=field_list)
            else:
                assert program_id is not None
                pager = client.leads.by_program(program_id, fields=field_list)
            with open_output(out) as handle:
                writer = RecordWriter(handle, format=output_format, fields=fields)
                display = ProgressDisplay(
                    "leads export",
                    lambda: writer.count,
                    total=None,
                    mode="off" if out == "-" and progress_mode == "auto" else progress_mode,
                    interval=progress_interval,
                    unit="leads",
                )

                async def copy() -> None:
                    try:
                        items: AsyncIterator[Any] = pager.__aiter__()
                        async for item in items:
                            writer.write(to_mapping(item))
                    finally:
                        writer.finish()

                await beside(copy, display.run)
                return writer.count

    try:
        written = anyio.run(go)
    except MarketoError as error:
        _fail(error)
    except ValueError as error:  # the resource refused an argument (a value with a comma ...)
        raise click.UsageError(str(error)) from None
    except KeyboardInterrupt:
        Console(file=sys.stderr, highlight=False).print(
            "Interrupted: the output holds the leads read so far.", markup=False
        )
        raise SystemExit(130) from None
    where = "stdout" if out == "-" else out
    Console(file=sys.stderr, highlight=False).print(
        f"Exported {written:,} leads to {where}.", markup=False
    )


def describe_leads(ctx: click.Context, *, connect: ConnectOptions, as_json: bool) -> None:
    async def go() -> list[LeadFieldDescription]:
        async with open_client(connect, _state(ctx)) as client:
            return await client.leads.describe()

    try:
        fields = anyio.run(go)
    except MarketoError as error:
        _fail(error)
        return
    if as_json:
        click.echo(json.dumps(converter.unstructure(fields), indent=2, default=str))
        return
    rest = [field for field in fields if field.rest is not None]
    table = Table(
        title=f"{len(rest)} lead fields the REST API can use", box=box.SIMPLE, title_justify="left"
    )
    for column in ("REST name", "display name", "type", "length", "read-only"):
        table.add_column(column)
    for field in rest:
        assert field.rest is not None
        table.add_row(
            field.rest.name,
            field.display_name,
            field.data_type,
            "" if field.length is None else str(field.length),
            "yes" if field.rest.read_only else "",
        )
    Console(file=sys.stdout, highlight=False, soft_wrap=True).print(table)


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


def serve_sandbox(
    *,
    port: int,
    host: str,
    seed: Path | None,
    leads_file: Path | None,
    limits: bool,
    latency: float,
    dump: Path | None,
) -> None:
    fake = make_sandbox(limits=limits, latency=latency, seed=seed)
    seeded = load_leads_into(fake, leads_file) if leads_file is not None else 0

    async def go() -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async with anyio.create_task_group() as group:
                actual = await group.start(
                    lambda task_status: fake.serve(port, host=host, task_status=task_status)
                )
                limits_text = "Marketo's limits" if limits else "no limits"
                click.echo(
                    f"Sandbox serving http://{host}:{actual} ({len(fake.leads):,} leads"
                    f"{f', {seeded:,} from {leads_file}' if seeded else ''}; {limits_text}"
                    f"; latency {latency:g} s)",
                )
                click.echo(
                    f"Target it with: --base-url http://{host}:{actual} "
                    f"(client id {fake.client_id!r}; its secret is the emulator default, "
                    "used automatically for loopback URLs). Ctrl-C stops it."
                )
                sys.stdout.flush()
                async for _ in signals:
                    break
                group.cancel_scope.cancel()

    try:
        anyio.run(go)
    except KeyboardInterrupt:
        pass
    finally:
        if dump is not None:
            _dump_state(fake, dump)
    click.echo(f"Sandbox stopped ({len(fake.leads):,} leads).")
