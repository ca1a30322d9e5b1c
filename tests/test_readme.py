"""The README's code runs as pasted: the FakeMarketo test, and the program member query."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from marketo_async.testing import FakeMarketo

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_block_after(heading: str) -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index(f"## {heading}\n") :]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, f"no python block under {heading!r}"
    return match.group(1)


def test_the_fakemarketo_test_runs_as_pasted_into_pytest(tmp_path: Path) -> None:
    (tmp_path / "test_pasted.py").write_text(
        _python_block_after("Testing your code with FakeMarketo"), encoding="utf-8"
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_pasted.py"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # Once per anyio backend installed (asyncio, and trio here).
    assert re.search(r"^[12] passed", done.stdout, re.MULTILINE), done.stdout


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
def test_the_program_member_query_in_usage_shows_status_names(anyio_backend: str) -> None:
    usage = _python_block_after("Usage")
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
