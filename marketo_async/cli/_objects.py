"""``marketo-async objects ...``: upsert, delete, export and describe Marketo's data objects
(companies, opportunities, opportunity_roles, sales_persons, named_accounts, or a custom
object's API name)."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import attrs
import click
from rich import box
from rich.table import Table

from .._batch import Reason, RecordOutcome
from .._client import MarketoClient
from .._errors import MarketoError
from ..models._field_values import typed_value
from ..models.objects import ObjectDescription
from ..resources._object_rules import key_fields, object_key, validate_object
from ..resources.bulk_import import BulkImport
from ..resources.objects import OBJECT_KINDS, DataObject
from ._bulk import BulkSpec, Params, Transform, bulk_command
from ._bulk_api import import_poll_option, import_send
from ._connect import ConnectOptions, open_client, run_read
from ._export import ExportTarget, export_records, read_values, run_export, to_mapping
from ._input import read_rows
from ._options import batch_size_option, connection_options, export_options
from ._output import stdout_console
from ._preflight import PreflightError
from ._run import EARLIER_RUN, EarlierAttempts, Send
from ._state import cli_state

__all__ = ["objects"]

NAME_HELP = (
    "NAME: companies, opportunities, opportunity_roles, sales_persons, named_accounts, or a "
    "custom object's API name (car_c)."
)
_MATCH_BY = click.Choice(["dedupeFields", "idField"])
# The description read by the preflight, for the key each report line shows.
_DESCRIBED = "_described"


def data_object(client: MarketoClient, name: str) -> DataObject:
    """The resource NAME stands for."""
    if name in OBJECT_KINDS:
        found = getattr(client, name)
        assert isinstance(found, DataObject)
        return found
    try:
        return client.custom_objects.object(name)
    except ValueError as error:
        raise click.UsageError(f"NAME {name!r}: {error}. {NAME_HELP}") from None


def _typed(data_type: str, text: str) -> Any:
    """A CSV cell as the field's type wants it; a cell that does not convert is left as it is
    (the record is then refused, naming the field)."""
    try:
        return typed_value(data_type, text)
    except ValueError:
        return text


def _transform(description: ObjectDescription) -> Transform:
    types = {field.name: field.data_type for field in description.fields}

    def change(record: dict[str, Any]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for name, value in record.items():
            if value == "" or value is None:
                continue  # an empty cell never blanks a field
            found[name] = _typed(types.get(name, "string"), value) if type(value) is str else value
        return found

    return change


def _preflight(by_option: str) -> Any:
    async def preflight(
        client: MarketoClient, params: Params, columns: Sequence[str]
    ) -> Transform | None:
        target = data_object(client, params["name"])
        try:
            description = await target.describe()
        except MarketoError as error:
            raise PreflightError(f"cannot describe {params['name']}: {error}") from None
        # The run's own values (a dict): the report's keys come from this description.
        cast(dict[str, Any], params)[_DESCRIBED] = description
        known = {field.name for field in description.fields} | {description.id_field}
        fields = key_fields(description, _by(params, by_option))
        if columns:
            unknown = [column for column in columns if column not in known]
            if unknown:
                raise PreflightError(
                    f"columns {', '.join(map(repr, unknown))} name no field of "
                    f"{params['name']} (see `marketo-async objects describe {params['name']}`)"
                )
            missing = [name for name in fields if name not in columns]
            if missing:
                raise PreflightError(
                    f"the input has no column for key field(s) {', '.join(map(repr, missing))} "
                    f"of {params['name']}"
                )
        return _transform(description)

    return preflight


def _prepare(by_option: str) -> Any:
    def prepare_for(params: Params) -> Any:
        def prepare(record: Mapping[str, Any]) -> tuple[Any, Any]:
            described: ObjectDescription | None = params.get(_DESCRIBED)
            if described is None:
                kind = OBJECT_KINDS.get(params["name"])
                fields: Sequence[str] = kind.dedupe_fields if kind is not None else ()
            else:
                fields = key_fields(described, _by(params, by_option))
            return record, object_key(record, fields) if fields else None

        return prepare

    return prepare_for


def _validate(by_option: str) -> Any:
    def validate_for(params: Params) -> Any:
        described: ObjectDescription | None = params.get(_DESCRIBED)
        if described is None:
            return None
        return validate_object(described, key_fields(described, _by(params, by_option)))

    return validate_for


def _by(params: Params, option: str) -> str:
    """How rows are matched: the option's value (a command without it: dedupe fields)."""
    return str(params.get(option) or "dedupeFields")


def _check_upsert(params: Params) -> None:
    if params["dedupe_by"] == "idField" and params["action"] != "updateOnly":
        raise click.UsageError("--dedupe-by idField works only with --action updateOnly")


def _upsert(client: MarketoClient, params: Params) -> Send:
    target = data_object(client, params["name"])
    return lambda records, **hooks: target.sync(
        records,
        action=params["action"],
        dedupe_by=params["dedupe_by"],
        batch_size=params["batch_size"],
        **hooks,
    )


def _earlier_upsert(params: Params) -> EarlierAttempts:
    """What a resumed upsert does with rows an earlier run may have applied, by action."""
    if params["action"] == "createOnly":
        return EarlierAttempts(
            note="they are sent again; an 'object already exists' (1017) answer to one is "
            "checked by reading the record back, and a record holding every value sent is "
            "reported created (the earlier call created it), not skipped",
            evidence={"1017": "created"},
            confirm=lambda client: functools.partial(
                _confirm_created, data_object(client, params["name"]), params["dedupe_by"]
            ),
        )
    return EarlierAttempts(
        note=f"they are sent again: harmless, {params['action']} by key applies a row once"
    )


async def _confirm_created(
    target: DataObject, dedupe_by: Any, held: Sequence[tuple[Any, RecordOutcome]]
) -> list[RecordOutcome]:
    """Rows a resend found existing (1017): ``created`` when the record holds every value
    sent (an earlier run's call made it), else skipped as answered (it was there before)."""
    records = [record if isinstance(record, Mapping) else {} for record, _ in held]
    verdicts = await target.read_back(records, action="createOnly", dedupe_by=dedupe_by)
    confirmed: list[RecordOutcome] = []
    for (_, outcome), (status, guid, why) in zip(held, verdicts, strict=True):
        if status == "created":
            note = Reason(
                EARLIER_RUN,
                "an earlier run's call created this record (its answer was lost): sent again "
                f"it was answered 1017, and {why.message.removeprefix('read back: ')}",
            )
            confirmed.append(
                attrs.evolve(outcome, status="created", marketo_guid=guid, reasons=(note,))
            )
        else:
            confirmed.append(attrs.evolve(outcome, reasons=(*outcome.reasons, why)))
    return confirmed


_NAME = click.argument("name")


def _keyed_write(
    name: str,
    help: str,
    *,
    by: str,
    by_help: str,
    options: Sequence[Any] = (),
    resume_keys: tuple[str, ...] = (),
    **spec: Any,
) -> click.Command:
    """An ``objects`` command writing the NAME records of FILE, found by option ``by``: the
    object's dedupe fields or its id field. NAME's description checks the input first."""
    by_option = click.option(
        "--" + by.replace("_", "-"),
        type=_MATCH_BY,
        default="dedupeFields",
        show_default=True,
        help=by_help,
    )
    return bulk_command(
        BulkSpec(
            name=name,
            help=f"{help}\n\n{NAME_HELP}",
            arguments=(_NAME,),
            reads="records",
            prepare=_prepare(by),
            resume_keys=(*resume_keys, by),
            preflight=_preflight(by),
            validate=_validate(by),
            options=(*options, by_option, batch_size_option),
            **spec,
        )
    )


objects_upsert = _keyed_write(
    "upsert",
    "Create or update the NAME records of FILE (CSV with a header row, or JSONL), streamed; "
    "records sharing a key are never in flight together.",
    by="dedupe_by",
    by_help="Match records by the object's dedupe fields, or by its id field "
    "(id or marketoGUID; updateOnly).",
    send=_upsert,
    check=_check_upsert,
    resume_keys=("action",),
    earlier=_earlier_upsert,
    options=(
        click.option(
            "--action",
            type=click.Choice(["createOrUpdate", "createOnly", "updateOnly"]),
            default="createOrUpdate",
            show_default=True,
        ),
    ),
)

objects_delete = _keyed_write(
    "delete",
    "Delete the NAME records FILE lists by key (on a terminal it asks first; --yes does not).",
    by="delete_by",
    by_help="Find records by the object's dedupe fields, or by its id field.",
    confirm="Delete from Marketo every {name} record {file} lists?",
    send=lambda client, params: (
        lambda records, **hooks: data_object(client, params["name"]).delete(
            records, delete_by=params["delete_by"], batch_size=params["batch_size"], **hooks
        )
    ),
    earlier=lambda params: EarlierAttempts(
        note="they are sent again; a record an earlier call deleted is answered 1013 and "
        "reported deleted",
        evidence={"1013": "deleted"},
    ),
)


def _check_import(params: Params) -> None:
    if params["name"] in OBJECT_KINDS:  # Marketo: Bulk Import takes custom objects only
        raise click.UsageError(
            f"Bulk Import takes custom objects, not {params['name']}: use `marketo-async "
            f"objects upsert {params['name']} FILE` (300 records a call)"
        )


objects_import = bulk_command(
    BulkSpec(
        name="import",
        help="Import the records of custom object NAME from FILE through Bulk Import: 10 MB "
        "files, a few calls each.\n\nRows Marketo rejects are reported failed with its reason. "
        "Use it for large files; `objects upsert` reports created/updated and the marketoGUID "
        "of each row.",
        arguments=(_NAME,),
        reads="records",
        send=import_send(BulkImport.custom_objects, "name"),
        check=_check_import,
        prepare=_prepare("dedupe_by"),
        preflight=_preflight("dedupe_by"),
        options=(import_poll_option,),
    )
)


def _read_keys(path: Path, filter_type: str) -> list[Any]:
    """Filter values: one a line or a column; a JSONL file of objects gives compound keys."""
    if path.suffix.lower() == ".jsonl":
        with read_rows(path, format="jsonl") as lines:
            rows = [item.record for item in lines]
        if rows and all(row is not None and len(row) > 1 for row in rows):
            return rows
    return list(read_values(path, filter_type))


@click.command("export")
@click.argument("name")
@click.option(
    "--filter-type", required=True, metavar="FIELD", help="A searchable field, or dedupeFields."
)
@click.option(
    "--values",
    "values_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Values: one a line, a CSV/JSONL column, or JSONL objects for a compound key.",
)
@click.option("--fields", multiple=True, metavar="A,B,...", help="Fields to read.")
@export_options
@connection_options
@click.pass_context
def objects_export(
    ctx: click.Context,
    name: str,
    filter_type: str,
    values_file: Path,
    fields: tuple[str, ...],
    export: ExportTarget,
    connect: ConnectOptions,
) -> None:
    """Write the NAME records whose --filter-type matches --values, as CSV or JSONL."""
    values = _read_keys(values_file, filter_type)
    if not values:
        raise click.UsageError(f"{values_file} holds no values")
    names = [item.strip() for group in fields for item in group.split(",") if item.strip()]

    async def go() -> int:
        async with open_client(connect, cli_state(ctx)) as client:
            pager = data_object(client, name).query(filter_type, values, fields=names or None)
            return await export_records(
                f"objects export {name}", pager, to_mapping, export, fields=names, unit="records"
            )

    run_export(go, export, what=f"{name} records")


@click.command("describe")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the description as JSON.")
@connection_options
@click.pass_context
def objects_describe(ctx: click.Context, name: str, as_json: bool, connect: ConnectOptions) -> None:
    """NAME's keys, searchable fields, fields with types, and link fields."""
    described = run_read(ctx, connect, lambda client: data_object(client, name).describe())
    if as_json:
        from ..models import converter

        click.echo(json.dumps(converter.unstructure(described), indent=2, default=str))
        return
    out = stdout_console()
    out.print(f"{described.display_name} ({described.name})", markup=False)
    out.print(f"id field: {described.id_field}", markup=False)
    out.print(f"dedupe fields: {', '.join(described.dedupe_fields)}", markup=False)
    searchable = ["+".join(group) for group in described.searchable_fields]
    out.print(f"searchable: {', '.join(searchable)}", markup=False)
    links = {
        link.field: f"{link.related_to}.{link.related_field}" for link in described.relationships
    }
    table = Table(box=box.SIMPLE)
    for column in ("field", "type", "updateable", "links to"):
        table.add_column(column)
    for field in described.fields:
        table.add_row(
            field.name,
            field.data_type,
            "yes" if field.updateable else "",
            links.get(field.name, ""),
        )
    out.print(table)


@click.group(
    "objects",
    commands=[objects_upsert, objects_delete, objects_import, objects_export, objects_describe],
)
def objects() -> None:
    """Companies, opportunities and their roles, sales persons, named accounts and custom
    objects: upsert, delete, export, describe."""
