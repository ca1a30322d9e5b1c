"""attrs models of Marketo's records and the one cattrs converter."""

from ._converter import converter, format_datetime, parse_datetime, strict_converter

__all__ = ["converter", "format_datetime", "parse_datetime", "strict_converter"]
