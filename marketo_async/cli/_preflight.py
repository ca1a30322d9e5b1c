"""Checks an upsert makes before its first write: one Describe Lead2 call (and the partitions
when ``--partition`` is given) against the file's header, the lookup field and the partition.

What every row would hit (a header naming no REST field, a lookup field Marketo cannot look
leads up by, a partition that does not exist) is refused here, listing the closest real
names, instead of failing row after row at Marketo's expense.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable

import attrs

from .._client import MarketoClient

__all__ = ["LeadChecks", "PreflightError", "check_leads"]


class PreflightError(ValueError):
    """The run cannot apply any row as given; the message says what to change."""


@attrs.define
class LeadChecks:
    """What an upsert checks, and what the check found (``dropped``: columns left out)."""

    columns: list[str]
    lookup_field: str | None  # None: the write looks nothing up (createDuplicate)
    partition: str | None = None
    drop_unknown: bool = False
    dropped: frozenset[str] = frozenset()
    types: dict[str, str] = attrs.Factory(dict)  # each field's dataType, from describe


def _closest(name: str, names: Collection[str]) -> str:
    same_case = [real for real in names if real.casefold() == name.casefold()]
    near = same_case or difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(real) for real in near)}?)" if near else ""


def _listed(names: Iterable[str], most: int = 12) -> str:
    ordered = sorted(names)
    more = f" and {len(ordered) - most:,} more" if len(ordered) > most else ""
    return ", ".join(ordered[:most]) + more


async def check_leads(client: MarketoClient, checks: LeadChecks) -> None:
    """Raise :class:`PreflightError` naming every problem; fills ``checks.dropped``."""
    description = await client.leads.describe2()
    fields = {field.name for field in description.fields}
    checks.types = {field.name: field.data_type for field in description.fields}
    searchable = {entry[0] for entry in description.searchable_fields if len(entry) == 1}
    problems: list[str] = []
    if checks.lookup_field is not None and checks.lookup_field not in searchable:
        problems.append(
            f"--lookup-field {checks.lookup_field!r}: Marketo cannot look leads up by it"
            f"{_closest(checks.lookup_field, searchable)}; it can by {_listed(searchable)}"
        )
    unknown = [column for column in checks.columns if column not in fields]
    if unknown and checks.drop_unknown:
        checks.dropped = frozenset(unknown)
    elif unknown:
        named = "; ".join(f"{column!r}{_closest(column, fields)}" for column in unknown)
        problems.append(
            f"columns that name no lead field Marketo knows: {named}. Fix the header (REST "
            "names: `marketo-async describe`), or pass --drop-unknown-fields to leave them out"
        )
    if checks.partition is not None:
        partitions = {partition.name for partition in await client.leads.partitions()}
        if checks.partition not in partitions:
            problems.append(
                f"--partition {checks.partition!r} does not exist"
                f"{_closest(checks.partition, partitions)}; partitions: {_listed(partitions)}"
            )
    if problems:
        raise PreflightError("\n".join(problems))
