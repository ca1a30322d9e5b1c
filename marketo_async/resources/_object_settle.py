"""Settling ``unknown`` data object writes by reading the records back by their keys.

The same rule as for leads (``_settle``): a record found once with every value sent applied;
none found did not apply (``not_applied``: send it again); two found, or a failed read, stay
``unknown``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from .._batch import BatchReport, Reason, RecordOutcome, Status
from .._errors import MarketoError
from ._arguments import FIELD_NAME
from ._object_rules import object_key
from ._settle import READ_BACK, same_value

__all__ = ["settle_objects"]

KEYS_PER_READ = 300
ReadObjects = Callable[[Sequence[Mapping[str, Any]], Sequence[str]], Awaitable[list[Any]]]
_ALWAYS = ("createdAt", "updatedAt", "marketoGUID")


async def settle_objects(
    report: BatchReport,
    records: Mapping[int, Any],
    read: ReadObjects,
    *,
    action: str,
    fields: Sequence[str],
) -> BatchReport:
    """``report`` with its unknown outcomes settled by reading each record back by key."""
    unknown = [
        (outcome, records[outcome.index])
        for outcome in report.failed
        if outcome.status == "unknown" and isinstance(records.get(outcome.index), Mapping)
    ]
    changes: dict[int, RecordOutcome] = {}
    for start in range(0, len(unknown), KEYS_PER_READ):
        chunk = unknown[start : start + KEYS_PER_READ]
        names = sorted(
            {name for _, record in chunk for name in record if FIELD_NAME.fullmatch(name)}
            | set(fields)
            | set(_ALWAYS)
        )
        keys = [{name: record[name] for name in fields} for _, record in chunk]
        try:
            found = await read(keys, names)
        except MarketoError as error:
            note = Reason(READ_BACK, f"could not read the record back ({error}); still unknown")
            for outcome, _ in chunk:
                changes[outcome.index] = _changed(outcome, "unknown", None, note)
            continue
        by_key: dict[object, list[Any]] = {}
        for item in found:
            by_key.setdefault(object_key(item, fields), []).append(item)
        for outcome, record in chunk:
            held = by_key.get(object_key(record, fields), [])
            status, guid, why = _verdict(record, held, action, fields)
            changes[outcome.index] = _changed(outcome, status, guid, why)
    return report.amended(changes)


def _changed(
    outcome: RecordOutcome, status: Status, guid: str | None, why: Reason
) -> RecordOutcome:
    return RecordOutcome(
        outcome.index,
        status,
        id=outcome.id,
        reasons=(*outcome.reasons, why),
        error=outcome.error,
        key=outcome.key if status in ("unknown", "not_applied") else None,
        marketo_guid=guid,
    )


def _verdict(
    record: Mapping[str, Any], found: list[Any], action: str, fields: Sequence[str]
) -> tuple[Status, str | None, Reason]:
    shown = ", ".join(f"{name}={record.get(name)!r}" for name in fields)
    if not found:
        why = f"read back: no record has {shown}, so this write did not apply"
        return "not_applied", None, Reason(READ_BACK, why)
    if len(found) > 1:
        return "unknown", None, Reason(READ_BACK, f"read back: {len(found)} records have {shown}")
    item = found[0]
    guid = item.get("marketoGUID")
    guid = guid if isinstance(guid, str) else None
    for name, sent in record.items():
        if name in fields or not FIELD_NAME.fullmatch(name):
            continue
        if not same_value(sent, item.get(name)):
            why = (
                f"read back: the record with {shown} holds {item.get(name)!r} in field "
                f"{name!r}, not the {sent!r} sent, so this write did not apply"
            )
            return "not_applied", guid, Reason(READ_BACK, why)
    if action == "createOnly":
        status: Status = "created"
    elif action == "updateOnly":
        status = "updated"
    else:
        created = item.get("createdAt")
        status = (
            "created" if created is not None and created == item.get("updatedAt") else "updated"
        )
    return (
        status,
        guid,
        Reason(READ_BACK, f"read back: the record with {shown} holds every value sent"),
    )
