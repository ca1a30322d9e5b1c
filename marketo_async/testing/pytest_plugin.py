"""pytest fixtures for code that uses marketo_async: a Marketo emulator and a client wired to it.

The plugin loads itself wherever marketo_async is installed (a ``pytest11`` entry point)::

    async def test_signup(marketo, fake_marketo):
        await marketo.leads.sync([{"email": "ada@example.com"}])
        assert fake_marketo.find_leads("email", "ada@example.com")

``fake_marketo`` is a fresh :class:`~marketo_async.testing.FakeMarketo`; override the fixture
in your ``conftest.py`` to give it latency, limits or seed data. ``marketo`` is a
``MarketoClient`` wired to it, opened and closed around the test. An ``async def`` test that
asks for either runs under anyio's pytest plugin without a marker, once per ``anyio_backend``
(by default every backend anyio finds installed: asyncio, and trio when it is; override the
fixture to return ``"asyncio"`` for one). Under pytest-asyncio's auto mode, which takes every
async test and fixture for asyncio, such a test runs once, under pytest-asyncio, on asyncio.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator

import pytest

from .._client import MarketoClient
from ._fake import FakeMarketo

__all__ = ["fake_marketo", "marketo"]

_FIXTURES = frozenset({"fake_marketo", "marketo"})


@pytest.fixture
def fake_marketo() -> FakeMarketo:
    """A fresh Marketo emulator, with no limits and no latency."""
    return FakeMarketo()


@pytest.fixture
async def marketo(fake_marketo: FakeMarketo) -> AsyncIterator[MarketoClient]:
    """A ``MarketoClient`` wired to ``fake_marketo``."""
    async with fake_marketo.client() as client:
        yield client


def _asyncio_auto_mode(config: pytest.Config) -> bool:
    """pytest-asyncio is loaded in auto mode: it wraps every async fixture to run on asyncio,
    so a trio run of a test using ``marketo`` would get a fixture it cannot await."""
    if not config.pluginmanager.hasplugin("asyncio"):
        return False
    mode = config.getoption("asyncio_mode", None) or config.getini("asyncio_mode")
    return str(mode) == "auto"


def _asks_for_ours(function: object) -> bool:
    try:
        parameters = inspect.signature(function).parameters  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return not _FIXTURES.isdisjoint(parameters)


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(
    collector: pytest.Module | pytest.Class, name: str, obj: object
) -> None:
    # Runs before anyio's own hook reads the markers: an async test using our fixtures gets
    # the anyio marker and the anyio_backend fixture, as if it had been marked by hand.
    if not (collector.istestfunction(obj, name) and inspect.iscoroutinefunction(obj)):
        return
    if _asyncio_auto_mode(collector.config):
        return  # pytest-asyncio runs every async test and fixture itself, on asyncio only
    if _asks_for_ours(obj) and collector.get_closest_marker("asyncio") is None:
        own = getattr(obj, "pytestmark", ())
        if not any(mark.name in ("anyio", "asyncio") for mark in own):
            pytest.mark.anyio(obj)
            pytest.mark.usefixtures("anyio_backend")(obj)
