"""Smart campaigns, programs and their channels' statuses, smart lists (asset API)."""

from __future__ import annotations

import attrs

from ._asset import Asset

__all__ = ["Program", "ProgramStatus", "SmartCampaign", "SmartList"]


@attrs.frozen(kw_only=True)
class SmartCampaign(Asset):
    """A smart campaign (asset API).

    ``is_requestable``: active, with a "Campaign is Requested" trigger whose source is Web
    Service API; only such a campaign can be triggered (``campaigns.trigger``).
    ``type``: ``batch`` (filters only: scheduled, never requested), ``trigger`` or ``default``.
    """

    is_active: bool = False
    is_requestable: bool = False
    program_id: int | None = attrs.field(default=None, metadata={"wire": "parentProgramId"})
    type: str | None = None
    status: str | None = None
    is_system: bool = False
    smart_list_id: int | None = None
    flow_id: int | None = None
    computed_url: str | None = None


@attrs.frozen(kw_only=True)
class Program(Asset):
    """A program (asset API). ``channel`` names the channel whose progression statuses its
    members move through (``programs.statuses``)."""

    type: str | None = None
    channel: str | None = None
    status: str | None = None
    url: str | None = None
    sfdc_id: str | None = None
    sfdc_name: str | None = None


@attrs.frozen(kw_only=True)
class ProgramStatus:
    """One progression status of a channel: its name, step, and whether it is a success."""

    name: str
    step: int
    success: bool = False
    hidden: bool = False
    type: str | None = None
    description: str | None = None


@attrs.frozen(kw_only=True)
class SmartList(Asset):
    """A smart list (asset API): metadata only (rules are not read)."""

    url: str | None = None
