"""FakeLeadGen's data and its API methods: leads, fields, list memberships, events, call logs.

Values are stored as the API sends them: every one a string. Leads seeded "as if typed in the
UI" keep HTML-encoded standard fields (some ``<`` encoded twice), as the research notes saw.
"""

from __future__ import annotations

import datetime as dt
import html
import itertools
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from ._wire import ApiError

__all__ = ["STANDARD_FIELDS", "LeadGenStore", "ObjectError"]

TIMESTAMP = "%Y-%m-%d %H:%M:%S"
# KB "Schema: Leads" (name, dataType); emailAddress is the one required field.
STANDARD_FIELDS: dict[str, str] = {
    "id": "bigint",
    "accountID": "bigint",
    "ownerID": "bigint",
    "campaignID": "bigint",
    "leadStatus": "picklist",
    "leadScore": "int",
    "leadScoreWeighted": "int",
    "persona": "text",
    "active": "boolean",
    "firstName": "text",
    "lastName": "text",
    "emailAddress": "text",
    "companyName": "text",
    "title": "text",
    "street": "text",
    "city": "text",
    "country": "text",
    "state": "text",
    "zipcode": "text",
    "website": "text",
    "phoneNumber": "text",
    "trackingID": "text",
    "officePhoneNumber": "text",
    "phoneNumberExtension": "text",
    "mobilePhoneNumber": "text",
    "faxNumber": "text",
    "description": "textarea",
    "industry": "text",
    "isUnsubscribed": "boolean",
    "updateTimestamp": "datetime",
}
READ_ONLY = frozenset({"id", "updateTimestamp", "accountID"})
LEAD_STATUSES = ("unqualified", "open", "qualified", "contact", "contactWithOpp")
_ENCODED_IN_UI = frozenset({"firstName", "lastName", "companyName", "title", "street", "city"})


class ObjectError(Exception):
    """An object-level error: this object failed, the call goes on."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def ui_encoded(value: str) -> str:
    """What the UI stores: HTML entities, ``<`` encoded twice (research notes, section 3)."""
    return html.escape(value, quote=True).replace("&lt;", "&amp;lt;")


@attrs.define
class CustomField:
    system_name: str
    label: str
    data_type: str


@attrs.define
class LeadGenStore:
    """Every record of one fake account."""

    clock: Callable[[], dt.datetime]
    leads: dict[int, dict[str, str]] = attrs.Factory(dict)
    created_at: dict[int, str] = attrs.Factory(dict)
    custom_fields: dict[str, CustomField] = attrs.Factory(dict)
    lists: dict[int, set[int]] = attrs.Factory(dict)
    list_names: dict[int, str] = attrs.Factory(dict)
    events: list[dict[str, str]] = attrs.Factory(list)
    call_logs: list[dict[str, Any]] = attrs.Factory(list)
    subscriptions: list[str] = attrs.Factory(list)
    account_id: str = "fake-account"
    _ids: Iterator[int] = attrs.Factory(lambda: itertools.count(600_000_001))
    _event_ids: Iterator[int] = attrs.Factory(lambda: itertools.count(900_000_001))
    _by_email: dict[str, set[int]] = attrs.Factory(dict)

    def next_event_id(self) -> int:
        return next(self._event_ids)

    def now(self) -> str:
        return self.clock().astimezone(dt.timezone.utc).strftime(TIMESTAMP)

    # ---- schema

    def add_field(self, label: str, data_type: str = "text", system_name: str | None = None) -> str:
        """A custom lead field; its systemName is the label plus a 13-hex-digit suffix."""
        if system_name is None:
            stem = "".join(c if c.isalnum() else "_" for c in label).strip("_") or "field"
            system_name = f"{stem}_{secrets.token_hex(7)[:13]}"
        self.custom_fields[system_name] = CustomField(system_name, label, data_type)
        for lead in self.leads.values():
            lead.setdefault(system_name, "")
        return system_name

    def known(self, name: str) -> bool:
        return name in STANDARD_FIELDS or name in self.custom_fields

    # ---- leads

    def ids_with_email(self, email: str) -> set[int]:
        return self._by_email.get(email.strip().casefold(), set())

    def insert(self, values: Mapping[str, Any], *, lead_id: int | None = None) -> int:
        number = lead_id if lead_id is not None else next(self._ids)
        lead = {name: "" for name in self.custom_fields}
        lead.update(
            {
                "id": str(number),
                "accountID": self.account_id,
                "ownerID": "",
                "leadStatus": "unqualified",
                "active": "1",
                "isUnsubscribed": "0",
                "updateTimestamp": self.now(),
            }
        )
        for name, value in values.items():
            if name not in READ_ONLY:
                lead[name] = as_text(value)
        self.leads[number] = lead
        self.created_at[number] = lead["updateTimestamp"]
        self._index(number, lead.get("emailAddress", ""))
        return number

    def _index(self, number: int, email: str) -> None:
        if email:
            self._by_email.setdefault(html.unescape(email).strip().casefold(), set()).add(number)

    def _unindex(self, number: int, email: str) -> None:
        key = html.unescape(email).strip().casefold()
        found = self._by_email.get(key)
        if found is not None:
            found.discard(number)
            if not found:
                del self._by_email[key]

    def change(self, number: int, values: Mapping[str, Any]) -> bool:
        """Apply ``values``; False when nothing changed (the API's 302)."""
        lead = self.leads[number]
        changed = {n: as_text(v) for n, v in values.items() if n not in READ_ONLY}
        if all(lead.get(n) == v for n, v in changed.items()):
            return False
        if "emailAddress" in changed:
            self._unindex(number, lead.get("emailAddress", ""))
            self._index(number, changed["emailAddress"])
        lead.update(changed)
        lead["updateTimestamp"] = self.now()
        return True

    def remove(self, number: int) -> None:
        lead = self.leads.pop(number)
        self._unindex(number, lead.get("emailAddress", ""))
        for members in self.lists.values():
            members.discard(number)

    def ordered(self) -> list[dict[str, str]]:
        """No guaranteed order in the API; here: least recently updated first."""
        return sorted(
            self.leads.values(), key=lambda lead: (lead["updateTimestamp"], int(lead["id"]))
        )


def as_text(value: Any) -> str:
    """Every value is a string in this API (booleans as "1"/"0")."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if value is None:
        return ""
    return str(value)


def check_object(store: LeadGenStore, obj: object, *, creating: bool) -> dict[str, Any]:
    """An object's fields, or the object error the API gives for it."""
    if not isinstance(obj, dict):
        raise ObjectError("208", "Object is malformed (expected array, got scalar)")
    for name, value in obj.items():
        if not store.known(name):
            raise ObjectError("205", f"Invalid parameters: unknown field '{name}'")
        if value is None and name in STANDARD_FIELDS:
            raise ObjectError("205", f"Invalid parameters: null is not allowed for '{name}'")
        if isinstance(value, (dict, list)):
            raise ObjectError("210", "Got array, expected variable")
        if name == "leadStatus" and value not in ("", *LEAD_STATUSES):
            raise ObjectError("217", f"Incorrect parameter value for 'leadStatus': {value!r}")
    if creating and not as_text(obj.get("emailAddress")).strip():
        raise ObjectError("206", "Missing parameters: emailAddress")
    return obj


def page(
    rows: Sequence[dict[str, str]], params: Mapping[str, Any], cap: int | None
) -> list[dict[str, str]]:
    """``limit``/``offset`` applied; a limit above ``cap`` still gives ``cap``."""
    offset = _int_param(params, "offset", 0)
    limit = _int_param(params, "limit", cap if cap is not None else len(rows))
    if cap is not None:
        limit = min(limit, cap)
    return list(rows[offset : offset + limit])


def _int_param(params: Mapping[str, Any], name: str, default: int) -> int:
    value = params.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ApiError("205", f"Invalid parameters: '{name}' must be an integer") from None
    if number < 0:
        raise ApiError("217", f"Incorrect parameter value for '{name}'")
    return number


def selected(lead: Mapping[str, str], fields: object) -> dict[str, str]:
    if isinstance(fields, list) and fields:
        return {name: lead[name] for name in fields if isinstance(name, str) and name in lead}
    return dict(lead)


def parse_time(value: object, name: str) -> str:
    try:
        dt.datetime.strptime(str(value), TIMESTAMP)
    except ValueError:
        raise ApiError("205", f"Invalid parameters: '{name}' must be Y-m-d H:i:s") from None
    return str(value)
