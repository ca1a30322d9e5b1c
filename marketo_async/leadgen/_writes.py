"""Bulk writes on the shared batch engine, with Lead Gen & CRM's call size and result rules.

An answer lists one ``{success, error, id}`` per object sent, in input order (the top-level
``error`` list only repeats the failures, renumbered): outcomes are matched by position.
"""

from __future__ import annotations

from collections.abc import (
    Callable,
    Collection,
    Mapping,
)
from typing import Any, TypeVar

from .._batch import EntryResult, Reason, ResultRules, Status
from ._envelope import read_entry

__all__ = [
    "CREATED",
    "DELETED",
    "MAX_OBJECTS_PER_CALL",
    "NOTHING_CHANGED",
    "UNCONFIRMED",
    "UPDATED",
    "UPDATED_UNCHECKED",
    "result_rules",
]

T = TypeVar("T")

# Lead Gen & CRM: up to 500 objects per write (250 advised with heavy custom-field data).
MAX_OBJECTS_PER_CALL = 500
API_NAME = "Lead Gen & CRM"
NOTHING_CHANGED = "302"  # Lead Gen & CRM: object error "No table rows affected"


def result_rules(
    applied: Status,
    *,
    unchanged: Collection[str] = (),
    then: Callable[[EntryResult], EntryResult] | None = None,
) -> ResultRules:
    """How one write method's entries read: success is ``applied``; ``then`` adjusts."""

    def read(entry: Mapping[str, Any]) -> EntryResult:
        found = read_entry(entry, applied=applied, unchanged=unchanged)
        return found if then is None else then(found)

    return ResultRules(
        max_records=MAX_OBJECTS_PER_CALL, match_by="position", read=read, api=API_NAME
    )


# Reason.code of an updateLeads success the API cannot vouch for (it says success for leads
# that do not exist): reported unknown.
UNCONFIRMED = "unconfirmed"
_UNCONFIRMED = Reason(UNCONFIRMED, "updateLeads reports success for leads that do not exist")


def _unchecked(found: EntryResult) -> EntryResult:
    status, record_id, reasons = found
    # A 302 proves the lead exists (it held these values); a bare success proves nothing.
    if status == "updated" and not reasons:
        return "unknown", record_id, (_UNCONFIRMED,)
    return found


CREATED = result_rules("created")
UPDATED = result_rules("updated", unchanged=(NOTHING_CHANGED,))
UPDATED_UNCHECKED = result_rules("updated", unchanged=(NOTHING_CHANGED,), then=_unchecked)
DELETED = result_rules("deleted")
