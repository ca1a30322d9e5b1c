"""attrs models of Marketo's records and the one cattrs converter."""

# Each model module's __all__ is the one list of what it exports; this package re-exports
# those lists whole (type checkers read `__all__ += module.__all__`).
from . import activities, campaigns, leads, objects, program_members, static_lists
from ._converter import converter, format_datetime, parse_datetime, strict_converter
from .activities import *  # noqa: F403
from .campaigns import *  # noqa: F403
from .leads import *  # noqa: F403
from .objects import *  # noqa: F403
from .program_members import *  # noqa: F403
from .static_lists import *  # noqa: F403
from .usage import Usage

__all__ = ["Usage", "converter", "format_datetime", "parse_datetime", "strict_converter"]
__all__ += activities.__all__
__all__ += campaigns.__all__
__all__ += leads.__all__
__all__ += objects.__all__
__all__ += program_members.__all__
__all__ += static_lists.__all__
