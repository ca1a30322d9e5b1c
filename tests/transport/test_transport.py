from __future__ import annotations

import itertools
import logging
import random
from urllib.parse import parse_qs

import anyio
import httpx
import pytest

from marketo_async import (
    AccessDeniedError,
    AmbiguousWriteError,
    AuthenticationError,
    DailyQuotaExceeded,
    LocalLimiter,
    MarketoClient,
    MarketoConnectionError,
    MarketoError,
    NotFoundError,
    RateLimits,
    RequestError,
    RetryPolicy,
    TooManyResultsError,
    TransientError,
)
from tests.fake_server import Server, fail

pytestmark = pytest.mark.anyio

SECRET = "s3cr3t-value"


def make_client(server: Server, **kwargs: object) -> MarketoClient:
    settings: dict[str, object] = {
        "base_url": "https://123-ABC-456.mktorest.com",
        "client_id": "cid",
        "client_secret": SECRET,
        "transport": server.transport,
        "retry": RetryPolicy(max_attempts=8, max_elapsed=300.0),
        # No daily counter unless a test asks: it reads stats/usage before the first call.
        "rate_limits": RateLimits(daily_quota=None),
    }
    settings.update(kwargs)
    return MarketoClient(**settings)  # type: ignore[arg-type]


def max_in_any_window(starts: list[float], period: float) -> int:
    starts = sorted(starts)
    best = 0
    low = 0
    for high, t in enumerate(starts):
        while starts[low] <= t - period:
            low += 1
        best = max(best, high - low + 1)
    return best


async def test_250_concurrent_calls_stay_within_window_and_concurrency() -> None:
    server = Server(calls=100, period=20.0, concurrency=10, latency=0.5)
    async with make_client(server) as client:
        results: list[dict[str, object]] = []

        async def one() -> None:
            results.append(await client.request("GET", "/rest/v1/leads/describe.json"))

        started = anyio.current_time()
        async with anyio.create_task_group() as tg:
            for _ in range(250):
                tg.start_soon(one)
        elapsed = anyio.current_time() - started
    assert len(results) == 250
    assert server.max_in_flight <= 10
    assert max_in_any_window(server.starts, 20.0) <= 100
    assert server.codes["606"] == 0 and server.codes["615"] == 0
    assert client.stats.calls == 250 and client.stats.retries == 0
    # Three windows: a call counts until a period (+ margin) after it ended, so each window
    # opens period + margin + latency after the previous one; the last 50 calls take 5
    # rounds of 10 in flight: 2 * (20 + 0.1 + 0.5) + 5 * 0.5 = 43.7 s, and no more.
    assert elapsed >= 40.5
    assert elapsed <= 43.7 + 1e-6


async def test_window_is_sliding_with_margin_for_arrival_times() -> None:
    server = Server(calls=5, period=3.0)
    limits = RateLimits(calls=5, period=3.0, concurrency=10, window_margin=0.1, daily_quota=None)
    async with make_client(server, rate_limits=limits) as client:
        async with anyio.create_task_group() as tg:
            for _ in range(23):
                tg.start_soon(client.request, "GET", "/rest/v1/leads.json")
    assert max_in_any_window(server.starts, 3.0) == 5
    # Each new batch of 5 waits a full period plus the margin after the previous one ended.
    firsts = sorted(server.starts)[::5]
    gaps = [b - a for a, b in itertools.pairwise(firsts)]
    assert all(gap >= 3.1 - 1e-9 for gap in gaps)


async def test_jittery_network_delays_never_push_the_server_over_its_window() -> None:
    """Marketo counts arrivals: a slow first call and a fast later one must not meet there."""
    rng = random.Random(3)
    server = Server(calls=5, period=3.0, latency=0.05, arrival_delay=lambda: rng.random())
    limits = RateLimits(calls=5, period=3.0, concurrency=5, window_margin=0.0, daily_quota=None)
    async with make_client(server, rate_limits=limits) as client:
        async with anyio.create_task_group() as tg:
            for _ in range(40):
                tg.start_soon(client.request, "GET", "/rest/v1/leads.json")
    assert server.codes["606"] == 0
    assert client.stats.calls == 40 and client.stats.retries == 0


async def test_concurrency_slot_is_released_before_backoff_sleep() -> None:
    server = Server(concurrency=2, latency=0.1)
    server.script.extend([fail("608")] * 1)
    limits = RateLimits(calls=100, period=20.0, concurrency=1, daily_quota=None)
    async with make_client(server, rate_limits=limits) as client:
        timeline: list[str] = []

        async def first() -> None:
            await client.request("GET", "/rest/v1/a.json")
            timeline.append("first done")

        async def second() -> None:
            await anyio.sleep(0.15)  # after the first call failed and began its backoff
            await client.request("GET", "/rest/v1/b.json")
            timeline.append("second done")

        async with anyio.create_task_group() as tg:
            tg.start_soon(first)
            tg.start_soon(second)
    # The second call ran while the first slept in backoff, on the only slot.
    assert timeline == ["second done", "first done"]


async def test_token_is_fetched_once_for_all_concurrent_callers() -> None:
    server = Server(latency=0.2)
    async with make_client(server) as client:
        async with anyio.create_task_group() as tg:
            for _ in range(30):
                tg.start_soon(client.request, "GET", "/rest/v1/leads.json")
    assert server.token_fetches == 1
    assert client.stats.tokens_fetched == 1


@pytest.mark.parametrize("expiry", ["602", "601"])
async def test_expired_token_mid_run_is_fetched_once_and_calls_retry_free(expiry: str) -> None:
    server = Server(latency=0.5, arrival_delay=0.1)
    limits = RateLimits(calls=100, period=20.0, concurrency=10, daily_quota=None)
    async with make_client(server, rate_limits=limits, retry=RetryPolicy(max_attempts=1)) as client:
        await client.request("GET", "/rest/v1/warmup.json")
        old = server.token
        if expiry == "602":
            server.expire_token()
        else:
            server.valid_tokens.clear()
        async with anyio.create_task_group() as tg:
            for i in range(10):
                tg.start_soon(client.request, "GET", f"/rest/v1/leads/{i}.json")
    # max_attempts=1: the token resend did not use the retry budget.
    assert server.token_fetches == 2
    assert server.token != old
    assert server.codes[expiry] == 10
    for request in server.requests:
        assert request.headers["Authorization"].startswith("Bearer tok-")
        assert "tok-" not in str(request.url)
        assert "access_token" not in str(request.url)


async def test_token_with_no_life_left_is_waited_out_and_fetched_fresh() -> None:
    server = Server()
    server.age_token(1.0)
    async with make_client(server) as client:
        await client.request("GET", "/rest/v1/leads.json")
    assert server.token_fetches == 2
    assert server.codes["602"] == 0 and server.codes["601"] == 0


async def test_bad_credentials_raise_authentication_error_without_secret() -> None:
    server = Server()
    async with make_client(server, client_secret="wrong-secret-123") as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.request("GET", "/rest/v1/leads.json")
    text = str(caught.value) + repr(caught.value)
    assert "client id and client secret" in text
    assert "wrong-secret-123" not in text
    assert "cid" not in str(caught.value).replace("client id", "")
    assert server.requests == []


RETRYABLE = ["604", "606", "608", "611", "614", "615", "713"]


@pytest.mark.parametrize("code", RETRYABLE)
async def test_retryable_code_is_retried_then_succeeds(code: str) -> None:
    server = Server()
    server.script.extend([fail(code), fail(code)])
    async with make_client(server) as client:
        body = await client.request("GET", "/rest/v1/leads.json")
    assert body["success"] is True
    assert len(server.requests) == 3
    assert client.stats.retries == 2


@pytest.mark.parametrize(
    ("response", "kind"),
    [
        (httpx.Response(502, text="<html><body>502 Bad Gateway</body></html>"), TransientError),
        (httpx.Response(503, text="unavailable"), TransientError),
        (httpx.Response(504, text=""), TransientError),
        (httpx.Response(429, text="slow down"), MarketoError),
        (httpx.Response(200, text="<html>maintenance</html>"), TransientError),
    ],
)
async def test_http_level_trouble_is_retried(response: httpx.Response, kind: type) -> None:
    server = Server()
    server.script.append(response)
    async with make_client(server) as client:
        body = await client.request("GET", "/rest/v1/leads.json")
    assert body["success"] is True
    assert len(server.requests) == 2


async def test_connection_errors_are_retried() -> None:
    server = Server()

    def drop(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("connection reset", request=request)

    server.script.append(drop)
    async with make_client(server) as client:
        body = await client.request("GET", "/rest/v1/leads.json")
    assert body["success"] is True
    assert len(server.requests) == 2


FATAL = {
    "603": AccessDeniedError,
    "605": RequestError,
    "609": RequestError,
    "610": NotFoundError,
    "612": RequestError,
    "613": RequestError,
    "616": RequestError,
    "701": RequestError,
    "702": NotFoundError,
    "703": RequestError,
    "704": RequestError,
    "709": RequestError,
    "710": RequestError,
    "711": RequestError,
    "1003": RequestError,  # "too many results" only when the message says so
}


@pytest.mark.parametrize(("code", "kind"), sorted(FATAL.items()))
async def test_fatal_code_raises_its_class_without_retry(code: str, kind: type) -> None:
    server = Server()
    server.script.append(fail(code, "nope"))
    async with make_client(server) as client:
        with pytest.raises(kind) as caught:
            await client.request("GET", "/rest/v1/leads.json")
    assert caught.value.code == code
    assert caught.value.request_id == "abc#2"
    assert caught.value.attempts == 1
    assert len(server.requests) == 1


async def test_607_raises_daily_quota_exceeded_at_once() -> None:
    server = Server()
    server.script.append(fail("607", "Daily quota reached"))
    async with make_client(server) as client:
        with pytest.raises(DailyQuotaExceeded) as caught:
            await client.request("POST", "/rest/v1/leads.json", json={"input": []})
    assert len(server.requests) == 1
    assert "midnight" in str(caught.value)


async def test_every_error_entry_and_status_is_kept() -> None:
    server = Server()
    body = {
        "requestId": "r#9",
        "success": False,
        "errors": [
            {"code": "1003", "message": "Too many results"},
            {"code": "701", "message": "x"},
        ],
    }
    server.script.append(httpx.Response(200, json=body))
    async with make_client(server) as client:
        with pytest.raises(TooManyResultsError) as caught:
            await client.request("GET", "/rest/v1/leads.json")
    error = caught.value
    assert [e.code for e in error.errors] == ["1003", "701"]
    assert error.http_status == 200
    assert "narrow the filter" in str(error)
    assert "701" in str(error)


async def test_retries_stop_at_max_attempts_naming_the_attempts() -> None:
    server = Server()
    server.script.extend([fail("608")] * 10)
    async with make_client(server, retry=RetryPolicy(max_attempts=3)) as client:
        with pytest.raises(TransientError) as caught:
            await client.request("GET", "/rest/v1/leads.json")
    assert len(server.requests) == 3
    assert caught.value.attempts == 3
    assert "after 3 attempts" in str(caught.value)


async def test_retries_stop_at_max_elapsed() -> None:
    server = Server()
    server.script.extend([fail("606")] * 10)
    policy = RetryPolicy(max_attempts=50, max_elapsed=45.0)
    async with make_client(server, retry=policy) as client:
        started = anyio.current_time()
        with pytest.raises(MarketoError) as caught:
            await client.request("GET", "/rest/v1/leads.json")
        elapsed = anyio.current_time() - started
    # Each 606 waits a 20 s window: two waits fit in 45 s, a third would not.
    assert len(server.requests) == 3
    assert caught.value.attempts == 3
    assert elapsed <= 45.0


async def test_611_is_retried_only_a_few_times() -> None:
    server = Server()
    server.script.extend([fail("611")] * 10)
    async with make_client(server) as client:
        with pytest.raises(TransientError):
            await client.request("GET", "/rest/v1/leads.json")
    assert len(server.requests) == 3


async def test_606_pauses_every_caller_for_the_window() -> None:
    server = Server()
    server.script.append(fail("606"))
    async with make_client(server) as client:
        async with anyio.create_task_group() as tg:
            tg.start_soon(client.request, "GET", "/rest/v1/a.json")
            await anyio.sleep(0.01)
            tg.start_soon(client.request, "GET", "/rest/v1/b.json")
    assert client.stats.rate_limited == 1
    # The second call was held back until the window rolled over.
    assert server.starts[1] - server.starts[0] >= 20.0


@pytest.mark.parametrize("failure", ["604", "timeout", "502"])
async def test_non_idempotent_write_is_not_resent_after_ambiguous_failure(failure: str) -> None:
    server = Server()

    def read_timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    if failure == "604":
        server.script.append(fail("604", "Request timed out"))
    elif failure == "timeout":
        server.script.append(read_timeout)
    else:
        server.script.append(httpx.Response(502, text="<html>Bad Gateway</html>"))
    async with make_client(server) as client:
        with pytest.raises(AmbiguousWriteError) as caught:
            await client.request(
                "POST", "/rest/v1/leads/push.json", json={"input": [{}]}, idempotent=False
            )
    assert len(server.requests) == 1
    assert "may have been applied" in str(caught.value)
    assert caught.value.may_have_applied


async def test_non_idempotent_write_is_resent_when_it_surely_did_not_apply() -> None:
    server = Server()

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    server.script.extend([fail("608"), fail("615"), refused])
    async with make_client(server) as client:
        body = await client.request(
            "POST", "/rest/v1/leads/push.json", json={"input": [{}]}, idempotent=False
        )
    assert body["success"] is True
    assert len(server.requests) == 4


async def test_long_get_is_sent_as_post_method_get_with_form_body() -> None:
    server = Server()
    values = [f"someone{i:05d}@example.com" for i in range(300)]
    async with make_client(server) as client:
        await client.request(
            "GET",
            "/rest/v1/leads.json",
            params={"filterType": "email", "filterValues": ",".join(values)},
        )
    (request,) = server.requests
    assert request.method == "POST"
    assert str(request.url).endswith("/rest/v1/leads.json?_method=GET")
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = parse_qs(request.content.decode())
    assert form["filterType"] == ["email"]
    assert form["filterValues"] == [",".join(values)]
    assert len(str(request.url)) < 100


async def test_414_answer_is_resent_as_method_get() -> None:
    server = Server()
    server.script.append(httpx.Response(414, text="URI Too Long"))
    async with make_client(server, retry=RetryPolicy(max_attempts=1)) as client:
        await client.request("GET", "/rest/v1/leads.json", params={"filterValues": "a,b"})
    first, second = server.requests
    assert first.method == "GET"
    assert second.method == "POST"
    assert second.url.params["_method"] == "GET"
    assert parse_qs(second.content.decode())["filterValues"] == ["a,b"]


async def test_repeated_params_and_clean_paths() -> None:
    server = Server()
    async with make_client(server, base_url="https://123-ABC-456.mktorest.com/") as client:
        await client.request("DELETE", "//rest/v1/lists/7//leads.json", params={"id": [1, 2, 3]})
    (request,) = server.requests
    assert request.url.path == "/rest/v1/lists/7/leads.json"
    assert request.url.params.get_list("id") == ["1", "2", "3"]
    assert "gzip" in request.headers["Accept-Encoding"]


async def test_body_over_one_megabyte_is_refused_before_sending() -> None:
    server = Server()
    records = [{"email": f"x{i}@example.com", "notes": "n" * 4000} for i in range(300)]
    async with make_client(server) as client:
        with pytest.raises(RequestError) as caught:
            await client.request("POST", "/rest/v1/leads.json", json={"input": records})
    assert "1,000,000" in str(caught.value)
    assert server.requests == []


async def test_local_daily_quota_refuses_without_sending() -> None:
    server = Server()
    limits = RateLimits(daily_quota=3)
    async with make_client(server, rate_limits=limits) as client:
        # The first call is preceded by the stats/usage read (which says nothing here).
        for _ in range(2):
            await client.request("GET", "/rest/v1/leads.json")
        with pytest.raises(DailyQuotaExceeded):
            await client.request("GET", "/rest/v1/leads.json")
    paths = [request.url.path for request in server.requests]
    assert paths == ["/rest/v1/stats/usage.json", "/rest/v1/leads.json", "/rest/v1/leads.json"]


async def test_stats_count_calls_retries_and_records() -> None:
    server = Server()
    server.script.extend([fail("606"), fail("615")])
    async with make_client(server) as client:
        await client.request(
            "POST", "/rest/v1/leads.json", json={"input": [{"email": "a@b.c"}] * 5}
        )
    stats = client.stats
    assert stats.calls == 3
    assert stats.retries == 2
    assert stats.rate_limited == 1
    assert stats.concurrency_limited == 1
    assert stats.records_sent == 15
    assert stats.tokens_fetched == 1


async def test_no_secret_or_token_leaks_over_a_failing_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    server = Server()
    server.script.extend(
        [fail("601"), fail("608"), fail("606"), httpx.Response(502, text="x"), fail("603")]
    )
    texts: list[str] = []
    client = make_client(server)
    texts.append(repr(client))
    async with client:
        with pytest.raises(MarketoError) as caught:
            await client.request("GET", "/rest/v1/leads.json", params={"fields": "email"})
        texts += [str(caught.value), repr(caught.value), repr(client.stats)]
        texts.append(repr(client._transport.tokens))
    bad = make_client(server, client_secret="another-secret-999")
    async with bad:
        with pytest.raises(AuthenticationError) as caught_bad:
            await bad.request("GET", "/rest/v1/leads.json")
    texts += [str(caught_bad.value), repr(caught_bad.value), caplog.text]
    tokens = {
        r.headers["Authorization"][7:] for r in server.requests if "Authorization" in r.headers
    }
    assert tokens
    everything = "\n".join(texts)
    for secret in [SECRET, "another-secret-999", *tokens]:
        assert secret not in everything
    for request in server.requests:
        assert SECRET not in str(request.url)
    assert "retry" in caplog.text


async def test_identity_posts_credentials_in_a_form_body_not_the_url() -> None:
    seen: list[httpx.Request] = []
    server = Server()

    async def spy(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return await server.handle(request)

    client = make_client(server, transport=httpx.MockTransport(spy))
    async with client:
        await client.request("GET", "/rest/v1/leads.json")
    identity = seen[0]
    assert identity.method == "POST"
    assert identity.url.path == "/identity/oauth/token"
    assert SECRET not in str(identity.url)
    assert parse_qs(identity.content.decode())["grant_type"] == ["client_credentials"]


def test_https_is_required_except_loopback() -> None:
    with pytest.raises(ValueError, match="https"):
        MarketoClient(base_url="http://123-ABC-456.mktorest.com", client_id="a", client_secret="b")
    for url in [
        "http://127.0.0.1:8080",
        "http://localhost:9",
        "http://[::1]:80",
        "http://127.5.5.5",
    ]:
        MarketoClient(base_url=url, client_id="a", client_secret="b")


def test_munchkin_id_builds_the_base_url() -> None:
    client = MarketoClient(munchkin_id="123-ABC-456", client_id="a", client_secret="b")
    assert client.base_url == "https://123-abc-456.mktorest.com"
    with pytest.raises(ValueError, match="123-ABC-456"):
        MarketoClient(munchkin_id="nope", client_id="a", client_secret="b")
    with pytest.raises(ValueError, match="exactly one"):
        MarketoClient(client_id="a", client_secret="b")


def test_base_url_ending_in_rest_is_not_doubled() -> None:
    client = MarketoClient(
        base_url="https://123-ABC-456.mktorest.com/rest/", client_id="a", client_secret="b"
    )
    assert client.base_url == "https://123-abc-456.mktorest.com"


def test_from_env_reads_variables_and_names_missing_ones() -> None:
    client = MarketoClient.from_env(
        {
            "MARKETO_MUNCHKIN_ID": "123-ABC-456",
            "MARKETO_CLIENT_ID": "id",
            "MARKETO_CLIENT_SECRET": "very-secret",
        }
    )
    assert client.base_url == "https://123-abc-456.mktorest.com"
    assert "very-secret" not in repr(client)
    with pytest.raises(ValueError) as caught:
        MarketoClient.from_env({"MARKETO_CLIENT_SECRET": "very-secret"})
    message = str(caught.value)
    assert "MARKETO_BASE_URL or MARKETO_MUNCHKIN_ID" in message
    assert "MARKETO_CLIENT_ID" in message
    assert "very-secret" not in message


async def test_closed_client_refuses_calls() -> None:
    server = Server()
    client = make_client(server)
    await client.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await client.request("GET", "/rest/v1/leads.json")


async def test_connection_error_after_retries_is_a_transient_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/identity"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        raise httpx.ConnectError("refused", request=request)

    client = make_client(Server(), transport=httpx.MockTransport(refuse))
    async with client:
        with pytest.raises(MarketoConnectionError) as caught:
            await client.request("GET", "/rest/v1/leads.json")
    assert caught.value.attempts == 8


class MemoryTokenStore:
    """A TokenStore in memory, standing in for a shared (Redis) one."""

    def __init__(self) -> None:
        self.token: tuple[str, float] | None = None
        self.lock = anyio.Lock()
        self.saves = 0

    async def load(self) -> tuple[str, float] | None:
        return self.token

    async def save(self, token: str, expires_at: float) -> None:
        self.saves += 1
        self.token = (token, expires_at)

    async def discard(self, token: str) -> None:
        if self.token is not None and self.token[0] == token:
            self.token = None

    def fetch_lock(self) -> anyio.Lock:
        return self.lock


class SharingLimiter(LocalLimiter):
    def __init__(self, store: MemoryTokenStore) -> None:
        super().__init__(RateLimits(daily_quota=None))
        self.token_store = store


async def test_clients_sharing_a_token_store_fetch_one_token() -> None:
    server = Server(latency=0.1)
    store = MemoryTokenStore()
    clients = [make_client(server, limiter=SharingLimiter(store)) for _ in range(4)]
    async with anyio.create_task_group() as tg:
        for client in clients:
            for _ in range(5):
                tg.start_soon(client.request, "GET", "/rest/v1/leads.json")
    assert server.token_fetches == 1
    assert store.saves == 1
    # One client is refused the shared token: the store forgets it and one new token is fetched.
    server.expire_token()
    async with anyio.create_task_group() as tg:
        for client in clients:
            tg.start_soon(client.request, "GET", "/rest/v1/leads.json")
    assert server.token_fetches == 2
    for client in clients:
        await client.aclose()
