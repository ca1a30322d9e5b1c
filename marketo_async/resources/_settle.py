"""Settling ``unknown`` lead writes by reading the leads back (``client.leads.settle``).

A write whose call failed after it may have reached Marketo (a 604, a 5xx, a cut connection)
is ``unknown``. Reading the leads back by their lookup keys, one filtered read per 300 keys,
tells what happened: the lead exists with the values sent (``created`` or ``updated``), or it
does not (``not_applied``: sending the record again is the way to apply it).
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs

from .._batch import BatchReport, Reason, RecordOutcome, Status
from .._errors import MarketoError
from ..models.leads import Lead
from ._arguments import FIELD_NAME
from ._lead_rules import lookup_key

__all__ = ["READ_BACK", "read_back", "settle_report"]

READ_BACK = "read-back"  # Reason.code of an outcome settled by reading the lead back
# Marketo: filterValues holds at most 300 values per call.
KEYS_PER_READ = 300
# Fields every read back asks for: the lead's id and when it was created and last updated.
_ALWAYS = ("id", "createdAt", "updatedAt")

ReadLeads = Callable[[str, Sequence[str | int], Sequence[str]], Awaitable[list[Lead]]]


@attrs.define
class _Unknown:
    """One write to settle: the records it stood for (more than one when coalesced)."""

    indices: list[int]
    key: str | int
    values: dict[str, Any]


def unknown_records(report: BatchReport, records: Iterable[Any]) -> dict[int, Any]:
    """The records of ``report``'s unknown outcomes, by index, from the run's input."""
    wanted = {outcome.index for outcome in report.failed if outcome.status == "unknown"}
    found: dict[int, Any] = {}
    if not wanted:
        return found
    last = max(wanted)
    read = 0
    for index, record in enumerate(records):
        read = index + 1
        if index in wanted:
            found[index] = record
        if index >= last:
            break
    if len(found) < len(wanted):
        # Settling from another input would read back the wrong leads: refused, not guessed.
        raise ValueError(
            f"records ended after {read:,} records, but the report has an unknown outcome for "
            f"record {last:,}: give the records given to the run, in the same order"
        )
    return found


async def settle_report(
    report: BatchReport,
    records: Mapping[int, Any],
    read: ReadLeads,
    *,
    action: str,
    lookup_field: str,
) -> BatchReport:
    """``report`` with its unknown outcomes settled by reading the leads back."""
    writes = _writes(report, records, lookup_field)
    changes: dict[int, RecordOutcome] = {}
    for start in range(0, len(writes), KEYS_PER_READ):
        chunk = writes[start : start + KEYS_PER_READ]
        fields = sorted(
            {name for write in chunk for name in write.values if FIELD_NAME.fullmatch(name)}
            | {lookup_field, *_ALWAYS}
        )
        try:
            found = await read(lookup_field, [write.key for write in chunk], fields)
        except MarketoError as error:
            note = Reason(READ_BACK, f"could not read the lead back ({error}); still unknown")
            for write in chunk:
                _change(changes, report, write, "unknown", None, note)
            continue
        by_key: dict[str | int | None, list[Lead]] = {}
        for lead in found:
            by_key.setdefault(lookup_key(lead, lookup_field), []).append(lead)
        for write in chunk:
            status, lead_id, why = _verdict(write, by_key.get(write.key, []), action, lookup_field)
            _change(changes, report, write, status, lead_id, why)
    return report.amended(changes)


async def read_back(
    records: Sequence[Mapping[str, Any]], read: ReadLeads, *, action: str, lookup_field: str
) -> list[tuple[Status, int | None, Reason]]:
    """What reading each record's lead back says of it: ``created``/``updated`` (the lead
    holds every value sent, with its id), ``not_applied``, or ``unknown`` (no key, two leads,
    or the read failed); one filtered read per 300 keys."""
    verdicts: list[tuple[Status, int | None, Reason]] = [
        ("unknown", None, Reason(READ_BACK, f"no {lookup_field} to read the lead back by"))
    ] * len(records)
    writes: list[tuple[int, _Unknown]] = []
    for position, record in enumerate(records):
        key = lookup_key(record, lookup_field)
        if key is not None:
            writes.append((position, _Unknown([position], key, dict(record))))
    for start in range(0, len(writes), KEYS_PER_READ):
        chunk = writes[start : start + KEYS_PER_READ]
        fields = sorted(
            {name for _, write in chunk for name in write.values if FIELD_NAME.fullmatch(name)}
            | {lookup_field, *_ALWAYS}
        )
        try:
            found = await read(lookup_field, [write.key for _, write in chunk], fields)
        except MarketoError as error:
            note = Reason(READ_BACK, f"could not read the lead back ({error})")
            for position, _ in chunk:
                verdicts[position] = ("unknown", None, note)
            continue
        by_key: dict[str | int | None, list[Lead]] = {}
        for lead in found:
            by_key.setdefault(lookup_key(lead, lookup_field), []).append(lead)
        for position, write in chunk:
            leads = by_key.get(write.key, [])
            verdicts[position] = _verdict(write, leads, action, lookup_field)
    return verdicts


def _change(
    changes: dict[int, RecordOutcome],
    report: BatchReport,
    write: _Unknown,
    status: Status,
    lead_id: int | None,
    why: Reason,
) -> None:
    for index in write.indices:
        before = report.outcomes[index]
        changes[index] = RecordOutcome(
            index,
            status,
            id=lead_id,
            reasons=(*before.reasons, why),
            error=before.error,
            key=before.key if status in ("unknown", "not_applied") else None,
            merged_into=before.merged_into,
        )


def _writes(report: BatchReport, records: Mapping[int, Any], lookup_field: str) -> list[_Unknown]:
    """The unknown writes of ``report``: coalesced records fold into the first one's write,
    later values winning (as they did when sent)."""
    writes: dict[int, _Unknown] = {}
    for outcome in report.failed:
        if outcome.status != "unknown":
            continue
        record = records.get(outcome.index)
        if not isinstance(record, Mapping):
            continue
        root = outcome.merged_into if outcome.merged_into is not None else outcome.index
        write = writes.get(root)
        if write is None:
            key = lookup_key(record, lookup_field)
            if key is None:
                continue  # no key (createDuplicate): nothing to read it back by
            writes[root] = _Unknown([outcome.index], key, dict(record))
        else:
            write.indices.append(outcome.index)
            write.values.update(record)
    return list(writes.values())


def _verdict(
    write: _Unknown, leads: list[Lead], action: str, lookup_field: str
) -> tuple[Status, int | None, Reason]:
    shown = f"{lookup_field} {write.key!r}"
    if not leads:
        return (
            "not_applied",
            None,
            Reason(READ_BACK, f"read back: no lead has {shown}, so this write did not apply"),
        )
    if len(leads) > 1:
        ids = ", ".join(str(lead.get("id")) for lead in leads)
        return (
            "unknown",
            None,
            Reason(READ_BACK, f"read back: {len(leads)} leads have {shown} (ids {ids})"),
        )
    lead = leads[0]
    lead_id = lead.get("id") if type(lead.get("id")) is int else None
    for name, sent in write.values.items():
        if not FIELD_NAME.fullmatch(name) or name == lookup_field:
            continue
        held = lead.get(name)
        if not same_value(sent, held):
            return (
                "not_applied",
                lead_id,
                Reason(
                    READ_BACK,
                    f"read back: lead {lead_id} holds {held!r} in field {name!r}, not the "
                    f"{sent!r} sent, so this write did not apply",
                ),
            )
    status: Status = _applied_status(action, lead)
    return (
        status,
        lead_id,
        Reason(READ_BACK, f"read back: lead {lead_id} holds every value sent"),
    )


def _applied_status(action: str, lead: Lead) -> Status:
    if action == "createOnly":
        return "created"
    if action == "updateOnly":
        return "updated"
    # A lead nobody changed since it was made has createdAt == updatedAt.
    created, updated = lead.get("createdAt"), lead.get("updatedAt")
    return "created" if created is not None and created == updated else "updated"


def same_value(sent: Any, held: Any) -> bool:
    """Does Marketo's ``held`` value stand for the ``sent`` one? Marketo answers empty as
    null, numbers as numbers or digits, booleans as booleans; text is compared as sent.

    >>> same_value("", None), same_value(3, "3.0"), same_value(True, "true")
    (True, True, True)
    """
    if sent is None or sent == "":
        return held is None or held == ""
    if held is None:
        return False
    if isinstance(sent, bool) or isinstance(held, bool):
        return _as_text(sent).lower() == _as_text(held).lower()
    if isinstance(sent, (int, float)) or isinstance(held, (int, float)):
        return _as_number(sent) == _as_number(held) and not math.isnan(_as_number(sent))
    return _as_text(sent).strip() == _as_text(held).strip()


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _as_number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan
