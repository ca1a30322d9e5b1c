"""The client: configuration, the secret key kept out of every repr, log line and error."""

from __future__ import annotations

import logging
import traceback
from typing import Any

import httpx
import pytest

from marketo_async import AuthenticationError, RetryPolicy, TransientError
from marketo_async.leadgen import (
    DEFAULT_BASE_URL,
    LeadGenAuthenticationError,
    LeadGenClient,
    LeadGenConnectionError,
    LeadGenRateLimitError,
)

from .conftest import ACCOUNT, SECRET, Recorder

pytestmark = pytest.mark.anyio


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _frame_locals(error: BaseException) -> list[Any]:
    """Every local of every frame an error tracker would record for ``error``."""
    values: list[Any] = []
    tb = error.__traceback__
    while tb is not None:
        values.extend(tb.tb_frame.f_locals.values())
        tb = tb.tb_next
    return values


def _assert_no_secret(error: BaseException) -> None:
    text = "".join(traceback.format_exception(error))
    assert SECRET not in text
    for link in _chain(error):
        for value in _frame_locals(link):
            assert SECRET not in repr(value)
            if isinstance(value, BaseException):
                assert all(SECRET not in repr(v) for v in _frame_locals(value))
        assert SECRET not in repr(link) and SECRET not in str(link)
        request = getattr(link, "_request", None) or getattr(link, "request", None)
        if isinstance(request, httpx.Request):
            assert SECRET not in str(request.url)
            assert all(SECRET not in v for v in request.headers.values())


def test_from_env_reads_the_three_variables_and_defaults_to_v1_2() -> None:
    env = {"LEADGEN_ACCOUNT_ID": ACCOUNT, "LEADGEN_SECRET_KEY": SECRET}
    client = LeadGenClient.from_env(env)
    assert client.base_url == DEFAULT_BASE_URL == "https://api.sharpspring.com/pubapi/v1.2/"
    assert client.account_id == ACCOUNT
    other = LeadGenClient.from_env({**env, "LEADGEN_BASE_URL": "http://127.0.0.1:9/pubapi/v1"})
    assert other.base_url == "http://127.0.0.1:9/pubapi/v1/"
    with pytest.raises(ValueError, match="LEADGEN_SECRET_KEY"):
        LeadGenClient.from_env({"LEADGEN_ACCOUNT_ID": ACCOUNT})


@pytest.mark.parametrize(
    "url",
    [
        "http://api.sharpspring.com/pubapi/v1.2/",
        f"https://api.sharpspring.com/pubapi/v1.2/?accountID={ACCOUNT}&secretKey={SECRET}",
        "ftp://example.com/",
    ],
)
def test_base_url_must_be_https_and_carry_no_credentials(url: str) -> None:
    with pytest.raises(ValueError) as caught:
        LeadGenClient(account_id=ACCOUNT, secret_key=SECRET, base_url=url)
    assert SECRET not in str(caught.value)


def test_repr_and_masked_url_never_show_the_secret() -> None:
    client = LeadGenClient(account_id=ACCOUNT, secret_key=SECRET)
    assert SECRET not in repr(client)
    assert SECRET not in repr(vars(client))
    assert client.masked_url == f"{DEFAULT_BASE_URL}?accountID={ACCOUNT}&secretKey=********"


async def test_auth_failure_names_the_keys_and_hides_the_secret(recorder: Recorder) -> None:
    recorder.answers.append(
        httpx.Response(401, text="Unable to determine clusterID from provided accountID/secretKey")
    )
    async with LeadGenClient(
        account_id=ACCOUNT, secret_key=SECRET, transport=httpx.MockTransport(recorder)
    ) as lg:
        with pytest.raises(LeadGenAuthenticationError) as caught:
            await lg.call("getLeads", {"where": {}})
    assert isinstance(caught.value, AuthenticationError)
    assert "LEADGEN_SECRET_KEY" in str(caught.value)
    assert len(recorder.requests) == 1  # bad credentials are not retried
    _assert_no_secret(caught.value)


async def test_connection_errors_carry_no_url_with_the_secret() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}", request=request)

    async with LeadGenClient(
        account_id=ACCOUNT,
        secret_key=SECRET,
        transport=httpx.MockTransport(refuse),
        retry=RetryPolicy.no_wait(max_attempts=2),
    ) as lg:
        with pytest.raises(LeadGenConnectionError) as caught:
            await lg.call("getLeads", {"where": {}})
    assert isinstance(caught.value, TransientError)
    assert caught.value.attempts == 2
    _assert_no_secret(caught.value)


async def test_read_timeout_on_a_create_is_not_resent(recorder: Recorder) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        recorder.requests.append(request)
        raise httpx.ReadTimeout(f"timed out on {request.url}", request=request)

    async with LeadGenClient(
        account_id=ACCOUNT,
        secret_key=SECRET,
        transport=httpx.MockTransport(slow),
        retry=RetryPolicy.no_wait(),
    ) as lg:
        report = await lg.leads.create([{"emailAddress": "a@example.com"}])
    assert len(recorder.requests) == 1
    outcome = report.outcomes[0]
    assert outcome.status == "unknown"
    assert outcome.error is not None
    _assert_no_secret(outcome.error)
    assert "may or may not" in report.summary()


async def test_logs_show_the_masked_url_and_never_the_secret(
    recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    recorder.answers.append(
        httpx.Response(200, json={"result": None, "error": {"code": 107, "message": "slow down"}})
    )
    caplog.set_level(logging.DEBUG)  # every logger, httpx's and httpcore's included
    async with LeadGenClient(
        account_id=ACCOUNT,
        secret_key=SECRET,
        transport=httpx.MockTransport(recorder),
        retry=RetryPolicy.no_wait(),
    ) as lg:
        await lg.call("getLeads", {"where": {}})
        assert lg.stats.rate_limited == 1 and lg.stats.retries == 1
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "secretKey=********" in text
    assert "getLeads" in text and "LeadGenRateLimitError 107" in text
    assert SECRET not in text


async def test_107_is_retried_after_the_window_and_pauses_the_limiter(recorder: Recorder) -> None:
    for _ in range(3):
        recorder.answers.append(
            httpx.Response(200, json={"result": None, "error": {"code": 107, "message": "x"}})
        )
    async with LeadGenClient(
        account_id=ACCOUNT,
        secret_key=SECRET,
        transport=httpx.MockTransport(recorder),
        retry=RetryPolicy(max_attempts=3, jitter=False, backoff_initial=0.0),
    ) as lg:
        with pytest.raises(LeadGenRateLimitError) as caught:
            await lg.call("getLeads", {"where": {}})
    assert caught.value.attempts == 3
    assert len(recorder.requests) == 3


async def test_106_raises_the_daily_quota_error_at_once(recorder: Recorder) -> None:
    from marketo_async import DailyQuotaExceeded

    recorder.answers.append(
        httpx.Response(200, json={"result": None, "error": {"code": 106, "message": "quota"}})
    )
    async with LeadGenClient(
        account_id=ACCOUNT, secret_key=SECRET, transport=httpx.MockTransport(recorder)
    ) as lg:
        with pytest.raises(DailyQuotaExceeded):
            await lg.call("getLeads", {"where": {}})
    assert len(recorder.requests) == 1


def test_bad_arguments_fail_before_any_call() -> None:
    client = LeadGenClient(account_id=ACCOUNT, secret_key=SECRET)
    bad: list[Any] = [
        lambda: client.leads.query(where=["id"]),  # type: ignore[arg-type]
        lambda: client.leads.query(page_size=501),
        lambda: client.leads.updated_between("2024-01-01", "2024-02-01"),  # type: ignore[arg-type]
    ]
    for make in bad:
        with pytest.raises(ValueError):
            make()
