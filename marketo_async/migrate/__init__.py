"""Moving leads between the systems this package speaks to: Lead Gen & CRM into Marketo.

The command is ``marketo-async migrate leadgen-to-marketo``; these are its parts, usable
on their own::

    from marketo_async.migrate import merge_mapping, resolve

    mapping = resolve(merge_mapping({"persona": "leadRole"}), await mk.leads.describe())
    record = mapping.record(lead)  # Marketo REST names, values converted to their types
"""

from ._fields import (
    DEFAULT_FIELD_MAP,
    MappingError,
    ResolvedField,
    ResolvedMap,
    load_mapping,
    merge_mapping,
    resolve,
)
from ._lists import ListResult, carry_list_memberships, leadgen_list_names
from ._sandbox import SANDBOX_LEADS, dirty_account
from ._values import EMPTY, ConversionError, convert, email_problem
from ._waits import TimedLimiter

__all__ = [
    "DEFAULT_FIELD_MAP",
    "EMPTY",
    "SANDBOX_LEADS",
    "ConversionError",
    "ListResult",
    "MappingError",
    "ResolvedField",
    "ResolvedMap",
    "TimedLimiter",
    "carry_list_memberships",
    "convert",
    "dirty_account",
    "email_problem",
    "leadgen_list_names",
    "load_mapping",
    "merge_mapping",
    "resolve",
]
