"""``marketo-async leads ...`` (upsert, delete, export) and ``marketo-async describe``."""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import attrs
import click
from rich import box
from rich.table import Table

from .._batch import BatchReport, Held, Reason, RecordOutcome
from .._client import MarketoClient
from .._transport import BACKGROUND, lane
from ..models import converter
from ..models.leads import Lead
from ..resources._lead_rules import validate_lead
from ..resources._settle import read_back
from ..resources.leads import SyncAction
from ._bulk import BulkSpec, Params, Transform, bulk_command, prepare_keyed_by
from ._bulk_api import bulk_leads_export, leads_import
from ._connect import ConnectOptions, open_client, run_read
from ._export import ExportTarget, export_records, read_values, run_export, to_mapping
from ._lazy import LazyGroup
from ._options import (
    batch_size_option,
    connection_options,
    export_options,
    extract_poll_option,
)
from ._output import stderr_console, stdout_console
from ._preflight import LeadChecks, check_leads, lead_transform
from ._run import EARLIER_RUN, EarlierAttempts, Send
from ._state import cli_state

__all__ = ["describe", "leads"]

ACTIONS = ("createOrUpdate", "createOnly", "updateOnly", "createDuplicate")


# --------------------------------------------------------------------------- leads upsert


def _check_upsert(params: Params) -> None:
    if params["partition"] is not None and params["action"] not in ("createOnly", "createOrUpdate"):
        raise click.UsageError("--partition applies only to --action createOnly or createOrUpdate")
    if params["coalesce"] and params["action"] == "createDuplicate":
        raise click.UsageError("--coalesce needs a lookup key; createDuplicate has none")


async def _preflight_upsert(
    client: MarketoClient, params: Params, columns: Sequence[str]
) -> Transform | None:
    keyed = params["action"] != "createDuplicate"  # createDuplicate looks nothing up
    checks = LeadChecks(
        columns=list(columns),
        lookup_field=params["lookup_field"] if keyed else None,
        partition=params["partition"],
        drop_unknown=params["drop_unknown_fields"],
    )
    await check_leads(client, checks)
    return lead_transform(checks, convert=True, key_field=params["lookup_field"])


def _upsert(client: MarketoClient, params: Params) -> Send:
    sync = functools.partial(
        client.leads.sync,
        action=cast(SyncAction, params["action"]),
        lookup_field=params["lookup_field"],
        partition_name=params["partition"],
        coalesce=params["coalesce"],
        batch_size=params["batch_size"],
    )
    if not params["settle"]:
        return sync
    return functools.partial(_settled_sync, sync)


async def _settled_sync(
    sync: Send, records: Any, *, on_outcome: Callable[[RecordOutcome], None], **hooks: Any
) -> BatchReport:
    """``--settle``: rows whose result is unknown are read back at the end, and reported
    (one line each, as ever) with what the read found."""
    held: Held[RecordOutcome] = Held()

    def hear(outcome: RecordOutcome) -> None:
        if outcome.status == "unknown":
            held.hold(outcome.index, outcome)
        else:
            on_outcome(outcome)

    try:
        report = await sync(records, on_outcome=hear, settle_unknown=True, **hooks)
    except BaseException:
        for outcome in held.release_all():
            on_outcome(outcome)
        raise
    for index in held:
        on_outcome(report.outcomes[index])
    if held:
        found = Counter(report.outcomes[index].status for index in held)
        shown = ", ".join(f"{count:,} {status}" for status, count in sorted(found.items()))
        stderr_console().print(
            f"--settle: read {len(held):,} rows with an unknown result back by lookup key: "
            f"{shown}" + (" (send the not_applied rows again)" if found["not_applied"] else ""),
            markup=False,
        )
    return report


def _earlier_upsert(params: Params) -> EarlierAttempts:
    """What a resumed upsert does with rows an earlier run may have applied, by action."""
    action, lookup_field = params["action"], params["lookup_field"]
    if action == "createOnly":
        return EarlierAttempts(
            note="they are sent again; a 'lead already exists' (1005) answer to one is checked "
            "by reading the lead back, and a lead holding every value sent is reported created "
            "(the earlier call created it), not skipped",
            evidence={"1005": "created"},
            confirm=lambda client: functools.partial(_confirm_created, client, lookup_field),
        )
    if action == "createDuplicate":
        return EarlierAttempts(
            note="createDuplicate makes a new lead at every send, so they are NOT sent again "
            "and stay unknown: check Marketo for them before sending them yourself",
            resend=False,
        )
    return EarlierAttempts(
        note=f"they are sent again: harmless, {action} by lookup field applies a row once"
    )


async def _confirm_created(
    client: MarketoClient, lookup_field: str, held: Sequence[tuple[Any, RecordOutcome]]
) -> list[RecordOutcome]:
    """Rows a resend found existing (1005): ``created`` when the lead holds every value sent
    (an earlier run's call made it), else skipped as answered (the lead was there before)."""

    async def read(field: str, keys: Sequence[str | int], fields: Sequence[str]) -> list[Lead]:
        return await client.leads.by_filter(field, keys, fields=list(fields)).collect()

    records = [record if isinstance(record, Mapping) else {} for record, _ in held]
    verdicts = await read_back(records, read, action="createOnly", lookup_field=lookup_field)
    confirmed: list[RecordOutcome] = []
    for (_, outcome), (status, lead_id, why) in zip(held, verdicts, strict=True):
        if status == "created":
            note = Reason(
                EARLIER_RUN,
                f"an earlier run's call created lead {lead_id} (its answer was lost): sent "
                f"again it was answered 1005, and {why.message.removeprefix('read back: ')}",
            )
            confirmed.append(attrs.evolve(outcome, status="created", id=lead_id, reasons=(note,)))
        else:
            confirmed.append(attrs.evolve(outcome, reasons=(*outcome.reasons, why)))
    return confirmed


leads_upsert = bulk_command(
    BulkSpec(
        name="upsert",
        help="Create or update the leads of FILE (CSV with a header row, or JSONL), streamed.\n\n"
        "Empty CSV cells are left out, so they never blank a field in Marketo.",
        reads="records",
        send=_upsert,
        prepare=prepare_keyed_by("lookup_field"),
        check=_check_upsert,
        resume_keys=("lookup_field",),
        preflight=_preflight_upsert,
        validate=lambda params: validate_lead(params["action"], params["lookup_field"]),
        earlier=_earlier_upsert,
        options=(
            click.option(
                "--action", type=click.Choice(ACTIONS), default="createOrUpdate", show_default=True
            ),
            click.option(
                "--lookup-field",
                default="email",
                show_default=True,
                help="Field that finds existing leads.",
            ),
            click.option("--partition", metavar="NAME", help="Lead partition for new leads."),
            click.option(
                "--settle/--no-settle",
                default=False,
                show_default=True,
                help="At the end, read rows whose result is unknown (cut off after sending) "
                "back by lookup key: created/updated, or not_applied (send those again).",
            ),
            click.option(
                "--coalesce/--no-coalesce",
                default=False,
                show_default=True,
                help="Merge consecutive rows with the same lookup key into one record "
                "(later values win).",
            ),
            batch_size_option,
            click.option(
                "--drop-unknown-fields",
                is_flag=True,
                help="Leave out columns that name no lead field (they are refused otherwise).",
            ),
        ),
    ),
)


# --------------------------------------------------------------------------- leads delete

leads_delete = bulk_command(
    BulkSpec(
        name="delete",
        help="Delete the leads whose ids FILE lists (on a terminal it asks first; --yes does not).",
        confirm="Delete from Marketo every lead whose id {file} lists?",
        send=lambda client, params: (
            lambda ids, **hooks: client.leads.delete(ids, batch_size=params["batch_size"], **hooks)
        ),
        options=(batch_size_option,),
        earlier=lambda params: EarlierAttempts(
            note="they are sent again; a lead an earlier call deleted is answered 1004 and "
            "reported deleted",
            evidence={"1004": "deleted"},
        ),
    ),
)


# --------------------------------------------------------------------------- leads export


def _pager(
    client: MarketoClient,
    *,
    filter_type: str | None,
    values: list[str],
    list_id: int | None,
    program_id: int | None,
    fields: list[str] | None,
) -> Any:
    if filter_type is not None:
        return client.leads.by_filter(filter_type, values, fields=fields)
    if list_id is not None:
        return client.leads.by_list(list_id, fields=fields)
    assert program_id is not None
    return client.leads.by_program(program_id, fields=fields)


@click.command("export")
@click.option("--filter-type", metavar="FIELD", help="Search field, e.g. email (with --values).")
@click.option(
    "--values",
    "values_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File of values for --filter-type: one a line, or a CSV/JSONL column of that name.",
)
@click.option("--list", "list_id", type=int, metavar="ID", help="Members of a static list.")
@click.option(
    "--updated-since", metavar="DATE", help="Bulk Extract: leads updated on or after DATE."
)
@click.option(
    "--created-since", metavar="DATE", help="Bulk Extract: leads created on or after DATE."
)
@click.option("--until", metavar="DATE", help="Bulk Extract: ... and before DATE [default: now].")
@click.option(
    "--via",
    type=click.Choice(["rest", "bulk"]),
    help="How to read --list: rest (300 leads a call) or bulk (Bulk Extract) [default: rest].",
)
@extract_poll_option
@click.option("--program", "program_id", type=int, metavar="ID", help="Members of a program.")
@click.option(
    "--fields",
    multiple=True,
    metavar="A,B,...",
    help="Fields to read (comma-separated, repeatable) [default: Marketo's default fields].",
)
@export_options
@connection_options
@click.pass_context
def leads_export(
    ctx: click.Context,
    filter_type: str | None,
    values_file: Path | None,
    list_id: int | None,
    updated_since: str | None,
    created_since: str | None,
    until: str | None,
    via: str | None,
    poll_interval: float,
    program_id: int | None,
    fields: tuple[str, ...],
    export: ExportTarget,
    connect: ConnectOptions,
) -> None:
    """Write leads found by a filter, a static list or a program, as CSV or JSONL.

    With --updated-since or --created-since (and --until), or --list with --via bulk, the
    leads come from Bulk Extract: every lead in [since, until) once, in 31-day jobs.
    """
    if updated_since or created_since or via == "bulk":
        if filter_type is not None or values_file is not None or program_id is not None:
            raise click.UsageError("Bulk Extract takes --updated-since, --created-since or --list")
        bulk_leads_export(
            ctx,
            export,
            connect=connect,
            updated_since=updated_since,
            created_since=created_since,
            until=until,
            list_id=list_id,
            fields=fields,
            poll_interval=poll_interval,
        )
        return
    if until is not None:
        raise click.UsageError("--until goes with --updated-since or --created-since")
    chosen = [
        filter_type is not None or values_file is not None,
        list_id is not None,
        program_id is not None,
    ]
    if sum(chosen) != 1:
        raise click.UsageError("give exactly one of --filter-type/--values, --list, --program")
    if (filter_type is None) != (values_file is None):
        raise click.UsageError("--filter-type and --values go together")
    values = read_values(values_file, filter_type) if values_file is not None else []
    if values_file is not None and not values:
        raise click.UsageError(f"{values_file} holds no values")
    field_names = [name.strip() for group in fields for name in group.split(",") if name.strip()]

    async def go() -> int:
        # An export is a load: a service sharing the budget goes first.
        with lane(BACKGROUND):
            async with open_client(connect, cli_state(ctx)) as client:
                pager = _pager(
                    client,
                    filter_type=filter_type,
                    values=values,
                    list_id=list_id,
                    program_id=program_id,
                    fields=field_names or None,
                )
                return await export_records(
                    "leads export", pager, to_mapping, export, fields=field_names, unit="leads"
                )

    run_export(go, export, what="leads")


# --------------------------------------------------------------------------- describe


@click.command("describe")
@click.option("--json", "as_json", is_flag=True, help="Print Marketo's field list as JSON.")
@connection_options
@click.pass_context
def describe(ctx: click.Context, as_json: bool, connect: ConnectOptions) -> None:
    """List the lead fields: REST name, display name, type, length, read-only."""
    fields = run_read(ctx, connect, lambda client: client.leads.describe())
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
    stdout_console().print(table)


# --------------------------------------------------------------------------- the group


@click.group(
    cls=LazyGroup,
    commands=[leads_upsert, leads_delete, leads_import, leads_export],
    # The REST activity reads: their module is imported only when one runs.
    lazy={"changes": "._activities:leads_changes", "deleted": "._activities:leads_deleted"},
)
def leads() -> None:
    """Upsert, delete and export leads."""
