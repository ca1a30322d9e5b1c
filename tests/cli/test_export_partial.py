"""An export is written to ``<out>.partial`` and renamed when complete: a failed or killed
export never leaves a well-formed partial file under the name asked for."""

from __future__ import annotations

import gzip
import json
import os
import stat
import threading
from pathlib import Path

import pytest

from marketo_async.cli._export import ExportTarget, open_output, run_export
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


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_leads_export_to_a_fifo_writes_through_it_and_never_replaces_it(
    invoke: Invoke, tmp_path: Path
) -> None:
    fake = FakeMarketo()
    for n in range(5):
        fake.add_lead(email=f"u{n}@x.com")
    values = tmp_path / "emails.txt"
    values.write_text("".join(f"u{n}@x.com\n" for n in range(5)), encoding="utf-8")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)  # stands for /dev/stdout, /dev/null: a target that is not a regular file
    got: list[str] = []
    reader = threading.Thread(
        target=lambda: got.append(fifo.read_text(encoding="utf-8")), daemon=True
    )
    reader.start()
    result = invoke(fake, "leads", "export", "--sandbox", "--filter-type", "email",
                    "--values", values, "--fields", "email", "--out", fifo)  # fmt: skip
    reader.join(timeout=30)
    assert result.exit_code == 0, result.output
    assert got and got[0].splitlines() == ["email", *(f"u{n}@x.com" for n in range(5))]
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert not (tmp_path / "pipe.partial").exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_a_fifo_gets_the_records_and_stays_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[str] = []
    reader = threading.Thread(
        target=lambda: got.append(fifo.read_text(encoding="utf-8")), daemon=True
    )
    reader.start()
    with open_output(str(fifo)) as handle:
        handle.write("email\na@x.com\n")
    reader.join(timeout=10)
    assert got == ["email\na@x.com\n"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def test_a_directory_is_refused_by_the_name_given(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError) as raised, open_output(str(tmp_path)):
        pass
    assert raised.value.filename == str(tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("out", ["file", "-"])
def test_an_export_stopped_by_ctrl_c_says_what_the_output_holds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], out: str
) -> None:
    target = ExportTarget(
        out=str(tmp_path / "leads.csv") if out == "file" else "-",
        output_format="csv",
        progress_mode="off",
        progress_interval=1.0,
    )

    async def copy() -> int:
        with open_output(target.out) as handle:
            handle.write("email\na@x.com\n")
            raise KeyboardInterrupt

    with pytest.raises(SystemExit) as stopped:
        run_export(copy, target, what="leads")
    assert stopped.value.code == 130
    said = capsys.readouterr().err.strip().splitlines()[-1]
    if out == "file":  # the partial file is gone: nothing holds "the leads read so far"
        assert said == f"Interrupted: {target.out} was not written."
        assert list(tmp_path.iterdir()) == []
    else:
        assert said == "Interrupted: the output holds the leads read so far."


def test_an_export_named_gz_is_gzip_compressed_and_read_back_as_written(
    invoke: Invoke, tmp_path: Path
) -> None:
    fake = FakeMarketo()
    fake.add_lead(email="a@x.com", firstName="Ada")
    values = tmp_path / "emails.txt"
    values.write_text("a@x.com\n", encoding="utf-8")
    out = tmp_path / "leads.jsonl.gz"
    result = invoke(fake, "leads", "export", "--sandbox", "--filter-type", "email",
                    "--values", values, "--fields", "email,firstName", "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    with gzip.open(out, "rt", encoding="utf-8") as handle:
        lines = [json.loads(line) for line in handle]
    assert [(line["email"], line["firstName"]) for line in lines] == [("a@x.com", "Ada")]
    assert gzip.GzipFile(out).name.endswith("leads.jsonl.gz")
    assert not (tmp_path / "leads.jsonl.gz.partial").exists()
