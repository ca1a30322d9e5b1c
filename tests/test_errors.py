"""The code -> class table: every code Marketo documents lands in the class of its meaning."""

from __future__ import annotations

import httpx
import pytest

from marketo_async import (
    AccessDeniedError,
    AuthenticationError,
    ConcurrencyLimitError,
    DailyQuotaExceeded,
    MarketoError,
    NotFoundError,
    RateLimitError,
    RequestError,
    TooManyResultsError,
    TransientError,
)
from marketo_async._errors import CODE_TO_CLASS, class_for
from marketo_async._transport import decode
from marketo_async.testing import FakeMarketo

# marketo-api.md 3.2 (response level) and 3.3 (record level), grouped by what they mean.
DOCUMENTED: dict[type[MarketoError], set[str]] = {
    AuthenticationError: {"600", "601", "602"},
    AccessDeniedError: {"603", "1008"},
    RateLimitError: {"606"},
    ConcurrencyLimitError: {"615"},
    DailyQuotaExceeded: {"607"},
    TransientError: {"500", "502", "604", "608", "611", "614", "713", "719", "1014"},
    NotFoundError: {"610", "702", "710", "718", "1004", "1013", "1025"},
    RequestError: {"605", "609", "612", "613", "616", "701", "703", "704", "709", "711"}
    | {"712", "714", "1001", "1002", "1003", "1005", "1006", "1007", "1009", "1010"}
    | {"1011", "1012", "1015", "1017", "1018", "1020", "1021", "1022", "1026", "1027"}
    | {"1028", "1035", "1036", "1037", "1042", "1049", "1076", "1077", "1078", "1079"}
    | {"1080"},
    # Bulk queue codes the bulk resources read themselves; 1048's cause is not documented.
    MarketoError: {"1016", "1019", "1029", "1048"},
}
EVERY_CODE = sorted(code for codes in DOCUMENTED.values() for code in codes)
REQUEST = httpx.Request("GET", "https://123-abc-456.mktorest.com/rest/v1/leads.json")


def expected_class(code: str) -> type[MarketoError]:
    return next(cls for cls, codes in DOCUMENTED.items() if code in codes)


def test_the_table_has_one_row_per_documented_code_and_nothing_else() -> None:
    assert sorted(CODE_TO_CLASS) == EVERY_CODE
    assert len(EVERY_CODE) == len(set(EVERY_CODE))


@pytest.mark.parametrize("code", EVERY_CODE)
def test_a_documented_code_raises_the_class_of_its_meaning_with_the_code(code: str) -> None:
    body = {"success": False, "requestId": "r#1", "errors": [{"code": code, "message": "m"}]}
    with pytest.raises(MarketoError) as caught:
        decode(httpx.Response(200, json=body, request=REQUEST))
    assert type(caught.value) is expected_class(code)
    assert caught.value.code == code and caught.value.request_id == "r#1"


def test_719_lock_wait_timeout_is_transient_and_the_docstring_says_so() -> None:
    import marketo_async._errors as errors_module

    assert class_for("719") is TransientError
    tree = (errors_module.__doc__ or "").split("Code-to-class table")[0]
    transient_line = next(line for line in tree.splitlines() if "+-- TransientError" in line)
    assert "719" in transient_line


@pytest.mark.parametrize(
    "message",
    [
        "Too many results match the filter",
        "Total membership size 120000 exceeds the limit 100000",
    ],
)
def test_1003_too_many_results_is_too_many_results_error(message: str) -> None:
    assert class_for("1003", message) is TooManyResultsError


@pytest.mark.parametrize("message", ["Invalid data", "Invalid folder 'x'", "Invalid offset -1"])
def test_1003_invalid_data_is_a_request_error_not_too_many_results(message: str) -> None:
    assert class_for("1003", message) is RequestError


def test_an_undocumented_code_is_a_plain_marketo_error() -> None:
    assert class_for("1999") is MarketoError


@pytest.mark.anyio
async def test_a_missing_list_is_not_found_with_1013_from_by_list() -> None:
    fake = FakeMarketo()
    async with fake.client() as client:
        with pytest.raises(NotFoundError) as caught:
            await client.leads.by_list(4242)
    assert caught.value.code == "1013"
    assert "4242" in str(caught.value)


@pytest.mark.anyio
async def test_a_missing_list_is_not_found_with_a_code_from_static_lists_get() -> None:
    fake = FakeMarketo()
    async with fake.client() as client:
        with pytest.raises(NotFoundError) as caught:
            await client.static_lists.get(4242)
        with pytest.raises(NotFoundError) as deleted:
            await client.static_lists.delete(4242)
    assert caught.value.code == deleted.value.code == "702"
    assert "static list 4242 not found" in str(caught.value)


@pytest.mark.anyio
async def test_a_missing_program_is_not_found_with_1013() -> None:
    fake = FakeMarketo()
    async with fake.client() as client:
        with pytest.raises(NotFoundError) as caught:
            await client.leads.by_program(4242)
    assert caught.value.code == "1013"


@pytest.mark.anyio
async def test_an_unknown_field_is_a_request_error_naming_the_field() -> None:
    fake = FakeMarketo()
    fake.add_lead(email="marge@example.com")
    async with fake.client() as client:
        with pytest.raises(RequestError) as caught:
            await client.leads.by_filter("email", ["marge@example.com"], fields=["shoeSize"])
    assert type(caught.value) is RequestError and caught.value.code == "1006"
    assert "'shoeSize'" in str(caught.value)
