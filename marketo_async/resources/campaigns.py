"""``client.campaigns``: smart campaigns read, requested for leads (trigger) and scheduled."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import anyio
import attrs

from .._batch import BatchReport, ResultRules, WriteHooks, WriteOptions
from .._batch._results import EntryResult
from .._errors import AccessDeniedError, MarketoError, RequestError, retitled
from .._paging import Page, Pager
from .._transport._gate import CallNotSent, queued
from ..models import format_datetime
from ..models.campaigns import SmartCampaign
from ._arguments import (
    LeadId,
    LeadIds,
    check_lead_id,
    id_or_none,
    non_empty_text,
    positive_id,
)
from ._assets import AssetKind, Assets
from ._base import RecordRules

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "MAX_LEADS_PER_TRIGGER",
    "MAX_RUN_AT_AHEAD",
    "MAX_TOKENS",
    "Campaigns",
    "Tokens",
    "check_tokens",
]

# Marketo: Request Campaign takes at most 100 leads per call.
MAX_LEADS_PER_TRIGGER = 100
# At most 100 my tokens per run, checked before any call.
MAX_TOKENS = 100
# Marketo: 1042 "Invalid runAt date" beyond two years ahead.
MAX_RUN_AT_AHEAD = dt.timedelta(days=2 * 365)
# A my token as Marketo names it: {{my.Token Name}}.
TOKEN_NAME = re.compile(r"\{\{my\.[^{}]+\}\}")

Tokens = Mapping[str, str | int | float]


def check_tokens(tokens: Tokens | None) -> list[dict[str, str]]:
    """My tokens as Marketo takes them (``[{"name": "{{my.x}}", "value": "..."}]``).

    Refuses, naming the token, a name not written ``{{my.name}}``, a value that is not text
    or a number, and more than 100 tokens.

    >>> check_tokens({"{{my.Offer}}": "Spring sale"})
    [{'name': '{{my.Offer}}', 'value': 'Spring sale'}]
    """
    if tokens is None:
        return []
    if not isinstance(tokens, Mapping):
        raise ValueError(f"tokens must be a mapping of '{{{{my.name}}}}' to value, not {tokens!r}")
    if len(tokens) > MAX_TOKENS:
        raise ValueError(f"at most {MAX_TOKENS} tokens per run, got {len(tokens)}")
    checked = []
    for name, value in tokens.items():
        if not isinstance(name, str) or not TOKEN_NAME.fullmatch(name):
            raise ValueError(f"token name {name!r} must be written {{{{my.name}}}}")
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ValueError(f"token {name}: the value must be text or a number, not {value!r}")
        checked.append({"name": name, "value": str(value)})
    return checked


def _run_at(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        raise ValueError(f"run_at must be a datetime, not {value!r}")
    aware = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    if aware - dt.datetime.now(dt.timezone.utc) > MAX_RUN_AT_AHEAD:
        raise ValueError(f"run_at must be at most two years ahead (Marketo: 1042), got {value}")
    return format_datetime(aware)


def _triggered(entry: Mapping[str, Any]) -> EntryResult:
    # Written by the trigger's send: Marketo answers the call, not each lead.
    return "triggered", entry.get("id"), ()


# The trigger's answer names the campaign, not its leads: each lead of an accepted call is
# ``triggered`` (unknown lead ids too: Marketo accepts the call).
_TRIGGER_RESULTS = ResultRules(
    max_records=MAX_LEADS_PER_TRIGGER, match_by="position", read=_triggered
)


def _check_lead(index: int, value: object) -> str | None:
    if isinstance(value, str) and "@" in value:
        return (
            f"record {index}: {value!r} is an email address, not a lead id (no lead was found "
            "with it, or it was not looked up)"
        )
    return check_lead_id(index, value)


_LEADS: RecordRules[LeadId] = RecordRules(
    key=id_or_none, validate=_check_lead, results=_TRIGGER_RESULTS
)

# What Marketo answers when the campaign itself cannot be requested (not found, a batch
# campaign, inactive, no "Campaign is Requested" trigger) or the API user may not run it:
# every call of the run would get the same.
_CAMPAIGN_REFUSALS = (RequestError, AccessDeniedError)


class _FirstCall:
    """The trigger's first call goes alone: when Marketo refuses the campaign itself, no other
    call is sent and the caller gets that one error."""

    def __init__(self) -> None:
        self.started = False
        self.answered = anyio.Event()
        self.refusal: MarketoError | None = None

    async def send(self, call: Callable[[], Awaitable[Any]]) -> Any:
        if self.started:
            queued()  # held before the wire: a cancel or stop now leaves it unsent
            await self.answered.wait()
            if self.refusal is not None:
                raise CallNotSent
            return await call()
        self.started = True
        try:
            return await call()
        except _CAMPAIGN_REFUSALS as error:
            self.refusal = error
            raise
        finally:
            self.answered.set()


class Campaigns(Assets[SmartCampaign]):
    """Smart campaigns: find them, request them for leads, schedule batch runs.

    >>> campaign = await client.campaigns.by_name("Send welcome email")
    >>> report = await client.campaigns.trigger(campaign.id, lead_ids,
    ...                                         tokens={"{{my.Offer}}": "Spring sale"})
    >>> report.counts
    {'triggered': 1050}
    """

    _kind = AssetKind(SmartCampaign, "smartCampaign", "smartCampaigns", "smart campaign")

    def list(self, *, is_active: bool | None = None) -> Pager[SmartCampaign]:
        """Every smart campaign (only active ones with ``is_active=True``, only inactive ones
        with ``False``), 200 per call.

        >>> async for campaign in client.campaigns.list(is_active=True):
        ...     print(campaign.id, campaign.name, campaign.is_requestable)
        """
        if is_active is not None and not isinstance(is_active, bool):
            raise ValueError(f"is_active must be True, False or None, not {is_active!r}")
        # Marketo filters active campaigns only; inactive ones are the rest.
        query = {"isActive": "true"} if is_active else {}

        def pages() -> AsyncIterator[Page[SmartCampaign]]:
            found = self._pages(query)
            return found if is_active is not False else _inactive_only(found)

        return Pager(pages)

    async def trigger(
        self,
        campaign_id: int,
        lead_ids: LeadIds,
        *,
        tokens: Tokens | None = None,
        **hooks: Unpack[WriteHooks],
    ) -> BatchReport:
        """Run a requestable campaign's flow for leads, 100 per call; each lead ``triggered``
        when its call was accepted (unknown lead ids too: Marketo accepts them).

        ``tokens`` override the parent program's my tokens for this run. A campaign that
        cannot be requested (not found, inactive, a batch campaign, no "Campaign is
        Requested" trigger) raises one error after the first call, and no other call is sent.
        A call that may have run is ``unknown``, never resent (the flow would run twice).

        >>> report = await client.campaigns.trigger(1067, [1001, 1002],
        ...                                         tokens={"{{my.Offer}}": "Spring"})
        """
        campaign = positive_id(campaign_id, "campaign_id")
        checked_tokens = check_tokens(tokens)
        path = f"/rest/v1/campaigns/{campaign}/trigger.json"
        first = _FirstCall()
        # Never resent after a failure that may have applied: the flow would run twice.
        api = self._api.resending(False)

        async def send(batch: Sequence[LeadId]) -> list[Mapping[str, Any]]:
            leads = [id_or_none(value) for value in batch]
            data: dict[str, Any] = {"leads": [{"id": lead} for lead in leads]}
            if checked_tokens:
                data["tokens"] = checked_tokens
            await first.send(lambda: api.post(path, json={"input": data}))
            return [{"id": lead} for lead in leads]

        options = WriteOptions(batch_size=MAX_LEADS_PER_TRIGGER, **hooks)
        stop = options.stop

        def stopped() -> bool:
            return first.refusal is not None or (stop is not None and stop())

        options = attrs.evolve(options, stop=stopped)
        report = await api.write_batches(lead_ids, send, _LEADS, options)
        if first.refusal is not None:
            raise _refused(campaign, first.refusal) from first.refusal
        return report

    async def schedule(
        self,
        campaign_id: int,
        *,
        run_at: dt.datetime | None = None,
        clone_to_program_name: str | None = None,
        tokens: Tokens | None = None,
    ) -> None:
        """Schedule a batch campaign to run at ``run_at`` (naive is UTC; default: Marketo runs
        it five minutes after the call), optionally in a clone of its program.

        Sent once: a resend could schedule a second run (or a second clone).

        >>> await client.campaigns.schedule(1068, run_at=datetime(2027, 1, 4, 9, tzinfo=utc),
        ...                                 tokens={"{{my.Subject}}": "New year"})
        """
        campaign = positive_id(campaign_id, "campaign_id")
        data: dict[str, Any] = {}
        when = _run_at(run_at)
        if when is not None:
            data["runAt"] = when
        if clone_to_program_name is not None:
            data["cloneToProgramName"] = non_empty_text(
                clone_to_program_name, "clone_to_program_name"
            )
        checked_tokens = check_tokens(tokens)
        if checked_tokens:
            data["tokens"] = checked_tokens
        path = f"/rest/v1/campaigns/{campaign}/schedule.json"
        try:
            await self._api.post(path, json={"input": data}, idempotent=False)
        except _CAMPAIGN_REFUSALS as error:
            raise _refused(campaign, error, schedule=True) from error


async def _inactive_only(
    pages: AsyncIterator[Page[SmartCampaign]],
) -> AsyncIterator[Page[SmartCampaign]]:
    yielded = False
    async for page in pages:
        items = [campaign for campaign in page.items if not campaign.is_active]
        if items or (not page.more and not yielded):
            yielded = True
            yield Page(items, page.next_page_token, page.more, page.warnings)


def _refused(campaign: int, error: MarketoError, *, schedule: bool = False) -> MarketoError:
    if schedule:
        return retitled(
            error,
            f"campaign {campaign} cannot be scheduled: {error.message}. Marketo schedules "
            "batch campaigns (filters, no triggers); trigger campaigns are run with "
            "campaigns.trigger",
        )
    return retitled(
        error,
        f"campaign {campaign} cannot be requested: {error.message}. Marketo requests only "
        "active campaigns with a 'Campaign is Requested' trigger whose source is Web Service "
        "API (is_requestable in campaigns.list); batch campaigns are run with "
        "campaigns.schedule",
    )
