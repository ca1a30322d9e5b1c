"""The one cattrs converter: Marketo's camelCase JSON to snake_case attrs classes and back."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

__all__ = [
    "camel_case",
    "converter",
    "format_datetime",
    "make_converter",
    "parse_datetime",
    "strict_converter",
]

# Marketo writes offsets as -08:00, Z, and on the asset API "Z+0000"; the date alone also occurs.
_ASSET_SUFFIX = re.compile(r"Z[+-]\d{4}$")
_COMPACT_OFFSET = re.compile(r"([+-]\d{2})(\d{2})$")


def camel_case(name: str) -> str:
    """``created_at`` -> ``createdAt``; names listed in a field's metadata win."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def parse_datetime(value: str | dt.datetime) -> dt.datetime:
    """Every datetime form Marketo sends, as an aware datetime (UTC when no offset is given).

    >>> parse_datetime("2017-07-27T01:38:33Z+0000").isoformat()
    '2017-07-27T01:38:33+00:00'
    """
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    if len(value) == 20 and value[19] == "Z" and value[10] == "T":
        # Marketo's usual form, 2026-01-31T08:00:00Z, read in one step (an activity read
        # parses one per activity; datetime.replace alone costs several times more).
        try:
            return dt.datetime.fromisoformat(value[:19] + "+00:00")
        except ValueError:
            pass  # not plain ISO after all: the general path says what is wrong
    text = value.strip()
    if _ASSET_SUFFIX.search(text):
        text = text[: text.rindex("Z")] + "+00:00"
    elif text.endswith("Z"):
        text = text[:-1] + "+00:00"
    else:
        text = _COMPACT_OFFSET.sub(r"\1:\2", text) if "T" in text else text
    parsed = dt.datetime.fromisoformat(text.replace(" ", "T", 1))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def format_datetime(value: dt.datetime | dt.date | str) -> str:
    """ISO-8601 without milliseconds, as Marketo's filters want (``2024-01-31T08:00:00Z``)."""
    if isinstance(value, str):
        return value
    if not isinstance(value, dt.datetime):
        return value.isoformat()
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    value = value.replace(microsecond=0)
    if value.utcoffset() == dt.timedelta(0):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat()


def _wire_name(field: attrs.Attribute[Any]) -> str:
    return str(field.metadata.get("wire", camel_case(field.name)))


def make_converter(*, strict: bool = False) -> cattrs.Converter:
    """A converter mapping attrs classes to camelCase dicts; ``strict`` rejects unknown keys."""
    conv = cattrs.Converter(forbid_extra_keys=strict)
    conv.register_structure_hook(dt.datetime, lambda value, _: parse_datetime(value))
    conv.register_unstructure_hook(dt.datetime, format_datetime)

    def structure_factory(cls: type[Any]) -> Any:
        renames: dict[str, Any] = {
            f.name: override(rename=_wire_name(f)) for f in attrs.fields(cls)
        }
        return make_dict_structure_fn(cls, conv, _cattrs_forbid_extra_keys=strict, **renames)

    def unstructure_factory(cls: type[Any]) -> Any:
        renames: dict[str, Any] = {
            f.name: override(rename=_wire_name(f), omit_if_default=True) for f in attrs.fields(cls)
        }
        return make_dict_unstructure_fn(cls, conv, **renames)

    conv.register_structure_hook_factory(attrs.has, structure_factory)
    conv.register_unstructure_hook_factory(attrs.has, unstructure_factory)
    return conv


converter = make_converter()
"""The library's converter: unknown keys are ignored (Marketo adds fields over time)."""

strict_converter = make_converter(strict=True)
"""For tests: unknown keys raise, so schema drift is noticed."""
