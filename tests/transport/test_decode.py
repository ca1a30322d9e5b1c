from __future__ import annotations

import httpx
import pytest

from marketo_async import (
    AuthenticationError,
    MarketoError,
    RateLimitError,
    RequestError,
    TransientError,
)
from marketo_async._transport import decode, decode_identity, warnings_of

REQUEST = httpx.Request("GET", "https://123-abc-456.mktorest.com/rest/v1/leads.json")


def response(status: int, **kwargs: object) -> httpx.Response:
    return httpx.Response(status, request=REQUEST, **kwargs)  # type: ignore[arg-type]


def test_success_body_is_returned_with_record_level_skips_as_data() -> None:
    body = {
        "requestId": "1#2",
        "success": True,
        "result": [
            {"status": "skipped", "reasons": [{"code": "1004", "message": "Lead not found"}]}
        ],
    }
    assert decode(response(200, json=body)) == body


def test_html_502_is_a_transient_error_that_may_have_applied() -> None:
    with pytest.raises(TransientError) as caught:
        decode(response(502, text="<html><h1>502 Bad Gateway</h1></html>"))
    assert caught.value.http_status == 502
    assert caught.value.may_have_applied
    assert "502 Bad Gateway" in str(caught.value)


def test_non_json_200_is_transient_not_a_json_crash() -> None:
    with pytest.raises(TransientError):
        decode(response(200, text="<html>maintenance</html>"))
    with pytest.raises(TransientError):
        decode(response(200, json=["not", "an", "object"]))


def test_success_false_keeps_every_error_request_id_and_status() -> None:
    body = {
        "requestId": "e42b#1",
        "success": False,
        "errors": [{"code": "606", "message": "Max rate limit"}, {"code": "615", "message": "x"}],
    }
    with pytest.raises(RateLimitError) as caught:
        decode(response(200, json=body))
    error = caught.value
    assert (error.code, error.request_id, error.http_status) == ("606", "e42b#1", 200)
    assert [e.code for e in error.errors] == ["606", "615"]
    assert not error.may_have_applied


def test_604_may_have_applied() -> None:
    body = {"success": False, "errors": [{"code": "604", "message": "Request timed out"}]}
    with pytest.raises(TransientError) as caught:
        decode(response(200, json=body))
    assert caught.value.may_have_applied


def test_unknown_code_is_a_plain_marketo_error() -> None:
    with pytest.raises(MarketoError) as caught:
        decode(response(200, json={"success": False, "errors": [{"code": 799, "message": "?"}]}))
    assert type(caught.value) is MarketoError and caught.value.code == "799"


@pytest.mark.parametrize("status", [413, 414])
def test_413_and_414_are_request_errors(status: int) -> None:
    with pytest.raises(RequestError):
        decode(response(status, text=""))


def test_both_warning_shapes_parse() -> None:
    lead_db = {"warnings": [{"code": 1003, "message": "something"}]}
    asset = {"warnings": ["No assets found for the given search criteria."]}
    assert [(w.code, w.message) for w in warnings_of(lead_db)] == [("1003", "something")]
    assert [(w.code, w.message) for w in warnings_of(asset)] == [
        (None, "No assets found for the given search criteria.")
    ]
    assert warnings_of({}) == []


def test_identity_answers() -> None:
    good = {"access_token": "t:int", "token_type": "bearer", "expires_in": 0, "scope": "x"}
    assert decode_identity(response(200, json=good)) == ("t:int", 0.0)
    with pytest.raises(AuthenticationError, match="client id and client secret"):
        decode_identity(response(401, json={"error": "invalid_client"}))
    with pytest.raises(AuthenticationError):
        decode_identity(response(200, json={"error": "unauthorized"}))
