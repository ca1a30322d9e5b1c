"""The helpers every resource is handed: re-titled errors, one-record writes, chained pages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from marketo_async._batch import NO_RESULT, UNEXPECTED_STATUS, WriteOptions
from marketo_async._errors import (
    AmbiguousWriteError,
    ErrorDetail,
    TooManyResultsError,
    TransientError,
    recast,
)
from marketo_async.resources._base import Api, RecordRules, retitled

pytestmark = pytest.mark.anyio


def test_a_retitled_error_keeps_its_class_and_every_field() -> None:
    error = TooManyResultsError(
        "Too many results",
        code="1003",
        request_id="abc#1",
        errors=[ErrorDetail("1003", "Too many results"), ErrorDetail("1004", "other")],
        http_status=200,
        path="/rest/v1/leads.json",
    )
    error.attempts = 3
    better = retitled(error, "Too many results: narrow the filter")
    assert type(better) is TooManyResultsError and better is not error
    assert better.message == "Too many results: narrow the filter"
    assert str(better).startswith("[1003] Too many results: narrow the filter")
    for field in ("code", "request_id", "errors", "http_status", "path", "attempts"):
        assert getattr(better, field) == getattr(error, field)
    assert error.message == "Too many results"


def test_a_recast_error_changes_class_and_message_and_keeps_every_field() -> None:
    error = TransientError(
        "Request timed out",
        code="604",
        request_id="abc#2",
        errors=[ErrorDetail("604", "Request timed out")],
        http_status=200,
        path="/rest/v1/leads.json",
    )
    error.attempts = 2
    error.may_have_applied = True
    ambiguous = recast(
        error, AmbiguousWriteError, "POST /rest/v1/leads.json failed after it was sent"
    )
    assert type(ambiguous) is AmbiguousWriteError
    assert ambiguous.message == "POST /rest/v1/leads.json failed after it was sent"
    fields = ("code", "request_id", "errors", "http_status", "path", "attempts", "may_have_applied")
    for field in fields:
        assert getattr(ambiguous, field) == getattr(error, field)


def api_answering(*bodies: dict[str, Any]) -> tuple[Api, list[Mapping[str, Any]]]:
    seen: list[Mapping[str, Any]] = []
    answers = list(bodies)

    async def request(method: str, path: str, **options: Any) -> dict[str, Any]:
        seen.append({"method": method, "path": path, **options})
        return answers.pop(0)

    return Api(request=request), seen


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"result": [{"id": 5, "status": "updated"}]}, "updated", None),
        ({"result": []}, "unknown", NO_RESULT),
        ({"result": [{"id": 5, "status": "maybe"}]}, "unknown", UNEXPECTED_STATUS),
    ],
)
async def test_a_one_record_write_reads_its_result_like_a_batch(
    body: dict[str, Any], status: str, code: str | None
) -> None:
    api, seen = api_answering(body)
    outcome = await api.write_one("/rest/v1/x.json", json={"input": [{}]}, idempotent=False)
    assert outcome.status == status
    assert [reason.code for reason in outcome.reasons] == ([code] if code else [])
    assert seen[0]["idempotent"] is False


async def test_a_write_decided_not_resent_posts_and_reports_that_way_from_one_decision() -> None:
    api, seen = api_answering({"result": [{"id": 1, "status": "updated"}]})
    once = api.resending(False)

    async def send(batch: Any) -> list[Mapping[str, Any]]:
        answer = await once.post("/rest/v1/x.json", json={"input": list(batch)})
        return list(answer["result"])

    report = await once.write_batches([{"id": 1}], send, RecordRules(), WriteOptions())
    assert seen[0]["idempotent"] is False
    assert report.idempotent is False
    assert api.idempotent is True  # the client's helpers are unchanged


def page(ids: list[int], token: str | None = None) -> dict[str, Any]:
    return {
        "result": [{"id": i} for i in ids],
        "nextPageToken": token,
        "moreResult": token is not None,
    }


async def test_chained_pages_read_every_query_in_turn_and_drop_repeats() -> None:
    api, seen = api_answering(page([1, 2], "t1"), page([3]), page([3, 4]), page([]))
    pager = api.chained_pages(
        "/rest/v1/leads.json",
        [{"filterValues": "a"}, {"filterValues": "b"}, {"filterValues": "c"}],
        dict,
        unique=lambda item: item["id"],
    )
    pages = [page async for page in pager.pages()]
    assert [[item["id"] for item in p] for p in pages] == [[1, 2], [3], [4]]
    # Every page but the last says more is coming; the empty last page is skipped.
    assert [p.more for p in pages] == [True, True, True]
    assert [call["params"].get("filterValues") for call in seen] == ["a", "a", "b", "c"]
    assert seen[1]["params"]["nextPageToken"] == "t1"


async def test_chained_pages_that_find_nothing_give_one_empty_page() -> None:
    api, _ = api_answering(page([]), page([]))
    first = await api.chained_pages("/p.json", [{"q": 1}, {"q": 2}], dict)
    assert list(first) == [] and not first.more


async def test_too_many_results_is_explained_for_the_query_that_got_it() -> None:
    error = TooManyResultsError("Too many results", code="1003")

    async def request(method: str, path: str, **options: Any) -> dict[str, Any]:
        if options["params"]["q"] == 2:
            raise error
        return page([1])

    pager = Api(request=request).chained_pages(
        "/p.json",
        [{"q": 1}, {"q": 2}],
        dict,
        explain_too_many=lambda error, query: f"{error.message} for q={query['q']}",
    )
    with pytest.raises(TooManyResultsError, match="Too many results for q=2") as raised:
        await pager.collect()
    assert raised.value.__cause__ is error
