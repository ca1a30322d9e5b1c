"""attrs models of Marketo's records and the one cattrs converter."""

from ._converter import converter, format_datetime, parse_datetime, strict_converter
from .activities import (
    Activity,
    ActivityType,
    ActivityTypeAttribute,
    CustomActivityType,
    CustomActivityTypeAttribute,
    LeadChange,
    LeadChangeField,
)
from .campaigns import Program, ProgramStatus, SmartCampaign, SmartList
from .leads import (
    DescribedField,
    FieldApiAccess,
    Lead,
    LeadDescription,
    LeadField,
    LeadFieldDescription,
    ListMembership,
    Partition,
    ProgramMembership,
    SmartCampaignMembership,
    VisitorData,
)
from .objects import ObjectDescription, ObjectRecord, ObjectRelationship
from .program_members import ProgramMember, ProgramMemberDescription, ProgramMemberField
from .static_lists import FOLDER_TYPES, Folder, FolderType, StaticList
from .usage import Usage

__all__ = [
    "FOLDER_TYPES",
    "Activity",
    "ActivityType",
    "ActivityTypeAttribute",
    "CustomActivityType",
    "CustomActivityTypeAttribute",
    "DescribedField",
    "FieldApiAccess",
    "Folder",
    "FolderType",
    "Lead",
    "LeadChange",
    "LeadChangeField",
    "LeadDescription",
    "LeadField",
    "LeadFieldDescription",
    "ListMembership",
    "ObjectDescription",
    "ObjectRecord",
    "ObjectRelationship",
    "Partition",
    "Program",
    "ProgramMember",
    "ProgramMemberDescription",
    "ProgramMemberField",
    "ProgramMembership",
    "ProgramStatus",
    "SmartCampaign",
    "SmartCampaignMembership",
    "SmartList",
    "StaticList",
    "Usage",
    "VisitorData",
    "converter",
    "format_datetime",
    "parse_datetime",
    "strict_converter",
]
