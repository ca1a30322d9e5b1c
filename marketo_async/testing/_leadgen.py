"""FakeLeadGen: a stateful Lead Gen & CRM (formerly SharpSpring) emulator for tests,
sandboxes and benchmarks, in-process (``.transport``) or over loopback HTTP (``.serve``)."""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import anyio
import attrs

from ._emulator import EmulatorBase, Latency
from ._faults import Fault
from ._leadgen_methods import METHODS, Context, DateRangePaging
from ._leadgen_store import STANDARD_FIELDS, LeadGenStore, as_text, ui_encoded
from ._limits import CallWindow
from ._stats import Stats
from ._wire import ApiError, FakeReply, FakeRequest, json_reply

if TYPE_CHECKING:
    from ..leadgen import LeadGenClient

__all__ = ["FakeLeadGen", "LeadGenStats"]

ENDPOINT_PATH = "/pubapi/v1.2/"
# Lead Gen & CRM error texts (KB "Open API Error Codes").
MESSAGES = {
    "101": "Invalid request data format",
    "102": "Header missing request ID",
    "103": "Header missing account ID",
    "104": "Header missing secret key",
    "105": "User authentication failed",
    "106": "Exceeded daily method call limit",
    "107": "Exceeded per-second method call limit",
    "201": "Missing method signature",
    "202": "Missing params array",
    "204": "Invalid method signature",
    "209": "Attempting to execute an excess amount of queries",
    "999": "Unknown error, please contact Constant Contact developer support",
}
_BAD_CREDENTIALS = b"Unable to determine clusterID from provided accountID/secretKey"


@attrs.define
class LeadGenStats(Stats):
    """:class:`Stats` plus where credentials were seen outside the query string (must stay 0)."""

    credentials_elsewhere: int = 0


def _method_of(request: FakeRequest) -> str:
    try:
        body = json.loads(request.body)
    except ValueError:
        return "?"
    return str(body.get("method") or "?") if isinstance(body, dict) else "?"


class FakeLeadGen(EmulatorBase[LeadGenStats]):
    """An in-memory Lead Gen & CRM account speaking the JSON-RPC-like API.

    Example::

        fake = FakeLeadGen(latency=0.1, calls_per_second=10)
        fake.add_lead(emailAddress="ada@example.com", companyName="Smith & Sons")  # UI-encoded
        async with fake.client() as lg:
            lead = await lg.leads.get(fake.find("ada@example.com")[0])
    """

    NAME = "FakeLeadGen"

    def __init__(
        self,
        *,
        latency: float | Latency = 0.0,
        calls_per_second: int | None = 10,
        daily_quota: int | None = 50_000,
        account_id: str = "fake-account",
        secret_key: str = "fake-secret-key",
        date_range_paging: DateRangePaging = "offset",
        random_seed: int | None = None,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        super().__init__(latency, random_seed, LeadGenStats())
        self.account_id = account_id
        self.secret_key = secret_key
        self.date_range_paging: DateRangePaging = date_range_paging
        self.store = LeadGenStore(
            clock=clock or (lambda: dt.datetime.now(dt.timezone.utc)), account_id=account_id
        )
        self._window = CallWindow(calls=calls_per_second, period=1.0, daily_quota=daily_quota)

    def _summary(self) -> Mapping[str, Any]:
        return {
            "leads": len(self.store.leads),
            "calls_per_second": self._window.calls,
            "daily_quota": self._window.daily_quota,
        }

    # ---- configuration

    @property
    def base_url(self) -> str:
        """The endpoint the in-process transport answers for."""
        return f"https://api.sharpspring.com{ENDPOINT_PATH}"

    def client(self, **kwargs: Any) -> LeadGenClient:
        """A ``LeadGenClient`` wired to this fake in-process."""
        from ..leadgen import LeadGenClient

        return LeadGenClient(
            account_id=self.account_id,
            secret_key=self.secret_key,
            base_url=kwargs.pop("base_url", self.base_url),
            transport=kwargs.pop("transport", self.transport),
            **kwargs,
        )

    def reset_daily_quota(self) -> None:
        self._window.reset_daily_quota()

    # ---- seeding

    def add_field(
        self, label: str, data_type: str = "text", *, system_name: str | None = None
    ) -> str:
        """A custom lead field; returns its systemName (``Favorite_Color_5a0dd86e6e290``)."""
        return self.store.add_field(label, data_type, system_name)

    def add_lead(self, *, ui: bool = True, **fields: Any) -> int:
        """A lead as if typed in the UI (``ui=True``: standard text fields HTML-encoded).

        ``id=`` picks the id; unknown field names become custom fields named as given.
        """
        lead_id = fields.pop("id", None)
        values: dict[str, str] = {}
        for name, value in fields.items():
            if not self.store.known(name):
                self.store.add_field(name, system_name=name)
            text = as_text(value)
            encode = ui and name in STANDARD_FIELDS and name != "emailAddress"
            values[name] = ui_encoded(text) if encode else text
        return self.store.insert(values, lead_id=None if lead_id is None else int(lead_id))

    def add_leads(self, records: Iterable[Mapping[str, Any]], *, ui: bool = True) -> list[int]:
        return [self.add_lead(ui=ui, **dict(record)) for record in records]

    def add_list(
        self, list_id: int, lead_ids: Iterable[int] = (), *, name: str | None = None
    ) -> None:
        """A list (getActiveLists names it ``name``, else ``List <id>``) and its members."""
        self.store.lists.setdefault(list_id, set()).update(lead_ids)
        if name is not None:
            self.store.list_names[list_id] = name

    def add_event(self, lead_id: int, event_name: str = "formSubmit", **extra: Any) -> int:
        number = self.store.next_event_id()
        self.store.events.append(
            {
                "id": str(number),
                "leadID": str(lead_id),
                "eventName": event_name,
                "createTimestamp": self.store.now(),
                **{k: as_text(v) for k, v in extra.items()},
            }
        )
        return int(number)

    def seed(self, data: Mapping[str, Any]) -> None:
        """Load ``{"fields": [{"label", "dataType", "systemName"}], "leads": [...],
        "lists": {"<id>": [lead ids]}, "list_names": {"<id>": name}}`` (the JSON seed file
        format)."""
        for field in data.get("fields", ()):
            self.add_field(
                field["label"], field.get("dataType", "text"), system_name=field.get("systemName")
            )
        for lead in data.get("leads", ()):
            self.add_lead(**dict(lead))
        for list_id, members in dict(data.get("lists", {})).items():
            self.add_list(int(list_id), (int(m) for m in members))
        for list_id, name in dict(data.get("list_names", {})).items():
            self.store.list_names[int(list_id)] = str(name)

    # ---- inspection

    @property
    def leads(self) -> dict[int, dict[str, str]]:
        """Every lead by id, values as stored (strings; UI-typed ones HTML-encoded)."""
        return self.store.leads

    def find(self, email: str) -> list[int]:
        """Ids of the leads with this email (any letter case; more than one is a duplicate)."""
        return sorted(self.store.ids_with_email(email))

    def duplicates(self) -> dict[str, list[int]]:
        """Emails held by more than one lead (the race two concurrent creates can cause)."""
        groups: dict[str, list[int]] = {}
        for number, lead in self.store.leads.items():
            key = html.unescape(lead.get("emailAddress", "")).strip().casefold()
            if key:
                groups.setdefault(key, []).append(number)
        return {email: sorted(ids) for email, ids in groups.items() if len(ids) > 1}

    # ---- the request pipeline

    async def handle(self, request: FakeRequest) -> FakeReply:
        """Answer one HTTP request (raises DropConnection for a scripted dropped connection)."""
        method = _method_of(request)
        return await self.stats.count(request.method, method, lambda: self._answer(request))

    def _note_credentials_elsewhere(self, request: FakeRequest, body: Any) -> None:
        secret = self.secret_key
        in_headers = any(secret in value for value in request.headers.values())
        in_body = isinstance(body, dict) and (
            "header" in body or secret in request.body.decode("utf-8", "replace")
        )
        if in_headers or in_body:
            self.stats.credentials_elsewhere += 1

    async def _answer(self, request: FakeRequest) -> FakeReply:
        if request.path != ENDPOINT_PATH:
            return FakeReply(404, b"Not Found", "text/plain", code="404")
        if request.method.upper() != "POST":
            return FakeReply(405, b"Method Not Allowed", "text/plain", code="405")
        try:
            body = json.loads(request.body)
        except ValueError:
            body = None
        self._note_credentials_elsewhere(request, body)
        call_id = str(body.get("id", "")) if isinstance(body, dict) else ""
        method = str(body.get("method", "?")) if isinstance(body, dict) else "?"
        query = dict(request.query)
        if (
            "accountID" in query
            and "secretKey" in query
            and (query["accountID"] != self.account_id or query["secretKey"] != self.secret_key)
        ):
            return FakeReply(401, _BAD_CREDENTIALS, "text/plain", code="401")
        try:
            self._check_envelope(query, body)
            self._admit()
        except ApiError as error:
            return self._error(call_id, error)
        return await self._dispatch(method, body["params"], call_id)

    def _check_envelope(self, query: Mapping[str, str], body: Any) -> None:
        if not query.get("accountID"):
            raise ApiError("103", MESSAGES["103"])
        if not query.get("secretKey"):
            raise ApiError("104", MESSAGES["104"])
        if not isinstance(body, dict):
            raise ApiError("101", MESSAGES["101"])
        if body.get("id") in (None, ""):
            raise ApiError("102", MESSAGES["102"])
        if not body.get("method"):
            raise ApiError("201", MESSAGES["201"])
        if not isinstance(body.get("params"), (dict, list)):
            raise ApiError("202", MESSAGES["202"])
        if body["method"] not in METHODS:
            raise ApiError("204", MESSAGES["204"])

    def _admit(self) -> None:
        """Count the call against the account's budget: 106 past the day's calls, 107 past
        the calls of any 1-second window."""
        over_quota, over_rate = self._window.arrive(anyio.current_time())
        if over_quota:
            raise ApiError("106", MESSAGES["106"])
        if over_rate:
            raise ApiError("107", MESSAGES["107"])

    def _error(self, call_id: str, error: ApiError) -> FakeReply:
        payload = {
            "result": None,
            "error": {"code": int(error.code), "message": error.message, "data": None},
            "id": call_id,
        }
        return json_reply(payload, code=error.code)

    async def _dispatch(self, method: str, params: Any, call_id: str) -> FakeReply:
        ctx = Context(
            store=self.store,
            delay=self._sleep,
            date_range_paging=self.date_range_paging,
            reasons=self.stats.reasons,
        )

        def error_reply(failure: ApiError) -> FakeReply:
            return self._error(call_id, failure)

        async def answer() -> tuple[FakeReply, int]:
            try:
                arguments = params if isinstance(params, dict) else {}
                result, failing = await METHODS[method](ctx, arguments)
                # Success is "error": null on reads and [] on writes, as in the provider's samples.
                error: Any = failing if failing else ([] if "objects" in params else None)
                reply = json_reply({"result": result, "error": error, "id": call_id})
            except ApiError as failure:
                reply = error_reply(failure)
            return reply, ctx.records

        return await self._answer_or_fault("POST", method, answer, error_reply)

    def _http_failure(self, status: int, title: str) -> FakeReply:
        text = f"{status} {title}: Service temporarily unavailable"
        return FakeReply(status, text.encode(), "text/plain", code=str(status))

    def _fault_error(self, fault: Fault) -> ApiError:
        code = fault.code or "999"
        return ApiError(code, fault.message or MESSAGES.get(code, "Injected fault"))
