"""The pytest plugin's fixtures in a user's suite: both anyio backends, or pytest-asyncio's."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

USER_TEST = """
async def test_upsert(marketo, fake_marketo):
    report = await marketo.leads.sync([{"email": "bob@example.com"}])
    assert report.counts == {"created": 1}
    assert fake_marketo.find_leads("email", "BOB@example.com")
"""


def _pytest(tmp_path: Path, *options: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_user.py").write_text(USER_TEST, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *options],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )


def test_an_unmarked_async_test_runs_once_per_anyio_backend(tmp_path: Path) -> None:
    done = _pytest(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^2 passed", done.stdout, re.MULTILINE), done.stdout


@pytest.mark.parametrize("option", ["-o", "--asyncio-mode"])
def test_under_pytest_asyncio_auto_mode_it_runs_on_asyncio_and_passes(
    tmp_path: Path, option: str
) -> None:
    done = _pytest(tmp_path, *(["-o", "asyncio_mode=auto"] if option == "-o" else [option, "auto"]))
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^1 passed", done.stdout, re.MULTILINE), done.stdout
