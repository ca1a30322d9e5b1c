"""``marketo-async program-members status|update|import|export``: program statuses and member
data (import and export are Bulk API commands, declared in ``_bulk_api``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import click

from ._bulk import BulkSpec, Transform, bulk_command
from ._bulk_api import program_members_export, program_members_import
from ._preflight import PreflightError, check_member_update

if TYPE_CHECKING:
    from .._client import MarketoClient

__all__ = ["program_members"]


async def _known_status(
    client: MarketoClient, values: Mapping[str, Any], columns: Sequence[str]
) -> Transform | None:
    """A status the program's channel lacks is refused before any row is sent."""
    try:
        await client.programs.check_status(values["program_id"], values["status"])
    except ValueError as error:
        raise PreflightError(str(error)) from None
    return None


program_members_status = bulk_command(
    BulkSpec(
        name="status",
        preflight=_known_status,
        help="Set the program status of the leads whose ids FILE lists (making them members).",
        arguments=(click.argument("program_id", type=int), click.argument("status")),
        send=lambda client, params: (
            lambda ids, **hooks: client.program_members.set_status(
                params["program_id"], params["status"], ids, **hooks
            )
        ),
    ),
)


async def _member_columns(
    client: MarketoClient, values: Mapping[str, Any], columns: Sequence[str]
) -> Transform | None:
    """A header naming a field a write cannot change is refused before any row is sent."""
    await check_member_update(client, columns=columns)
    return None


def _prepare_member(record: Mapping[str, Any]) -> tuple[Any, Any]:
    value = record.get("leadId")
    if isinstance(value, bool) or value is None or not str(value).strip().isdigit():
        raise ValueError(f"leadId must be a lead id (a positive integer), not {value!r}")
    lead_id = int(str(value).strip())
    if lead_id <= 0:
        raise ValueError(f"leadId must be a positive integer, not {lead_id}")
    if len(record) < 2:
        raise ValueError("no member field to update besides leadId")
    return {**record, "leadId": lead_id}, lead_id


program_members_update = bulk_command(
    BulkSpec(
        name="update",
        help="Update program member fields from FILE: a leadId column plus the member fields.",
        reads="records",
        arguments=(click.argument("program_id", type=int),),
        preflight=_member_columns,
        prepare=lambda params: _prepare_member,
        send=lambda client, params: (
            lambda records, **hooks: client.program_members.update_data(
                params["program_id"], records, **hooks
            )
        ),
    ),
)


@click.group(
    "program-members",
    commands=[
        program_members_status,
        program_members_update,
        program_members_import,
        program_members_export,
    ],
)
def program_members() -> None:
    """Set program statuses and member data."""
