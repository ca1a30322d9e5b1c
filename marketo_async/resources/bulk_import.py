"""``client.bulk_import``: Bulk Lead Import and Bulk Program Member Import, one outcome per row.

Input of any size (a CSV path, an iterable or an async iterable of records) is streamed into
CSV files under Marketo's 10 MB limit, each submitted as one import job within the queue's
room (never a 1016 the client caused; one caused by other users is waited out), followed on
the transport's job schedule (where the job should finish, within Marketo's 5-30 s status
rates), and mapped back: the failures and warnings files are joined to the rows
that were sent, so the :class:`BatchReport` has one outcome per input row, in input order:

- ``imported``: Marketo applied the row (created or updated: the bulk API does not say which);
  a warned row is ``imported`` with the warning as a reason;
- ``failed``: refused locally before sending (no lookup value, a non-ASCII email, a value in a
  column Marketo does not know), or rejected by Marketo with its reason;
- ``unknown``: the file may or may not have been imported (the upload's answer was lost);
- ``not_attempted``: the run stopped before the row's file was sent.

Two files holding the same key are never importing at once: Marketo would create the lead
twice. A later file waits for any earlier one it shares a key with.

Example::

    report = await client.bulk_import.leads("leads.csv", lookup_field="email", list_id=1042)
    print(report.counts)             # {'imported': 99800, 'failed': 200}
    for outcome in report.failed:
        print(outcome.index, outcome.reasons)
"""

from __future__ import annotations

import csv
import io
import logging
import math
import os
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import anyio
import anyio.lowlevel
import attrs

from .._batch import LOCAL_VALIDATION, BatchReport, Reason, Recorder, Status, WriteOptions
from .._errors import AmbiguousWriteError, MarketoError
from .._transport._jobs import IMPORT_PACE, JobCheck, JobPace
from ._arguments import OutcomeHook, Progress, StopHook, check_field_name, positive_id
from ._base import Api, Resource
from ._bulk_jobs import QueueRoom, download_to, job_file
from ._lead_rules import lookup_key

if TYPE_CHECKING:
    from .._transport import FileTransfers, Jobs

__all__ = ["MAX_IMPORT_FILE_BYTES", "BulkImport", "ImportProgress"]

logger = logging.getLogger("marketo_async")

# Marketo: an import file must be under 10 MB; the multipart envelope is not counted.
MAX_IMPORT_FILE_BYTES = 10_000_000
# Marketo's docs suggest polling an import every 5 to 30 s.
FIRST_POLL_S = IMPORT_PACE.min_interval
MAX_POLL_S = IMPORT_PACE.max_interval
# Status codes (Reason.code) of rows Marketo rejected or warned about in its files.
IMPORT_FAILURE = "import-failure"
IMPORT_WARNING = "import-warning"
IMPORT_FAILED = "import-failed"  # the whole job failed
IMPORT_UNMATCHED = "import-unmatched"  # the file had rejected rows we could not match

Records = str | os.PathLike[str] | Iterable[Mapping[str, Any]] | AsyncIterable[Mapping[str, Any]]
IMPORTED: Status = "imported"


@attrs.define
class ImportProgress:
    """Where a bulk import stands (handed to ``progress=`` at each change)."""

    state: str = "reading"  # reading, queued, importing, complete, done
    rows_read: int = 0
    rows_done: int = 0
    files_sent: int = 0
    files_done: int = 0
    bytes_sent: int = 0


@attrs.define(eq=False)
class _File:
    """One import file: where it is, which input rows it holds, their keys."""

    number: int
    path: Path
    header: list[str]
    columns: frozenset[str] = attrs.field(init=False)
    stream: BinaryIO | None = None
    indices: list[int] = attrs.Factory(list)
    keys: set[str | int] = attrs.Factory(set)
    size: int = 0
    sending: bool = False  # the upload began: from here on, rows are never not_attempted
    finished: bool = False  # every row has its outcome
    done: anyio.Event = attrs.Factory(anyio.Event)

    def __attrs_post_init__(self) -> None:
        self.columns = frozenset(self.header)

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()
            self.stream = None


@attrs.frozen
class _Hooks:
    """What the caller follows a run with (the batch engine's hooks, and the job state)."""

    progress: Callable[[ImportProgress], None] | None = None
    on_progress: Progress | None = None
    on_outcome: OutcomeHook | None = None
    stop: StopHook | None = None


@attrs.frozen
class _Target:
    """What one kind of import sends: its path, query, key field and status endpoints."""

    create_path: str
    params: dict[str, Any]
    lookup_field: str
    status_path: str  # with {batch}
    files_path: str  # with {batch} and {which}


# The most characters one cell may hold: Python's csv reader, which reads the answer files (and
# this import's own files) back, refuses a longer field.
MAX_CELL_CHARS = 131_072


def _cell_problem(name: str, value: Any) -> str | None:
    """Why ``value`` cannot be one CSV cell of an import file (naming the field), or None."""
    where = f"field {name!r}"
    if value is None or isinstance(value, (bool, int)):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{where} is {value!r}, which is not a number"
    if not isinstance(value, str):
        kind = type(value).__name__
        return f"{where} holds {kind}, which an import file cannot carry (give text or a number)"
    if "\x00" in value:
        return f"{where} holds a NUL character, which an import file cannot carry"
    if len(value) > MAX_CELL_CHARS:
        return f"{where} holds {len(value):,} characters; one cell takes at most {MAX_CELL_CHARS:,}"
    return None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _Run:
    """One import: reads the input, writes files, sends them, joins the answers."""

    def __init__(
        self,
        owner: BulkImport,
        target: _Target,
        known_fields: set[str],
        hooks: _Hooks,
    ) -> None:
        self.owner = owner
        self._hooks = hooks
        self._halted = False
        self.target = target
        self.known = known_fields
        hears = WriteOptions(on_progress=hooks.on_progress, on_outcome=hooks.on_outcome)
        self.recorder = Recorder(hears, total=None)
        self.outcomes = self.recorder.outcomes
        self.state = ImportProgress()
        self._progress = hooks.progress
        self._open: _File | None = None
        self._writer_buffer = io.StringIO()
        self._writer = csv.writer(self._writer_buffer, lineterminator="\n")
        self._in_flight: deque[_File] = deque()
        self._numbers = 0
        self._last_header: list[str] = []

    def _report(self, state: str | None = None) -> None:
        if state is not None:
            self.state.state = state
        if self._progress is not None:
            self._progress(self.state)

    def _finish(
        self,
        index: int,
        status: Status,
        *,
        reasons: tuple[Reason, ...] = (),
        error: MarketoError | None = None,
    ) -> None:
        self.recorder.finish(index, index, status, reasons=reasons, error=error)

    def _halting(self) -> bool:
        """Has the caller asked (``stop``) that no new file be sent?"""
        if not self._halted and self._hooks.stop is not None and self._hooks.stop():
            self._halted = True
        return self._halted

    # ---- local checks --------------------------------------------------------------------

    def _refuse(self, index: int, message: str) -> None:
        self._finish(index, "failed", reasons=(Reason(LOCAL_VALIDATION, message),))

    def _check(self, index: int, record: Mapping[str, Any], key: Any) -> str | None:
        field = self.target.lookup_field
        if key is None:
            return f"record {index}: no value for lookup field {field!r}"
        email = record.get("email")
        if isinstance(email, str) and not email.isascii():
            return (
                f"record {index}: field 'email' has non-ASCII characters ({email!r}); "
                "Marketo accepts ASCII email addresses only"
            )
        if field == "id" and not isinstance(key, int):
            return f"record {index}: field 'id' must be an integer lead id"
        known = self.known
        for name, value in record.items():
            plain = type(value) is str and len(value) <= MAX_CELL_CHARS and "\x00" not in value
            problem = None if plain else _cell_problem(str(name), value)
            if problem is not None:
                return f"record {index}: {problem}"
            if name not in known and _text(value) != "":
                return (
                    f"record {index}: field {name!r} is not a field Marketo knows "
                    "(not in describe); import it after creating the field"
                )
        return None

    # ---- writing files -------------------------------------------------------------------

    async def add(self, record: Mapping[str, Any] | _Unreadable) -> None:
        index = self.outcomes.add_pending()
        self.state.rows_read += 1
        if isinstance(record, _Unreadable):
            self._refuse(index, f"record {index}: {record.reason}")
            return
        key = lookup_key(record, self.target.lookup_field)
        refusal = self._check(index, record, key)
        if refusal is not None or key is None:
            self._refuse(index, refusal or "")
            return
        current = self._open
        if (
            current is not None
            and not current.columns.issuperset(record.keys())
            and not current.columns.issuperset(self._columns(record))
        ):
            await self._seal()  # a column the file lacks: the next file adds it
            current = None
        line = b"" if current is None else self._line(record, current.header)
        if current is not None and current.size + len(line) > self.owner.max_file_bytes:
            await self._seal()
            current = None
        if current is None:
            current = await self._start_file(self._columns(record))
            line = self._line(record, current.header)
        if current.size + len(line) > self.owner.max_file_bytes:
            self._refuse(index, f"record {index}: too large for one import file")
            return
        assert current.stream is not None
        current.stream.write(line)
        current.size += len(line)
        current.indices.append(index)
        current.keys.add(key)

    def _columns(self, record: Mapping[str, Any]) -> list[str]:
        return [name for name in record if name in self.known]

    def _line(self, record: Mapping[str, Any], header: list[str]) -> bytes:
        buffer = self._writer_buffer
        buffer.seek(0)
        buffer.truncate()
        cells = [record.get(name) for name in header]
        self._writer.writerow([v if type(v) is str else _text(v) for v in cells])
        return buffer.getvalue().encode("utf-8")

    async def _start_file(self, columns: list[str]) -> _File:
        self._numbers += 1
        # Keep the previous file's columns: sparse rows then rarely force a new file.
        header = list(dict.fromkeys([*self._last_header, *columns]))
        self._last_header = header
        file = _File(number=self._numbers, path=job_file("import"), header=header)
        head = self._line(dict(zip(header, header, strict=True)), header)
        file.stream = file.path.open("wb")
        file.stream.write(head)
        file.size = len(head)
        self._open = file
        return file

    async def _seal(self) -> None:
        file = self._open
        self._open = None
        if file is not None:
            file.close()
        if file is None or not file.indices or self._halting():
            if file is not None:
                file.path.unlink(missing_ok=True)
                for index in file.indices:  # never sent
                    self._finish(index, "not_attempted")
            return
        # Marketo would create a lead twice if two files with one new key imported at once.
        while self._in_flight and self._in_flight[0].done.is_set():
            self._in_flight.popleft()
        for earlier in list(self._in_flight):
            if not earlier.done.is_set() and not earlier.keys.isdisjoint(file.keys):
                await earlier.done.wait()
        await self.owner.queue.take()
        self._in_flight.append(file)
        self._task_group.start_soon(self._send, file)

    # ---- sending and polling -------------------------------------------------------------

    async def run(self, records: AsyncIterator[Mapping[str, Any] | _Unreadable]) -> BatchReport:
        try:
            async with anyio.create_task_group() as task_group:
                self._task_group = task_group
                async for record in records:
                    if self._halting():
                        # like the batch engine: the rest of the input is not_attempted
                        self._finish(self.outcomes.add_pending(), "not_attempted")
                    else:
                        await self.add(record)
                await self._seal()
        finally:
            self._abandon()
        self._report("done")
        self.recorder.progress()
        return self.recorder.report(stopped=None, idempotent=False)

    def _abandon(self) -> None:
        """Rows whose file was never sent are not_attempted (cancelled, or an error)."""
        if self._open is not None:
            self._open.close()
            self._open.path.unlink(missing_ok=True)
        start = 0
        while (index := self.outcomes.first_pending(start)) is not None:
            self._finish(index, "not_attempted")
            start = index + 1

    async def _send(self, file: _File) -> None:
        accepted = False
        try:
            batch_id = await self._upload(file)
            accepted = True
            await self._follow(file, batch_id)
        except AmbiguousWriteError as error:
            self._finish_all(file, "unknown", error=error)
        except MarketoError as error:
            # Once the job was accepted, whether it imported is unknown to us. A refused
            # upload (no such list, 1003 ...) gives each row Marketo's reason, not only the error.
            refused = () if accepted else _reasons_of(error)
            self._finish_all(
                file, "unknown" if accepted else "failed", error=error, reasons=refused
            )
        finally:
            if file.sending:  # cancelled while sending or polling: it may import
                self._finish_all(file, "unknown")
            file.path.unlink(missing_ok=True)
            self.owner.queue.give_back()
            file.done.set()
            self.state.files_done += 1
            self._report()
            self.recorder.progress()

    async def _upload(self, file: _File) -> int:
        content = await anyio.Path(file.path).read_bytes()
        target = self.target
        file.sending = True

        async def upload() -> dict[str, Any]:
            return await self.owner._files.upload(
                target.create_path,
                params=target.params,
                filename=f"import-{file.number}.csv",
                content=content,
                records=len(file.indices),
            )

        body = await self.owner._jobs.while_full(
            upload,
            full=lambda error: error.code == "1016",
            pace=self.owner.pace,
            what=f"import file {file.number}",
        )
        self.state.files_sent += 1
        self.state.bytes_sent += len(content)
        self._report("queued")
        return int(body["result"][0]["batchId"])

    async def _follow(self, file: _File, batch_id: int) -> None:
        path = self.target.status_path.format(batch=batch_id)

        async def check() -> dict[str, Any]:
            status: dict[str, Any] = (await self.owner._api.get(path))["result"][0]
            if status.get("status") == "Importing" and self.state.state != "importing":
                self._report("importing")
            return status

        status = await self.owner._jobs.follow(
            check, import_check, pace=self.owner.pace, rows=len(file.indices)
        )
        if status.get("status") == "Complete":
            await self._join(file, batch_id, status)
            return
        message = str(status.get("message") or "the import job failed")
        self._finish_all(file, "failed", reasons=(Reason(IMPORT_FAILED, message),))

    def _finish_all(
        self,
        file: _File,
        status: Status,
        *,
        error: MarketoError | None = None,
        reasons: tuple[Reason, ...] = (),
    ) -> None:
        if file.finished:
            return
        file.finished = True
        for first, last in _runs(file.indices):
            self.recorder.finish(first, last, status, reasons=reasons, error=error)
        self.state.rows_done += len(file.indices)

    # ---- joining the answer files ----------------------------------------------------------

    async def _answers(self, batch_id: int, which: str, count: int) -> _Answers:
        """Marketo's failures or warnings file, indexed by whole row and by lookup key."""
        answers = _Answers(self.target.lookup_field)
        if count <= 0:
            return answers
        path = self.target.files_path.format(batch=batch_id, which=which)
        target = job_file(which)
        try:
            await download_to(self.owner._files, path, target)
            text = await anyio.Path(target).read_text(encoding="utf-8-sig")
        finally:
            target.unlink(missing_ok=True)
        reader = csv.reader(io.StringIO(text, newline=""))
        answers.read(next(reader, []), reader)
        return answers

    async def _join(self, file: _File, batch_id: int, status: Mapping[str, Any]) -> None:
        failures = await self._answers(
            batch_id, "failures", int(status.get("numOfRowsFailed") or 0)
        )
        warnings = await self._answers(
            batch_id, "warnings", int(status.get("numOfRowsWithWarning") or 0)
        )
        if not failures.lines and not warnings.lines and not status.get("numOfRowsFailed"):
            self._finish_all(file, IMPORTED)  # no row to match: every row imported
            self._report("complete")
            return
        with file.path.open("r", encoding="utf-8", newline="") as stream:
            reader = csv.reader(stream)
            next(reader)
            rows = [tuple(cells) for cells in reader]
        key_at = file.header.index(self.target.lookup_field)
        keys = [
            lookup_key({self.target.lookup_field: row[key_at]}, self.target.lookup_field)
            for row in rows
        ]
        found = _verdicts(rows, keys, failures, warnings)
        failed = int(status.get("numOfRowsFailed") or 0)
        lost = max(failures.unmatched, failed - failures.lines)
        # Rejected rows we cannot find among ours: the rows without an answer may be any of
        # them, so they are unknown (resending an upsert by key is harmless), not imported.
        rest: Verdict = (IMPORTED, ())
        if lost:
            logger.warning("import %s: %d failed rows matched no row sent", batch_id, lost)
            why = f"Marketo rejected {lost} rows of this file that could not be matched to rows"
            rest = ("unknown", (Reason(IMPORT_UNMATCHED, why),))
        file.finished = True
        for index, result in zip(file.indices, found, strict=True):
            outcome, reasons = result if result is not None else rest
            self._finish(index, outcome, reasons=reasons)
        self.state.rows_done += len(file.indices)
        self._report("complete")


Verdict = tuple[Status, tuple[Reason, ...]]


def _runs(indices: list[int]) -> Iterator[tuple[int, int]]:
    """``indices`` (ascending) as runs of consecutive numbers: (first, last) each."""
    first = last = -2
    for index in indices:
        if index != last + 1:
            if first >= 0:
                yield first, last
            first = index
        last = index
    if first >= 0:
        yield first, last


def import_check(status: Mapping[str, Any]) -> JobCheck:
    """An import's status as the job schedule reads it (Complete and Failed end it)."""
    state = status.get("status")
    processed = status.get("numOfLeadsProcessed")
    return JobCheck(
        over=state in {"Complete", "Failed"},
        running=state == "Importing",
        processed=processed if isinstance(processed, int) else None,
    )


def _verdicts(
    rows: list[tuple[str, ...]], keys: list[Any], failures: _Answers, warnings: _Answers
) -> list[Verdict | None]:
    """Each sent row's answer: failed or warned, matched by whole row first, so a match by
    key never takes another row's answer; None for rows in neither file."""
    found: list[Verdict | None] = [None] * len(rows)
    verdicts: tuple[tuple[_Answers, Status, str], ...] = (
        (failures, "failed", IMPORT_FAILURE),
        (warnings, IMPORTED, IMPORT_WARNING),
    )
    for by_row in (True, False):
        for answers, verdict, code in verdicts:
            for number, row in enumerate(rows):
                if found[number] is None:
                    reason = answers.take(row if by_row else None, keys[number])
                    if reason is not None:
                        found[number] = (verdict, (Reason(code, reason),))
    return found


@attrs.define(eq=False)
class _Answer:
    reason: str
    used: bool = False


class _Answers:
    """One answer file (failures or warnings): each reason findable by its whole row (the cells
    sent) or, failing that, by the row's lookup key; each given out once."""

    def __init__(self, lookup_field: str) -> None:
        self._field = lookup_field
        self._by_row: dict[tuple[str, ...], list[_Answer]] = {}
        self._by_key: dict[Any, list[_Answer]] = {}
        self.lines = 0

    def read(self, header: list[str], lines: Iterable[list[str]]) -> None:
        key_at = header.index(self._field) if self._field in header else None
        for cells in lines:
            if not cells:
                continue
            *row, reason = cells
            self.lines += 1
            answer = _Answer(reason)
            self._by_row.setdefault(tuple(row), []).append(answer)
            if key_at is not None and key_at < len(row):
                key = lookup_key({self._field: row[key_at]}, self._field)
                self._by_key.setdefault(key, []).append(answer)

    def take(self, row: tuple[str, ...] | None, key: Any) -> str | None:
        """The first unused reason for ``row`` (or, with ``row`` None, for ``key``)."""
        candidates = self._by_row.get(row, ()) if row is not None else self._by_key.get(key, ())
        for answer in candidates:
            if not answer.used:
                answer.used = True
                return answer.reason
        return None

    @property
    def unmatched(self) -> int:
        return sum(not a.used for answers in self._by_row.values() for a in answers)


@attrs.frozen
class _Unreadable:
    """A row of an input file that the CSV reader could not read, and why."""

    reason: str


def _csv_records(path: str | os.PathLike[str]) -> Iterator[Mapping[str, Any] | _Unreadable]:
    with open(path, encoding="utf-8-sig", newline="") as stream:
        reader = csv.DictReader(stream)
        if reader.fieldnames is None:
            return
        while True:
            line = reader.line_num + 1
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # that row alone fails; reading goes on at the next line
                yield _Unreadable(f"line {line} cannot be read as CSV ({exc})")
                continue
            yield record


async def _records(rows: Records) -> AsyncIterator[Mapping[str, Any] | _Unreadable]:
    if isinstance(rows, AsyncIterable):
        async for record in rows:
            yield record
        return
    plain: Iterable[Mapping[str, Any] | _Unreadable] = (
        _csv_records(rows) if isinstance(rows, (str, os.PathLike)) else rows
    )
    for count, item in enumerate(plain, start=1):
        if count % 1000 == 0:
            await anyio.lowlevel.checkpoint()
        yield item


class BulkImport(Resource):
    """Bulk Lead Import and Bulk Program Member Import: any size of input, one report.

    ``queue`` counts the jobs this client holds in Marketo's import queue (at most 10);
    ``max_file_bytes`` is the size each file is kept under (10 MB); a job's status is asked
    no sooner than ``poll_interval`` seconds after the last check and no later than
    ``max_poll_interval``, where the job should finish (see ``_transport._jobs``).
    """

    def __init__(self, api: Api, files: FileTransfers, jobs: Jobs) -> None:
        super().__init__(api)
        self._files = files
        self._jobs = jobs
        self.queue = QueueRoom()
        self.max_file_bytes = MAX_IMPORT_FILE_BYTES
        self.poll_interval = FIRST_POLL_S
        self.max_poll_interval = MAX_POLL_S

    @property
    def pace(self) -> JobPace:
        """The status rates imports follow (from ``poll_interval`` and ``max_poll_interval``)."""
        slowest = max(self.poll_interval, self.max_poll_interval)
        return attrs.evolve(IMPORT_PACE, min_interval=self.poll_interval, max_interval=slowest)

    async def _fields(self, path: str) -> set[str]:
        body = await self._api.get(path)
        return {
            str(field["name"])
            for item in body.get("result") or ()
            for field in item.get("fields") or ()
        }

    async def leads(
        self,
        rows: Records,
        *,
        lookup_field: str = "email",
        list_id: int | None = None,
        partition_name: str | None = None,
        progress: Callable[[ImportProgress], None] | None = None,
        on_progress: Progress | None = None,
        on_outcome: OutcomeHook | None = None,
        stop: StopHook | None = None,
    ) -> BatchReport:
        """Import leads (upserted by ``lookup_field``; also added to ``list_id`` if given).

        ``progress(ImportProgress)`` follows the jobs; ``on_outcome``, ``on_progress`` and
        ``stop`` work as for the REST batch writes (``stop()`` True: no new file is sent; the
        rows not sent are ``not_attempted``).
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
        known = await self._fields("/rest/v1/leads/describe2.json")
        hooks = _Hooks(progress, on_progress, on_outcome, stop)
        return await _Run(self, target, known, hooks).run(_records(rows))

    async def program_members(
        self,
        rows: Records,
        *,
        program_id: int,
        status: str,
        progress: Callable[[ImportProgress], None] | None = None,
        on_progress: Progress | None = None,
        on_outcome: OutcomeHook | None = None,
        stop: StopHook | None = None,
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
        hooks = _Hooks(progress, on_progress, on_outcome, stop)
        return await _Run(self, target, known, hooks).run(_records(rows))


def _reasons_of(error: MarketoError) -> tuple[Reason, ...]:
    """Marketo's entries of a refused call as record reasons (its code and message)."""
    entries = [Reason(entry.code, entry.message) for entry in error.errors]
    return tuple(entries) or (Reason(error.code or "error", error.message),)
