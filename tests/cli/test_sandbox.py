"""The sandbox: seeding from a leads file, and the emulator servers' one-line refusals."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from marketo_async.cli._connect import make_sandbox

from .conftest import EXAMPLES, Invoke


def test_a_leads_file_repeating_emails_in_another_case_seeds_no_duplicate_leads() -> None:
    source = EXAMPLES / "leads.csv"
    fake = make_sandbox(limits=False, latency=0.0, seed=source)
    lines = source.read_text(encoding="utf-8").splitlines()[1:]
    header = source.read_text(encoding="utf-8").splitlines()[0].split(",")
    column = header.index("email")
    emails = {line.split(",")[column].strip().casefold() for line in lines if line}
    assert fake.duplicates() == []
    assert len(fake.leads) == len(emails) < len(lines)


def test_the_emulator_server_on_a_busy_port_says_so_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        for command in ("serve", "serve-leadgen"):
            done = subprocess.run(
                [sys.executable, "-m", "marketo_async.testing", command, "--port", str(port)],
                capture_output=True,
                text=True,
                timeout=60,
                cwd=tmp_path,
            )
            assert done.returncode == 1
            (line,) = done.stderr.strip().splitlines()
            assert line.startswith(f"error: cannot serve on 127.0.0.1:{port}: ")
            assert "--port" in line


def test_a_leads_file_seeds_typed_fields_as_their_type(tmp_path: Path) -> None:
    source = tmp_path / "leads.csv"
    source.write_text("email,leadScore\na@example.com,68\nb@example.com,n/a\n", encoding="utf-8")
    fake = make_sandbox(limits=False, latency=0.0, seed=source)
    scores = {lead["email"]: lead.get("leadScore") for lead in fake.leads.values()}
    # A value that fits is stored as Marketo would; one that does not is seeded as written.
    assert scores == {"a@example.com": 68, "b@example.com": "n/a"}


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (None, "No such file or directory"),
        ("{bad", "is not JSON"),
        ("[1]", "holds a JSON list, not an object"),
    ],
)
def test_a_seed_file_that_cannot_be_read_or_is_not_a_json_object_is_one_line_and_exit_2(
    tmp_path: Path, invoke: Invoke, content: str | None, why: str
) -> None:
    seed = tmp_path / "seed.json"
    if content is not None:
        seed.write_text(content, encoding="utf-8")
    for command in ("serve", "serve-leadgen"):
        done = subprocess.run(
            [sys.executable, "-m", "marketo_async.testing", command, "--port", "0", "--seed", seed],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
        assert done.returncode == 2, done.stderr
        (line,) = done.stderr.strip().splitlines()
        assert line.startswith(f"error: cannot seed from {seed}: ") and why in line
    result = invoke(None, "sandbox", "serve", "--port", "0", "--seed", str(seed))
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert str(seed) in result.output  # a missing file is refused by --seed itself
    assert content is None or (
        f"cannot seed from {seed}: " in result.output and why in result.output
    )


SEEDS = [
    ("{bad", "is not JSON"),
    ("[1]", "holds a JSON list, not an object"),
    ('{"leads": [{"id": "x", "email": "a@x.com"}]}', "cannot seed from"),
]


@pytest.mark.parametrize(("content", "why"), SEEDS)
@pytest.mark.parametrize("command", [("leads", "upsert"), ("leadgen", "leads", "upsert")])
def test_a_sandbox_seed_that_cannot_be_loaded_is_a_usage_error_naming_the_option(
    invoke: Invoke, tmp_path: Path, content: str, why: str, command: tuple[str, ...]
) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(content, encoding="utf-8")
    source = tmp_path / "leads.csv"
    source.write_text("email,emailAddress\na@x.com,a@x.com\n", encoding="utf-8")
    result = invoke(None, *command, source, "--sandbox", "--sandbox-seed", seed)
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    assert f"Invalid value for --sandbox-seed: cannot seed from {seed}: " in result.stderr
    assert why in result.stderr
