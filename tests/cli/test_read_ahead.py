"""A bulk command reads its rows while it waits for Marketo's answers before its first write."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator

import pytest

from marketo_async.cli._bulk import ReadAhead, _reading_ahead
from marketo_async.cli._input import InputRow


def _rows(count: int, read: list[int], *, then: BaseException | None = None) -> Iterator[InputRow]:
    for row in range(1, count + 1):
        read.append(row)
        yield InputRow(row, {"email": f"u{row}@example.com"}, line=row + 1)
    if then is not None:
        raise then


def test_rows_are_read_from_the_start_and_come_first_in_order() -> None:
    read: list[int] = []
    three_read = threading.Event()

    def rows() -> Iterator[InputRow]:
        for row in _rows(5, read):
            yield row
            if row.row == 3:
                three_read.set()

    ahead = ReadAhead(rows())
    ahead.start()
    assert three_read.wait(30.0)  # read with no one asking yet
    assert [row.row for row in ahead.rows()] == [1, 2, 3, 4, 5]


def test_at_most_the_read_ahead_rows_are_read_before_the_run_asks() -> None:
    read: list[int] = []
    ahead = ReadAhead(_rows(5, read), most=2)
    ahead.start()
    ahead.stop()
    assert not ahead._thread.is_alive()
    assert len(read) <= 2
    assert [row.row for row in ahead.rows()] == [1, 2, 3, 4, 5]


def test_a_read_error_is_raised_after_the_rows_before_it() -> None:
    ahead = ReadAhead(_rows(2, [], then=OSError("disk gone")))
    ahead.start()
    result = ahead.rows()
    first, second = next(result), next(result)
    assert (first.row, second.row) == (1, 2)
    with pytest.raises(OSError, match="disk gone"):
        next(result)


def test_nothing_is_read_after_stop() -> None:
    read: list[int] = []
    ahead = ReadAhead(_rows(1_000_000, read))
    ahead.start()
    ahead.stop()
    assert not ahead._thread.is_alive()
    count = len(read)
    time.sleep(0.01)  # a moment in which a worker that did not stop would read on
    assert len(read) == count < 1_000_000


def test_a_failure_stops_reading_and_closes_the_input() -> None:
    read: list[int] = []
    rows = _rows(1_000_000, read)
    with pytest.raises(RuntimeError, match="checks failed"), _reading_ahead(rows, True) as ahead:
        assert ahead is not None
        ahead.start()
        raise RuntimeError("checks failed")
    count = len(read)
    assert count < 1_000_000
    with pytest.raises(StopIteration):
        next(rows)  # closed
    assert len(read) == count


def test_without_checks_nothing_is_read_ahead() -> None:
    read: list[int] = []
    with _reading_ahead(_rows(5, read), False) as ahead:
        assert ahead is None
    assert read == []


def test_a_read_ahead_never_started_reads_nothing_and_closes_the_input() -> None:
    read: list[int] = []
    rows = _rows(5, read)
    with _reading_ahead(rows, True) as ahead:
        assert ahead is not None
    assert read == []
    with pytest.raises(StopIteration):
        next(rows)  # closed


def test_the_switch_interval_comes_back_when_reading_stops() -> None:
    before = sys.getswitchinterval()
    ahead = ReadAhead(_rows(5, []))
    ahead.start()
    assert list(ahead.rows())
    assert sys.getswitchinterval() == before
