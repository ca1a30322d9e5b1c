"""Generate examples/leads.csv: deterministic sample leads for the command line.

    python examples/make_leads.py                       # 3,000 rows -> examples/leads.csv
    python examples/make_leads.py --rows 1000000 --out big.csv

Columns: email, firstName, lastName, company. About one row in twenty repeats an earlier
row's email in another letter case (``Ann.Lee@example.com`` after ``ann.lee@example.com``),
as exports from other systems often do: Marketo matches emails case-insensitively, so these
rows update the lead the earlier row created instead of creating a duplicate.
Rows are streamed to the file, so a million rows take little memory.
"""

from __future__ import annotations

import argparse
import csv
import random
from collections.abc import Iterator
from pathlib import Path

FIRST_NAMES = [
    "Ada",
    "Alan",
    "Ann",
    "Ben",
    "Carla",
    "Chen",
    "Dana",
    "Eli",
    "Emma",
    "Femi",
    "Grace",
    "Hana",
    "Ivan",
    "Jade",
    "Jon",
    "Kai",
    "Lena",
    "Liam",
    "Maya",
    "Mia",
    "Nia",
    "Noah",
    "Omar",
    "Pia",
    "Quinn",
    "Raj",
    "Rosa",
    "Sam",
    "Sara",
    "Tariq",
    "Uma",
    "Vera",
    "Wen",
    "Yara",
    "Zoe",
]
LAST_NAMES = [
    "Abe",
    "Baker",
    "Costa",
    "Diaz",
    "Evans",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ito",
    "Jensen",
    "Kim",
    "Lee",
    "Lopez",
    "Martin",
    "Nakamura",
    "Novak",
    "Okafor",
    "Patel",
    "Quist",
    "Rossi",
    "Silva",
    "Smith",
    "Tanaka",
    "Ueda",
    "Varga",
    "Walsh",
    "Xu",
    "Young",
    "Zhou",
]
COMPANIES = (
    "Acme Corp",
    "Globex",
    "Initech",
    "Umbrella Ltd",
    "Hooli",
    "Stark Industries",
    "Wayne Enterprises",
    "Soylent",
    "Vandelay Industries",
    "Wonka Industries",
    "",
)
DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com")
REPEAT_EVERY = 20  # about one row in this many repeats an earlier email in another case


def _recase(email: str, rng: random.Random) -> str:
    """The same address in another letter case (always differs from the original)."""
    local, _, domain = email.partition("@")
    options = [
        local.capitalize() + "@" + domain,
        local.title() + "@" + domain.upper(),
        email.upper(),
    ]
    changed = [option for option in options if option != email]
    return rng.choice(changed)


def rows(count: int, seed: int = 7) -> Iterator[dict[str, str]]:
    rng = random.Random(seed)
    recent: list[str] = []  # a bounded window of earlier emails to repeat
    for number in range(1, count + 1):
        if recent and number % REPEAT_EVERY == 0:
            email = _recase(rng.choice(recent), rng)
            first, last = email.split("@")[0].split(".")[:2] if "." in email else ("", "")
            first, last = first.capitalize(), last.split("-")[0].capitalize()
        else:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            email = f"{first}.{last}-{number}@{rng.choice(DOMAINS)}".lower()
            recent.append(email)
            if len(recent) > 1_000:
                recent.pop(rng.randrange(len(recent)))
        yield {
            "email": email,
            "firstName": first,
            "lastName": last,
            "company": rng.choice(COMPANIES),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("leads.csv"))
    args = parser.parse_args()
    with args.out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(
            handle, fieldnames=["email", "firstName", "lastName", "company"], lineterminator="\n"
        )
        writer.writeheader()
        for row in rows(args.rows, args.seed):
            writer.writerow(row)


if __name__ == "__main__":
    main()
