from __future__ import annotations

from typing import Any

import pytest

from tests.virtual_time import virtual_backend


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> Any:
    """Core tests run on asyncio and trio, both on virtual time (in-memory I/O only)."""
    return virtual_backend(request.param)
