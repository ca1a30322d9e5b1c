"""Lead Gen & CRM records as the API sends them: every value a string, some HTML-encoded.

A :class:`LeadGenLead` keeps every field it was sent (standard and custom, keyed by
systemName) with HTML entities decoded once; ``.id`` is the lead's integer id (a read always
carries it: the client asks for it with every field list, and refuses a lead without one).
Writes take plain mappings, where a new lead has no id yet.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping
from typing import Any

import attrs

from ..models._record import SentFields
from ._errors import LeadGenError

__all__ = ["LeadGenEvent", "LeadGenField", "LeadGenLead", "decode_value", "parse_timestamp"]

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"  # Lead Gen & CRM: "Y-m-d H:i:s", no zone (UTC on v1.2)


def decode_value(value: Any) -> Any:
    """A value as the API meant it: strings HTML-decoded once (UI-typed values come encoded).

    >>> decode_value("Smith &amp; Sons"), decode_value("&amp;lt;b&amp;gt;")
    ('Smith & Sons', '&lt;b&gt;')
    """
    if isinstance(value, str) and "&" in value:
        return html.unescape(value)
    return value


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    text = str(value).strip()
    return int(text) if text.isdigit() else None


def parse_timestamp(value: Any) -> dt.datetime | None:
    """``"2016-11-09 22:18:22"`` as an aware UTC datetime (None when empty or malformed)."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return dt.datetime.strptime(value.strip(), TIMESTAMP_FORMAT).replace(tzinfo=dt.timezone.utc)
    except ValueError:
        return None


def _has_lead_id(instance: Any, attribute: Any, fields: Mapping[str, Any]) -> None:
    if _int_or_none(fields.get("id")) is None:
        names = ", ".join(sorted(map(str, fields))[:8]) or "none"
        raise ValueError(
            f"a Lead Gen & CRM lead read from the API has an integer id; this one has "
            f"{fields.get('id')!r} (its fields: {names})"
        )


@attrs.frozen(repr=False)
class LeadGenLead(SentFields):
    """One lead as read: ``lead.id`` (int, always there), ``lead["emailAddress"]``,
    ``lead["Favorite_Color_5a0d..."]``. Built from a mapping without an integer ``id`` it
    raises ValueError."""

    fields: Mapping[str, Any] = attrs.field(validator=_has_lead_id)

    @property
    def _sent(self) -> Mapping[str, Any]:
        return self.fields

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> LeadGenLead:
        """A lead of a read answer; :class:`LeadGenError` when it has no integer id."""
        try:
            return cls({str(name): decode_value(value) for name, value in raw.items()})
        except ValueError as error:
            raise LeadGenError(f"unreadable answer: {error}") from None

    @property
    def id(self) -> int:
        """The lead id, as an integer (the API sends it as a string)."""
        return int(str(self.fields["id"]).strip())  # the validator saw it is one

    @property
    def email_address(self) -> str | None:
        value = self.fields.get("emailAddress")
        return value if isinstance(value, str) and value else None

    @property
    def updated_at(self) -> dt.datetime | None:
        """``updateTimestamp`` read as UTC (v1.2)."""
        return parse_timestamp(self.fields.get("updateTimestamp"))

    def __repr__(self) -> str:
        return f"LeadGenLead(id={self.id!r}, fields={len(self.fields)})"


@attrs.frozen(kw_only=True)
class LeadGenField:
    """One field of getFields (all flags arrive as "0"/"1" strings)."""

    id: int | None
    system_name: str
    label: str
    relationship: str | None = None
    data_type: str | None = None
    data_length: int | None = None
    is_custom: bool = False
    is_required: bool = False
    is_active: bool = True
    options: tuple[Mapping[str, Any], ...] = ()
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False)

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> LeadGenField:
        def flag(name: str, default: bool) -> bool:
            value = raw.get(name)
            return default if value in (None, "") else str(value).strip() in ("1", "true")

        options = raw.get("options")
        return cls(
            id=_int_or_none(raw.get("id")),
            system_name=str(raw.get("systemName") or ""),
            label=str(decode_value(raw.get("label") or "")),
            relationship=raw.get("relationship"),
            data_type=raw.get("dataType"),
            data_length=_int_or_none(raw.get("dataLength")),
            is_custom=flag("isCustom", False),
            is_required=flag("isRequired", False),
            is_active=flag("isActive", True),
            options=tuple(o for o in options if isinstance(o, Mapping))
            if isinstance(options, list)
            else (),
            raw=dict(raw),
        )


@attrs.frozen(kw_only=True)
class LeadGenEvent:
    """One event of getEvents or getLeadTimeline; ``raw`` keeps every field sent."""

    id: int | None
    lead_id: int | None
    event_name: str | None
    created_at: dt.datetime | None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False)

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> LeadGenEvent:
        decoded = {str(name): decode_value(value) for name, value in raw.items()}
        return cls(
            id=_int_or_none(decoded.get("id")),
            lead_id=_int_or_none(decoded.get("leadID", decoded.get("whoID"))),
            event_name=decoded.get("eventName", decoded.get("eventSource")),
            created_at=parse_timestamp(decoded.get("createTimestamp", decoded.get("timestamp"))),
            raw=decoded,
        )
