"""A bulk command reads its rows while the checks before its first write wait for Marketo."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import anyio
import anyio.lowlevel
import pytest

from marketo_async.cli._bulk import read_during
from marketo_async.cli._input import InputRow
from marketo_async.cli._preflight import PreflightError

pytestmark = pytest.mark.anyio


def _rows(count: int, read: list[int], *, then: BaseException | None = None) -> Iterator[InputRow]:
    for row in range(1, count + 1):
        read.append(row)
        yield InputRow(row, {"email": f"u{row}@example.com"}, line=row + 1)
    if then is not None:
        raise then


async def test_rows_are_read_while_the_checks_wait_and_come_first_in_order() -> None:
    read: list[int] = []
    three_read = threading.Event()

    def rows() -> Iterator[InputRow]:
        for row in _rows(5, read):
            yield row
            if row.row == 3:
                three_read.set()

    async def checks() -> None:  # answered only once the reader has read three rows
        assert await anyio.to_thread.run_sync(three_read.wait, 30.0)

    result = await read_during(checks(), rows())
    assert len(read) >= 3
    assert [row.row for row in result] == [1, 2, 3, 4, 5]


async def test_at_most_the_read_ahead_rows_are_read_before_the_run_asks() -> None:
    read: list[int] = []
    result = await read_during(anyio.lowlevel.checkpoint(), _rows(5, read), most=2)
    assert len(read) <= 2
    assert [row.row for row in result] == [1, 2, 3, 4, 5]


async def test_a_read_error_is_raised_after_the_rows_before_it() -> None:
    read: list[int] = []
    result = await read_during(
        anyio.lowlevel.checkpoint(), _rows(2, read, then=OSError("disk gone"))
    )
    first, second = next(result), next(result)
    assert (first.row, second.row) == (1, 2)
    with pytest.raises(OSError, match="disk gone"):
        next(result)


async def test_a_check_that_fails_is_raised_as_it_is() -> None:
    async def checks() -> None:
        raise PreflightError("--partition 'Nope' does not exist")

    with pytest.raises(PreflightError, match="Nope"):
        await read_during(checks(), _rows(5, []))
