"""The progress display tells the truth: counts by status, a recent rate, the window wait."""

from __future__ import annotations

import io
from collections.abc import Mapping

import anyio
import pytest
from rich.console import Console

from marketo_async.cli import _progress
from marketo_async.cli._progress import WIDE_TERMINAL_COLUMNS, ProgressDisplay


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _display(
    counts: dict[str, int],
    *,
    total: int | None = 30_000,
    waiting: float | None = None,
    stopped: bool = False,
    stream: io.StringIO | None = None,
) -> ProgressDisplay:
    def done() -> int:
        return sum(counts.values())

    def by_status() -> Mapping[str, int]:
        return counts

    return ProgressDisplay(
        "leads upsert leads.csv",
        done,
        total=total,
        mode="lines",
        stream=stream or io.StringIO(),
        counts=by_status,
        waiting=lambda: waiting,
        window="100 calls per 20 s",
        stopped=lambda: stopped,
    )


def test_a_line_shows_counts_by_status_with_thousands_separators() -> None:
    line = _display({"created": 12_000, "updated": 1_500, "failed": 2}).line()
    assert line.startswith("leads upsert leads.csv: 13,502/30,000 rows (45%)")
    assert "created 12,000 · updated 1,500 · failed 2" in line


def test_a_window_wait_is_said_with_the_window_and_the_time_left() -> None:
    line = _display({"created": 30_000 - 1}, waiting=12.2).line()
    assert "waiting for Marketo's rate window: 100 calls per 20 s, next call in 12 s" in line
    assert line.endswith("next call in 12 s")


def test_the_rate_counts_recent_work_not_resumed_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr(_progress.time, "monotonic", clock)
    counts = {"resumed": 10_000}
    display = _display(counts)
    display.line()  # first sample: 10,000 rows skipped at once, no speed
    for _ in range(10):
        clock.now += 1.0
        counts["created"] = counts.get("created", 0) + 100
        display.line()
    assert display.rate() == pytest.approx(100.0)  # not 1,100 rows/s
    clock.now += 100.0  # a minute later, only the last minute counts
    counts["created"] += 600
    display.line()
    assert display.rate() == pytest.approx(600 / 100.0, rel=0.01)


def test_a_stopped_run_says_where_it_stopped() -> None:
    line = _display({"created": 300, "not_attempted": 2_700}, total=3_000, stopped=True).line()
    assert "stopped: 2,700 rows not sent" in line and "ETA --:--:--" in line


@pytest.mark.anyio
async def test_without_a_terminal_a_long_wait_gets_a_line_when_it_starts() -> None:
    stream = io.StringIO()
    display = _display({"created": 900}, waiting=15.0, stream=stream)
    with anyio.move_on_after(1.0):  # the periodic line comes only after 10 s
        await display.run()
    lines = stream.getvalue().splitlines()
    assert lines == [
        "leads upsert leads.csv: waiting for Marketo's rate window: 100 calls per 20 s, "
        "next call in 15 s"
    ]


@pytest.mark.parametrize("columns", [80, 160])
def test_the_bar_never_cuts_the_counts_short_on_an_80_column_terminal(
    monkeypatch: pytest.MonkeyPatch, columns: int
) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    counts = {"created": 5_000, "updated": 700}
    display = _display(counts, total=50_000)
    display.mode = "bar"
    progress, _ = display.bar()
    screen = Console(width=columns, record=True, file=io.StringIO(), force_terminal=True)
    screen.print(progress.get_renderable())
    shown = screen.export_text()
    assert "5,700/50,000 rows" in shown
    assert "created 5,000 · updated 700" in shown
    assert ("leads upsert leads.csv" in shown) is (columns >= WIDE_TERMINAL_COLUMNS)
