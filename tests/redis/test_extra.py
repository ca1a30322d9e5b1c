"""Says (as a skip) why the other tests of this folder did not run."""

from __future__ import annotations

import importlib.util
import shutil

import pytest

from .conftest import INSTALL_HINT


def test_the_redis_extra_and_server_are_installed() -> None:
    if importlib.util.find_spec("redis") is None:
        pytest.skip("redis-py is not installed: pip install 'marketo-async[redis]'")
    if shutil.which("redis-server") is None:
        pytest.skip(INSTALL_HINT)
