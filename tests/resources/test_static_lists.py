"""client.static_lists: each request pinned with respx, answered with the seed page's examples."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import respx

from marketo_async._errors import NotFoundError
from marketo_async._paging import NO_ASSETS_FOUND
from marketo_async.models import strict_converter
from marketo_async.models.leads import Lead
from marketo_async.models.static_lists import Folder, StaticList

from .conftest import no_api_calls, ok, query_of, skipped

pytestmark = pytest.mark.anyio
UTC = dt.timezone.utc

# ---- the seed page's examples (marketo-static-lists.txt) -------------------------------------


def seed_list(
    list_id: int,
    name: str,
    created_at: str,
    updated_at: str,
    folder: int = 13,
    kind: str = "Folder",
) -> dict[str, Any]:
    """A static list as the asset API's seed examples show it."""
    return {
        "id": list_id,
        "name": name,
        "createdAt": created_at,
        "updatedAt": updated_at,
        "folder": {"id": folder, "type": kind},
        "computedUrl": f"https://app-sjqe.marketo.com/#ST{list_id}A1",
    }


FOUNDATION = seed_list(
    1021, "Foundation Seed List", "2017-07-27T01:38:33Z+0000", "2017-07-27T01:39:26Z+0000"
)
BLACKLIST = seed_list(
    1022, "Blacklist Seed List", "2017-07-27T23:19:33Z+0000", "2017-07-27T23:21:29Z+0000"
)
DUPLICATES = seed_list(
    1023, "Possible Duplicates Seed List", "2017-07-28T00:10:02Z+0000", "2017-07-28T00:11:22Z+0000"
)
CREATED = seed_list(
    1027,
    "My Static List",
    "2018-06-21T04:32:25Z+0000",
    "2018-06-21T04:32:25Z+0000",
    folder=1034,
    kind="Program",
)
UPDATED = {
    **CREATED,
    "description": "This is a static list used for testing",
    "createdAt": "2018-06-21T04:32:26Z+0000",
    "updatedAt": "2018-06-21T04:57:55Z+0000",
}
ADDED = [
    {"id": 318594, "status": "added"},
    skipped("1004", "Lead not found", id=318595),
]
REMOVED = [
    {"id": 318603, "status": "removed"},
    {"id": 318595, "status": "removed"},
    skipped("1004", "Lead not found", id=999999),
]
IS_MEMBER = [
    {"id": 309901, "status": "memberof"},
    {"id": 318603, "status": "notmemberof"},
    skipped("1004", "Lead not found", id=999999),
]
LIST_LEADS = [
    {
        "id": 318594,
        "firstName": "Hanna",
        "lastName": "Crawford",
        "email": "208161Robert.L.Deacon@pookmail.com",
        "updatedAt": "2015-04-06T17:13:50Z",
        "createdAt": "2015-04-06T17:13:50Z",
    },
    {
        "id": 318595,
        "firstName": "Bertha",
        "lastName": "Fulton",
        "email": "208160Tyrone.V.Dyer@trashymail.com",
        "updatedAt": "2015-04-06T17:13:50Z",
        "createdAt": "2015-04-06T17:13:50Z",
    },
]
PAGE_TOKEN = "PS5VL5WD4UOWGOUCJR6VY7JQO24LC2U5DRBU4WO4RQMPHDHTK2T3BEZOR75VLQXYB3245WW2GMDSK==="


def asset(result: list[dict[str, Any]] | None, *warnings: str) -> dict[str, Any]:
    """The asset API's envelope: errors and warnings always present."""
    body: dict[str, Any] = {"success": True, "errors": [], "requestId": "843c#1641f969e96"}
    if result is not None:
        body["result"] = result
    body["warnings"] = list(warnings)
    return body


def form_of(request: httpx.Request) -> list[tuple[str, str]]:
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    return parse_qsl(request.content.decode("ascii"))


# ---- metadata ------------------------------------------------------------------------------


def test_seed_examples_decode_strictly() -> None:
    for raw in (FOUNDATION, BLACKLIST, DUPLICATES, CREATED, UPDATED):
        assert strict_converter.structure(raw, StaticList).id == raw["id"]


async def test_get_decodes_the_asset_dates_and_folder(router: respx.Router, lists: Any) -> None:
    route = router.get("/rest/asset/v1/staticList/1021.json").respond(json=asset([FOUNDATION]))
    found = await lists.get(1021)
    request = route.calls.last.request
    assert request.method == "GET" and query_of(request) == [] and request.content == b""
    assert found == StaticList(
        id=1021,
        name="Foundation Seed List",
        created_at=dt.datetime(2017, 7, 27, 1, 38, 33, tzinfo=UTC),
        updated_at=dt.datetime(2017, 7, 27, 1, 39, 26, tzinfo=UTC),
        folder=Folder(13, "Folder"),
        computed_url="https://app-sjqe.marketo.com/#ST1021A1",
    )


async def test_get_of_a_missing_list_raises_not_found(router: respx.Router, lists: Any) -> None:
    router.get("/rest/asset/v1/staticList/5.json").respond(json=asset(None, NO_ASSETS_FOUND))
    with pytest.raises(NotFoundError, match="static list 5 not found"):
        await lists.get(5)


async def test_by_name_sends_the_exact_name(router: respx.Router, lists: Any) -> None:
    route = router.get("/rest/asset/v1/staticList/byName.json").respond(json=asset([FOUNDATION]))
    found = await lists.by_name("Foundation Seed List")
    assert query_of(route.calls.last.request) == [("name", "Foundation Seed List")]
    assert found is not None and found.id == 1021


async def test_by_name_of_a_missing_list_is_none(router: respx.Router, lists: Any) -> None:
    router.get("/rest/asset/v1/staticList/byName.json").respond(json=asset(None, NO_ASSETS_FOUND))
    assert await lists.by_name("Nope") is None


async def test_list_sends_folder_as_json_text_and_pages_by_offset(
    router: respx.Router, lists: Any
) -> None:
    pages = [asset([FOUNDATION, BLACKLIST]), asset([DUPLICATES]), asset(None, NO_ASSETS_FOUND)]
    route = router.get("/rest/asset/v1/staticLists.json").mock(
        side_effect=[httpx.Response(200, json=page) for page in pages]
    )
    found = await lists.list(
        folder=Folder(13),
        earliest_updated_at=dt.datetime(2017, 7, 1, 0, 0, 0, 250_000, tzinfo=UTC),
        latest_updated_at=dt.date(2017, 8, 1),
        max_return=2,
    ).collect()
    assert [s.id for s in found] == [1021, 1022, 1023]
    assert route.call_count == 2  # the short second page ends the browse
    first, second = (call.request for call in route.calls)
    assert query_of(first) == [
        ("folder", '{"id":13,"type":"Folder"}'),
        ("earliestUpdatedAt", "2017-07-01T00:00:00Z"),
        ("latestUpdatedAt", "2017-08-01"),
        ("offset", "0"),
        ("maxReturn", "2"),
    ]
    assert dict(query_of(second))["offset"] == "2"


async def test_list_stops_on_the_no_assets_warning(router: respx.Router, lists: Any) -> None:
    route = router.get("/rest/asset/v1/staticLists.json").mock(
        side_effect=[
            httpx.Response(200, json=asset([FOUNDATION, BLACKLIST])),
            httpx.Response(200, json=asset(None, NO_ASSETS_FOUND)),
        ]
    )
    found = [s.name async for s in lists.list(max_return=2)]
    assert found == ["Foundation Seed List", "Blacklist Seed List"]
    assert route.call_count == 2
    assert dict(query_of(route.calls.last.request)) == {"offset": "2", "maxReturn": "2"}


async def test_list_defaults_to_200_per_call(router: respx.Router, lists: Any) -> None:
    route = router.get("/rest/asset/v1/staticLists.json").respond(json=asset([FOUNDATION]))
    page = await lists.list(folder={"id": 1034, "type": "Program"})
    assert [s.id for s in page] == [1021]
    assert query_of(route.calls.last.request) == [
        ("folder", '{"id":1034,"type":"Program"}'),
        ("offset", "0"),
        ("maxReturn", "200"),
    ]


async def test_create_posts_a_form_with_folder_json(router: respx.Router, lists: Any) -> None:
    route = router.post("/rest/asset/v1/staticLists.json").respond(json=asset([CREATED]))
    created = await lists.create("My Static List", Folder(1034, "Program"))
    assert form_of(route.calls.last.request) == [
        ("folder", '{"id":1034,"type":"Program"}'),
        ("name", "My Static List"),
    ]
    assert created.folder == Folder(1034, "Program")
    assert created.created_at == dt.datetime(2018, 6, 21, 4, 32, 25, tzinfo=UTC)


async def test_create_sends_the_description(router: respx.Router, lists: Any) -> None:
    route = router.post("/rest/asset/v1/staticLists.json").respond(json=asset([CREATED]))
    await lists.create("My Static List", 13, description="For tests")
    assert form_of(route.calls.last.request) == [
        ("folder", '{"id":13,"type":"Folder"}'),
        ("name", "My Static List"),
        ("description", "For tests"),
    ]


async def test_update_posts_only_what_changes(router: respx.Router, lists: Any) -> None:
    route = router.post("/rest/asset/v1/staticList/1027.json").respond(json=asset([UPDATED]))
    updated = await lists.update(1027, description="This is a static list used for testing")
    assert form_of(route.calls.last.request) == [
        ("description", "This is a static list used for testing")
    ]
    assert updated.description == "This is a static list used for testing"
    assert updated.updated_at == dt.datetime(2018, 6, 21, 4, 57, 55, tzinfo=UTC)


async def test_delete_posts_to_the_delete_path(router: respx.Router, lists: Any) -> None:
    route = router.post("/rest/asset/v1/staticList/1027/delete.json").respond(
        json=asset([{"id": 1027}])
    )
    assert await lists.delete(1027) is None
    request = route.calls.last.request
    assert request.method == "POST" and request.content == b"" and query_of(request) == []


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.get(0), "id must be a positive integer"),
        (lambda s: s.get(True), "id must be a positive integer"),
        (lambda s: s.by_name(" "), "name must be a non-empty string"),
        (lambda s: s.create("X", {"id": 3, "type": "Campaign"}), "folder type must be"),
        (lambda s: s.create("X", Folder(-1)), "folder id must be a positive integer"),
        (lambda s: s.create("X", "13"), "folder must be a Folder"),
        (lambda s: s.create("", 13), "name must be a non-empty string"),
        (lambda s: s.update(1027), "nothing to update"),
        (lambda s: s.delete(-3), "id must be a positive integer"),
        (lambda s: s.add_leads(0, [1]), "list_id must be a positive integer"),
        (lambda s: s.remove_leads("7a", [1]), "list_id must be a positive integer"),
        (lambda s: s.contains(-1, [1]), "list_id must be a positive integer"),
    ],
)
async def test_bad_arguments_raise_before_any_call(
    router: respx.Router, lists: Any, call: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await call(lists)
    assert no_api_calls(router)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda s: s.list(folder={"id": 3, "type": "Smart List"}), "folder type must be"),
        (lambda s: s.list(max_return=201), "max_return must be 1 to 200"),
        (
            lambda s: s.list(
                earliest_updated_at=dt.date(2020, 2, 1), latest_updated_at=dt.date(2020, 1, 1)
            ),
            "earliest_updated_at must not be after",
        ),
        (lambda s: s.leads(1001, fields="email,first name"), "must be a field API name"),
        (lambda s: s.leads(1001, fields=["email", "a,b"]), "must be a field API name"),
        (lambda s: s.leads(1001, fields=[]), "fields must name at least one field"),
        (lambda s: s.leads(1001, batch_size=301), "batch_size must be 1 to 300"),
        (lambda s: s.leads(0), "list_id must be a positive integer"),
    ],
)
async def test_bad_pager_arguments_raise_when_the_pager_is_made(
    lists: Any, make: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make(lists)


# ---- membership ----------------------------------------------------------------------------


async def test_add_leads_posts_repeated_id_parameters(router: respx.Router, lists: Any) -> None:
    route = router.post("/rest/v1/lists/1001/leads.json").respond(json=ok(ADDED))
    report = await lists.add_leads(1001, [318594, "318595"])
    request = route.calls.last.request
    assert query_of(request) == [("id", "318594"), ("id", "318595")]
    assert request.content == b""
    assert [(o.id, o.status) for o in report.outcomes] == [
        (318594, "added"),
        (318595, "skipped"),
    ]
    assert report.outcomes[1].reasons[0].code == "1004"
    assert report.counts == {"added": 1, "skipped": 1}
    assert not report.ok


async def test_remove_leads_sends_http_delete_with_ids_in_the_query(
    router: respx.Router, lists: Any
) -> None:
    route = router.delete("/rest/v1/lists/1001/leads.json").respond(json=ok(REMOVED))
    report = await lists.remove_leads(1001, [318603, 318595, 999999])
    request = route.calls.last.request
    assert request.method == "DELETE" and request.content == b""
    assert query_of(request) == [("id", "318603"), ("id", "318595"), ("id", "999999")]
    assert [o.status for o in report.outcomes] == ["removed", "removed", "skipped"]
    assert report.failed[0].id == 999999


async def test_contains_reads_memberof_and_notmemberof(router: respx.Router, lists: Any) -> None:
    route = router.get("/rest/v1/lists/1001/leads/ismember.json").respond(json=ok(IS_MEMBER))
    report = await lists.contains(1001, [309901, 318603, 999999])
    request = route.calls.last.request
    assert request.method == "GET"
    assert query_of(request) == [("id", "309901"), ("id", "318603"), ("id", "999999")]
    assert [(o.id, o.status) for o in report.outcomes] == [
        (309901, "memberof"),
        (318603, "notmemberof"),
        (999999, "skipped"),
    ]


async def test_membership_results_are_matched_by_lead_id(router: respx.Router, lists: Any) -> None:
    # Should Marketo answer out of order, or leave an id out, each record still gets its own.
    router.get("/rest/v1/lists/1001/leads/ismember.json").respond(
        json=ok([IS_MEMBER[1], IS_MEMBER[0]])
    )
    report = await lists.contains(1001, [309901, 318603, 999999])
    assert [(o.id, o.status) for o in report.outcomes] == [
        (309901, "memberof"),
        (318603, "notmemberof"),
        (None, "unknown"),
    ]


async def test_membership_calls_carry_at_most_300_ids(router: respx.Router, lists: Any) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        ids = request.url.params.get_list("id")
        return httpx.Response(200, json=ok([{"id": int(i), "status": "added"} for i in ids]))

    route = router.post("/rest/v1/lists/1001/leads.json").mock(side_effect=answer)
    report = await lists.add_leads(1001, range(1, 701))
    sizes = sorted(len(call.request.url.params.get_list("id")) for call in route.calls)
    assert sizes == [100, 300, 300]
    assert report.ok and report.counts == {"added": 700}


async def test_bad_lead_ids_are_refused_per_record(router: respx.Router, lists: Any) -> None:
    route = router.post("/rest/v1/lists/1001/leads.json").respond(
        json=ok([{"id": 5, "status": "added"}, {"id": 6, "status": "added"}])
    )
    seen: list[Any] = []
    report = await lists.add_leads(1001, [5, 0, "x", True, 6, -2], on_outcome=seen.append)
    assert query_of(route.calls.last.request) == [("id", "5"), ("id", "6")]
    assert [o.status for o in report.outcomes] == [
        "added",
        "failed",
        "failed",
        "failed",
        "added",
        "failed",
    ]
    assert "positive integer" in report.outcomes[1].reasons[0].message
    assert len(seen) == 6


async def test_add_leads_takes_an_async_iterable_and_reports_progress(
    router: respx.Router, lists: Any
) -> None:
    router.post("/rest/v1/lists/1001/leads.json").respond(
        json=ok([{"id": 1, "status": "added"}, {"id": 2, "status": "added"}])
    )

    async def ids() -> AsyncIterator[int]:
        yield 1
        yield 2

    progress: list[tuple[int, int | None]] = []
    report = await lists.add_leads(1001, ids(), on_progress=lambda d, t: progress.append((d, t)))
    assert report.ok and progress[-1] == (2, None)


async def test_leads_reads_the_list_through_the_token_pager(
    router: respx.Router, lists: Any
) -> None:
    route = router.get("/rest/v1/lists/1001/leads.json").mock(
        side_effect=[
            httpx.Response(200, json=ok(LIST_LEADS, nextPageToken=PAGE_TOKEN, moreResult=True)),
            httpx.Response(200, json=ok([LIST_LEADS[0]], nextPageToken=PAGE_TOKEN)),
        ]
    )
    leads = await lists.leads(1001, fields=["email", "firstName"], batch_size=2).collect()
    assert all(isinstance(lead, Lead) for lead in leads)
    assert [lead.id for lead in leads] == [318594, 318595, 318594]
    assert leads[0]["firstName"] == "Hanna"
    assert leads[0].updated_at == dt.datetime(2015, 4, 6, 17, 13, 50, tzinfo=UTC)
    first, second = (call.request for call in route.calls)
    assert query_of(first) == [("fields", "email,firstName"), ("batchSize", "2")]
    assert dict(query_of(second))["nextPageToken"] == PAGE_TOKEN


async def test_leads_first_page_only_when_awaited(router: respx.Router, lists: Any) -> None:
    route = router.get("/rest/v1/lists/1001/leads.json").respond(
        json=ok(LIST_LEADS, nextPageToken=PAGE_TOKEN)
    )
    page = await lists.leads(1001, fields="email, firstName")
    assert len(page) == 2 and not page.more
    assert query_of(route.calls.last.request) == [("fields", "email,firstName")]


def test_folder_json_text_is_compact() -> None:
    assert Folder(1034, "Program").to_json() == '{"id":1034,"type":"Program"}'
    assert json.loads(Folder.of(13).to_json()) == {"id": 13, "type": "Folder"}
