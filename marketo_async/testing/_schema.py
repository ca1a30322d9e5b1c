"""Field metadata for leads and program members, and the instance's default field tables."""

from __future__ import annotations

import re
from typing import Any

import attrs

__all__ = [
    "FIELD_DATA_TYPES",
    "FIELD_NAME",
    "FieldDef",
    "default_lead_fields",
    "default_program_member_fields",
]

# Marketo: the data types Create Lead Fields accepts.
FIELD_DATA_TYPES = frozenset(
    {
        "boolean",
        "currency",
        "date",
        "datetime",
        "email",
        "float",
        "integer",
        "percent",
        "phone",
        "score",
        "string",
        "url",
        "text",
    }
)
# Marketo: a field name starts with a letter and holds only letters, digits and underscores.
FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# Marketo: custom fields of these types may be used as filterType / lookupField.
_SEARCHABLE_TYPES = frozenset({"string", "email", "integer"})


@attrs.define
class FieldDef:
    """One field of the lead or program member object."""

    name: str
    display_name: str
    data_type: str
    length: int | None = None
    id: int = 0
    description: str | None = None
    is_custom: bool = False
    is_hidden: bool = False
    is_html_encoding_in_email: bool = True
    is_sensitive: bool = False
    is_api_created: bool = False
    read_only: bool = False
    searchable: bool = False
    updateable: bool = True
    crm_managed: bool = False

    @property
    def searchable_custom(self) -> bool:
        return self.is_custom and self.data_type in _SEARCHABLE_TYPES

    def schema_view(self) -> dict[str, Any]:
        """The shape of Get Lead Field by Name / Get Lead Fields."""
        view: dict[str, Any] = {
            "displayName": self.display_name,
            "name": self.name,
            "description": self.description,
            "dataType": self.data_type,
        }
        if self.length is not None:
            view["length"] = self.length
        view.update(
            {
                "isHidden": self.is_hidden,
                "isHtmlEncodingInEmail": self.is_html_encoding_in_email,
                "isSensitive": self.is_sensitive,
                "isCustom": self.is_custom,
                "isApiCreated": self.is_api_created,
            }
        )
        return view

    def describe_view(self) -> dict[str, Any]:
        """The shape of Describe Lead (``rest`` and ``soap`` names)."""
        view: dict[str, Any] = {
            "id": self.id,
            "displayName": self.display_name,
            "dataType": self.data_type,
        }
        if self.length is not None:
            view["length"] = self.length
        view["rest"] = {"name": self.name, "readOnly": self.read_only}
        view["soap"] = {"name": self.name[:1].upper() + self.name[1:], "readOnly": self.read_only}
        return view

    def describe2_view(self) -> dict[str, Any]:
        """The shape of Describe Lead2 / Describe Program Member ``fields[]``."""
        view: dict[str, Any] = {
            "name": self.name,
            "displayName": self.display_name,
            "dataType": self.data_type,
        }
        if self.length is not None:
            view["length"] = self.length
        view.update(
            {"updateable": self.updateable and not self.read_only, "crmManaged": self.crm_managed}
        )
        return view


_S = 255
# name, displayName, dataType, length, readOnly, searchable
_LEAD_FIELDS: tuple[tuple[str, str, str, int | None, bool, bool], ...] = (
    ("id", "Id", "integer", None, True, True),
    ("salutation", "Salutation", "string", _S, False, False),
    ("firstName", "First Name", "string", _S, False, False),
    ("middleName", "Middle Name", "string", _S, False, False),
    ("lastName", "Last Name", "string", _S, False, False),
    ("dateOfBirth", "Date of Birth", "date", None, False, False),
    ("email", "Email Address", "email", _S, False, True),
    ("phone", "Phone Number", "phone", _S, False, False),
    ("mobilePhone", "Mobile Phone Number", "phone", _S, False, False),
    ("fax", "Fax Number", "phone", _S, False, False),
    ("title", "Job Title", "string", _S, False, False),
    ("company", "Company Name", "string", _S, False, False),
    ("website", "Website", "url", _S, False, False),
    ("address", "Address", "text", 65535, False, False),
    ("city", "City", "string", _S, False, False),
    ("state", "State", "string", _S, False, False),
    ("postalCode", "Postal Code", "string", _S, False, False),
    ("country", "Country", "string", _S, False, False),
    ("leadSource", "Lead Source", "string", _S, False, False),
    ("leadScore", "Lead Score", "integer", None, False, False),
    ("unsubscribed", "Unsubscribed", "boolean", None, False, False),
    ("externalCompanyId", "External Company Id", "string", 100, False, False),
    ("externalSalesPersonId", "External Sales Person Id", "string", 100, False, False),
    ("twitterId", "Twitter Id", "string", _S, False, True),
    ("facebookId", "Facebook Id", "string", _S, False, True),
    ("linkedInId", "LinkedIn Id", "string", _S, False, True),
    ("sfdcLeadId", "SFDC Lead Id", "string", 18, False, True),
    ("sfdcContactId", "SFDC Contact Id", "string", 18, False, True),
    ("sfdcAccountId", "SFDC Account Id", "string", 18, False, True),
    ("sfdcLeadOwnerId", "SFDC Lead Owner Id", "string", 18, False, True),
    ("sfdcOpptyId", "SFDC Oppty Id", "string", 18, False, True),
    ("cookies", "Cookies", "string", _S, True, True),
    ("leadPartitionId", "Lead Partition Id", "integer", None, True, True),
    ("createdAt", "Created At", "datetime", None, True, False),
    ("updatedAt", "Updated At", "datetime", None, True, False),
)


def default_lead_fields() -> dict[str, FieldDef]:
    fields: dict[str, FieldDef] = {}
    for number, (name, display, data_type, length, read_only, searchable) in enumerate(
        _LEAD_FIELDS, start=1
    ):
        fields[name] = FieldDef(
            name=name,
            display_name=display,
            data_type=data_type,
            length=length,
            id=number,
            read_only=read_only,
            searchable=searchable,
            is_sensitive=True,
            is_html_encoding_in_email=data_type not in {"boolean", "date", "datetime", "integer"},
        )
    return fields


# name, displayName, dataType, length, updateable, searchable
_MEMBER_FIELDS: tuple[tuple[str, str, str, int | None, bool, bool], ...] = (
    ("acquiredBy", "Acquired By", "boolean", None, False, False),
    ("attendanceLikelihood", "Attendance Likelihood", "integer", None, False, False),
    ("createdAt", "Created At", "datetime", None, False, False),
    ("isExhausted", "Nurture Exhausted", "boolean", None, False, False),
    ("leadId", "Lead Id", "integer", None, False, True),
    ("membershipDate", "Member Date", "datetime", None, False, False),
    ("nurtureCadence", "Nurture Cadence", "string", 4, False, False),
    ("program", "Program", "string", 255, False, False),
    ("programId", "Program Id", "integer", None, False, False),
    ("reachedSuccess", "Reached Success", "boolean", None, False, True),
    ("reachedSuccessDate", "Reached Success Date", "datetime", None, False, False),
    ("registrationLikelihood", "Registration Likelihood", "integer", None, False, False),
    ("statusName", "Status", "string", 255, False, True),
    ("statusReason", "Status Reason", "string", 255, False, False),
    ("trackName", "Track Name", "string", 255, False, False),
    ("updatedAt", "Updated At", "datetime", None, False, False),
    ("waitlistPriority", "Waitlist Priority", "integer", None, False, False),
    ("registrationCode", "Registration Code", "string", 100, True, False),
    ("webinarUrl", "Webinar Url", "string", 2000, True, False),
)


def default_program_member_fields() -> dict[str, FieldDef]:
    return {
        name: FieldDef(
            name=name,
            display_name=display,
            data_type=data_type,
            length=length,
            updateable=updateable,
            searchable=searchable,
            is_html_encoding_in_email=data_type == "string",
        )
        for name, display, data_type, length, updateable, searchable in _MEMBER_FIELDS
    }
