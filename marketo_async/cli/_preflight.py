"""Checks a lead write (``leads upsert``, ``leads import``) makes before its first write: one
Describe Lead2 call (the partitions when ``--partition`` is given, the list when ``--list-id``
is) against the file's header, the lookup field, the partition and the list.

What every row would hit (a header naming no REST field, a header without the lookup column, a
lookup field Marketo cannot look leads up by, a partition or list that does not exist) is
refused here, listing the closest real names, instead of failing row after row at Marketo's
expense. What one row would hit (a value its field's type cannot hold: ``n/a`` for an
integer, ``31/02/1990`` for a date, ``not-an-email``) refuses that row, naming the field,
through the record change :func:`lead_transform` returns.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any

import attrs

from .._client import MarketoClient
from .._errors import NotFoundError
from ..models._field_values import is_email, value_problem
from ._run import Refused
from ._typed import TypeMismatch, record_check, typed_record

__all__ = [
    "LeadChecks",
    "PreflightError",
    "check_leads",
    "check_member_import",
    "did_you_mean",
    "lead_transform",
]

# Marketo: Bulk Lead Import takes as lookupField what Get Leads by Filter Type searches by,
# except the partition id.
_NOT_BULK_LOOKUPS = frozenset({"leadPartitionId"})


class PreflightError(ValueError):
    """The run cannot apply any row as given; the message says what to change."""


@attrs.define
class LeadChecks:
    """What an upsert checks, and what the check found (``dropped``: columns left out)."""

    columns: list[str]
    lookup_field: str | None  # None: the write looks nothing up (createDuplicate)
    partition: str | None = None
    drop_unknown: bool = False
    list_id: int | None = None
    bulk: bool = False  # Bulk Lead Import: its own lookup fields
    dropped: frozenset[str] = frozenset()
    types: dict[str, str] = attrs.Factory(dict)  # each field's dataType, from describe


def did_you_mean(name: str, names: Collection[str]) -> str:
    """`` (did you mean 'x'?)`` naming the closest of ``names`` to ``name``, or ``""``."""
    return _closest(name, names)


def _closest(name: str, names: Collection[str]) -> str:
    same_case = [real for real in names if real.casefold() == name.casefold()]
    near = same_case or difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(real) for real in near)}?)" if near else ""


def _listed(names: Iterable[str], most: int = 12) -> str:
    ordered = sorted(names)
    more = f" and {len(ordered) - most:,} more" if len(ordered) > most else ""
    return ", ".join(ordered[:most]) + more


async def check_leads(client: MarketoClient, checks: LeadChecks) -> None:
    """Raise :class:`PreflightError` naming every problem; fills ``checks.dropped`` and
    ``checks.types``."""
    description = await client.leads.describe2()
    fields = {field.name: field.data_type for field in description.fields}
    checks.types = dict(fields)
    searchable = {entry[0] for entry in description.searchable_fields if len(entry) == 1}
    if checks.bulk:
        searchable -= _NOT_BULK_LOOKUPS
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
    problems.extend(_missing_lookup_column(checks))
    if checks.partition is not None:
        partitions = {partition.name for partition in await client.leads.partitions()}
        if checks.partition not in partitions:
            problems.append(
                f"--partition {checks.partition!r} does not exist"
                f"{_closest(checks.partition, partitions)}; partitions: {_listed(partitions)}"
            )
    if checks.list_id is not None:
        try:
            await client.static_lists.get(checks.list_id)
        except NotFoundError:
            problems.append(
                f"--list-id {checks.list_id}: Marketo has no static list with that id (a "
                "list's id is in its URL in Marketo, or in client.static_lists.list())"
            )
    if problems:
        raise PreflightError("\n".join(problems))


def _missing_lookup_column(checks: LeadChecks) -> list[str]:
    """A CSV header without the lookup column: no row could be looked up (JSONL: no header)."""
    lookup = checks.lookup_field
    if lookup is None or not checks.columns:
        return []
    kept = [column for column in checks.columns if column not in checks.dropped]
    if lookup in kept:
        return []
    why = " (--drop-unknown-fields left out the rest)" if checks.dropped else ""
    return [
        f"the header has no {lookup!r} column, so no row has a lookup value{why}: columns are "
        f"{_listed(kept) or 'none'}{_closest(lookup, kept)}. Add the column, or pass the "
        "--lookup-field the file has"
    ]


Transform = Callable[[dict[str, Any]], dict[str, Any]]


def lead_transform(checks: LeadChecks, *, convert: bool, key_field: str | None) -> Transform:
    """The change to make to each record after :func:`check_leads`: drop the columns it
    dropped, and refuse the row (:class:`Refused`, naming the field) when a value does not fit
    its field's type as Marketo would (a number, a date, an email address); with ``convert``,
    send the values typed (``"68"`` as 68 for an integer field), else as written."""
    dropped = checks.dropped
    # (with the text as written, the types are only checked: no typed record is built)
    send = typed_record(checks.types) if convert else _as_written(record_check(checks.types))
    emails = [name for name, data_type in checks.types.items() if data_type == "email"]

    def change(record: dict[str, Any]) -> dict[str, Any]:
        kept = {n: v for n, v in record.items() if n not in dropped} if dropped else record
        key = record.get(key_field) if key_field else None
        try:
            sent = send(kept)
        except TypeMismatch as exc:  # the row fails alone, before any call, naming the field
            raise Refused(f"{exc} (Marketo would refuse it: 1001)", key=key) from None
        for name in emails:
            value = kept.get(name)
            if type(value) is str and is_email(value.strip()):
                continue  # the common case, checked without building a message
            problem = value_problem("email", value)
            if problem is not None:
                raise Refused(f"field {name!r}: {problem}{_email_hint(kept[name])}", key=key)
        return sent

    return change


def _as_written(check: Callable[[dict[str, Any]], None]) -> Transform:
    def as_written(record: dict[str, Any]) -> dict[str, Any]:
        check(record)
        return record

    return as_written


def _email_hint(value: Any) -> str:
    if isinstance(value, str) and not value.isascii():
        return " (non-ASCII: Marketo takes ASCII addresses only; it would refuse it: 1001)"
    return " (Marketo would refuse it: 1001)"


async def check_member_import(
    client: MarketoClient, *, program_id: int, status: str, columns: Sequence[str]
) -> Transform:
    """Bulk Program Member Import's checks: the status (of the program's channel), the header
    (an ``email`` column; every column a lead or program member field) and, per row, each
    lead field's value against its type. Raises :class:`PreflightError` naming every problem."""
    problems: list[str] = []
    try:
        await client.programs.check_status(program_id, status)
    except ValueError as error:
        problems.append(str(error))
    lead_types = {field.name: field.data_type for field in (await client.leads.describe2()).fields}
    member_fields = {field.name for field in (await client.program_members.describe()).fields}
    known = set(lead_types) | member_fields
    if columns and "email" not in columns:
        problems.append(
            "the header has no 'email' column: Bulk Program Member Import finds or creates "
            f"each member's lead by email (columns are {_listed(columns)})"
            f"{_closest('email', columns)}"
        )
    unknown = [column for column in columns if column not in known]
    if unknown:
        named = "; ".join(f"{column!r}{_closest(column, known)}" for column in unknown)
        problems.append(
            f"columns that name no lead or program member field: {named} (REST names: "
            "`marketo-async describe`)"
        )
    if problems:
        raise PreflightError("\n".join(problems))
    checks = LeadChecks(columns=list(columns), lookup_field="email")
    checks.types = lead_types
    return lead_transform(checks, convert=False, key_field="email")


STATUS_COLUMNS = frozenset({"status", "statusName", "progressionStatus"})


async def check_member_update(client: MarketoClient, *, columns: Sequence[str]) -> None:
    """Sync Program Member Data's header: a ``leadId`` column, and every other column a program
    member field Marketo lets a write change (else every row is skipped, 1006 or 1003). Raises
    :class:`PreflightError` naming every problem, with the closest updateable names."""
    if not columns:
        return
    fields = {field.name: field for field in (await client.program_members.describe()).fields}
    updateable = sorted(name for name, field in fields.items() if field.updateable)
    problems: list[str] = []
    if "leadId" not in columns:
        problems.append(
            "the header has no 'leadId' column: each row names its member by lead id "
            f"(columns are {_listed(columns)}){_closest('leadId', columns)}"
        )
    others = [column for column in columns if column != "leadId"]
    problems.extend(_member_column_problems(others, set(fields), updateable))
    if problems:
        raise PreflightError("\n".join(problems))


def _member_column_problems(
    columns: Sequence[str], known: set[str], updateable: Sequence[str]
) -> list[str]:
    """What is wrong with the non-key columns of a program member update: fields that do not
    exist, fields a write cannot change, and where a status column belongs instead."""
    problems: list[str] = []
    unknown = [column for column in columns if column not in known]
    if unknown:
        named = "; ".join(f"{column!r}{_closest(column, updateable)}" for column in unknown)
        problems.append(f"columns that name no program member field: {named}")
    locked = [column for column in columns if column in known and column not in updateable]
    if locked:
        problems.append(f"program member fields a write cannot change: {_listed(locked)}")
    if unknown or locked:
        problems.append(f"the fields it can change: {_listed(updateable) or 'none'}")
    if STATUS_COLUMNS.intersection(unknown + locked):
        problems.append(
            "a member's status is set with `marketo-async program-members status PROGRAM_ID "
            "STATUS FILE`"
        )
    return problems
