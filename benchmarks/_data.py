"""Generated leads: deterministic, realistic in size, with some emails repeated.

One row in :data:`REPEAT_EVERY` updates a lead that an earlier row (300 to 3,000 rows back, so
in another 300-record call that may well be in flight at the same time) already carries; half
of those repeats change the email's case, which Marketo ignores. A client that sends
overlapping calls carrying the same new email makes Marketo create the lead twice.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["FIELDS", "REPEAT_EVERY", "lead_rows", "repeated_rows", "write_csv"]

FIELDS = ("email", "firstName", "lastName", "company", "title", "city", "leadSource")
REPEAT_EVERY = 20  # 5% of rows repeat an earlier row's email
_MIN_BACK = 300
_SPREAD = 2_700
_TITLES = ("Engineer", "Director of Marketing", "VP Sales", "Analyst", "Founder", "CFO")
_CITIES = ("Springfield", "Lyon", "Osaka", "Curitiba", "Leeds", "Pune", "Austin")


def _email_of(index: int, repeats: bool) -> str:
    """The email row ``index`` carries (following repeats back to the row that introduced it)."""
    while repeats and _is_repeat(index):
        index -= _MIN_BACK + (index * 7_919) % _SPREAD
    return f"lead{index:07d}@example.com"


def _is_repeat(index: int) -> bool:
    return index % REPEAT_EVERY == REPEAT_EVERY - 1 and index >= _MIN_BACK + _SPREAD


def lead_rows(count: int, *, repeats: bool = True) -> Iterator[dict[str, Any]]:
    """``count`` lead records (REST field names), generated lazily.

    ``repeats=False`` gives every row its own email.
    """
    for index in range(count):
        email = _email_of(index, repeats)
        if repeats and _is_repeat(index) and index % 2:
            email = email.upper()
        yield {
            "email": email,
            "firstName": f"First{index}",
            "lastName": f"Last{index}",
            "company": f"Company {index % 4_999} Holdings",
            "title": _TITLES[index % len(_TITLES)],
            "city": _CITIES[index % len(_CITIES)],
            "leadSource": "Benchmark",
        }


def repeated_rows(count: int) -> int:
    """How many of the first ``count`` rows repeat an earlier row's email."""
    return sum(1 for index in range(count) if _is_repeat(index))


def write_csv(path: Path, count: int) -> None:
    """Write ``count`` rows as a CSV with a header, streamed (constant memory)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        for row in lead_rows(count):
            writer.writerow(row)
