"""What a resource is handed by the client: bound request helpers, and nothing else.

A resource method checks its arguments and returns one helper call: ``get``/``post``/``delete``
for one call, :meth:`Api.write_one` for a one-record write, :meth:`Api.write_input` (or
:meth:`Api.write_batches` with its own ``send``) for a write of many records, handed the
caller's :class:`WriteOptions` unchanged, :meth:`Api.pages` and :meth:`Api.chained_pages`
for reads.
"""

from __future__ import annotations

import contextlib
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Mapping,
    Sequence,
    Sized,
)
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import attrs

from .._batch import (
    MARKETO_RESULTS,
    RESENT,
    BatchReport,
    RecordOutcome,
    ResultRules,
    Send,
    Status,
    WriteOptions,
    run_batches,
)
from .._errors import NotFoundError, TooManyResultsError, retitled
from .._paging import Page, Pager, token_pages
from .._transport import INTERACTIVE, chosen_lane, lane, resent_after_ambiguity

if TYPE_CHECKING:
    from .._transport import KeyLeases

__all__ = [
    "Api",
    "RecordRules",
    "RequestFn",
    "Resource",
    "after_resend",
    "asset_not_found",
    "first_result",
    "results_of",
    "retitled",
]

T = TypeVar("T")
Params = Mapping[str, Any]
# Why too many results matched one query, said for that query; None keeps Marketo's words.
ExplainTooMany = Callable[[TooManyResultsError, Params], str | None]


class RequestFn(Protocol):
    def __call__(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | Sequence[tuple[str, str]] | None = None,
        idempotent: bool = True,
    ) -> Awaitable[dict[str, Any]]: ...


# Marketo's asset API: "no data found" (a missing asset answers success with this warning).
NO_DATA_FOUND = "702"


def first_result(body: Mapping[str, Any], parse: Callable[[Any], T]) -> T | None:
    """An asset-API answer's first ``result``, parsed; None when it has none."""
    result = body.get("result") or []
    return parse(result[0]) if result else None


def asset_not_found(what: str, body: Mapping[str, Any], path: str) -> NotFoundError:
    """The asset API answers a missing asset with success and a warning, not an error: the
    error carries 702, Marketo's code for "no data found" (like the Lead Database's 1013)."""
    warnings = "; ".join(str(w) for w in body.get("warnings") or ())
    detail = f" ({warnings})" if warnings else ""
    return NotFoundError(
        f"{what} not found{detail}",
        code=NO_DATA_FOUND,
        request_id=body.get("requestId"),
        path=path,
    )


def results_of(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A body's ``result[]`` (an empty list when it has none)."""
    result = body.get("result")
    return list(result) if isinstance(result, list) else []


# Statuses of a record a write applied (reads' memberof/notmemberof are not writes).
_APPLIED_BY_WRITE = frozenset({"created", "updated", "deleted", "added", "removed"})
_RESENT_NOTE = {
    "code": RESENT,
    "message": "sent again after a failure that may have applied: the first send may have "
    "applied it too, so 'created' and 'updated' may each be the other",
}


def after_resend(
    body: Mapping[str, Any], *, evidence: Mapping[str, Status] | None = None
) -> list[Mapping[str, Any]]:
    """A write's ``result[]``, read knowing whether it answers a resend after a failure that
    may have applied (a 604, a 5xx, a cut connection).

    After such a resend, a record ``skipped`` with a code in ``evidence`` (say 1004 "not
    found" to a delete) was applied by the first send: it gets ``evidence[code]`` as its
    status and a reason saying so. A record the resend applied carries a reason that the
    first send may have applied it as well.
    """
    results = results_of(body)
    if not resent_after_ambiguity(body):
        return results
    return [_resent_entry(entry, evidence or {}) for entry in results]


def _resent_entry(entry: Any, evidence: Mapping[str, Status]) -> Any:
    if not isinstance(entry, Mapping):
        return entry
    reasons = [r for r in entry.get("reasons") or () if isinstance(r, Mapping)]
    status = entry.get("status")
    if status == "skipped":
        for found in reasons:
            code = str(found.get("code"))
            if code in evidence:
                note = {
                    "code": RESENT,
                    "message": f"Marketo answered {code} ({found.get('message')}) to a resend "
                    "after a failure that may have applied: the first send applied it",
                }
                return {**entry, "status": evidence[code], "reasons": [*reasons, note]}
        return entry
    if status in _APPLIED_BY_WRITE:
        return {**entry, "reasons": [*reasons, _RESENT_NOTE]}
    return entry


@attrs.frozen(kw_only=True)
class RecordRules(Generic[T]):
    """One kind of record as the batch engine sees it (lead ids, lead records, ...).

    ``key``: the record's lookup key (records sharing one never go out together);
    ``validate(index, record)``: why a record is refused before sending, or None;
    ``results``: how the API answers each record; ``lease_scope``: the key space, when the
    fleet's key leases apply (``"leads:email"``).
    """

    key: Callable[[T], str | int | None] | None = None
    validate: Callable[[int, T], str | None] | None = None
    results: ResultRules = MARKETO_RESULTS
    lease_scope: str | None = None


@attrs.frozen
class Api:
    """Bound helpers over the client's transport (limits, retries and auth happen below)."""

    request: RequestFn
    # How many calls the transport lets run at once: batch writes keep this many in flight.
    max_in_flight: int = 10
    # Per-record-key leases shared by a fleet (a RedisLimiter's); None keeps the rule in-process.
    key_leases: KeyLeases | None = None
    # May a write be sent twice: POSTs are resent after an ambiguous failure only when True,
    # and write_batches advises the same for its unknown records (see :meth:`resending`).
    idempotent: bool = True

    def resending(self, idempotent: bool) -> Api:
        """These helpers for one write whose resends are decided once: its POSTs and its
        :meth:`write_batches` report both follow ``idempotent``."""
        return attrs.evolve(self, idempotent=idempotent)

    async def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return await self.request("GET", path, params=params)

    async def post(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | Sequence[tuple[str, str]] | None = None,
        idempotent: bool | None = None,
    ) -> dict[str, Any]:
        """POST ``path``; resent after an ambiguous failure only when ``idempotent`` (default:
        these helpers' :attr:`idempotent`)."""
        resend = self.idempotent if idempotent is None else idempotent
        return await self.request(
            "POST", path, params=params, json=json, data=data, idempotent=resend
        )

    async def delete(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return await self.request("DELETE", path, params=params)

    # ---- asset reads

    async def asset(self, path: str, parse: Callable[[Any], T], *, what: str) -> T:
        """The asset ``path`` answers with; ``NotFoundError`` (702) naming ``what`` when none."""
        body = await self.get(path)
        found = first_result(body, parse)
        if found is None:
            raise asset_not_found(what, body, path)
        return found

    async def asset_named(self, path: str, name: str, parse: Callable[[Any], T]) -> T | None:
        """The asset ``path`` finds by exact ``name``, or None."""
        return first_result(await self.get(path, {"name": name}), parse)

    # ---- writes

    async def write_one(self, path: str, *, json: Any, idempotent: bool = True) -> RecordOutcome:
        """POST a one-record write; its outcome read from ``result[0]`` like a batch's."""
        results = results_of(await self.post(path, json=json, idempotent=idempotent))
        entry = results[0] if results and isinstance(results[0], Mapping) else None
        status, record_id, reasons = MARKETO_RESULTS.outcome(entry)
        return RecordOutcome(0, status, id=record_id, reasons=reasons)

    def input_sender(
        self,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        evidence: Mapping[str, Status] | None = None,
    ) -> Send[Any]:
        """A batch ``send`` POSTing ``body`` with the batch as ``input``; its answer read by
        :func:`after_resend` with ``evidence``."""

        async def send(batch: Sequence[Any]) -> list[Mapping[str, Any]]:
            payload = {**(body or {}), "input": list(batch)}
            answer = await self.post(path, json=payload)
            return after_resend(answer, evidence=evidence)

        return send

    async def write_input(
        self,
        records: Iterable[T] | AsyncIterable[T],
        path: str,
        rules: RecordRules[T],
        options: WriteOptions,
        *,
        body: Mapping[str, Any] | None = None,
        idempotent: bool = True,
        evidence: Mapping[str, Status] | None = None,
        max_in_flight: int | None = None,
    ) -> BatchReport:
        """:meth:`write_batches` of calls POSTing ``body`` with the batch as ``input`` to
        ``path`` (see :meth:`input_sender`); ``idempotent`` rules both the resends and the
        report's advice."""
        api = self.resending(idempotent)
        send = api.input_sender(path, body, evidence=evidence)
        return await api.write_batches(records, send, rules, options, max_in_flight=max_in_flight)

    async def write_batches(
        self,
        records: Iterable[T] | AsyncIterable[T],
        send: Send[T],
        rules: RecordRules[T],
        options: WriteOptions,
        *,
        max_in_flight: int | None = None,
    ) -> BatchReport:
        """``records`` through the batch engine under ``rules``, with the caller's
        ``options`` as they are, as many calls in flight as the transport allows (or
        ``max_in_flight``), and the fleet's key leases (when the limiter offers them) for
        rules with a lease scope. Whether a record may be sent twice (the advice for
        ``unknown`` records) is :attr:`idempotent`, as for ``send``'s POSTs through these
        helpers: a write that must not be resent calls ``api.resending(False)`` once."""
        leases = self.key_leases if rules.lease_scope is not None else None
        # Batch writes are background work (their calls carry a send gate), but a write that
        # fits one call is what a service awaits: it goes in the interactive lane.
        batch_size = options.batch_size or rules.results.max_records
        one_call = isinstance(records, Sized) and len(records) <= batch_size
        with lane(INTERACTIVE) if one_call and chosen_lane() is None else contextlib.nullcontext():
            return await run_batches(
                records,
                send,
                options,
                key=rules.key,
                validate=rules.validate,
                results=rules.results,
                max_in_flight=self.max_in_flight if max_in_flight is None else max_in_flight,
                idempotent=self.idempotent,
                key_leases=leases,
                lease_scope=rules.lease_scope or "records",
            )

    # ---- reads

    def pages(self, path: str, params: Params, parse: Callable[[dict[str, Any]], T]) -> Pager[T]:
        """A lead-database read of ``path``, page by page (``nextPageToken``)."""
        return self.chained_pages(path, [params], parse)

    def chained_pages(
        self,
        path: str,
        queries: Sequence[Params],
        parse: Callable[[dict[str, Any]], T],
        *,
        unique: Callable[[T], object] | None = None,
        explain_too_many: ExplainTooMany | None = None,
    ) -> Pager[T]:
        """Many queries of one endpoint read one after another, each page by page.

        Marketo takes at most 300 filter values (or a short date range) per query, so a long
        read is several queries; this pages through them as one. ``unique(item)`` gives an
        item's identity: an item met again (it matched two queries) is dropped. Pages left
        empty are skipped, but a read that finds nothing still gives one empty page.
        ``explain_too_many`` rewords a ``TooManyResultsError`` for the query that got it.
        """

        async def fetch(params: Params) -> dict[str, Any]:
            try:
                return await self.get(path, params)
            except TooManyResultsError as error:
                message = None if explain_too_many is None else explain_too_many(error, params)
                if message is None:
                    raise
                raise retitled(error, message) from error

        if len(queries) == 1 and unique is None:
            return Pager(lambda: token_pages(fetch, queries[0], parse))
        return Pager(lambda: _chained(fetch, queries, parse, unique))


async def _chained(
    fetch: Callable[[Params], Awaitable[dict[str, Any]]],
    queries: Sequence[Params],
    parse: Callable[[dict[str, Any]], T],
    unique: Callable[[T], object] | None,
) -> AsyncIterator[Page[T]]:
    seen: set[object] = set()
    yielded = False
    for number, query in enumerate(queries):
        async with contextlib.aclosing(token_pages(fetch, query, parse)) as pages:
            async for page in pages:
                items = page.items
                if unique is not None:
                    items = [item for item in items if unique(item) not in seen]
                    seen.update(unique(item) for item in items)
                # The next query is more to read, too.
                more = page.more or number < len(queries) - 1
                if items or (not more and not yielded):
                    yielded = True
                    yield Page(items, page.next_page_token, more, page.warnings)


class Resource:
    """Base of every resource: holds the :class:`Api` it was handed."""

    def __init__(self, api: Api) -> None:
        self._api = api

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
