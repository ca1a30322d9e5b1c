"""One API call as a handler sees it (parameters, body, paging, latency), and the route table."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Container, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, TypeVar

import attrs

from ._store import Store
from ._wire import ApiError, FakeReply, FakeRequest, decode_page_token, encode_page_token

__all__ = ["MAX_BATCH_SIZE", "MAX_RECORDS", "Call", "Handler", "Limits", "Route", "Router"]

# Marketo: 300 records per write, 300 per page, 300 filter values.
MAX_RECORDS = 300
MAX_BATCH_SIZE = 300

T = TypeVar("T")


@attrs.frozen(kw_only=True)
class Limits:
    """Result-size limits, configurable so tests can reach them with few records."""

    lead_filter_matches: int = 1_000  # Marketo: more gives 1003 "Too many results match"
    program_member_query: int = 100_000  # Marketo: Get Program Members with other than leadId


@attrs.define(kw_only=True, eq=False, repr=False)
class Call:
    """Everything a handler needs: parameters, the JSON body, the store and the latency model."""

    request: FakeRequest
    method: str
    params: dict[str, list[str]]
    body: bytes
    content_type: str
    match: re.Match[str]
    store: Store
    limits: Limits
    request_id: str
    _delay: Callable[[int], Awaitable[None]]
    _reasons: Counter[str]
    delayed: bool = attrs.field(init=False, default=False)
    records: int = attrs.field(init=False, default=0)

    # ---- latency -----------------------------------------------------------------------

    async def delay(self, records: int = 0) -> None:
        """Spend the modelled server time for ``records`` records (once per call)."""
        if self.delayed:
            return
        self.delayed = True
        self.records = records
        await self._delay(records)

    # ---- parameters --------------------------------------------------------------------

    def path_int(self, group: str) -> int:
        return int(self.match.group(group))

    def param(self, name: str) -> str | None:
        values = self.params.get(name)
        return values[0] if values else None

    def values(self, name: str) -> list[str]:
        """A list parameter: repeated keys and comma-separated values both count."""
        found: list[str] = []
        for value in self.params.get(name, []):
            found.extend(part.strip() for part in value.split(",") if part.strip())
        return found

    def required(self, name: str) -> str:
        value = self.param(name)
        if value is None or value == "":
            raise ApiError("701", f"{name} cannot be blank")
        return value

    def path_item(self, group: str, items: Mapping[int, T], code: str, what: str) -> T:
        """The item the path's id (``group``) names; ``code`` "<what> '<id>' not found"
        when there is none."""
        item_id = self.path_int(group)
        item = items.get(item_id)
        if item is None:
            raise ApiError(code, f"{what} '{item_id}' not found")
        return item

    def filter_values(
        self, filter_type: str, fields: Container[str], searchable: Container[str]
    ) -> list[str]:
        """``filterValues`` for a search by ``filter_type``: 1006 for a field that does not
        exist, 1011 for one that cannot be searched, 701 for none, 1003 for over 300."""
        if filter_type not in fields:
            raise ApiError("1006", f"Field '{filter_type}' not found")
        if filter_type not in searchable:
            raise ApiError("1011", f"Field '{filter_type}' not supported for filterType")
        values = self.values("filterValues")
        if not values:
            raise ApiError("701", "filterValues cannot be blank")
        if len(values) > MAX_RECORDS:
            raise ApiError("1003", f"Too many filterValues: {len(values)}, the limit is 300")
        return values

    def int_param(self, name: str, default: int) -> int:
        value = self.param(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError as exc:
            raise ApiError("1003", f"Invalid value '{value}' for {name}") from exc

    def date_param(self, name: str) -> datetime | None:
        value = self.param(name)
        if not value:
            return None
        return parse_date(value)

    # ---- body --------------------------------------------------------------------------

    def json(self) -> dict[str, Any]:
        """The JSON object body; 612 for another content type, 609 for bad JSON."""
        if self.content_type != "application/json":
            raise ApiError("612", "Invalid Content Type")
        try:
            body = json.loads(self.body)
        except ValueError as exc:
            raise ApiError("609", "Invalid JSON") from exc
        if not isinstance(body, dict):
            raise ApiError("609", "Invalid JSON")
        return body

    def json_or_none(self) -> dict[str, Any] | None:
        if not self.body.strip():
            return None
        return self.json()

    def body_value(self, body: dict[str, Any], name: str) -> Any:
        """A body member the call requires: 701 "<name> cannot be blank" when missing or empty."""
        value = body.get(name)
        if not value:
            raise ApiError("701", f"{name} cannot be blank")
        return value

    def input(self, body: dict[str, Any], *, required: bool = True) -> list[Any]:
        records = body.get("input")
        if records is None and not required:
            return []
        if not isinstance(records, list) or (required and not records):
            raise ApiError("701", "input cannot be blank")
        if len(records) > MAX_RECORDS:
            raise ApiError("1003", f"Too many records in input: {len(records)}, the limit is 300")
        return records

    # ---- results -----------------------------------------------------------------------

    def skipped(self, code: str, message: str, **extra: Any) -> dict[str, Any]:
        """A record-level skip with one reason (counted in ``stats.reasons``)."""
        self._reasons[code] += 1
        return {**extra, "status": "skipped", "reasons": [{"code": code, "message": message}]}

    def ok(self, result: Sequence[Any] | None = None, **extra: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"requestId": self.request_id}
        if result is not None:
            body["result"] = list(result)
        body["success"] = True
        body.update(extra)
        return body

    def page(
        self,
        kind: str,
        items: Iterable[T],
        key: Callable[[T], int],
        view: Callable[[T], dict[str, Any]],
    ) -> dict[str, Any]:
        """One page of ``items`` ordered by ``key``, with moreResult and nextPageToken."""
        batch_size = self.int_param("batchSize", MAX_BATCH_SIZE)
        if not 1 <= batch_size <= MAX_BATCH_SIZE:
            raise ApiError("1003", f"Invalid batchSize {batch_size}, it must be 1 to 300")
        token = self.param("nextPageToken")
        after = decode_page_token(token, kind) if token else None
        ordered = sorted(items, key=key)
        if after is not None:
            ordered = [item for item in ordered if key(item) > after]
        chunk = ordered[:batch_size]
        more = len(ordered) > batch_size
        extra: dict[str, Any] = {"moreResult": more}
        if more:
            extra["nextPageToken"] = encode_page_token(kind, key(chunk[-1]))
        return self.ok([view(item) for item in chunk], **extra)


def parse_date(value: str) -> datetime:
    """ISO-8601 with Z, an offset, or Marketo's ``Z+0000``; 704 otherwise."""
    text = value.strip().replace("Z+0000", "+00:00").replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ApiError("704", f"Invalid date format '{value}'") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment


# A JSON body (wrapped in the envelope by the caller), or a whole reply (bulk files).
Handler = Callable[[Call], Awaitable[dict[str, Any] | FakeReply]]


@attrs.frozen
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


class Router:
    """Path patterns to handlers; 610 when no pattern matches, 605 when the method is wrong."""

    def __init__(self) -> None:
        self._routes: list[Route] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append(Route(method, re.compile(pattern), handler))

    def resolve(self, method: str, path: str) -> tuple[Route, re.Match[str]]:
        path_matched = False
        for route in self._routes:
            found = route.pattern.fullmatch(path)
            if found is None:
                continue
            path_matched = True
            if route.method == method:
                return route, found
        if path_matched:
            raise ApiError("605", f"Request method '{method}' not supported")
        raise ApiError("610", "Requested resource not found")
