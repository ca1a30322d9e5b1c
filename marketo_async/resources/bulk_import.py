"""``client.bulk_import``: Bulk Lead Import and Bulk Program Member Import, one outcome per row.

An import runs on the batch engine, like the REST writes: input of any size (a CSV path, an
iterable or an async iterable of records) is checked row by row, and each "call" of the engine
is one import file: its rows written as CSV under Marketo's 10 MB limit, uploaded within the
queue's room (never a 1016 the client caused; one caused by other users is waited out),
followed on the transport's job schedule, and answered from the failures and warnings files,
joined back to the rows. So an import has what a REST write has: one outcome per input row in
input order, ``stop``, cancellation, ``resume_from``, 607 handling, progress, and rows with one
lookup key never importing at once, in this process or (with a ``RedisLimiter``) in any
process of the fleet, ordered per key (a later file waits only for the rows it shares a key
with). Marketo runs two imports at a time: two files are in flight at most.

- ``imported``: Marketo applied the row (created or updated: the bulk API does not say which);
  a warned row is ``imported`` with the warning as a reason;
- ``failed``: refused locally before sending (no lookup value, a non-ASCII email, a value in a
  column Marketo does not know), or rejected by Marketo with its reason;
- ``unknown``: the file may or may not have been imported (the upload's answer was lost, or the
  job could no longer be followed);
- ``not_attempted``: the run stopped before the row's file was sent.

``on_job`` hears each job uploaded and each job seen over: a caller that may be killed keeps
them, and before importing the same rows again waits for the earlier jobs
(:meth:`BulkImport.wait_for`), so no row is uploaded while its earlier job may still run.

Example::

    report = await client.bulk_import.leads("leads.csv", lookup_field="email", list_id=1042)
    print(report.counts)             # {'imported': 99800, 'failed': 200}
    for outcome in report.failed:
        print(outcome.index, outcome.reasons)
"""

from __future__ import annotations

import itertools
import logging
import operator
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import anyio
import attrs

from .._batch import (
    BatchReport,
    EntryResult,
    Reason,
    ResultRules,
    WriteHooks,
    WriteOptions,
    run_batches,
)
from .._errors import MarketoError
from .._transport._jobs import IMPORT_PACE, JobCheck, JobPace
from ..models.objects import ObjectDescription
from ._arguments import check_field_name, positive_id
from ._base import Api, Resource, results_of
from ._bulk_jobs import QueueRoom, download_to, job_file
from ._import_files import (
    IMPORT_FAILED,
    IMPORTED,
    Answers,
    ImportRow,
    Records,
    file_content,
    import_rows,
    join_answers,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._transport import FileTransfers, Jobs

__all__ = ["MAX_IMPORT_FILE_BYTES", "BulkImport", "ImportJob", "ImportProgress"]

logger = logging.getLogger("marketo_async")

# Marketo: an import file must be under 10 MB; the multipart envelope is not counted.
MAX_IMPORT_FILE_BYTES = 10_000_000
# Marketo runs two imports at a time (10 held): more files in flight would only wait queued.
RUNNING_IMPORTS = 2
# Rows one file may hold; the 10 MB limit comes first unless rows are under 100 bytes.
MAX_ROWS_PER_FILE = 100_000
# Marketo's docs suggest polling an import every 5 to 30 s.
FIRST_POLL_S = IMPORT_PACE.min_interval
MAX_POLL_S = IMPORT_PACE.max_interval
# The batch engine keeps this much of a call's limit for its envelope.
_ENGINE_ENVELOPE = 1_024
_FILE_SPLIT = "import-file-split"


@attrs.define
class ImportProgress:
    """Where a bulk import stands (handed to ``progress=`` at each change)."""

    state: str = "reading"  # reading, queued, importing, complete, done
    rows_read: int = 0
    rows_done: int = 0
    files_sent: int = 0
    files_done: int = 0
    bytes_sent: int = 0


@attrs.frozen
class ImportJob:
    """An import job a run uploaded (``over``: seen completed or failed), as ``on_job`` hears
    it: enough to follow it from another process (:meth:`BulkImport.wait_for`)."""

    batch_id: int
    status_path: str
    rows: int
    over: bool = False


@attrs.frozen
class _Target:
    """What one kind of import sends: its path, query, key field and status endpoints."""

    create_path: str
    params: dict[str, Any]
    lookup_field: str
    status_path: str  # with {batch}
    files_path: str  # with {batch} and {which}
    lease_scope: str = ""  # the fleet's key space ("leads:<lookup field>" when empty)


def import_check(status: Mapping[str, Any]) -> JobCheck:
    """An import's status as the job schedule reads it (Complete and Failed end it)."""
    state = status.get("status")
    # A custom object import counts objects, a lead or member import leads.
    processed = status.get("numOfLeadsProcessed", status.get("numOfObjectsProcessed"))
    return JobCheck(
        over=state in {"Complete", "Failed"},
        running=state == "Importing",
        processed=processed if isinstance(processed, int) else None,
    )


def _entry(status: str, reasons: tuple[Reason, ...] = ()) -> dict[str, Any]:
    return {"status": status, "reasons": reasons}


_IMPORTED_ENTRY = _entry(IMPORTED)


def _read_entry(entry: Mapping[str, Any]) -> EntryResult:
    return entry["status"], None, entry["reasons"]


# One file answers its rows by position: the send function builds one entry per row.
IMPORT_RESULTS = ResultRules(
    max_records=MAX_ROWS_PER_FILE,
    match_by="position",
    read=_read_entry,
    api="Marketo",
    keys_in_order=True,  # Marketo applies a file's rows in order: one key may come twice
)


class _Files:
    """The engine's send function of one import run: one batch of rows is one import file."""

    def __init__(
        self,
        owner: BulkImport,
        target: _Target,
        progress: Callable[[ImportProgress], None] | None,
        on_job: Callable[[ImportJob], None] | None,
    ) -> None:
        self.owner = owner
        self.target = target
        self.state = ImportProgress()
        self._progress = progress
        self._on_job = on_job
        self._numbers = itertools.count(1)

    def report(self, state: str | None = None) -> None:
        if state is not None:
            self.state.state = state
        if self._progress is not None:
            self._progress(self.state)

    def read_one(self) -> None:
        self.state.rows_read += 1

    async def send(self, rows: Sequence[ImportRow]) -> list[Mapping[str, Any]]:
        number = next(self._numbers)
        rows, content, left_out = self._fitting(rows)
        owner = self.owner
        await owner.queue.take()
        try:
            batch_id = await self._upload(number, content, len(rows))
            job = ImportJob(batch_id, self.target.status_path.format(batch=batch_id), len(rows))
            if self._on_job is not None:
                self._on_job(job)
            answers = await self._answer(job, rows, content)
        finally:
            owner.queue.give_back()
        self.state.files_done += 1
        self.state.rows_done += len(rows)
        self.report("complete")
        return [*answers, *left_out]

    def _fitting(
        self, rows: Sequence[ImportRow]
    ) -> tuple[Sequence[ImportRow], bytes, list[Mapping[str, Any]]]:
        """The rows that fit one file, its content, and entries for rows left for later.

        Rows are sized when read, by the columns seen until then; a file whose rows gained
        columns later may come out larger, and its last rows then wait for a later run.
        """
        limit = self.owner.max_file_bytes
        keep = len(rows)
        _, content = file_content(rows)
        while len(content) > limit and keep > 1:
            keep = max(1, min(keep - 1, keep * limit // len(content)))
            _, content = file_content(rows[:keep])
        why = (
            f"not sent: with the columns of the rows beside it, its file would pass "
            f"{limit:,} bytes; send it again (resume)"
        )
        left_out: list[Mapping[str, Any]] = [_entry("not_attempted", (Reason(_FILE_SPLIT, why),))]
        left_out *= len(rows) - keep
        return rows[:keep], content, left_out

    async def _upload(self, number: int, content: bytes, count: int) -> int:
        target = self.target
        owner = self.owner

        async def upload() -> dict[str, Any]:
            return await owner._files.upload(
                target.create_path,
                params=target.params,
                filename=f"import-{number}.csv",
                content=content,
                records=count,
            )

        body = await owner._jobs.while_full(
            upload,
            full=lambda error: error.code == "1016",
            pace=owner.pace,
            what=f"import file {number}",
        )
        self.state.files_sent += 1
        self.state.bytes_sent += len(content)
        self.report("queued")
        return int(body["result"][0]["batchId"])

    async def _answer(
        self, job: ImportJob, rows: Sequence[ImportRow], content: bytes
    ) -> list[Mapping[str, Any]]:
        """Each row's entry, once the job is over; unknown when it can no longer be followed."""
        try:
            status = await self.owner.follow(job, on_importing=self._importing)
            if self._on_job is not None:
                self._on_job(attrs.evolve(job, over=True))
            if status.get("status") != "Complete":
                message = str(status.get("message") or "the import job failed")
                return [_entry("failed", (Reason(IMPORT_FAILED, message),))] * len(rows)
            return await self._joined(job.batch_id, status, rows, content)
        except MarketoError as error:
            # The job was accepted: whether it imported is unknown to us.
            why = f"import job {job.batch_id} could not be followed to its end: {error}"
            return [_entry("unknown", (Reason("import-not-followed", why),))] * len(rows)

    def _importing(self) -> None:
        if self.state.state != "importing":
            self.report("importing")

    async def _joined(
        self, batch_id: int, status: Mapping[str, Any], rows: Sequence[ImportRow], content: bytes
    ) -> list[Mapping[str, Any]]:
        failed = int(status.get("numOfRowsFailed") or 0)
        warned = int(status.get("numOfRowsWithWarning") or 0)
        if not failed and not warned:
            return [_IMPORTED_ENTRY] * len(rows)  # no row to match: every row imported
        failures = await self._answers(batch_id, "failures", failed)
        warnings = await self._answers(batch_id, "warnings", warned)
        found, rest = join_answers(rows, content, failures, warnings, failed)
        if rest[0] != IMPORTED:
            logger.warning("import %s: failed rows matched no row sent", batch_id)
        return [_entry(*(verdict or rest)) for verdict in found]

    async def _answers(self, batch_id: int, which: str, count: int) -> Answers:
        """Marketo's failures or warnings file, indexed by whole row and by lookup key."""
        answers = Answers(self.target.lookup_field)
        if count <= 0:
            return answers
        path = self.target.files_path.format(batch=batch_id, which=which)
        target = job_file(which)
        try:
            await download_to(self.owner._files, path, target)
            answers.read(await anyio.Path(target).read_text(encoding="utf-8-sig"))
        finally:
            target.unlink(missing_ok=True)
        return answers


class BulkImport(Resource):
    """Bulk Lead Import and Bulk Program Member Import: any size of input, one report.

    ``queue`` counts the jobs this client holds in Marketo's import queue (at most 10);
    ``max_file_bytes`` is the size each file is kept under (10 MB), ``max_file_rows`` the rows
    it holds at most (100,000); a job's status is asked
    no sooner than ``poll_interval`` seconds after the last check and no later than
    ``max_poll_interval``, where the job should finish (see ``_transport._jobs``).
    """

    def __init__(self, api: Api, files: FileTransfers, jobs: Jobs) -> None:
        super().__init__(api)
        self._files = files
        self._jobs = jobs
        self.queue = QueueRoom()
        self.max_file_bytes = MAX_IMPORT_FILE_BYTES
        self.max_file_rows = MAX_ROWS_PER_FILE
        self.poll_interval = FIRST_POLL_S
        self.max_poll_interval = MAX_POLL_S

    @property
    def pace(self) -> JobPace:
        """The status rates imports follow (from ``poll_interval`` and ``max_poll_interval``)."""
        slowest = max(self.poll_interval, self.max_poll_interval)
        return attrs.evolve(IMPORT_PACE, min_interval=self.poll_interval, max_interval=slowest)

    async def follow(
        self, job: ImportJob, *, on_importing: Callable[[], None] | None = None
    ) -> dict[str, Any]:
        """Follow ``job`` until it is over (Complete or Failed); its last status."""

        async def check() -> dict[str, Any]:
            status: dict[str, Any] = (await self._api.get(job.status_path))["result"][0]
            if on_importing is not None and status.get("status") == "Importing":
                on_importing()
            return status

        return await self._jobs.follow(check, import_check, pace=self.pace, rows=job.rows)

    async def wait_for(self, jobs: Iterable[ImportJob]) -> None:
        """Wait until each of ``jobs`` (uploaded by an earlier run, maybe of a process that
        was killed) is over: before importing its rows again, so two jobs never hold them."""
        for job in jobs:
            if job.over:
                continue
            try:
                await self.follow(job)
            except MarketoError as error:
                if error.code != "1003":  # 1003: a batch id Marketo no longer knows
                    raise
                logger.warning("import job %s is not known to Marketo: %s", job.batch_id, error)

    async def _fields(self, path: str) -> set[str]:
        body = await self._api.get(path)
        return {
            str(field["name"])
            for item in body.get("result") or ()
            for field in item.get("fields") or ()
        }

    async def _run(
        self,
        rows: Records,
        target: _Target,
        known: frozenset[str],
        progress: Callable[[ImportProgress], None] | None,
        on_job: Callable[[ImportJob], None] | None,
        hooks: WriteHooks,
    ) -> BatchReport:
        files = _Files(self, target, progress, on_job)
        rows_per_file = min(self.max_file_rows, MAX_ROWS_PER_FILE)
        # The header of any file is at most every known column (names and commas).
        header = sum(len(name) + 1 for name in known) + 1
        records = import_rows(
            rows, target.lookup_field, known, self.max_file_bytes - header, files.read_one
        )
        report = await run_batches(
            records,
            files.send,
            WriteOptions(batch_size=rows_per_file, **hooks),
            key=_row_key,
            validate=_row_problem,
            max_body_bytes=self.max_file_bytes - header + _ENGINE_ENVELOPE,
            size_of=_row_size,
            max_in_flight=RUNNING_IMPORTS,
            # rows read ahead: two files in flight, and the next one forming
            max_buffered=rows_per_file * 5 // 2,
            idempotent=False,
            key_leases=self._api.key_leases,
            lease_scope=target.lease_scope or f"leads:{target.lookup_field}",
            results=IMPORT_RESULTS,
        )
        files.report("done")
        return report

    async def leads(
        self,
        rows: Records,
        *,
        lookup_field: str = "email",
        list_id: int | None = None,
        partition_name: str | None = None,
        lead_fields: Collection[str] | None = None,
        progress: Callable[[ImportProgress], None] | None = None,
        on_job: Callable[[ImportJob], None] | None = None,
        **hooks: Unpack[WriteHooks],
    ) -> BatchReport:
        """Import leads (upserted by ``lookup_field``; also added to ``list_id`` if given).

        ``progress(ImportProgress)`` follows the jobs; ``on_outcome``, ``on_progress`` and
        ``stop`` work as for the REST batch writes (``stop()`` True: no new file is sent; the
        rows not sent are ``not_attempted``); ``on_job(ImportJob)`` hears each job uploaded
        and each job over. ``lead_fields``: the lead fields' REST names, when the caller has
        just read them (``client.leads.describe2()``); else the import asks Describe Lead2.
        """
        check_field_name(lookup_field, "lookup_field")
        params: dict[str, Any] = {"format": "csv", "lookupField": lookup_field}
        if list_id is not None:
            params["listId"] = positive_id(list_id, "list_id")
        if partition_name is not None:
            params["partitionName"] = partition_name
        target = _Target(
            create_path="/bulk/v1/leads.json",
            params=params,
            lookup_field=lookup_field,
            status_path="/bulk/v1/leads/batch/{batch}.json",
            files_path="/bulk/v1/leads/batch/{batch}/{which}.json",
        )
        if lead_fields is None:
            lead_fields = await self._fields("/rest/v1/leads/describe2.json")
        return await self._run(rows, target, frozenset(lead_fields), progress, on_job, hooks)

    async def program_members(
        self,
        rows: Records,
        *,
        program_id: int,
        status: str,
        progress: Callable[[ImportProgress], None] | None = None,
        on_job: Callable[[ImportJob], None] | None = None,
        **hooks: Unpack[WriteHooks],
    ) -> BatchReport:
        """Make every row's lead (found or created by email) a member at ``status``."""
        program_id = positive_id(program_id, "program_id")
        if not isinstance(status, str) or not status.strip():
            raise ValueError(f"status must be a program status name, got {status!r}")
        target = _Target(
            create_path=f"/bulk/v1/program/{program_id}/members/import.json",
            params={"format": "csv", "programMemberStatus": status},
            lookup_field="email",
            status_path="/bulk/v1/program/members/import/{batch}/status.json",
            files_path="/bulk/v1/program/members/import/{batch}/{which}.json",
        )
        known = await self._fields("/rest/v1/leads/describe2.json")
        known |= await self._fields("/rest/v1/programs/members/describe.json")
        return await self._run(rows, target, frozenset(known), progress, on_job, hooks)

    async def custom_objects(
        self,
        api_name: str,
        rows: Records,
        *,
        progress: Callable[[ImportProgress], None] | None = None,
        on_job: Callable[[ImportJob], None] | None = None,
        **hooks: Unpack[WriteHooks],
    ) -> BatchReport:
        """Import records of the custom object ``api_name`` (upserted by its dedupe field),
        one outcome per row, as :meth:`leads` does.

        A file never holds a key another file still importing holds (with a ``RedisLimiter``,
        across the fleet, in the same key space as ``custom_objects.object(api_name).sync``).
        Custom objects keyed by several fields are refused (``ValueError``): the import
        cannot keep their rows apart; use ``client.custom_objects.object(api_name).sync``.

        Example::

            report = await client.bulk_import.custom_objects("car_c", "cars.csv")
            print(report.counts)             # {'imported': 19990, 'failed': 10}
        """
        name = check_field_name(api_name, "api_name")
        path = f"/rest/v1/customobjects/{name}/describe.json"
        found = results_of(await self._api.get(path))
        if not found:
            raise MarketoError(f"Describe {name} answered without a result", path=path)
        described = ObjectDescription.from_api(found[0])
        if len(described.dedupe_fields) != 1:
            raise ValueError(
                f"{name} is keyed by {len(described.dedupe_fields)} fields "
                f"({', '.join(described.dedupe_fields)}): bulk import takes one dedupe field; "
                f"use client.custom_objects.object({name!r}).sync"
            )
        base = f"/bulk/v1/customobjects/{name}/import"
        target = _Target(
            create_path=f"{base}.json",
            params={"format": "csv"},
            lookup_field=described.dedupe_fields[0],
            status_path=base + "/{batch}/status.json",
            files_path=base + "/{batch}/{which}.json",
            lease_scope=f"objects:{name}:dedupeFields",
        )
        known = frozenset(field.name for field in described.fields)
        return await self._run(rows, target, known, progress, on_job, hooks)


# A row's lookup key and its size (read for every row: no Python function in between).
_row_key: Callable[[ImportRow], str | int | None] = operator.attrgetter("key")
_row_size: Callable[[ImportRow], int] = operator.attrgetter("size")


def _row_problem(index: int, row: ImportRow) -> str | None:
    return None if row.problem is None else f"record {index}: {row.problem}"
