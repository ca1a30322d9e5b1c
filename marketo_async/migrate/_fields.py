"""Which Lead Gen & CRM field goes to which Marketo field, checked against Marketo's describe.

The default map covers the standard lead fields with a Marketo counterpart; ``--mapping``
overrides it entry by entry (a systemName to a REST name, or to null to drop the field).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from ..models.leads import LeadFieldDescription
from ._values import EMPTY, convert

__all__ = [
    "DEFAULT_FIELD_MAP",
    "MappingError",
    "ResolvedField",
    "ResolvedMap",
    "load_mapping",
    "merge_mapping",
    "resolve",
]

EMAIL_SOURCE = "emailAddress"
EMAIL_TARGET = "email"

# Lead Gen & CRM systemName -> Marketo REST name (KB "Schema: Leads"; Marketo's standard
# lead fields). Lead Gen ids, owners and timestamps have no Marketo counterpart.
DEFAULT_FIELD_MAP: Mapping[str, str] = {
    "emailAddress": "email",
    "firstName": "firstName",
    "lastName": "lastName",
    "companyName": "company",
    "title": "title",
    "phoneNumber": "phone",
    "mobilePhoneNumber": "mobilePhone",
    "officePhoneNumber": "mainPhone",
    "faxNumber": "fax",
    "street": "address",
    "city": "city",
    "state": "state",
    "zipcode": "postalCode",
    "country": "country",
    "website": "website",
    "industry": "industry",
    "leadStatus": "leadStatus",
    "leadScore": "leadScore",
    "isUnsubscribed": "unsubscribed",
}


class MappingError(ValueError):
    """A mapping file or entry that cannot be used (said before any lead is read)."""


def load_mapping(path: str | Path) -> dict[str, str | None]:
    """A ``--mapping`` file: a JSON object of systemName -> Marketo REST name (or null)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise MappingError(f"cannot read the mapping file {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise MappingError(f"the mapping file {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise MappingError(f"the mapping file {path} must hold one JSON object, not {data!r:.60}")
    mapping: dict[str, str | None] = {}
    for source, target in data.items():
        if target is not None and (not isinstance(target, str) or not target.strip()):
            raise MappingError(
                f"mapping file {path}: {source!r} must map to a Marketo field name or null, "
                f"not {target!r}"
            )
        mapping[str(source)] = None if target is None else target.strip()
    return mapping


def merge_mapping(overrides: Mapping[str, str | None] | None) -> dict[str, str]:
    """The default map with ``overrides`` applied; ``emailAddress`` must still reach ``email``."""
    merged: dict[str, str] = dict(DEFAULT_FIELD_MAP)
    for source, target in (overrides or {}).items():
        if target is None:
            merged.pop(source, None)
        else:
            merged[source] = target
    if merged.get(EMAIL_SOURCE) != EMAIL_TARGET:
        raise MappingError("emailAddress must map to email: leads are matched in Marketo by email")
    targets: dict[str, str] = {}
    for source, target in merged.items():
        if target in targets:
            raise MappingError(
                f"{targets[target]} and {source} both map to {target}: keep one of them"
            )
        targets[target] = source
    return merged


@attrs.frozen
class ResolvedField:
    """One source field's way into Marketo: its target and the target's type."""

    source: str
    target: str
    data_type: str


@attrs.frozen
class ResolvedMap:
    """The map as it will run: fields with a writable target, and what was left out."""

    fields: tuple[ResolvedField, ...]
    missing_targets: Mapping[str, str]  # source -> target Marketo does not have (or is read-only)
    unmapped: tuple[str, ...] = ()  # source fields with no target at all

    def record(self, lead: Mapping[str, Any]) -> dict[str, Any]:
        """The Marketo record for ``lead`` (empty values left out so they never blank a field).

        Raises ``ConversionError`` naming the field when a value does not fit its target.
        """
        record: dict[str, Any] = {}
        for field in self.fields:
            value = convert(
                lead.get(field.source), field.data_type, source=field.source, target=field.target
            )
            if value is not EMPTY:
                record[field.target] = value
        return record


def resolve(
    mapping: Mapping[str, str],
    described: Iterable[LeadFieldDescription],
    *,
    source_fields: Sequence[str] = (),
    strict: Iterable[str] = (),
) -> ResolvedMap:
    """Check ``mapping`` against Marketo's describe.

    A target Marketo lacks (or cannot write through REST) is left out, unless its source is
    in ``strict`` (the user's own mapping entries): then :class:`MappingError` says so.
    """
    writable: dict[str, str] = {}
    for description in described:
        rest = description.rest
        if rest is not None and not rest.read_only:
            writable[rest.name] = description.data_type
    insisted = set(strict)
    fields: list[ResolvedField] = []
    missing: dict[str, str] = {}
    refused: list[str] = []
    for source, target in mapping.items():
        if target in writable:
            fields.append(ResolvedField(source, target, writable[target]))
        elif source in insisted or source == EMAIL_SOURCE:
            refused.append(f"{source} -> {target}{_did_you_mean(target, writable)}")
        else:
            missing[source] = target
    if refused:  # every bad entry at once, not one a run
        raise MappingError(
            f"the mapping names fields Marketo has not, or the REST API cannot write: "
            f"{'; '.join(refused)} (see `marketo-async describe`)"
        )
    unmapped = tuple(name for name in source_fields if name not in mapping)
    return ResolvedMap(tuple(fields), missing, unmapped)


def _did_you_mean(name: str, names: Iterable[str]) -> str:
    choices = list(names)
    near = [real for real in choices if real.casefold() == name.casefold()]
    near = near or difflib.get_close_matches(name, choices, n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(real) for real in near)}?)" if near else ""
