"""A realistic, dirty Lead Gen & CRM account for ``migrate --sandbox`` and the benchmarks.

Names typed in the UI (the emulator stores them HTML-encoded, as the API sends them), emails
that differ only in letter case, empty and malformed emails, a lead score that is not a
number, and a few lists.
"""

from __future__ import annotations

import random
import unicodedata
from typing import Any

__all__ = ["SANDBOX_LEADS", "dirty_account"]

SANDBOX_LEADS = 240
FIRST_LEAD_ID = 600_000_001

_FIRST = ("Ann", "Bob", "Chloé", "Dara", "Eoin", "Fay", "Gus", "Hana", "Ivo", "Jo", "Kai", "Lea")
_LAST = ("O'Brien", "Smith", "D'Arcy", "Nguyen", "Müller", "Okafor", "Rossi", "Kowalski")
_COMPANIES = ("Smith & Sons", "Acme <Labs>", "Ben & Jerry's", "Initech", "Globex", "Umbrella")
_DOMAINS = ("example.com", "example.org", "mail.example.net")
_MALFORMED = (
    "no-at-sign.example.com",
    "two@@example.com",
    "trailing@",
    "@leading.example.com",
    "spaced out@example.com",
    "a@b@example.com",
)
_LISTS = {1: "Newsletter", 2: "Webinar: Q3 attendees", 3: "Customers & partners"}


def _lead(number: int, rng: random.Random) -> dict[str, Any]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    # Marketo takes ASCII emails only: the names keep their accents, the addresses do not.
    local = unicodedata.normalize("NFKD", f"{first}.{last}").encode("ascii", "ignore").decode()
    local = local.replace("'", "").lower()
    lead: dict[str, Any] = {
        "id": FIRST_LEAD_ID + number,
        "emailAddress": f"{local}{number}@{rng.choice(_DOMAINS)}",
        "firstName": first,
        "lastName": last,
        "companyName": rng.choice(_COMPANIES),
        "title": rng.choice(("CEO", "VP Sales & Marketing", "Engineer", "")),
        "phoneNumber": f"+1 555 {rng.randrange(1000, 9999)}",
        "city": rng.choice(("Dublin", "Köln", "Austin", "São Paulo")),
        "country": rng.choice(("IE", "DE", "US", "BR")),
        "website": "https://www.example.com",
        "leadScore": str(rng.randrange(0, 100)),
        "isUnsubscribed": rng.choice(("0", "0", "0", "1")),
    }
    return lead


def _dirty(lead: dict[str, Any], number: int, leads: list[dict[str, Any]]) -> None:
    """Spoil about one lead in five, in the ways real accounts are spoiled."""
    kind = number % 24
    if kind == 3:  # the same person again, the email typed in another case
        lead["emailAddress"] = leads[number - 3]["emailAddress"].upper()
    elif kind == 7:
        lead["emailAddress"] = ""
    elif kind == 11:
        lead["emailAddress"] = _MALFORMED[(number // 24) % len(_MALFORMED)]
    elif kind == 15:
        lead["leadScore"] = "n/a"  # not a number: fails that lead, naming leadScore
    elif kind == 19:  # and again, capitalised, with the name spelled another way
        lead["emailAddress"] = leads[number - 2]["emailAddress"].capitalize()
        lead["firstName"] = leads[number - 2]["firstName"].upper()


def dirty_account(leads: int = SANDBOX_LEADS, *, random_seed: int = 17) -> dict[str, Any]:
    """A FakeLeadGen seed (``fake.seed(...)``; the JSON seed file format) of ``leads`` leads."""
    rng = random.Random(random_seed)
    made: list[dict[str, Any]] = []
    for number in range(leads):
        lead = _lead(number, rng)
        _dirty(lead, number, made)
        made.append(lead)
    lists: dict[str, list[int]] = {str(list_id): [] for list_id in _LISTS}
    for lead in made:
        for list_id in _LISTS:
            if rng.random() < 0.3:
                lists[str(list_id)].append(int(lead["id"]))
    return {
        "leads": made,
        "lists": lists,
        "list_names": {str(list_id): name for list_id, name in _LISTS.items()},
    }
