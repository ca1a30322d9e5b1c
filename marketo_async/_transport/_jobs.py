"""Following Marketo's bulk jobs: when to ask a job's status, and waiting out a full queue.

One schedule serves imports and exports. A job is never asked about sooner than Marketo's
documented status rate allows (``JobPace.min_interval``) nor later than its slowest suggested
rate (``max_interval``), and between the two the schedule follows the job:

- a finished job waits at most a fifth (``share``) of its run time for the check that sees it:
  each gap is at most ``share`` of the time the job has run so far (never below the minimum);
- when the job tells how far it got (rows processed of the rows it holds), the next check goes
  where the job should finish, when that comes before the gap's end.

Waits are scaled by :attr:`RetryPolicy.wait_scale`. With ``RetryPolicy.no_wait()`` a full
queue is asked again at once (the retry decisions stay the same), while a job's status keeps its
pace: no job finishes in zero time, so checking sooner would only spin (tests run the emulator
on a virtual clock instead).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
import attrs

from .._config import RetryPolicy
from .._errors import LimitError, MarketoError

__all__ = [
    "EXPORT_PACE",
    "IMPORT_PACE",
    "JobCheck",
    "JobPace",
    "Jobs",
    "Schedule",
]

T = TypeVar("T")
logger = logging.getLogger("marketo_async")

# How long to keep waiting for queue room that other users of the instance hold.
QUEUE_WAIT_LIMIT_S = 6 * 3600.0
# An estimated finish is checked this share of the estimate later, so that a job a little
# slower than its estimate is not asked about just before it ends.
ESTIMATE_MARGIN = 0.05


@attrs.frozen
class JobPace:
    """One kind of job's status rates (seconds): never asked again sooner than
    ``min_interval``, never later than ``max_interval``; a full queue is asked again after
    ``room_wait``. ``share``: the most of its run time a finished job waits to be seen."""

    min_interval: float
    max_interval: float
    room_wait: float
    share: float = 0.2

    def __attrs_post_init__(self) -> None:
        if not 0 <= self.min_interval <= self.max_interval:
            raise ValueError("a job pace needs 0 <= min_interval <= max_interval")


# Marketo: "poll every 5 to 30 seconds" for an import.
IMPORT_PACE = JobPace(min_interval=5.0, max_interval=30.0, room_wait=30.0)
# Marketo: an export's status changes at most once a minute; every 5 minutes is usually enough.
EXPORT_PACE = JobPace(min_interval=60.0, max_interval=300.0, room_wait=60.0)


@attrs.frozen
class JobCheck:
    """What one status check said: whether the job is over (completed, failed, cancelled),
    whether it is running (not just queued), and how many rows it has processed, if told."""

    over: bool
    running: bool = False
    processed: int | None = None


class Schedule:
    """When to check one job next (times on the anyio clock, already scaled).

    ``rows``: the rows the job holds, when known; ``rate``: rows a second, if already known.
    """

    def __init__(
        self,
        pace: JobPace,
        *,
        started: float,
        scale: float = 1.0,
        rows: int | None = None,
        rate: float | None = None,
    ) -> None:
        self.min_gap = pace.min_interval * scale
        self.max_gap = pace.max_interval * scale
        self.share = pace.share
        self.started = started
        self.rows = rows
        self.rate = rate
        self.last = started
        self.running_since: float | None = None
        self._seen: tuple[float, int] | None = None

    def saw(self, now: float, check: JobCheck) -> None:
        """Take in a check made at ``now``: the job's measured rate replaces the guess."""
        self.last = now
        if not check.running:
            return
        if self.running_since is None:
            # It began between the last check and this one; assume the earliest, so the rate
            # is not overrated.
            self.running_since = self.started if self._seen is None else self._seen[0]
        processed = check.processed
        if processed is None or processed <= 0:
            return
        since, before = self._seen if self._seen is not None else (self.running_since, 0)
        if now > since and processed > before:
            self.rate = (processed - before) / (now - since)
        self._seen = (now, processed)

    def estimated_finish(self) -> float | None:
        """When the job should be done, from its rows and its (or earlier jobs') rate."""
        if self.rows is None or not self.rate:
            return None
        at, done = self._seen if self._seen is not None else (self.last, 0)
        if self.running_since is None:
            at = max(at, self.last)  # still queued: it cannot finish sooner than a full run
        left = max(self.rows - done, 0) / self.rate
        return at + left * (1.0 + ESTIMATE_MARGIN)

    def next_check(self) -> float:
        """The time of the next check: within the pace, never later than the share allows."""
        ran = self.last - self.started
        gap = min(max(ran * self.share, self.min_gap), self.max_gap)
        latest = self.last + gap
        finish = self.estimated_finish()
        if finish is None:
            return latest
        return min(max(finish, self.last + self.min_gap), latest)


class Jobs:
    """Follows bulk jobs and waits out full queues, for the resources (which never sleep)."""

    def __init__(self, retry: RetryPolicy) -> None:
        self.retry = retry

    @property
    def _scale(self) -> float:
        # A zero scale (no_wait) cannot apply to a job's status: see the module docstring.
        return self.retry.wait_scale or 1.0

    async def follow(
        self,
        check: Callable[[], Awaitable[T]],
        read: Callable[[T], JobCheck],
        *,
        pace: JobPace,
        rows: int | None = None,
        started: float | None = None,
    ) -> T:
        """Ask ``check()`` on the schedule until ``read`` says the job is over; its answer.

        ``rows``: the rows the job holds (an import's file), for the finish estimate;
        ``started``: when the job was accepted (now by default).
        """
        begun = anyio.current_time() if started is None else started
        schedule = Schedule(pace, started=begun, scale=self._scale, rows=rows)
        while True:
            delay = schedule.next_check() - anyio.current_time()
            if delay > 0:
                await anyio.sleep(delay)
            answer = await check()
            seen = read(answer)
            schedule.saw(anyio.current_time(), seen)
            if seen.over:
                return answer

    async def while_full(
        self,
        operation: Callable[[], Awaitable[T]],
        *,
        full: Callable[[MarketoError], bool],
        pace: JobPace,
        what: str,
    ) -> T:
        """Run ``operation``; while Marketo says the queue is full, wait and run it again
        (for up to 6 hours of Marketo's time: room other users hold is waited out)."""
        waited = 0.0
        while True:
            try:
                return await operation()
            except MarketoError as error:
                if not full(error):
                    raise
                if waited >= QUEUE_WAIT_LIMIT_S:
                    raise LimitError(
                        f"{what}: Marketo's bulk queue stayed full for {waited / 3600:.1f} h "
                        f"({error.code} {error.message})",
                        code=error.code,
                        request_id=error.request_id,
                        path=error.path,
                    ) from error
                logger.info("%s: the bulk queue is full (%s); asking again", what, error.code)
            await anyio.sleep(pace.room_wait * self.retry.wait_scale)
            waited += pace.room_wait
