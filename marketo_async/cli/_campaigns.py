"""``marketo-async campaigns trigger|schedule|list`` and ``marketo-async usage``."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterable, AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import anyio
import click
from rich import box
from rich.table import Table

from .._errors import MarketoError, NotFoundError
from ..models import converter
from ..resources.campaigns import check_tokens
from ._bulk import BulkSpec, bulk_command
from ._connect import ConnectOptions, open_client, run_read
from ._options import connection_options
from ._output import fail, stdout_console
from ._preflight import PreflightError
from ._run import EarlierAttempts
from ._state import cli_state

if TYPE_CHECKING:
    from .._batch import BatchReport
    from .._client import MarketoClient
    from ..models.campaigns import SmartCampaign
    from ..models.usage import Usage

__all__ = ["campaigns", "usage"]

# Marketo: filterValues takes up to 300 emails per lookup.
EMAILS_PER_LOOKUP = 300

# A trigger runs the campaign's flow again at every send: a row whose call may have applied
# (unknown) is never sent again by --resume.
TRIGGER_EARLIER = EarlierAttempts(
    note="a trigger runs the campaign's flow for the lead each time it is sent, so they are NOT "
    "sent again and stay unknown: check the campaign's results in Marketo before triggering "
    "them yourself",
    resend=False,
)

_token_option = click.option(
    "--token",
    "tokens",
    multiple=True,
    metavar='"{{my.NAME}}=VALUE"',
    help="A my token for this run (repeatable; at most 100).",
)


def parse_tokens(values: Sequence[str]) -> dict[str, str]:
    """``--token`` values as ``{"{{my.name}}": value}``; a UsageError names a bad one."""
    tokens: dict[str, str] = {}
    for text in values:
        name, equals, value = text.partition("=")
        if not equals:
            raise click.BadParameter(
                f"{text!r}: write it as {{{{my.NAME}}}}=VALUE", param_hint="--token"
            )
        if name.strip() in tokens:
            raise click.BadParameter(
                f"{name.strip()} is given twice: give each token once", param_hint="--token"
            )
        tokens[name.strip()] = value
    try:
        check_tokens(tokens)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--token") from None
    return tokens


# ---------------------------------------------------------------------------- trigger


def _lead_reference(record: Mapping[str, Any]) -> tuple[Any, Any]:
    """A row's lead: its id, or its email (looked up before the trigger)."""
    if "id" in record:
        return record["id"], record["id"]
    return record["email"], record["email"]


async def _resolved(
    client: MarketoClient, records: AsyncIterable[int | str]
) -> AsyncIterator[int | str]:
    """Lead ids in input order: emails looked up 300 a call; an email no lead has is passed
    on as it is (the trigger fails its row, naming it)."""
    held: list[int | str] = []

    async def flush() -> list[int | str]:
        emails = sorted({item.lower() for item in held if isinstance(item, str)})
        found: dict[str, int] = {}
        if emails:
            pager = client.leads.by_filter("email", emails, fields=["id", "email"])
            async for lead in pager:
                email = str(lead.get("email") or "").lower()
                # Several leads with one email: the oldest (lowest id) is triggered.
                if lead.id is not None and (email not in found or lead.id < found[email]):
                    found[email] = lead.id
        out = [found.get(item.lower(), item) if isinstance(item, str) else item for item in held]
        held.clear()
        return out

    async for record in records:
        held.append(record)
        if sum(isinstance(item, str) for item in held) >= EMAILS_PER_LOOKUP:
            for item in await flush():
                yield item
    for item in await flush():
        yield item


async def trigger_leads(
    client: MarketoClient,
    campaign_id: int,
    records: AsyncIterable[int | str],
    tokens: Mapping[str, str],
    **hooks: Any,
) -> BatchReport:
    """Trigger ``campaign_id`` for leads given by id or email, one outcome per record."""
    return await client.campaigns.trigger(
        campaign_id, _resolved(client, records), tokens=tokens or None, **hooks
    )


def _check_trigger(values: Mapping[str, Any]) -> None:
    parse_tokens(values["tokens"])


async def _preflight_trigger(
    client: MarketoClient, params: Mapping[str, Any], columns: Sequence[str]
) -> None:
    """One asset read before any trigger call: the campaign exists and can be requested."""
    campaign_id = params["campaign_id"]
    try:
        campaign = await client.campaigns.get(campaign_id)
    except (NotFoundError, ValueError):
        raise PreflightError(
            f"campaign {campaign_id}: Marketo has no smart campaign with that id "
            "(`marketo-async campaigns list` shows them)"
        ) from None
    if campaign.type == "batch":
        raise PreflightError(
            f"campaign {campaign_id} ({campaign.name!r}) is a batch campaign: Marketo runs it "
            f"on a schedule, never on request (`marketo-async campaigns schedule {campaign_id}`)"
        )
    if not campaign.is_requestable:
        raise PreflightError(
            f"campaign {campaign_id} ({campaign.name!r}) cannot be requested: it must be "
            "active, with a 'Campaign is Requested' trigger whose source is Web Service API"
        )


campaigns_trigger = bulk_command(
    BulkSpec(
        name="trigger",
        help="Run a requestable campaign's flow for the leads FILE lists: one lead id or email a "
        "line, or a CSV/JSONL with an id or email column (emails are looked up, 300 a call; an "
        "email several leads share triggers the oldest).",
        reads="leads",
        arguments=(click.argument("campaign_id", type=int),),
        options=(_token_option,),
        check=_check_trigger,
        preflight=_preflight_trigger,
        prepare=lambda params: _lead_reference,
        resume_keys=("tokens",),
        earlier=lambda params: TRIGGER_EARLIER,
        send=lambda client, params: (
            lambda records, **hooks: trigger_leads(
                client, params["campaign_id"], records, parse_tokens(params["tokens"]), **hooks
            )
        ),
    )
)


# ---------------------------------------------------------------------------- schedule


def _parse_run_at(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{text!r}: use ISO-8601, e.g. 2027-01-04T09:00:00-06:00", param_hint="--run-at"
        ) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
    if moment <= dt.datetime.now(dt.timezone.utc):
        raise click.BadParameter(
            f"{text!r} is in the past: give a later time, or leave --run-at out to run the "
            "campaign in 5 minutes",
            param_hint="--run-at",
        )
    return moment


@click.command("schedule")
@click.argument("campaign_id", type=int)
@click.option("--run-at", help="When to run (ISO-8601; no offset: UTC). Default: in 5 minutes.")
@click.option("--clone-to", "clone_to", help="Run it in a clone of its program, named NAME.")
@_token_option
@connection_options
@click.pass_context
def campaigns_schedule(
    ctx: click.Context,
    campaign_id: int,
    run_at: str | None,
    clone_to: str | None,
    tokens: tuple[str, ...],
    connect: ConnectOptions,
) -> None:
    """Schedule a batch campaign's run (with my tokens, or in a clone of its program)."""
    when = _parse_run_at(run_at)
    checked = parse_tokens(tokens)

    async def go() -> None:
        async with open_client(connect, cli_state(ctx)) as client:
            await client.campaigns.schedule(
                campaign_id,
                run_at=when,
                clone_to_program_name=clone_to,
                tokens=checked or None,
            )

    try:
        anyio.run(go)
    except (MarketoError, ValueError) as error:
        fail(str(error))
    at = when.isoformat() if when is not None else "in about 5 minutes (Marketo's default)"
    where = f" in a clone of its program named {clone_to!r}" if clone_to else ""
    stdout_console().print(f"Scheduled campaign {campaign_id} to run {at}{where}.", markup=False)


# ---------------------------------------------------------------------------- list


@click.command("list")
@click.option("--active/--inactive", "is_active", default=None, help="Only active (inactive) ones.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per campaign.")
@connection_options
@click.pass_context
def campaigns_list(
    ctx: click.Context, is_active: bool | None, as_json: bool, connect: ConnectOptions
) -> None:
    """List smart campaigns: id, name, type, active, requestable, program."""

    async def read(client: MarketoClient) -> list[SmartCampaign]:
        return [campaign async for campaign in client.campaigns.list(is_active=is_active)]

    found = run_read(ctx, connect, read)
    if as_json:
        for campaign in found:
            click.echo(json.dumps(converter.unstructure(campaign), default=str))
        return
    table = Table(title=f"{len(found)} smart campaigns", box=box.SIMPLE, title_justify="left")
    for column in ("id", "name", "type", "active", "requestable", "program"):
        table.add_column(column)
    for campaign in found:
        table.add_row(
            str(campaign.id),
            campaign.name,
            campaign.type or "",
            "yes" if campaign.is_active else "",
            "yes" if campaign.is_requestable else "",
            "" if campaign.program_id is None else str(campaign.program_id),
        )
    stdout_console().print(table)


# ---------------------------------------------------------------------------- usage


@click.command("usage")
@click.option("--json", "as_json", is_flag=True, help="Print the days as JSON.")
@connection_options
@click.pass_context
def usage(ctx: click.Context, as_json: bool, connect: ConnectOptions) -> None:
    """The instance's API calls today and the last 7 days, per API user, and the quota left."""

    async def read(client: MarketoClient) -> tuple[list[Usage], int | None]:
        days = await client.usage(last_7_days=True)
        today = await client.usage()
        by_date = {day.date: day for day in days}
        by_date[today.date] = today
        return sorted(by_date.values(), key=lambda day: day.date), client.rate_limits.daily_quota

    days, quota = run_read(ctx, connect, read)
    if as_json:
        click.echo(json.dumps([converter.unstructure(day) for day in days], default=str))
        return
    users = sorted({user for day in days for user in day.by_user})
    table = Table(title="API calls per day", box=box.SIMPLE, title_justify="left")
    for column in ("date", "total", *users):
        table.add_column(column, justify="left" if column == "date" else "right")
    for day in days:
        counts = [f"{day.by_user.get(user, 0):,}" for user in users]
        table.add_row(day.date.isoformat(), f"{day.total:,}", *counts)
    console = stdout_console()
    console.print(table)
    if quota is not None and days:
        left = max(quota - days[-1].total, 0)
        console.print(
            f"Quota left today: {left:,} of {quota:,} calls (resets at midnight US Central time).",
            markup=False,
        )


@click.group("campaigns", commands=[campaigns_trigger, campaigns_schedule, campaigns_list])
def campaigns() -> None:
    """Trigger, schedule and list smart campaigns."""
