"""The README: one screen, the two Quickstart commands, and links to every documentation page.

Its Python block and every block of the documentation site run in tests/test_docs.py.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from marketo_async.testing import FakeMarketo

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
GETTING_STARTED = ROOT / "docs" / "getting-started.md"
SERVICES = ROOT / "docs" / "guides" / "services.md"
README_MAX_LINES = 60


def _shell_blocks(path: Path) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", path.read_text(encoding="utf-8"), re.DOTALL)


def _python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), re.DOTALL)


def test_the_readme_fits_one_screen_with_the_two_quickstart_commands_first() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= README_MAX_LINES
    commands = _shell_blocks(README)
    assert len(commands) == 2
    assert (
        "marketo-async leads upsert examples/leads.csv --sandbox --report report.jsonl"
        in commands[0]
    )
    assert commands[1].strip().endswith(".venv/bin/python -m pytest -q")


def test_getting_started_gives_the_readmes_two_commands_word_for_word() -> None:
    assert _shell_blocks(GETTING_STARTED)[:2] == _shell_blocks(README)


def test_the_readme_links_every_documentation_page_and_each_link_resolves() -> None:
    text = README.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(((?:docs/|CHANGELOG)[^)#]*)\)", text)
    for target in targets:
        assert (ROOT / target).is_file(), target
    guides = {f"docs/guides/{page.name}" for page in (ROOT / "docs" / "guides").glob("*.md")}
    assert guides <= set(targets), guides - set(targets)
    assert "mkdocs serve" in text


def test_the_first_quickstart_command_run_twice_says_in_one_line_what_to_do(
    tmp_path: Path,
) -> None:
    command = [
        *(sys.executable, "-m", "marketo_async.cli"),
        *("leads", "upsert", str(ROOT / "examples" / "leads.csv"), "--sandbox"),
        *("--report", "report.jsonl"),
    ]
    first = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert first.returncode == 0, first.stderr
    again = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert again.returncode == 2
    assert len(again.stderr.strip().splitlines()) == 1, again.stderr
    assert "name another --report" in again.stderr and "Traceback" not in again.stderr
    # --resume could not continue a --sandbox run: its emulator is new each time.
    assert "--resume" not in again.stderr


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
def test_the_program_member_query_in_the_services_guide_shows_status_names(
    anyio_backend: str,
) -> None:
    usage = next(block for block in _python_blocks(SERVICES) if "program_members.query(" in block)
    call = usage[usage.index("program_members.query(") :]
    assert 'fields=["leadId", "statusName"]' in call[: call.index(")")]
    fake = FakeMarketo()
    program_id = fake.add_program("Webinar", statuses=["Invited", "Registered"])
    lead_id = fake.add_lead(email="ada@example.com")
    fake.add_program_member(program_id, lead_id, "Registered")

    async def statuses(**fields: list[str]) -> list[str | None]:
        async with fake.client() as client:
            pager = client.program_members.query(program_id, "leadId", [lead_id], **fields)
            return [member.status_name async for member in pager]

    assert anyio.run(statuses, backend=anyio_backend) == [None]  # Marketo's default fields
    documented = {"fields": ["leadId", "statusName"]}
    assert anyio.run(lambda: statuses(**documented), backend=anyio_backend) == ["Registered"]
