"""An export is written to ``<out>.partial`` and renamed when complete: a failed or killed
export never leaves a well-formed partial file under the name asked for."""

from __future__ import annotations

from pathlib import Path

import pytest

from marketo_async.cli._export import open_output
from marketo_async.testing import FakeMarketo
from tests.cli.conftest import Invoke


def test_the_file_appears_only_once_complete(tmp_path: Path) -> None:
    out = tmp_path / "leads.csv"
    with open_output(str(out)) as handle:
        handle.write("email\na@x.com\n")
        assert not out.exists() and (tmp_path / "leads.csv.partial").exists()
    assert out.read_text(encoding="utf-8") == "email\na@x.com\n"
    assert not (tmp_path / "leads.csv.partial").exists()


def test_a_failed_export_leaves_neither_file(tmp_path: Path) -> None:
    out = tmp_path / "leads.csv"
    with pytest.raises(RuntimeError), open_output(str(out)) as handle:
        handle.write("email\na@x.com\n")
        raise RuntimeError("the read failed")
    assert list(tmp_path.iterdir()) == []


def test_an_export_cut_by_an_error_leaves_no_file_under_its_name(
    invoke: Invoke, tmp_path: Path
) -> None:
    fake = FakeMarketo()
    for n in range(600):
        fake.add_lead(email=f"u{n}@x.com")
    values = tmp_path / "emails.txt"
    values.write_text("".join(f"u{n}@x.com\n" for n in range(600)), encoding="utf-8")
    fake.faults.script("/rest/v1/leads.json", code="1003", times=1)  # a read that fails
    out = tmp_path / "out.csv"
    result = invoke(fake, "leads", "export", "--sandbox", "--filter-type", "email",
                    "--values", values, "--out", out)  # fmt: skip
    assert result.exit_code != 0
    assert not out.exists() and not (tmp_path / "out.csv.partial").exists()
    fake.faults.clear()
    result = invoke(fake, "leads", "export", "--sandbox", "--filter-type", "email",
                    "--values", values, "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(out.read_text(encoding="utf-8").splitlines()) == 601
