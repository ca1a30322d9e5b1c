"""Bulk jobs in the emulator: Marketo's queues, status lag, job files, Range and the export quota.

Marketo runs bulk jobs from FIFO queues: at most 2 at a time and 10 held (running ones
included) for imports, and the same for exports, whose one queue is shared by leads, program
members and activities. A job's timing is modelled on the anyio clock, so a test on virtual time
sees a 30-minute export in no real time. Nothing runs in the background: every call first brings
the queues up to the current time.

Example::

    fake = FakeMarketo()
    fake.bulk.settings.export_seconds = 120.0      # each export takes two minutes
    fake.bulk.cut_downloads(at=0.5, times=1)       # the next fresh download stops halfway
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import re
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import anyio
import attrs

from ._activity_log import ActivityDetails, LoggedActivity
from ._call import Call, Handler
from ._store import Store, iso
from ._wire import ApiError, FakeReply, html_page

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "EXPORT_DAILY_QUOTA_BYTES",
    "MAX_IMPORT_FILE_BYTES",
    "QUEUE_CAPACITY",
    "RUNNING_JOBS",
    "Bulk",
    "BulkSettings",
    "Job",
    "JobQueue",
    "job_handler",
]

# Marketo: 2 bulk jobs run at once; 10 are held per queue, running ones included.
RUNNING_JOBS = 2
QUEUE_CAPACITY = 10
# Marketo: import files must be under 10 MB (HTTP 413 above).
MAX_IMPORT_FILE_BYTES = 10 * 1024 * 1024
# Marketo: 500 MB of export files a day by default, counted by fileSize.
EXPORT_DAILY_QUOTA_BYTES = 500 * 1024 * 1024
# Marketo: one export status changes at most once a minute.
EXPORT_STATUS_INTERVAL_S = 60.0

# Marketo: SSV is "semi-colon separated" in the import and extract overviews (the per-object
# pages say space-separated; reference section 9.4). The emulator follows the overviews.
DELIMITERS = {"CSV": ",", "TSV": "\t", "SSV": ";"}
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


@attrs.define(kw_only=True)
class BulkSettings:
    """How long emulated bulk jobs take (seconds on the anyio clock) and the export quota."""

    import_seconds: float = 5.0
    import_rows_per_second: float = 20_000.0
    export_seconds: float = 30.0
    export_records_per_second: float = 50_000.0
    status_interval: float = EXPORT_STATUS_INTERVAL_S
    export_quota_bytes: int = EXPORT_DAILY_QUOTA_BYTES

    @classmethod
    def brisk(cls) -> BulkSettings:
        """Jobs of about a second whose status changes every second: a sandbox's settings, so
        a newcomer sees an export finish in seconds (the default is Marketo's pace)."""
        return cls(import_seconds=1.0, export_seconds=1.0, status_interval=1.0)


@attrs.define(kw_only=True, eq=False)
class Job:
    """One bulk job: an import batch or an export."""

    seq: int
    kind: str  # "leads", "program members", "activities" (exports) or "lead import" ...
    id: str
    format: str
    status: str  # the last explicit state: Created, Queued, Cancelled, Failed
    created_wall: datetime
    run: Callable[[Job], None] = attrs.field(repr=False)
    queued_at: float | None = None
    queued_wall: datetime | None = None
    started_at: float | None = None
    finished_at: float | None = None
    duration: float = 0.0
    slot: int = -1
    file: bytes = attrs.field(default=b"", repr=False)
    records: int = 0
    error: str | None = None
    details: dict[str, Any] = attrs.Factory(dict)

    def wall(self, at: float | None) -> datetime | None:
        """The wall-clock time of anyio time ``at`` (jobs keep both)."""
        if at is None or self.queued_at is None or self.queued_wall is None:
            return None
        return self.queued_wall + timedelta(seconds=at - self.queued_at)

    def state(self, at: float) -> str:
        """The job's real state at anyio time ``at``."""
        if self.status in {"Cancelled", "Failed", "Created"}:
            return self.status
        if self.started_at is None or self.started_at > at:
            return "Queued"
        assert self.finished_at is not None
        return "Running" if self.finished_at > at else "Done"


class JobQueue:
    """Marketo's FIFO of bulk jobs: ``running`` at once, ``capacity`` held in all."""

    def __init__(
        self,
        *,
        running: int = RUNNING_JOBS,
        capacity: int = QUEUE_CAPACITY,
        on_finish: Callable[[Job], None] | None = None,
    ) -> None:
        self.capacity = capacity
        self._on_finish = on_finish
        self._waiting: deque[Job] = deque()
        self._running: list[Job] = []
        self._free_at = [0.0] * running

    def occupancy(self, now: float) -> int:
        """Jobs queued or running at ``now``."""
        self.advance(now)
        return len(self._waiting) + len(self._running)

    def enqueue(self, job: Job, now: float, wall: datetime) -> None:
        job.queued_at = now
        job.queued_wall = wall
        job.status = "Queued"
        self._waiting.append(job)
        self.advance(now)

    def advance(self, now: float) -> None:
        """Start every job whose turn came by ``now``; retire those that finished."""
        while self._waiting:
            job = self._waiting[0]
            slot = min(range(len(self._free_at)), key=self._free_at.__getitem__)
            assert job.queued_at is not None
            start = max(job.queued_at, self._free_at[slot])
            if start > now:
                break
            self._waiting.popleft()
            job.slot = slot
            job.started_at = start
            job.run(job)  # sets the job's file and duration
            job.finished_at = start + job.duration
            self._free_at[slot] = job.finished_at
            self._running.append(job)
        finished = [job for job in self._running if job.state(now) == "Done"]
        self._running = [job for job in self._running if job not in finished]
        for job in finished:
            if self._on_finish is not None:
                self._on_finish(job)

    def running_beside(self, job: Job) -> list[Job]:
        """Other jobs running when ``job`` started."""
        at = job.started_at
        return [
            other
            for other in self._running
            if other is not job
            and at is not None
            and other.finished_at is not None
            and other.started_at is not None
            and other.started_at <= at < other.finished_at
        ]

    def cancel(self, job: Job, now: float) -> None:
        if job in self._waiting:
            self._waiting.remove(job)
        elif job in self._running:
            self._running.remove(job)
            self._free_at[job.slot] = now
            job.finished_at = now
        job.status = "Cancelled"


class Bulk:
    """The bulk side of one FakeMarketo: job queues, job files, activities, scripted faults."""

    def __init__(self, store: Store, settings: BulkSettings | None = None) -> None:
        self.store = store
        self.settings = settings or BulkSettings()
        self.imports = JobQueue()
        self.exports = JobQueue(on_finish=self._count_export)
        self.jobs: dict[str, Job] = {}
        # The instance's activity log (what Bulk Extract of activities reads).
        self.activities: list[LoggedActivity] = store.activities.entries
        self.export_bytes_used = 0
        self._seq = itertools.count(1)
        self._batch_ids = itertools.count(1001)
        self._cut: tuple[float, int | None] | None = None
        self._corrupt = 0

    # ---- scripted faults and inspection -------------------------------------------------

    def cut_downloads(self, *, at: float = 0.5, times: int | None = 1) -> None:
        """Cut the next ``times`` fresh downloads (no Range, or from byte 0) after ``at`` of
        the body (``times=None``: every fresh one). Ranged resumptions are never cut."""
        if not 0.0 <= at < 1.0:
            raise ValueError("at must be within [0, 1)")
        self._cut = (at, times)

    def corrupt_downloads(self, times: int = 1) -> None:
        """Flip one byte of the next ``times`` file downloads (the checksum stays right)."""
        self._corrupt = times

    def reset_export_quota(self) -> None:
        """What Marketo does at midnight US Central time."""
        self.export_bytes_used = 0

    def add_activity(
        self,
        lead_id: int,
        activity_type_id: int,
        *,
        activity_date: datetime,
        **details: Unpack[ActivityDetails],
    ) -> str:
        """Record an activity for a lead; returns its marketoGUID (``details`` as for
        ``fake.add_activity``)."""
        entry = self.store.activities.record(
            lead_id, activity_type_id, activity_date=activity_date, **details
        )
        return str(entry["marketoGUID"])

    # ---- jobs ---------------------------------------------------------------------------

    def new_job(self, kind: str, fmt: str, run: Callable[[Job], None], *, export: bool) -> Job:
        seq = next(self._seq)
        job_id = f"{seq:08x}-fake-4000-8000-{seq:012x}" if export else str(next(self._batch_ids))
        job = Job(
            seq=seq,
            kind=kind,
            id=job_id,
            format=fmt,
            status="Created",
            created_wall=self.store.now(),
            run=run,
        )
        self.jobs[job.id] = job
        return job

    def refresh(self) -> float:
        """Bring both queues up to now."""
        now = anyio.current_time()
        self.imports.advance(now)
        self.exports.advance(now)
        return now

    def _count_export(self, job: Job) -> None:
        # Marketo: the quota counts each finished file's fileSize.
        self.export_bytes_used += len(job.file)

    def job(self, job_id: str, kind: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None or job.kind != kind:
            raise ApiError("1003", f"Job '{job_id}' not found")
        return job

    # ---- files --------------------------------------------------------------------------

    def file_reply(self, call: Call, body: bytes) -> FakeReply:
        """A job file, whole (200) or the asked ``Range`` (206), with scripted faults."""
        total = len(body)
        start, end = 0, total - 1
        status = 200
        headers = {"accept-ranges": "bytes"}
        wanted = call.request.headers.get("range")
        if wanted:
            found = _RANGE.match(wanted.strip())
            if found is None or int(found.group(1)) >= max(total, 1):
                return FakeReply(
                    status=416,
                    body=b"Requested Range Not Satisfiable",
                    content_type="text/plain",
                    code="416",
                    headers={"content-range": f"bytes */{total}"},
                )
            start = int(found.group(1))
            end = min(int(found.group(2)), total - 1) if found.group(2) else total - 1
            status = 206
            headers["content-range"] = f"bytes {start}-{end}/{total}"
        part = body[start : end + 1]
        if self._corrupt and part:
            self._corrupt -= 1
            part = bytes([part[0] ^ 0x01]) + part[1:]
        return FakeReply(
            status=status,
            body=part,
            content_type="text/csv;charset=UTF-8",
            headers=headers,
            cut_at=self._cut_at(start, len(part)),
        )

    def _cut_at(self, start: int, length: int) -> int | None:
        if self._cut is None or start != 0 or length == 0:
            return None
        at, times = self._cut
        if times is not None:
            self._cut = (at, times - 1) if times > 1 else None
        return int(length * at)


def job_handler(
    bulk: Bulk,
    kind: str,
    group: str,
    view: Callable[[Job, float], dict[str, Any]],
    act: Callable[[Call, Job, float], None] | None = None,
) -> Handler:
    """The handler of an endpoint on one job of ``kind`` (its id in the path's ``group``): bring
    the queues up to now, ``act`` on the job (enqueue, cancel), answer the job's ``view``."""

    async def handler(call: Call) -> dict[str, Any]:
        now = bulk.refresh()
        job = bulk.job(call.match.group(group), kind)
        if act is not None:
            act(call, job, now)
        await call.delay(0)
        return call.ok([view(job, now)])

    return handler


def not_ready(what: str) -> FakeReply:
    """Marketo: a file asked for before its job completed is a plain-text 404."""
    return FakeReply(
        status=404, body=f"{what} not available".encode(), content_type="text/plain", code="404"
    )


def too_large() -> FakeReply:
    return html_page(413, "Request Entity Too Large")


def delimiter_of(value: str | None) -> tuple[str, str]:
    """The format's name in upper case and its delimiter; 1003 for an unknown format."""
    name = (value or "CSV").upper()
    if name not in DELIMITERS:
        raise ApiError("1003", f"Invalid format '{value}', it must be CSV, TSV or SSV")
    return name, DELIMITERS[name]


def write_rows(header: Sequence[str], rows: Iterable[Sequence[str]], delimiter: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def cell(value: Any) -> str:
    """A value as written in an export file; empty values are the literal ``null``."""
    if value is None or value == "":
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return iso(value)
    return str(value)


def checksum(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def multipart_file(call: Call) -> bytes:
    """The ``file`` part of a multipart/form-data body (612 for another content type)."""
    if call.content_type != "multipart/form-data":
        raise ApiError("612", "Invalid Content Type")
    header = call.request.headers.get("content-type", "")
    found = re.search(r'boundary="?([^";]+)"?', header)
    if found is None:
        raise ApiError("612", "Invalid Content Type")
    boundary = b"--" + found.group(1).encode("latin-1")
    for part in call.body.split(boundary)[1:]:
        if part.startswith(b"--"):
            break
        head, _, content = part.partition(b"\r\n\r\n")
        if re.search(rb'name="?file"?', head):
            return content[:-2] if content.endswith(b"\r\n") else content
    raise ApiError("701", "file cannot be blank")
