"""Progress while a bulk run goes: a rich bar on a terminal, plain periodic lines otherwise."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

import anyio
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Column
from rich.text import Text

__all__ = ["ProgressDisplay", "format_duration"]


def format_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


class _RateColumn(ProgressColumn):
    def __init__(self) -> None:
        super().__init__(table_column=Column(no_wrap=True, min_width=12, justify="right"))

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if speed is None:
            return Text("-- rec/s", style="progress.data.speed")
        return Text(f"{speed:,.0f} rec/s", style="progress.data.speed")


class ProgressDisplay:
    """Shows ``done`` (read from ``count()``) against an estimated total until stopped.

    ``mode`` is ``bar`` (rich, on a terminal), ``lines`` (a plain line every ``interval``
    seconds, for logs and pipes), or ``off``; ``auto`` picks bar or lines from the stream.
    ``detail()``, when given, is shown after the count (say, each API's call rate and waits).
    """

    def __init__(
        self,
        description: str,
        count: Callable[[], int],
        *,
        total: int | None,
        mode: str = "auto",
        interval: float = 10.0,
        stream: TextIO | None = None,
        unit: str = "rows",
        detail: Callable[[], str] | None = None,
    ) -> None:
        self._description = description
        self._count = count
        self.total = total
        self._interval = interval
        self._unit = unit
        self._detail = detail
        self._console = Console(file=stream or sys.stderr, highlight=False)
        if mode == "auto":
            mode = "bar" if self._console.is_terminal else "lines"
        self.mode = mode
        self._started = time.monotonic()

    async def run(self) -> None:
        """Refresh until cancelled (run it in the task group of the work it watches)."""
        self._started = time.monotonic()
        if self.mode == "bar":
            await self._run_bar()
        elif self.mode == "lines":
            await self._run_lines()
        else:
            await anyio.sleep_forever()

    async def _run_bar(self) -> None:
        progress = Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(bar_width=24),
            TaskProgressColumn(),
            MofNCompleteColumn(),
            _RateColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TimeElapsedColumn(),
            *([TextColumn("{task.fields[detail]}")] if self._detail is not None else []),
            console=self._console,
            refresh_per_second=8,
            speed_estimate_period=15.0,
        )
        task = progress.add_task(self._description, total=self.total, detail="")
        with progress:
            try:
                while True:
                    done = self._count()
                    if self.total is not None and done > self.total:
                        self.total = done
                    progress.update(
                        task, completed=done, total=self.total, detail=self._detail_text()
                    )
                    await anyio.sleep(0.125)
            finally:
                progress.update(task, completed=self._count(), total=self.total or None)
                progress.refresh()

    def _detail_text(self) -> str:
        return "" if self._detail is None else self._detail()

    def line(self) -> str:
        """One plain progress line: ``1,200/3,000 rows (40%), 512 rows/s, ETA 0:00:03``."""
        done = self._count()
        elapsed = max(time.monotonic() - self._started, 1e-9)
        rate = done / elapsed
        if self.total is not None and self.total >= done and self.total > 0:
            share = f"{done:,}/{self.total:,} {self._unit} ({100 * done // self.total}%)"
            eta = format_duration((self.total - done) / rate) if rate > 0 else "--:--:--"
            text = f"{self._description}: {share}, {rate:,.0f} {self._unit}/s, ETA {eta}"
        else:
            text = f"{self._description}: {done:,} {self._unit}, {rate:,.0f} {self._unit}/s"
        return text if self._detail is None else f"{text}; {self._detail()}"

    async def _run_lines(self) -> None:
        while True:
            await anyio.sleep(self._interval)
            self._console.print(self.line(), markup=False, soft_wrap=True)
            self._console.file.flush()
