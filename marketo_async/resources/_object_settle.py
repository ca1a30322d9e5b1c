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

__all__ = ["Verdict", "object_verdicts", "settle_objects"]

KEYS_PER_READ = 300
ReadObjects = Callable[[Sequence[Mapping[str, Any]], Sequence[str]], Awaitable[list[Any]]]
_ALWAYS = ("createdAt", "updatedAt", "marketoGUID")
Verdict = tuple[Status, "str | None", Reason]


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
        names = _names([record for _, record in chunk], fields)
        keys = [{name: record[name] for name in fields} for _, record in chunk]
        try:
            found = await read(keys, names)
        except MarketoError as error:
            note = Reason(READ_BACK, f"could not read the record back ({error}); still unknown")
            for outcome, _ in chunk:
                changes[outcome.index] = _changed(outcome, "unknown", None, note)
            continue
        verdicts = _verdicts([record for _, record in chunk], found, action, fields)
        for (outcome, _), (status, guid, why) in zip(chunk, verdicts, strict=True):
            changes[outcome.index] = _changed(outcome, status, guid, why)
    return report.amended(changes)


async def object_verdicts(
    records: Sequence[Mapping[str, Any]], read: ReadObjects, *, action: str, fields: Sequence[str]
) -> list[Verdict]:
    """What reading each record back by its key says of it: ``created``/``updated`` (one record
    holds every value sent, with its marketoGUID), ``not_applied``, or ``unknown`` (two found,
    or the read failed); one read per 300 keys."""
    no_key = Reason(READ_BACK, f"no {', '.join(fields)} to read the record back by")
    verdicts: list[Verdict] = [("unknown", None, no_key)] * len(records)
    keyed = [at for at, record in enumerate(records) if all(name in record for name in fields)]
    for start in range(0, len(keyed), KEYS_PER_READ):
        places = keyed[start : start + KEYS_PER_READ]
        chunk = [records[at] for at in places]
        try:
            keys = [{name: record[name] for name in fields} for record in chunk]
            found = await read(keys, _names(chunk, fields))
        except MarketoError as error:
            note = Reason(READ_BACK, f"could not read the record back ({error}); still unknown")
            for at in places:
                verdicts[at] = ("unknown", None, note)
            continue
        for at, verdict in zip(places, _verdicts(chunk, found, action, fields), strict=True):
            verdicts[at] = verdict
    return verdicts


def _names(records: Sequence[Mapping[str, Any]], fields: Sequence[str]) -> list[str]:
    sent = {name for record in records for name in record if FIELD_NAME.fullmatch(name)}
    return sorted(sent | set(fields) | set(_ALWAYS))


def _verdicts(
    records: Sequence[Mapping[str, Any]], found: list[Any], action: str, fields: Sequence[str]
) -> list[Verdict]:
    by_key: dict[object, list[Any]] = {}
    for item in found:
        by_key.setdefault(object_key(item, fields), []).append(item)
    return [
        _verdict(record, by_key.get(object_key(record, fields), []), action, fields)
        for record in records
    ]


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
) -> Verdict:
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
