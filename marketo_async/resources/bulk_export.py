"""``client.bulk_export``: Bulk Extract of leads, program members and activities, as rows.

A range of any length becomes Marketo date filters of at most 31 days. Each window is one job:
created, enqueued within the shared queue of 10, polled no faster than its status can change
(once a minute), downloaded in a stream with ``Range`` resumption, checked against its SHA-256
``fileChecksum``, then read row by row. Two windows run at once (Marketo processes two exports
at a time); rows are yielded in window order and each record once.

Example::

    since = datetime(2024, 1, 1, tzinfo=timezone.utc)
    async for lead in client.bulk_export.leads(
        fields=["id", "email", "firstName"], updated_at=(since, since + timedelta(days=45))
    ):
        print(lead["email"])
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from zoneinfo import ZoneInfo

import anyio
import anyio.lowlevel
import attrs

from .._errors import BulkJobError, ChecksumMismatchError, ExportQuotaExceeded, MarketoError
from .._transport._jobs import EXPORT_PACE, JobCheck, JobPace
from ..models._converter import converter, format_datetime, parse_datetime
from ..models.activities import ACTIVITY_FIELDS, Activity
from ..models.leads import Lead
from ..models.objects import ObjectRecord
from ..models.program_members import ProgramMember
from ._arguments import check_field_name, positive_id, unique_ids
from ._base import Api, Resource
from ._bulk_jobs import QueueRoom, download_to, hash_file, job_file

if TYPE_CHECKING:
    from .._transport import FileTransfers, Jobs

__all__ = [
    "ACTIVITY_FIELDS",
    "EXPORT_POLL_INTERVAL_S",
    "BulkExport",
    "ExportQuota",
    "ExportRows",
    "ExportStats",
    "export_windows",
]

T = TypeVar("T")
logger = logging.getLogger("marketo_async")

LEADS_PATH = "/bulk/v1/leads/export"
MEMBERS_PATH = "/bulk/v1/program/members/export"
ACTIVITIES_PATH = "/bulk/v1/activities/export"
EXPORT_PATHS = (LEADS_PATH, MEMBERS_PATH, ACTIVITIES_PATH)
# Marketo: a createdAt/updatedAt filter spans at most 31 days.
MAX_WINDOW = dt.timedelta(days=31)
ONE_SECOND = dt.timedelta(seconds=1)
# Marketo: an export's status changes at most once a minute; polling faster only spends calls.
EXPORT_POLL_INTERVAL_S = EXPORT_PACE.min_interval
# Marketo: two exports are processed at a time.
RUNNING_EXPORTS = 2
# Marketo: 500 MB of export files a day by default (more can be bought).
DEFAULT_DAILY_QUOTA_BYTES = 500 * 1024 * 1024
# Marketo: the export quota resets at midnight US Central time.
QUOTA_ZONE = ZoneInfo("America/Chicago")
# Marketo: up to 10 program ids in one member export.
MAX_PROGRAM_IDS = 10
# Get Lead Activities takes 10 activity types; the bulk filter documents no lower limit.
MAX_ACTIVITY_TYPES = 10_000
# Marketo: writes empty cells as the literal null.
NULL_CELL = "null"
ROWS_PER_CHECKPOINT = 1_000

DateRange = tuple[dt.datetime, dt.datetime]


def _second_ceiling(moment: dt.datetime, argument: str) -> dt.datetime:
    # A date, text or a number has no time zone to read it in: named, not guessed.
    if not isinstance(moment, dt.datetime) or moment.utcoffset() is None:
        raise ValueError(f"{argument} must be timezone-aware datetimes, got {moment!r}")
    moment = moment.astimezone(dt.timezone.utc)
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + ONE_SECOND
    return moment


def export_windows(date_range: DateRange, argument: str = "date range") -> list[DateRange]:
    """``[start, end)`` as Marketo date filters: at most 31 days each, inclusive to the second.

    Marketo's timestamps have no fraction of a second, so ``[start, end - 1 s]`` is exactly the
    half-open range, and consecutive windows never share a second.

        >>> start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
        >>> [(a.day, b.day) for a, b in export_windows((start, start + dt.timedelta(days=45)))]
        [(1, 31), (1, 14)]
    """
    if not isinstance(date_range, tuple) or len(date_range) != 2:
        raise ValueError(f"{argument} must be a (start, end) tuple of datetimes")
    start, end = (_second_ceiling(moment, argument) for moment in date_range)
    if end <= start:
        raise ValueError(f"{argument} is empty: end {end.isoformat()} is not after start")
    windows: list[DateRange] = []
    while start < end:
        stop = min(start + MAX_WINDOW, end)
        windows.append((start, stop - ONE_SECOND))
        start = stop
    return windows


def _date_filter(window: DateRange) -> dict[str, str]:
    return {"startAt": format_datetime(window[0]), "endAt": format_datetime(window[1])}


def _fields(fields: Iterable[str], argument: str = "fields") -> list[str]:
    if isinstance(fields, str):
        fields = [part.strip() for part in fields.split(",")]
    names = [check_field_name(name, argument) for name in fields]
    if not names:
        raise ValueError(f"{argument} must name at least one field")
    return list(dict.fromkeys(names))


# ------------------------------------------------------------------------------ the quota


class ExportQuota:
    """The day's export volume: learnt from Marketo's job lists once, then counted locally.

    ``limit_bytes`` is the instance's quota (500 MB unless more was bought).
    """

    def __init__(self, api: Api, limit_bytes: int = DEFAULT_DAILY_QUOTA_BYTES) -> None:
        self._api = api
        self.limit_bytes = limit_bytes
        self.used_bytes: int | None = None
        self._day: dt.date | None = None

    async def left(self) -> int:
        """Bytes still exportable today (asks Marketo the first time each day)."""
        today = dt.datetime.now(QUOTA_ZONE).date()
        if self.used_bytes is None or self._day != today:
            self.used_bytes = await self._used_today(today)
            self._day = today
        return self.limit_bytes - self.used_bytes

    def add(self, file_size: int) -> None:
        if self.used_bytes is not None:
            self.used_bytes += file_size

    async def _used_today(self, today: dt.date) -> int:
        # Marketo: the quota counts the fileSize of every export finished today, all types.
        used = 0
        for path in EXPORT_PATHS:
            token: str | None = None
            while True:
                params: dict[str, Any] = {"status": "Completed", "batchSize": 300}
                if token:
                    params["nextPageToken"] = token
                body = await self._api.get(f"{path}.json", params)
                for job in body.get("result") or ():
                    finished = job.get("finishedAt")
                    if finished and parse_datetime(finished).astimezone(QUOTA_ZONE).date() == today:
                        used += int(job.get("fileSize") or 0)
                token = body.get("nextPageToken")
                if not token or not body.get("result"):
                    break
        return used


# ------------------------------------------------------------------------------ the rows


@attrs.define
class ExportStats:
    """What one export spent: jobs, polls, file requests, 206 answers, resumptions, bytes."""

    jobs: int = 0
    polls: int = 0
    records: int = 0
    bytes: int = 0
    file_requests: int = 0
    partial_answers: int = 0
    resumptions: int = 0
    checksum_retries: int = 0
    rows: int = 0
    duplicates_dropped: int = 0
    states: list[str] = attrs.Factory(list)


@attrs.define
class _Job:
    number: int
    export_id: str
    queued_at: float
    view: dict[str, Any] = attrs.Factory(dict)
    holding: bool = True


@attrs.frozen
class _Spec:
    path: str
    bodies: tuple[dict[str, Any], ...]
    keep: tuple[str, ...]  # the columns the caller asked for
    key: tuple[str, ...]  # the columns identifying a record, to drop repeats across windows


class ExportRows(Generic[T]):
    """The rows of one bulk extract, in an ``async for``; ``stats`` tells what it spent.

    Leaving the loop early cancels the jobs still queued or processing on Marketo.
    """

    def __init__(
        self,
        owner: BulkExport,
        spec: _Spec,
        build: Callable[[dict[str, Any]], T],
        progress: Callable[[str, ExportStats], None] | None = None,
    ) -> None:
        self._owner = owner
        self._spec = spec
        self._build = build
        self._progress = progress
        self.stats = ExportStats()

    def __repr__(self) -> str:
        return f"ExportRows({self._spec.path}, windows={len(self._spec.bodies)})"

    def __aiter__(self) -> AsyncIterator[T]:
        return self._rows()

    def _state(self, state: str) -> None:
        self.stats.states.append(state)
        if self._progress is not None:
            self._progress(state, self.stats)

    async def _rows(self) -> AsyncIterator[T]:
        waiting = deque(self._spec.bodies)
        running: deque[_Job] = deque()
        seen: set[str] | None = set() if len(self._spec.bodies) > 1 else None
        try:
            await self._fill(waiting, running)
            while running:
                job = running[0]
                await self._wait(job)
                target = await self._download(job)
                running.popleft()
                await self._fill(waiting, running)
                try:
                    for count, row in enumerate(self._read(target, seen), start=1):
                        if count % ROWS_PER_CHECKPOINT == 0:
                            await anyio.lowlevel.checkpoint()
                        yield row
                finally:
                    target.unlink(missing_ok=True)
        finally:
            with anyio.CancelScope(shield=True):
                for job in running:
                    await self._cancel(job)

    async def _fill(self, waiting: deque[dict[str, Any]], running: deque[_Job]) -> None:
        while waiting and len(running) < RUNNING_EXPORTS:
            running.append(await self._start(waiting.popleft()))

    async def _start(self, body: dict[str, Any]) -> _Job:
        owner = self._owner
        path = self._spec.path
        if await owner.quota.left() <= 0:
            raise ExportQuotaExceeded(
                f"today's export quota is spent ({owner.quota.used_bytes:,} of "
                f"{owner.quota.limit_bytes:,} bytes); no export job was created",
                code="1029",
                path=f"{path}/create.json",
            )
        try:
            created = await owner._api.post(f"{path}/create.json", json=body)
        except MarketoError as error:
            raise _as_quota_error(error) from error
        export_id = str(created["result"][0]["exportId"])
        self.stats.jobs += 1
        number = self.stats.jobs
        self._state(f"job {number} of {len(self._spec.bodies)} created")
        await owner.queue.take()
        try:
            await owner._jobs.while_full(
                lambda: self._enqueue(export_id),
                full=_queue_full,
                pace=owner.pace,
                what=f"enqueue export {export_id}",
            )
        except BaseException:
            owner.queue.give_back()
            raise
        self._state(f"job {number} of {len(self._spec.bodies)} queued")
        return _Job(number=number, export_id=export_id, queued_at=anyio.current_time())

    async def _enqueue(self, export_id: str) -> None:
        try:
            await self._owner._api.post(f"{self._spec.path}/{export_id}/enqueue.json")
        except MarketoError as error:
            if error.code != "1029" or "already queued" not in error.message.lower():
                # a full queue is waited out by Jobs.while_full; a spent quota is final
                raise _as_quota_error(error) from error

    async def _wait(self, job: _Job) -> None:
        """Follow the job until it completed (on the transport's job schedule)."""
        status_path = f"{self._spec.path}/{job.export_id}/status.json"
        processing = f"job {job.number} of {len(self._spec.bodies)} processing"

        async def check() -> dict[str, Any]:
            view: dict[str, Any] = (await self._owner._api.get(status_path))["result"][0]
            self.stats.polls += 1
            if view.get("status") == "Processing" and self.stats.states[-1:] != [processing]:
                self._state(processing)
            return view

        view = await self._owner._jobs.follow(
            check, export_check, pace=self._owner.pace, started=job.queued_at
        )
        status = str(view.get("status"))
        self._release(job)
        if status == "Completed":
            job.view = view
            self._owner.quota.add(int(view.get("fileSize") or 0))
            return
        reason = view.get("errorMsg") or "no reason given"
        raise BulkJobError(f"export {job.export_id} {status.lower()}: {reason}", path=status_path)

    def _release(self, job: _Job) -> None:
        if job.holding:
            job.holding = False
            self._owner.queue.give_back()

    async def _download(self, job: _Job) -> Path:
        self._state(f"job {job.number} of {len(self._spec.bodies)} downloading")
        file_path = f"{self._spec.path}/{job.export_id}/file.json"
        expected = str(job.view.get("fileChecksum") or "").removeprefix("sha256:").lower()
        for attempt in range(2):
            target = job_file("export")
            progress = await download_to(self._owner._files, file_path, target)
            self.stats.file_requests += progress.requests
            self.stats.partial_answers += progress.partial_answers
            self.stats.resumptions += progress.resumptions
            self.stats.bytes += progress.offset
            digest = await anyio.to_thread.run_sync(hash_file, target)
            if not expected or digest == expected:
                self.stats.records += int(job.view.get("numberOfRecords") or 0)
                return target
            target.unlink(missing_ok=True)
            if attempt == 0:
                self.stats.checksum_retries += 1
                logger.warning("export %s: checksum mismatch; downloading again", job.export_id)
        raise ChecksumMismatchError(
            f"export {job.export_id}: the file's SHA-256 differs from fileChecksum twice",
            path=file_path,
        )

    def _read(self, target: Path, seen: set[str] | None) -> Iterable[T]:
        keep = self._spec.keep
        with target.open("r", encoding="utf-8", newline="") as stream:
            reader = csv.reader(stream)
            header = next(reader, None)
            if header is None:
                return
            for cells in reader:
                record = {
                    name: (None if value == NULL_CELL else value)
                    for name, value in zip(header, cells, strict=False)
                }
                if seen is not None:
                    key = "|".join(str(record.get(name)) for name in self._spec.key)
                    if key in seen:
                        self.stats.duplicates_dropped += 1
                        continue
                    seen.add(key)
                self.stats.rows += 1
                yield self._build({name: record.get(name) for name in keep})

    async def _cancel(self, job: _Job) -> None:
        self._release(job)
        try:
            await self._owner._api.post(f"{self._spec.path}/{job.export_id}/cancel.json")
        except MarketoError as error:
            logger.warning("could not cancel export %s: %s", job.export_id, error)


def _as_quota_error(error: MarketoError) -> MarketoError:
    if error.code == "1029" and "quota" in error.message.lower():
        return ExportQuotaExceeded(
            error.message, code=error.code, request_id=error.request_id, path=error.path
        )
    return error


def export_check(view: Mapping[str, Any]) -> JobCheck:
    """An export's status as the job schedule reads it (Completed, Failed, Cancelled end it)."""
    state = view.get("status")
    return JobCheck(
        over=state in {"Completed", "Failed", "Cancelled", "Canceled"},
        running=state == "Processing",
    )


def _queue_full(error: MarketoError) -> bool:
    return error.code == "1029" and "quota" not in error.message.lower()


# ---------------------------------------------------------------------- typed rows


_MEMBER_BOOLEANS = frozenset({"acquiredBy", "reachedSuccess", "isExhausted"})
_MEMBER_INTEGERS = frozenset(
    {"leadId", "programId", "waitlistPriority", "registrationLikelihood", "attendanceLikelihood"}
)


def _member(row: Mapping[str, Any]) -> ProgramMember:
    typed: dict[str, Any] = {}
    for name, value in row.items():
        if value is not None and name in _MEMBER_BOOLEANS:
            value = value.lower() == "true"
        elif value is not None and name in _MEMBER_INTEGERS:
            value = int(value)
        typed[name] = value
    typed.setdefault("leadId", None)
    return converter.structure(typed, ProgramMember)


# ------------------------------------------------------------------------------ resource


class BulkExport(Resource):
    """Bulk Extract: leads, program members and activities, as typed rows.

    A job's status is asked no sooner than ``poll_interval`` seconds after the last check
    (its status changes once a minute) and no later than ``max_poll_interval``; ``queue``
    counts the jobs this client holds in Marketo's export queue; ``quota`` tracks the day's
    volume.
    """

    def __init__(self, api: Api, files: FileTransfers, jobs: Jobs) -> None:
        super().__init__(api)
        self._files = files
        self._jobs = jobs
        self.poll_interval = EXPORT_POLL_INTERVAL_S
        self.max_poll_interval = EXPORT_PACE.max_interval
        self.queue = QueueRoom()
        self.quota = ExportQuota(api)

    @property
    def pace(self) -> JobPace:
        """The status rates exports follow (from ``poll_interval`` and ``max_poll_interval``)."""
        slowest = max(self.poll_interval, self.max_poll_interval)
        return attrs.evolve(EXPORT_PACE, min_interval=self.poll_interval, max_interval=slowest)

    def _rows(
        self,
        path: str,
        fields: list[str],
        filters: Sequence[dict[str, Any]],
        key: tuple[str, ...],
        build: Callable[[dict[str, Any]], T],
        progress: Callable[[str, ExportStats], None] | None,
        keep: Sequence[str] | None = None,
    ) -> ExportRows[T]:
        asked = list(fields)
        if len(filters) > 1:  # ask for the key columns too, to drop repeats across windows
            asked += [name for name in key if name not in asked and name not in (keep or ())]
        bodies = tuple({"fields": asked, "format": "CSV", "filter": f} for f in filters)
        spec = _Spec(path, bodies, tuple(keep or fields), key)
        return ExportRows(self, spec, build, progress)

    def leads(
        self,
        fields: Iterable[str],
        *,
        updated_at: DateRange | None = None,
        created_at: DateRange | None = None,
        static_list_id: int | None = None,
        static_list_name: str | None = None,
        progress: Callable[[str, ExportStats], None] | None = None,
    ) -> ExportRows[Lead]:
        """Every lead matching one filter, once; date ranges are ``[start, end)``, any length.

        Rows are :class:`Lead` mappings of the asked fields (text values, None for empty).
        """
        names = _fields(fields)
        chosen = {
            "updatedAt": updated_at,
            "createdAt": created_at,
            "staticListId": static_list_id,
            "staticListName": static_list_name,
        }
        given = {name: value for name, value in chosen.items() if value is not None}
        if len(given) != 1:
            raise ValueError(
                "give exactly one of updated_at, created_at, static_list_id, static_list_name"
            )
        filters: list[dict[str, Any]]
        if updated_at is not None:
            filters = [
                {"updatedAt": _date_filter(w)} for w in export_windows(updated_at, "updated_at")
            ]
        elif created_at is not None:
            filters = [
                {"createdAt": _date_filter(w)} for w in export_windows(created_at, "created_at")
            ]
        elif static_list_id is not None:
            filters = [{"staticListId": positive_id(static_list_id, "static_list_id")}]
        else:
            filters = [{"staticListName": str(static_list_name)}]
        return self._rows(LEADS_PATH, names, filters, ("id",), Lead, progress)

    def program_members(
        self,
        program_ids: int | Iterable[int],
        fields: Iterable[str],
        *,
        status_names: Iterable[str] | None = None,
        updated_at: DateRange | None = None,
        is_exhausted: bool | None = None,
        progress: Callable[[str, ExportStats], None] | None = None,
    ) -> ExportRows[ProgramMember]:
        """Members of up to 10 programs (optionally by status or an ``[start, end)`` range)."""
        names = _fields(fields)
        ids = unique_ids(
            [program_ids] if isinstance(program_ids, int) else program_ids,
            "program_ids",
            at_most=MAX_PROGRAM_IDS,
            empty_hint="name at least one program",
            limit_hint=f"Marketo exports at most {MAX_PROGRAM_IDS} programs at once",
        )
        base: dict[str, Any] = {"programId": ids[0]} if len(ids) == 1 else {"programIds": ids}
        if status_names is not None:
            base["statusNames"] = list(status_names)
        if is_exhausted is not None:
            base["isExhausted"] = is_exhausted
        windows = export_windows(updated_at, "updated_at") if updated_at is not None else [None]
        filters = [
            {**base, "updatedAt": _date_filter(w)} if w is not None else dict(base) for w in windows
        ]
        if len(ids) == 1:
            return self._rows(MEMBERS_PATH, names, filters, ("leadId",), _member, progress)
        # Marketo: with programIds the file starts with a programId column of its own.
        asked = [name for name in names if name != "programId"]
        keep = ["programId", *asked]
        key = ("programId", "leadId")
        return self._rows(MEMBERS_PATH, asked, filters, key, _member, progress, keep)

    def custom_objects(
        self,
        api_name: str,
        fields: Iterable[str],
        *,
        updated_at: DateRange,
        progress: Callable[[str, ExportStats], None] | None = None,
    ) -> ExportRows[ObjectRecord]:
        """Every record of the custom object ``api_name`` updated in ``[start, end)`` (any
        length, in 31-day jobs), once: :class:`ObjectRecord` mappings of the asked fields.

        Example::

            since = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
            async for car in client.bulk_export.custom_objects(
                "car_c", ["vin", "color"], updated_at=(since, dt.datetime.now(dt.timezone.utc))
            ):
                print(car["vin"])
        """
        name = check_field_name(api_name, "api_name")
        names = _fields(fields)
        filters = [{"updatedAt": _date_filter(w)} for w in export_windows(updated_at, "updated_at")]
        path = f"/bulk/v1/customobjects/{name}/export"
        # Windows can meet one record twice (updated again meanwhile): marketoGUID tells.
        key = ("marketoGUID",)
        return self._rows(path, names, filters, key, ObjectRecord, progress)

    def activities(
        self,
        *,
        created_at: DateRange,
        activity_type_ids: Iterable[int] | None = None,
        fields: Iterable[str] | None = None,
        progress: Callable[[str, ExportStats], None] | None = None,
    ) -> ExportRows[Activity]:
        """Activities created in ``[start, end)`` (any length), optionally of some types."""
        names = _fields(fields) if fields is not None else list(ACTIVITY_FIELDS)
        extra: dict[str, Any] = {}
        if activity_type_ids is not None:
            extra["activityTypeIds"] = unique_ids(
                activity_type_ids,
                "activity_type_ids",
                at_most=MAX_ACTIVITY_TYPES,
                empty_hint="leave it out to export every type",
                limit_hint=f"Marketo filters on at most {MAX_ACTIVITY_TYPES} activity types",
            )
        filters = [
            {"createdAt": _date_filter(w), **extra}
            for w in export_windows(created_at, "created_at")
        ]
        key = ("marketoGUID",)
        return self._rows(ACTIVITIES_PATH, names, filters, key, Activity.from_row, progress)
