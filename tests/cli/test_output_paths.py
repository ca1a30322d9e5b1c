"""A file a command writes (--out, --report, --state, --dump) in a directory that does not
exist is a usage error naming the option, before any call: not a failure after the run read
or sent, naming a temporary file the user never gave."""

from __future__ import annotations

from pathlib import Path

import pytest

from marketo_async.testing import FakeMarketo
from tests.cli.conftest import Invoke


def _commands(values: Path, missing: Path) -> list[tuple[str, list[str | Path]]]:
    leads = values.parent / "leads.csv"
    leads.write_text("email\na@x.com\n", encoding="utf-8")
    export = ["--filter-type", "email", "--values", values]
    objects = ["companies", "--filter-type", "externalCompanyId", "--values", values]
    since = ["--type-ids", "1", "--since", "2024-01-01"]
    return [
        ("--out", ["leads", "export", *export, "--out", missing]),
        ("--out", ["leads", "export", "--updated-since", "2024-01-01", "--out", missing]),
        ("--out", ["objects", "export", *objects, "--out", missing]),
        ("--out", ["activities", "export", *since, "--out", missing]),
        ("--state", ["activities", "export", *since, "--out", leads, "--state", missing]),
        ("--report", ["leads", "upsert", leads, "--report", missing]),
    ]


CASES = [
    "leads export",
    "leads export (bulk)",
    "objects export",
    "activities export",
    "activities export --state",
    "leads upsert --report",
]


@pytest.mark.parametrize("case", range(len(CASES)), ids=CASES)
def test_a_file_to_write_in_a_missing_directory_is_a_usage_error_before_any_call(
    invoke: Invoke, tmp_path: Path, case: int
) -> None:
    values = tmp_path / "values.txt"
    values.write_text("a@x.com\n", encoding="utf-8")
    missing = tmp_path / "no-such-dir" / "out.csv"
    option, args = _commands(values, missing)[case]
    fake = FakeMarketo()
    result = invoke(fake, *args, "--sandbox")
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{option}'" in result.stderr
    assert "is in a directory that does not exist" in result.stderr
    assert str(tmp_path / "no-such-dir") in result.stderr
    assert fake.stats.calls == 0
    assert not (tmp_path / "no-such-dir").exists()


def test_an_output_inside_a_file_is_refused_naming_the_file(invoke: Invoke, tmp_path: Path) -> None:
    values = tmp_path / "values.txt"
    values.write_text("a@x.com\n", encoding="utf-8")
    result = invoke(None, "leads", "export", "--sandbox", "--filter-type", "email",
                    "--values", values, "--out", values / "out.csv")  # fmt: skip
    assert result.exit_code == 2
    assert "which is not a directory" in result.stderr and str(values) in result.stderr


@pytest.mark.parametrize("out", ["-", "out.csv"])
def test_stdout_and_a_file_in_the_working_directory_are_still_written(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, out: str
) -> None:
    monkeypatch.chdir(tmp_path)
    values = tmp_path / "values.txt"
    values.write_text("a@x.com\n", encoding="utf-8")
    fake = FakeMarketo()
    fake.add_lead(email="a@x.com")
    result = invoke(fake, "leads", "export", "--sandbox", "--filter-type", "email",
                    "--values", values, "--fields", "email", "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    written = result.stdout if out == "-" else (tmp_path / out).read_text(encoding="utf-8")
    assert "a@x.com" in written
