"""Progress while a bulk run goes: what it did, how fast lately, and what it is waiting for.

A rich bar on a terminal, plain lines otherwise. Both show the live counts by status, a rate
over the last minute (rows other runs applied and rows never sent do not count as speed), an
ETA from that rate, and, when the client holds calls back for Marketo's rate window, that it
is waiting and for how long. Without a terminal a line is printed as soon as such a wait of
more than ``WAIT_NOTICE_S`` starts. When the run stops early the display stays where it
stopped and says so, rather than jumping to the end.
"""

from __future__ import annotations

import collections
import sys
import time
from collections.abc import Callable, Mapping
from typing import TextIO

import anyio
from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, TaskID, TextColumn

__all__ = [
    "RATE_WINDOW_S",
    "WAIT_NOTICE_S",
    "WIDE_TERMINAL_COLUMNS",
    "ProgressDisplay",
    "format_duration",
]

# The rate is measured over this many recent seconds: several of Marketo's 20 s windows, so a
# window wait shows in it, and a burst at the start (resumed rows) soon leaves it.
RATE_WINDOW_S = 60.0
# Without a terminal, a wait for the rate window longer than this gets a line of its own.
WAIT_NOTICE_S = 2.0
_BAR_REFRESH_S = 0.125
# A terminal this wide shows the title and the bar beside the counts; a narrower one only the
# counts, rate and ETA (an 80-column one cut them short: "5,700/50,0...").
WIDE_TERMINAL_COLUMNS = 120

# Statuses that are not work done at the run's speed.
_NOT_SPEED = ("resumed", "not_attempted")


def format_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


class ProgressDisplay:
    """Shows ``count()`` rows done against an estimated total until cancelled.

    ``counts()`` gives rows by status (``resumed`` for rows earlier runs applied);
    ``waiting()`` the seconds until the client may send again when it holds calls for the
    rate window, else None; ``window`` describes that window ("100 calls per 20 s");
    ``stopped()`` says the run was stopped early; ``detail()`` is shown after the rest (say,
    each API's call rate and waits). ``mode`` is ``bar`` (rich, on a terminal),
    ``lines`` (a plain line every ``interval`` seconds), or ``off``; ``auto`` picks bar or
    lines from the stream.
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
        counts: Callable[[], Mapping[str, int]] | None = None,
        waiting: Callable[[], float | None] | None = None,
        window: str | None = None,
        stopped: Callable[[], bool] | None = None,
        detail: Callable[[], str] | None = None,
    ) -> None:
        self._description = description
        self._count = count
        self._counts = counts or dict
        self._waiting = waiting or (lambda: None)
        self._window = window
        self._stopped = stopped or (lambda: False)
        self._detail = detail or str
        self.total = total
        self._interval = interval
        self._unit = unit
        self._console = Console(file=stream or sys.stderr, highlight=False)
        if mode == "auto":
            mode = "bar" if self._console.is_terminal else "lines"
        self.mode = mode
        self._samples: collections.deque[tuple[float, int]] = collections.deque()
        self._noticed_wait = False

    async def run(self) -> None:
        """Refresh until cancelled (run it in the task group of the work it watches)."""
        self._samples.clear()
        self._sample()
        if self.mode == "bar":
            await self._run_bar()
        elif self.mode == "lines":
            await self._run_lines()
        else:
            await anyio.sleep_forever()

    # ---- what to show

    def _speed_count(self) -> int:
        counts = self._counts()
        return self._count() - sum(counts.get(status, 0) for status in _NOT_SPEED)

    def _sample(self) -> None:
        now = time.monotonic()
        self._samples.append((now, self._speed_count()))
        while len(self._samples) > 2 and self._samples[1][0] <= now - RATE_WINDOW_S:
            self._samples.popleft()

    def rate(self) -> float | None:
        """Rows a second over the last minute (None until a second has passed)."""
        if len(self._samples) < 2:
            return None
        (start, first), (end, last) = self._samples[0], self._samples[-1]
        return (last - first) / (end - start) if end - start >= 1.0 else None

    def _eta(self, done: int) -> str:
        rate = self.rate()
        if self.total is None or rate is None or rate <= 0 or self._stopped():
            return "--:--:--"
        seconds = max(self.total - done, 0) / rate
        waiting = self._waiting()
        return format_duration(max(seconds, waiting or 0.0))

    def _counts_text(self) -> str:
        counts = self._counts()
        return " · ".join(f"{status} {n:,}" for status, n in counts.items() if n)

    def state(self) -> str:
        """What the run is doing besides sending: waiting for the window, or stopped."""
        if self._stopped():
            not_sent = self._counts().get("not_attempted", 0)
            return f"stopped: {not_sent:,} {self._unit} not sent" if not_sent else "stopping"
        waiting = self._waiting()
        if waiting is not None and waiting >= 0.5:
            window = f": {self._window}" if self._window else ""
            return f"waiting for Marketo's rate window{window}, next call in {waiting:,.0f} s"
        return ""

    def _shown(self) -> int:
        # Rows never sent are not progress: a stopped run shows where it stopped.
        return self._count() - self._counts().get("not_attempted", 0)

    def line(self) -> str:
        """``desc: 1,200/3,000 rows (40%) · created 1,100 · 512 rows/s · ETA 0:00:03``."""
        self._sample()
        done = self._shown()
        if self.total is not None and self.total >= done and self.total > 0:
            share = f"{done:,}/{self.total:,} {self._unit} ({100 * done // self.total}%)"
        else:
            share = f"{done:,} {self._unit}"
        rate = self.rate()
        parts = [share, self._counts_text(), f"{rate or 0:,.0f} {self._unit}/s"]
        if self.total is not None:
            parts.append(f"ETA {self._eta(done)}")
        parts.extend((self.state(), self._detail()))
        return f"{self._description}: " + " · ".join(part for part in parts if part)

    # ---- the two displays

    def bar(self) -> tuple[Progress, TaskID]:
        """The rich display and its one task. Below ``WIDE_TERMINAL_COLUMNS`` the title and
        the bar give way, so the counts are never cut short ("5,700/50,0...")."""
        columns: list[ProgressColumn] = []
        if self._console.width >= WIDE_TERMINAL_COLUMNS:
            columns += [TextColumn("[progress.description]{task.description}"), BarColumn(24)]
        columns += [
            TextColumn("{task.fields[share]}"),
            TextColumn("{task.fields[rate]}", style="progress.data.speed"),
            TextColumn("{task.fields[eta]}"),
            TextColumn("{task.fields[counts]}"),
            TextColumn("{task.fields[state]}", style="yellow"),
            TextColumn("{task.fields[detail]}"),
        ]
        progress = Progress(*columns, console=self._console, refresh_per_second=8)
        task = progress.add_task(self._description, total=self.total, **self._fields())  # type: ignore[arg-type]
        return progress, task

    async def _run_bar(self) -> None:
        progress, task = self.bar()
        with progress:
            try:
                while True:
                    self._update(progress, task)
                    await anyio.sleep(_BAR_REFRESH_S)
            finally:
                self._update(progress, task)
                progress.refresh()

    def _fields(self) -> dict[str, str]:
        done = self._shown()
        rate = self.rate()
        total = f"/{self.total:,}" if self.total is not None else ""
        return {
            "share": f"{done:,}{total} {self._unit}",
            "rate": f"{rate:,.0f} {self._unit}/s" if rate is not None else f"-- {self._unit}/s",
            "eta": f"ETA {self._eta(done)}" if self.total is not None else "",
            "counts": self._counts_text(),
            "state": self.state(),
            "detail": self._detail(),
        }

    def _update(self, progress: Progress, task: object) -> None:
        self._sample()
        done = self._count()
        if self.total is not None and done > self.total:
            self.total = done
        progress.update(task, completed=self._shown(), total=self.total, **self._fields())  # type: ignore[arg-type]

    async def _run_lines(self) -> None:
        next_line = time.monotonic() + self._interval
        while True:
            await anyio.sleep(min(0.25, self._interval))
            self._notice_wait()
            if time.monotonic() >= next_line:
                next_line += self._interval
                self._print(self.line())

    def _notice_wait(self) -> None:
        waiting = self._waiting()
        if waiting is None or waiting < 0.5 or self._stopped():
            self._noticed_wait = False
        elif waiting > WAIT_NOTICE_S and not self._noticed_wait:
            self._noticed_wait = True
            self._print(f"{self._description}: {self.state()}")

    def _print(self, text: str) -> None:
        self._console.print(text, markup=False, soft_wrap=True)
        self._console.file.flush()
