"""An export's --values file that cannot be read whole is refused before any call, naming the
file and line: a value skipped would leave its records out of the export without a word."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from marketo_async.cli import _export
from marketo_async.testing import FakeMarketo
from tests.cli.conftest import Invoke

BAD_VALUES = [
    ("rows.csv", b"email,x\na@x.com,1\nb@x.com,1,2,3\n", "rows.csv line 3: 4 cells for 2 columns"),
    ("lines.jsonl", b'{"email": "a@x.com"}\n{"email":\n', "lines.jsonl line 2: invalid JSON"),
    ("binary.txt", b"a@x.com\n\xff\xfe\x9c\x00\n", "binary.txt is not UTF-8 text"),
    (
        "comma.txt",
        b"a@x.com\nb@x.com,c@x.com\n",
        "comma.txt line 2: 'b@x.com,c@x.com' holds a comma",
    ),
    ("comma.csv", b'email\na@x.com\n"b@x.com,c"\n', "comma.csv line 3: 'b@x.com,c' holds a comma"),
    ("binary.csv", b"\x9c\xff,x\n", "binary.csv line 1: the header row cannot be read"),
    (
        "binary-row.csv",
        b"email\na@x.com\n\x9c\xffb@x.com\n",
        "binary-row.csv line 3: not UTF-8 text (save it as UTF-8)",
    ),
]


@pytest.mark.parametrize(("name", "content", "said"), BAD_VALUES, ids=[b[0] for b in BAD_VALUES])
def test_a_values_file_with_a_row_that_cannot_be_read_is_refused_naming_its_line(
    invoke: Invoke, tmp_path: Path, name: str, content: bytes, said: str
) -> None:
    fake = FakeMarketo()
    fake.add_lead(email="a@x.com")
    fake.add_lead(email="b@x.com")
    values = tmp_path / name
    values.write_bytes(content)
    result = invoke(fake, "leads", "export", "--sandbox", "--filter-type", "email",
                    "--values", values, "--out", tmp_path / "out.csv")  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "Invalid value for --values" in result.stderr and said in result.stderr
    assert "--encoding" not in result.stderr  # the export commands have no such option
    assert fake.stats.calls == 0 and not (tmp_path / "out.csv").exists()


def _export_by_keys(invoke: Invoke, tmp_path: Path, keys: str) -> tuple[FakeMarketo, Result]:
    fake = FakeMarketo()
    path = tmp_path / "keys.jsonl"
    path.write_text(keys, encoding="utf-8")
    result = invoke(fake, "objects", "export", "companies", "--sandbox",
                    "--filter-type", "dedupeFields", "--values", path)  # fmt: skip
    return fake, result


def test_a_compound_key_file_with_a_line_that_is_not_json_is_refused_naming_its_line(
    invoke: Invoke, tmp_path: Path
) -> None:
    fake, result = _export_by_keys(
        invoke, tmp_path, '{"company": "Acme", "website": "acme.com"}\n{"company":\n'
    )
    assert result.exit_code == 2, result.output
    assert "keys.jsonl line 2: invalid JSON" in result.stderr
    assert fake.stats.calls == 0


def test_compound_keys_from_jsonl_are_still_read_as_objects(invoke: Invoke, tmp_path: Path) -> None:
    fake, result = _export_by_keys(
        invoke, tmp_path, '{"externalCompanyId": "A1", "company": "Acme"}\n'
    )
    assert result.exit_code == 0, result.output
    assert "Exported 0 companies records to stdout." in result.stderr
    assert fake.stats.calls > 0


@pytest.mark.parametrize(
    ("command", "unit"),
    [
        (("objects", "export", "companies", "--filter-type", "externalCompanyId"), "records"),
        (("leads", "export", "--filter-type", "email"), "leads"),
    ],
)
def test_an_exports_progress_counts_what_it_exports(
    invoke: Invoke,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    command: tuple[str, ...],
    unit: str,
) -> None:
    units: list[str] = []

    class Display(_export.ProgressDisplay):
        def __init__(self, *args: Any, unit: str = "rows", **kwargs: Any) -> None:
            units.append(unit)
            super().__init__(*args, unit=unit, **kwargs)

    monkeypatch.setattr(_export, "ProgressDisplay", Display)
    values = tmp_path / "values.txt"
    values.write_text("a@x.com\n", encoding="utf-8")
    result = invoke(FakeMarketo(), *command, "--values", values, "--sandbox")
    assert result.exit_code == 0, result.output
    assert units == [unit]  # objects export said "leads"
