"""client.leads: each request pinned with respx, answered with the Leads seed page's examples."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import respx

from marketo_async._batch import LOCAL_VALIDATION, Reason
from marketo_async._errors import AmbiguousWriteError, TooManyResultsError
from marketo_async.models import strict_converter
from marketo_async.models.leads import (
    FieldApiAccess,
    Lead,
    LeadDescription,
    LeadFieldDescription,
    ListMembership,
    Partition,
    ProgramMembership,
    SmartCampaignMembership,
    VisitorData,
)
from marketo_async.resources import Api
from marketo_async.resources.leads import Leads

from .conftest import failure, json_of, no_api_calls, ok, query_of

pytestmark = pytest.mark.anyio
UTC = dt.timezone.utc

# ---- the seed page's examples (marketo-leads-with-examples.txt, punctuation repaired) -------

DESCRIBED = [
    {
        "id": 2,
        "displayName": "Company Name",
        "dataType": "string",
        "length": 255,
        "rest": {"name": "company", "readOnly": False},
        "soap": {"name": "Company", "readOnly": False},
    }
]
JOHN = {
    "id": 318581,
    "updatedAt": "2015-05-07T11:47:30-08:00",
    "lastName": "Doe",
    "email": "jdoe@marketo.com",
    "createdAt": "2015-05-01T16:47:30-08:00",
    "firstName": "John",
}
BY_FILTER = [
    {
        "id": 318581,
        "updatedAt": "2016-05-17T22:11:45Z",
        "lastName": "Lincoln",
        "email": "abe@usa.gov",
        "createdAt": "2015-03-17T00:18:40Z",
        "firstName": "Abraham",
    },
    {
        "id": 318592,
        "updatedAt": "2016-05-17T22:20:51Z",
        "lastName": "Washington",
        "email": "george@usa.gov",
        "createdAt": "2015-04-06T16:29:21Z",
        "firstName": "George",
    },
]
CREATE_ONLY_INPUT = [
    {"email": f"kjashaedd-{n}@klooblept.com", "firstName": f"Kataldar-{n}", "postalCode": "04828"}
    for n in (1, 2, 3)
]
CREATED = [
    {"id": 50, "status": "created"},
    {"id": 51, "status": "created"},
    {"id": 52, "status": "created"},
]
PUSH_INPUT = [
    {
        "email": "Theresa.May@westminister.gov.uk",
        "country": "united kingdom",
        "firstName": "Theresa",
        "website": "www.brexit.com",
        "leadScore": 45,
        "marketoSocialFacebookProfileURL": "http://www.facebook.com/id/23434456",
        "jobTitle": "Prime Minister",
    },
    {
        "email": "Justin.Trudeau@ottowa.gov.ca",
        "country": "canada",
        "firstName": "Justin",
        "website": "www.take-off-eh.com",
        "leadScore": 92,
        "marketoSocialFacebookProfileURL": "http://www.facebook.com/id/42434",
        "jobTitle": "Sonny",
    },
]
PUSHED = [{"id": 483894, "status": "created"}, {"id": 1087425, "status": "updated"}]
FORM_FIELDS = {
    "firstName": "Marge",
    "lastName": "Simpson",
    "email": "marge.simpson@fox.com",
    "pMCFField": "PMCF value",
}
VISITOR = {
    "pageURL": "https://na-sjst.marketo.com/lp/063-GJP-217/UnsubscribePage.html",
    "queryString": "Unsubscribed=yes",
    "leadClientIpAddress": "192.150.22.5",
    "userAgentString": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/84.0.4147.89 Safari/537.36",
}
FORM_COOKIE = "id:063-GJP-217&token:_mch-marketo.com-1594662481190-60776"
LIST_TOKEN = "PS5VL5WD4UOWGOUCJR6VY7JQO2KUXL7BGBYXL4XH4BYZVPYSFBAONP4V4KQKN4SSBS55U4LEMAKE6==="
LIST_LEADS = [
    {"id": 50, "email": "kjashaedd@klooblept.com", "firstName": "Kataldar", "postalCode": "04828"},
    {
        "id": 2343,
        "email": "kjashaedd@klooblept.com",
        "firstName": "Kataldar",
        "postalCode": "04828",
    },
    {
        "id": 88498,
        "email": "kjashaedd@klooblept.com",
        "firstName": "Kataldar",
        "postalCode": "04828",
    },
]
LISTS_OF = [
    {"listId": 3379, "createdAt": "2016-05-17T19:32:44Z", "updatedAt": "2016-05-17T19:32:44Z"},
    {"listId": 2792, "createdAt": "2009-05-19T18:29:15Z", "updatedAt": "2009-05-19T18:29:15Z"},
    {"listId": 42, "createdAt": "2009-04-22T19:24:22Z", "updatedAt": "2009-04-22T19:24:22Z"},
]


def _member(lead_id: int, first: str, last: str, email: str) -> dict[str, Any]:
    return {
        "id": lead_id,
        "firstName": first,
        "lastName": last,
        "email": email,
        "updatedAt": "2020-04-21T16:27:14Z",
        "createdAt": "2020-04-21T16:27:14Z",
        "membership": {
            "id": 1127,
            "progressionStatus": "Visited",
            "progressionStatusType": "Visited",
            "isExhausted": False,
            "acquiredBy": True,
            "reachedSuccess": False,
            "membershipDate": "2020-04-21T16:27:16Z",
            "updatedAt": "2020-04-21T16:27:16Z",
        },
    }


PROGRAM_LEADS = [
    _member(319141, "Meera", "Reed", "mree@housestark.com"),
    _member(319142, "Jon", "Umber", "jumb@housestark.com"),
    _member(319143, "Lyanna", "Mormont", "lmor@housestark.com"),
]
PROGRAM_TOKEN = "SW3PTMBVFCNHSHJGZ7LQH3ZWNUOHKADJZ3MOQ2LOZZVNO3WEIUPDKPRTTHBSMW756KOCWURTOF2XS==="
PROGRAMS_OF = [
    {
        "id": 1044,
        "progressionStatus": "Sent",
        "isExhausted": False,
        "acquiredBy": False,
        "reachedSuccess": False,
        "membershipDate": "2016-05-27T19:50:29Z",
        "updatedAt": "2016-05-27T19:50:29Z",
    }
]
CAMPAIGNS_OF = [
    {
        "smartCampaignId": 3746,
        "createdAt": "2018-06-01T18:00:04Z",
        "updatedAt": "2018-06-01T18:00:06Z",
    },
    {
        "smartCampaignId": 3678,
        "createdAt": "2015-04-06T18:37:30Z",
        "updatedAt": "2015-04-06T18:37:41Z",
    },
    {
        "smartCampaignId": 3680,
        "createdAt": "2015-04-06T18:37:30Z",
        "updatedAt": "2015-04-06T18:37:40Z",
    },
]
DELETED = [{"id": 235, "status": "deleted"}, {"id": 766, "status": "deleted"}]


# ---- describe ---------------------------------------------------------------------------------


async def test_describe_decodes_rest_and_soap_names(router: respx.Router, leads: Any) -> None:
    route = router.get("/rest/v1/leads/describe.json").respond(json=ok(DESCRIBED))
    (company,) = await leads.describe()
    assert company == LeadFieldDescription(
        id=2,
        display_name="Company Name",
        data_type="string",
        length=255,
        rest=FieldApiAccess(name="company", read_only=False),
        soap=FieldApiAccess(name="Company", read_only=False),
    )
    assert company.name == "company"
    assert strict_converter.structure(DESCRIBED[0], LeadFieldDescription) == company
    assert query_of(route.calls.last.request) == []


async def test_describe2_decodes_searchable_fields(router: respx.Router, leads: Any) -> None:
    described = {
        "name": "API Lead",
        "searchableFields": [["email"], ["id"], ["sfdcLeadId"]],
        "fields": [
            {
                "name": "email",
                "displayName": "Email Address",
                "dataType": "email",
                "length": 255,
                "updateable": True,
                "crmManaged": False,
            }
        ],
    }
    router.get("/rest/v1/leads/describe2.json").respond(json=ok([described]))
    description = await leads.describe2()
    assert isinstance(description, LeadDescription)
    assert description == strict_converter.structure(described, LeadDescription)
    assert ["email"] in description.searchable_fields
    email = description.field("email")
    assert email is not None and email.updateable and email.data_type == "email"


# ---- reads ------------------------------------------------------------------------------------


async def test_get_returns_every_field_with_typed_shortcuts(
    router: respx.Router, leads: Any
) -> None:
    route = router.get("/rest/v1/lead/318581.json").respond(json=ok([JOHN]))
    lead = await leads.get(318581)
    assert isinstance(lead, Lead)
    assert query_of(route.calls.last.request) == []
    assert lead.id == 318581 and lead.email == "jdoe@marketo.com"
    offset = dt.timezone(dt.timedelta(hours=-8))
    assert lead.created_at == dt.datetime(2015, 5, 1, 16, 47, 30, tzinfo=offset)
    assert lead.updated_at == dt.datetime(2015, 5, 7, 19, 47, 30, tzinfo=UTC)
    assert lead["firstName"] == "John" and lead.get("postalCode") is None
    assert dict(lead) == JOHN  # lossless
    assert strict_converter.unstructure(lead) == JOHN


async def test_get_with_fields_and_a_missing_lead(router: respx.Router, leads: Any) -> None:
    custom = {"id": 318581, "email": "jdoe@marketo.com", "acmeCode": "A-1"}
    route = router.get("/rest/v1/lead/318581.json").respond(json=ok([custom]))
    lead = await leads.get(318581, fields=["email", "acmeCode"])
    assert query_of(route.calls.last.request) == [("fields", "email,acmeCode")]
    assert lead["acmeCode"] == "A-1"
    router.get("/rest/v1/lead/7.json").respond(json=ok([]))
    assert await leads.get(7) is None


async def test_by_filter_pins_the_seed_request(router: respx.Router, leads: Any) -> None:
    route = router.get("/rest/v1/leads.json").respond(json=ok(BY_FILTER))
    page = await leads.by_filter("id", [318581, 318592])
    assert [lead.id for lead in page] == [318581, 318592]
    assert page[1]["lastName"] == "Washington"
    assert page[0].created_at == dt.datetime(2015, 3, 17, 0, 18, 40, tzinfo=UTC)
    request = route.calls.last.request
    assert request.method == "GET"
    assert query_of(request) == [("filterType", "id"), ("filterValues", "318581,318592")]


async def test_by_filter_with_no_match_is_an_empty_page(router: respx.Router, leads: Any) -> None:
    router.get("/rest/v1/leads.json").respond(
        json={"requestId": "177a1#1578b643357", "result": [], "success": True}
    )
    page = await leads.by_filter("email", ["nobody@example.com"])
    assert list(page) == [] and not page.more
    assert await leads.by_filter("email", ["nobody@example.com"]).collect() == []


async def test_by_filter_chunks_300_values_and_pages_each_chunk(
    router: respx.Router, leads: Any
) -> None:
    route = router.get("/rest/v1/leads.json").mock(
        side_effect=[
            httpx.Response(200, json=ok([{"id": 1}], moreResult=True, nextPageToken="T1")),
            httpx.Response(200, json=ok([{"id": 2}])),
            httpx.Response(200, json=ok([{"id": 3}, {"id": 1}])),
        ]
    )
    values = [f"v{n}" for n in range(301)] + ["v0", " v1 "]  # repeats are sent once
    found = await leads.by_filter(
        "acmeCode", values, fields="email,acmeCode", batch_size=100
    ).collect()
    assert [lead.id for lead in found] == [1, 2, 3]  # lead 1 matched twice, comes once
    first, second, third = (dict(query_of(call.request)) for call in route.calls)
    assert first["filterValues"].split(",") == [f"v{n}" for n in range(300)]
    assert first["fields"] == "email,acmeCode" and first["batchSize"] == "100"
    assert "nextPageToken" not in first
    assert second["nextPageToken"] == "T1" and second["filterValues"] == first["filterValues"]
    assert third["filterValues"] == "v300" and "nextPageToken" not in third


async def test_by_filter_emails_are_deduplicated_case_insensitively(
    router: respx.Router, leads: Any
) -> None:
    route = router.get("/rest/v1/leads.json").respond(json=ok([]))
    await leads.by_filter("email", ["Ann@Example.com", "ann@example.com", "bob@example.com"])
    assert dict(query_of(route.calls.last.request))["filterValues"] == (
        "Ann@Example.com,bob@example.com"
    )


async def test_by_filter_long_query_goes_as_method_get_post(
    router: respx.Router, leads: Any
) -> None:
    route = router.post("/rest/v1/leads.json").respond(json=ok([{"id": 9}]))
    emails = [f"someone.with.a.long.address.{n}@example-company.com" for n in range(300)]
    (lead,) = await leads.by_filter("email", emails).collect()
    request = route.calls.last.request
    assert request.method == "POST"
    assert query_of(request) == [("_method", "GET")]
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    form = dict(parse_qsl(request.content.decode()))
    assert form["filterType"] == "email"
    assert form["filterValues"].split(",") == emails
    assert lead.id == 9


async def test_by_filter_1003_says_to_narrow_or_bulk_extract(
    router: respx.Router, leads: Any
) -> None:
    router.get("/rest/v1/leads.json").respond(
        json=failure("1003", "Too many results match the filter")
    )
    with pytest.raises(TooManyResultsError) as caught:
        await leads.by_filter("company", ["Acme"]).collect()
    text = str(caught.value)
    assert caught.value.code == "1003"
    assert "narrow the filter" in text and "bulk extract" in text
    assert "filter_type 'company'" in text


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ((("email", []), {}), "values"),
        ((("email", "a@example.com"), {}), "values"),
        ((("email", ["a@example.com", ""]), {}), "values[1]"),
        ((("email", ["a,b@example.com"]), {}), "values[0]"),
        ((("", ["x"]), {}), "filter_type"),
        ((("email", ["x"]), {"fields": []}), "fields"),
        ((("email", ["x"]), {"fields": ["ok", "bad name"]}), "fields[1]"),
        ((("email", ["x"]), {"batch_size": 301}), "batch_size"),
    ],
)
async def test_by_filter_refuses_bad_arguments_before_any_call(
    router: respx.Router, leads: Any, arguments: Any, named: str
) -> None:
    args, kwargs = arguments
    with pytest.raises(ValueError, match=r"^" + re.escape(named)):
        leads.by_filter(*args, **kwargs)
    assert no_api_calls(router)


async def test_by_list_uses_the_plural_path_and_stops_without_more_result(
    router: respx.Router, leads: Any
) -> None:
    route = router.get("/rest/v1/lists/1001/leads.json").respond(
        json=ok(LIST_LEADS, nextPageToken=LIST_TOKEN)
    )
    found = await leads.by_list(1001, fields=["email", "firstName", "postalCode"], batch_size=3)
    assert [lead.id for lead in found] == [50, 2343, 88498]
    assert found[0]["postalCode"] == "04828"
    assert found.next_page_token == LIST_TOKEN and not found.more
    assert len(await leads.by_list(1001).collect()) == 3
    assert route.call_count == 2
    assert query_of(route.calls[0].request) == [
        ("fields", "email,firstName,postalCode"),
        ("batchSize", "3"),
    ]


async def test_by_program_types_the_membership(router: respx.Router, leads: Any) -> None:
    route = router.get("/rest/v1/leads/programs/1107.json").respond(
        json=ok(PROGRAM_LEADS, nextPageToken=PROGRAM_TOKEN)
    )
    meera, jon, lyanna = await leads.by_program(1107, batch_size=3)
    assert meera["firstName"] == "Meera" and lyanna.email == "lmor@housestark.com"
    assert jon.membership == ProgramMembership(
        id=1127,
        progression_status="Visited",
        progression_status_type="Visited",
        is_exhausted=False,
        acquired_by=True,
        reached_success=False,
        membership_date=dt.datetime(2020, 4, 21, 16, 27, 16, tzinfo=UTC),
        updated_at=dt.datetime(2020, 4, 21, 16, 27, 16, tzinfo=UTC),
    )
    assert jon.membership.program_id == 1127
    assert query_of(route.calls.last.request) == [("batchSize", "3")]
    await leads.by_program(1107, fields=["email"])
    assert query_of(route.calls.last.request) == [("fields", "email,membership")]


async def test_by_program_reads_engagement_fields(router: respx.Router, leads: Any) -> None:
    engaged = _member(5, "A", "B", "a@example.com")
    engaged["membership"].update(stream="Default", nurtureCadence="norm", isExhausted=True)
    router.get("/rest/v1/leads/programs/9.json").respond(json=ok([engaged]))
    (lead,) = await leads.by_program(9)
    assert lead.membership.stream == "Default"
    assert lead.membership.nurture_cadence == "norm" and lead.membership.is_exhausted is True


async def test_lists_of_pages_list_memberships(router: respx.Router, leads: Any) -> None:
    route = router.get("/rest/v1/leads/318581/listMembership.json").mock(
        side_effect=[
            httpx.Response(
                200,
                json=ok(
                    LISTS_OF, nextPageToken="BFRV7OMVSNJWDVKVTUFS3XHT4E======", moreResult=True
                ),
            ),
            httpx.Response(200, json=ok([], moreResult=False)),
        ]
    )
    found = await leads.lists_of(318581, batch_size=3).collect()
    assert found[0] == ListMembership(
        list_id=3379,
        created_at=dt.datetime(2016, 5, 17, 19, 32, 44, tzinfo=UTC),
        updated_at=dt.datetime(2016, 5, 17, 19, 32, 44, tzinfo=UTC),
    )
    assert [m.list_id for m in found] == [3379, 2792, 42]
    assert [strict_converter.structure(m, ListMembership) for m in LISTS_OF] == found
    first, second = (query_of(call.request) for call in route.calls)
    assert first == [("batchSize", "3")]
    assert second == [("batchSize", "3"), ("nextPageToken", "BFRV7OMVSNJWDVKVTUFS3XHT4E======")]


async def test_programs_of_filters_by_program_and_dates(router: respx.Router, leads: Any) -> None:
    route = router.get("/rest/v1/leads/318581/programMembership.json").respond(
        json=ok(PROGRAMS_OF, moreResult=False)
    )
    (membership,) = await leads.programs_of(
        318581,
        program_ids=[1044, 1045],
        earliest_updated_at=dt.datetime(2016, 5, 1, tzinfo=UTC),
        latest_updated_at="2016-06-01T00:00:00Z",
    )
    assert membership == strict_converter.structure(PROGRAMS_OF[0], ProgramMembership)
    assert membership.program_id == 1044 and membership.progression_status == "Sent"
    assert membership.membership_date == dt.datetime(2016, 5, 27, 19, 50, 29, tzinfo=UTC)
    assert query_of(route.calls.last.request) == [
        ("earliestUpdatedAt", "2016-05-01T00:00:00Z"),
        ("latestUpdatedAt", "2016-06-01T00:00:00Z"),
        ("filterType", "programId"),
        ("filterValues", "1044,1045"),
    ]
    await leads.programs_of(318581)
    assert query_of(route.calls.last.request) == []


async def test_smart_campaigns_of(router: respx.Router, leads: Any) -> None:
    route = router.get("/rest/v1/leads/318581/smartCampaignMembership.json").respond(
        json=ok(CAMPAIGNS_OF, nextPageToken="TNGAH3NKDUFDHNXUVGTNBXJCQM======", moreResult=False)
    )
    found = await leads.smart_campaigns_of(318581, batch_size=3)
    assert [c.smart_campaign_id for c in found] == [3746, 3678, 3680]
    assert found[0] == SmartCampaignMembership(
        smart_campaign_id=3746,
        created_at=dt.datetime(2018, 6, 1, 18, 0, 4, tzinfo=UTC),
        updated_at=dt.datetime(2018, 6, 1, 18, 0, 6, tzinfo=UTC),
    )
    assert query_of(route.calls.last.request) == [("batchSize", "3")]


@pytest.mark.parametrize("bad", [0, -5, True, "abc", 1.5, None])
async def test_ids_must_be_positive_integers(router: respx.Router, leads: Any, bad: Any) -> None:
    with pytest.raises(ValueError, match=r"^id must be a positive integer"):
        await leads.get(bad)
    with pytest.raises(ValueError, match=r"^id must be"):
        leads.lists_of(bad)
    with pytest.raises(ValueError, match=r"^list_id must be"):
        leads.by_list(bad)
    with pytest.raises(ValueError, match=r"^program_id must be"):
        leads.by_program(bad)
    with pytest.raises(ValueError, match=r"^program_ids\[1\] must be"):
        leads.programs_of(1, program_ids=[2, bad])
    with pytest.raises(ValueError, match=r"^lead_id must be"):
        await leads.associate(bad, FORM_COOKIE)
    assert no_api_calls(router)


# ---- sync -------------------------------------------------------------------------------------


async def test_sync_sends_the_seed_create_only_call(router: respx.Router, leads: Any) -> None:
    route = router.post("/rest/v1/leads.json").respond(json=ok(CREATED))
    report = await leads.sync(CREATE_ONLY_INPUT, action="createOnly")
    assert json_of(route.calls.last.request) == {
        "action": "createOnly",
        "lookupField": "email",
        "input": CREATE_ONLY_INPUT,
    }
    assert query_of(route.calls.last.request) == []
    assert report.ok and report.counts == {"created": 3}
    assert [(o.index, o.status, o.id) for o in report.outcomes] == [
        (0, "created", 50),
        (1, "created", 51),
        (2, "created", 52),
    ]


async def test_sync_passes_partition_and_async_processing(router: respx.Router, leads: Any) -> None:
    route = router.post("/rest/v1/leads.json").respond(json=ok([{"id": 1, "status": "updated"}]))
    when = dt.datetime(2024, 1, 31, 8, tzinfo=UTC)
    await leads.sync(
        [{"email": "a@example.com", "acmeSince": when}],
        partition_name="Europe",
        async_processing=True,
    )
    assert json_of(route.calls.last.request) == {
        "action": "createOrUpdate",
        "lookupField": "email",
        "partitionName": "Europe",
        "asyncProcessing": True,
        "input": [{"email": "a@example.com", "acmeSince": "2024-01-31T08:00:00Z"}],
    }


async def test_sync_fails_bad_records_locally_and_sends_the_rest(
    router: respx.Router, leads: Any
) -> None:
    route = router.post("/rest/v1/leads.json").respond(
        json=ok(
            [
                {"id": 7, "status": "updated"},
                {
                    "status": "skipped",
                    "reasons": [{"code": "1006", "message": "Field 'nope' not found"}],
                },
            ]
        )
    )
    records = [
        {"firstName": "no email"},
        {"email": "ok@example.com"},
        {"email": "jös@example.com"},
        {"email": "x@example.com", "id": 5},
        "not a record",
        {"email": "y@example.com", "nope": 1},
    ]
    report = await leads.sync(records)
    assert json_of(route.calls.last.request)["input"] == [records[1], records[5]]
    statuses = [o.status for o in report.outcomes]
    assert statuses == ["failed", "updated", "failed", "failed", "failed", "skipped"]
    assert all(r.code == LOCAL_VALIDATION for i in (0, 2, 3, 4) for r in report.outcomes[i].reasons)
    assert "lookup field 'email'" in report.outcomes[0].reasons[0].message
    assert "ASCII" in report.outcomes[2].reasons[0].message
    assert report.outcomes[5].reasons == (Reason("1006", "Field 'nope' not found"),)
    assert not report.ok


async def test_sync_update_only_by_id(router: respx.Router, leads: Any) -> None:
    route = router.post("/rest/v1/leads.json").respond(json=ok([{"id": 5, "status": "updated"}]))
    report = await leads.sync(
        [{"id": 5, "city": "Oslo"}, {"id": "x"}], action="updateOnly", lookup_field="id"
    )
    assert json_of(route.calls.last.request) == {
        "action": "updateOnly",
        "lookupField": "id",
        "input": [{"id": 5, "city": "Oslo"}],
    }
    assert [o.status for o in report.outcomes] == ["updated", "failed"]


async def test_sync_create_duplicate_is_never_resent_after_an_ambiguous_failure(
    router: respx.Router, leads: Any
) -> None:
    route = router.post("/rest/v1/leads.json").mock(
        side_effect=[httpx.Response(502, text="Bad Gateway"), httpx.Response(200, json=ok(CREATED))]
    )
    report = await leads.sync(
        [{"email": "a@example.com"}, {"firstName": "no email is fine"}], action="createDuplicate"
    )
    assert route.call_count == 1
    assert [o.status for o in report.outcomes] == ["unknown", "unknown"]
    assert isinstance(report.outcomes[0].error, AmbiguousWriteError)
    assert "check them in Marketo" in report.summary()


async def test_sync_create_or_update_is_retried_after_a_502(
    router: respx.Router, leads: Any
) -> None:
    route = router.post("/rest/v1/leads.json").mock(
        side_effect=[
            httpx.Response(502, text="Bad Gateway"),
            httpx.Response(200, json=ok([{"id": 1, "status": "created"}])),
        ]
    )
    report = await leads.sync([{"email": "a@example.com"}])
    assert route.call_count == 2 and report.ok


async def test_sync_same_email_in_other_case_goes_in_a_later_call(
    router: respx.Router, leads: Any
) -> None:
    route = router.post("/rest/v1/leads.json").mock(
        side_effect=lambda request: httpx.Response(
            200,
            json=ok([{"id": 1, "status": "updated"} for _ in json.loads(request.content)["input"]]),
        )
    )
    outcomes: list[Any] = []
    progress: list[tuple[int, int | None]] = []
    report = await leads.sync(
        [{"email": "Ann@Example.com"}, {"email": "bob@example.com"}, {"email": "ann@example.COM"}],
        on_outcome=outcomes.append,
        on_progress=lambda done, total: progress.append((done, total)),
    )
    inputs = [json.loads(call.request.content)["input"] for call in route.calls]
    assert inputs == [
        [{"email": "Ann@Example.com"}, {"email": "bob@example.com"}],
        [{"email": "ann@example.COM"}],
    ]
    assert report.ok and len(outcomes) == 3 and progress[-1] == (3, 3)


async def test_sync_coalesce_merges_consecutive_same_key_records(
    router: respx.Router, leads: Any
) -> None:
    route = router.post("/rest/v1/leads.json").respond(json=ok([{"id": 1, "status": "created"}]))
    report = await leads.sync(
        [{"email": "a@example.com", "firstName": "A"}, {"email": "A@example.com", "city": "Oslo"}],
        coalesce=True,
    )
    assert json_of(route.calls.last.request)["input"] == [
        {"email": "A@example.com", "firstName": "A", "city": "Oslo"}
    ]
    assert report.outcomes[1].merged_into == 0


async def test_sync_streams_an_async_iterable(router: respx.Router, leads: Any) -> None:
    router.post("/rest/v1/leads.json").respond(
        json=ok([{"id": 1, "status": "created"}, {"id": 2, "status": "created"}])
    )

    async def rows() -> AsyncIterator[dict[str, Any]]:
        yield {"email": "a@example.com"}
        yield {"email": "b@example.com"}

    report = await leads.sync(rows())
    assert report.counts == {"created": 2}


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"action": "upsert"}, "action"),
        ({"lookup_field": ""}, "lookup_field"),
        ({"lookup_field": "e-mail"}, "lookup_field"),
        ({"partition_name": ""}, "partition_name"),
        ({"action": "updateOnly", "partition_name": "Europe"}, "partition_name"),
        ({"action": "createDuplicate", "coalesce": True}, "coalesce"),
        ({"lookup_field": "id"}, "lookup_field 'id' works only with action 'updateOnly'"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
async def test_sync_refuses_bad_arguments_before_any_call(
    router: respx.Router, leads: Any, kwargs: dict[str, Any], named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        await leads.sync([{"email": "a@example.com"}], **kwargs)
    with pytest.raises(ValueError, match="records"):
        await leads.sync({"email": "a@example.com"})
    assert no_api_calls(router)


# ---- push, forms ------------------------------------------------------------------------------


async def test_push_sends_the_seed_body(router: respx.Router, leads: Any) -> None:
    route = router.post("/rest/v1/leads/push.json").respond(
        json={
            "requestId": "939079529805",
            "success": True,
            "warnings": [],
            "result": PUSHED,
        }
    )
    report = await leads.push(
        PUSH_INPUT,
        program_name="Big Blue Thing Product Launch",
        source="Cool Sales Site",
        reason="Downloaded pricing sheet",
    )
    assert json_of(route.calls.last.request) == {
        "programName": "Big Blue Thing Product Launch",
        "lookupField": "email",
        "source": "Cool Sales Site",
        "reason": "Downloaded pricing sheet",
        "input": PUSH_INPUT,
    }
    assert [(o.status, o.id) for o in report.outcomes] == [
        ("created", 483894),
        ("updated", 1087425),
    ]


async def test_push_a_result_without_status_is_unknown(router: respx.Router, leads: Any) -> None:
    # The seed's third result: reasons but no status.
    odd = {"id": 3525, "reasons": [{"code": "501", "message": "Bad stuff happened"}]}
    router.post("/rest/v1/leads/push.json").respond(json=ok([odd]))
    report = await leads.push([{"email": "a@example.com"}], program_name="P")
    (outcome,) = report.outcomes
    assert outcome.status == "unknown" and outcome.id == 3525
    assert Reason("501", "Bad stuff happened") in outcome.reasons


async def test_push_by_mkt_token_with_status_and_partition(
    router: respx.Router, leads: Any
) -> None:
    route = router.post("/rest/v1/leads/push.json").mock(
        side_effect=[httpx.Response(504, text="Gateway Timeout")]
    )
    records = [{"mktToken": "<tokenValue>", "firstName": "Thelma"}, {"firstName": "Louise"}]
    report = await leads.push(
        records,
        program_name="Big Blue Thing Product Launch",
        lookup_field="mktToken",
        program_status="Registered",
        partition_name="Europe",
    )
    body = json_of(route.calls.last.request)
    assert body["lookupField"] == "mktToken" and body["programStatus"] == "Registered"
    assert body["partitionName"] == "Europe" and body["input"] == [records[0]]
    assert route.call_count == 1  # push is never resent after it may have applied
    assert [o.status for o in report.outcomes] == ["unknown", "failed"]


async def test_push_refuses_a_missing_program_name(router: respx.Router, leads: Any) -> None:
    with pytest.raises(ValueError, match="program_name"):
        await leads.push([{"email": "a@example.com"}], program_name=" ")
    assert no_api_calls(router)


async def test_submit_form_sends_the_seed_body(router: respx.Router, leads: Any) -> None:
    route = router.post("/rest/v1/leads/submitForm.json").respond(
        json={
            "requestId": "10667#173bc585ca5",
            "result": [{"id": 319174, "status": "updated"}],
            "success": True,
        }
    )
    outcome = await leads.submit_form(
        1029,
        FORM_FIELDS,
        visitor_data=strict_converter.structure(VISITOR, VisitorData),
        cookie=FORM_COOKIE,
    )
    assert json_of(route.calls.last.request) == {
        "formId": 1029,
        "input": [{"leadFormFields": FORM_FIELDS, "visitorData": VISITOR, "cookie": FORM_COOKIE}],
    }
    assert (outcome.status, outcome.id, outcome.applied) == ("updated", 319174, True)


async def test_submit_form_with_program_and_a_skip(router: respx.Router, leads: Any) -> None:
    route = router.post("/rest/v1/leads/submitForm.json").respond(
        json=ok(
            [{"status": "skipped", "reasons": [{"code": "1006", "message": "Field 'x' not found"}]}]
        )
    )
    outcome = await leads.submit_form(
        7, {"email": "a@example.com"}, program_id=1044, visitor_data={"pageURL": "https://x.io"}
    )
    assert json_of(route.calls.last.request) == {
        "formId": 7,
        "input": [
            {
                "leadFormFields": {"email": "a@example.com"},
                "visitorData": {"pageURL": "https://x.io"},
            }
        ],
        "programId": 1044,
    }
    assert outcome.status == "skipped" and not outcome.applied
    assert outcome.reasons == (Reason("1006", "Field 'x' not found"),)


async def test_submit_form_is_never_resent(router: respx.Router, leads: Any) -> None:
    route = router.post("/rest/v1/leads/submitForm.json").respond(502, text="Bad Gateway")
    with pytest.raises(AmbiguousWriteError):
        await leads.submit_form(7, {"email": "a@example.com"})
    assert route.call_count == 1


@pytest.mark.parametrize(
    ("args", "kwargs", "named"),
    [
        ((1029, {"firstName": "Marge"}), {}, "fields"),
        ((1029, {"email": ""}), {}, "fields"),
        ((1029, {"email": "é@example.com"}), {}, "fields"),
        ((0, {"email": "a@example.com"}), {}, "form_id"),
        ((1029, {"email": "a@example.com"}), {"program_id": -1}, "program_id"),
        ((1029, {"email": "a@example.com", "bad name": 1}), {}, "fields"),
        ((1029, {"email": "a@example.com"}), {"cookie": ""}, "cookie"),
    ],
)
async def test_submit_form_refuses_bad_arguments(
    router: respx.Router, leads: Any, args: Any, kwargs: Any, named: str
) -> None:
    with pytest.raises(ValueError, match=f"^{named}"):
        await leads.submit_form(*args, **kwargs)
    assert no_api_calls(router)


# ---- delete, merge, associate -----------------------------------------------------------------


async def test_delete_sends_the_seed_body(router: respx.Router, leads: Any) -> None:
    route = router.post("/rest/v1/leads/delete.json").respond(
        json={"requestId": "3608#16664333670", "result": DELETED, "success": True}
    )
    report = await leads.delete([235, "766"])
    assert json_of(route.calls.last.request) == {"input": [{"id": 235}, {"id": 766}]}
    assert [(o.status, o.id) for o in report.outcomes] == [("deleted", 235), ("deleted", 766)]


async def test_delete_refuses_impossible_ids_per_record_naming_the_field(
    router: respx.Router, leads: Any
) -> None:
    route = router.post("/rest/v1/leads/delete.json").respond(
        json=ok([{"id": 235, "status": "deleted"}, {"id": 766, "status": "deleted"}])
    )
    report = await leads.delete([235, -1, 2**70, True, 766])
    assert json_of(route.calls.last.request) == {"input": [{"id": 235}, {"id": 766}]}
    assert [o.status for o in report.outcomes] == [
        "deleted",
        "failed",
        "failed",
        "failed",
        "deleted",
    ]
    refused = report.outcomes[2].reasons[0].message
    assert "record 2: field 'id' must be a positive integer id of at most 32 bits" in refused
    assert str(2**70) in refused


async def test_delete_of_one_id_not_in_a_list_is_refused(router: respx.Router, leads: Any) -> None:
    with pytest.raises(ValueError, match=r"^ids"):
        await leads.delete(235)
    assert no_api_calls(router)


async def test_delete_streamed_bad_ids_fail_alone(router: respx.Router, leads: Any) -> None:
    route = router.post("/rest/v1/leads/delete.json").respond(
        json=ok([{"id": 235, "status": "deleted"}])
    )

    async def ids() -> AsyncIterator[Any]:
        yield 235
        yield "nope"

    report = await leads.delete(ids())
    assert json_of(route.calls.last.request) == {"input": [{"id": 235}]}
    assert [o.status for o in report.outcomes] == ["deleted", "failed"]


async def test_merge_one_loser_uses_lead_id(router: respx.Router, leads: Any) -> None:
    route = router.post("/rest/v1/leads/1000/merge.json").respond(
        json={"requestId": "e42b#14272d07d78", "success": True}
    )
    assert await leads.merge(1000, [1324]) is None
    request = route.calls.last.request
    assert query_of(request) == [("leadId", "1324")]
    assert request.content == b""


async def test_merge_many_losers_in_crm(router: respx.Router, leads: Any) -> None:
    route = router.post("/rest/v1/leads/1000/merge.json").respond(json=ok())
    await leads.merge(1000, range(1001, 1026), merge_in_crm=True)
    assert query_of(route.calls.last.request) == [
        ("leadIds", ",".join(str(n) for n in range(1001, 1026))),
        ("mergeInCRM", "true"),
    ]


async def test_merge_is_never_resent(router: respx.Router, leads: Any) -> None:
    route = router.post("/rest/v1/leads/1000/merge.json").respond(503, text="busy")
    with pytest.raises(AmbiguousWriteError):
        await leads.merge(1000, 1324)
    assert route.call_count == 1


@pytest.mark.parametrize(
    ("winner", "losers", "message"),
    [
        (1000, range(1, 27), "^loser_ids holds 26 leads"),
        (1000, [], "^loser_ids is empty"),
        (1000, [1000], "^loser_ids must not hold the winner"),
        (1000, [5, 0], r"^loser_ids\[1\]"),
        (1000, "5", "^loser_ids"),
        (0, [5], "^winner_id"),
    ],
)
async def test_merge_refuses_bad_arguments(
    router: respx.Router, leads: Any, winner: Any, losers: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await leads.merge(winner, losers)
    assert no_api_calls(router)


async def test_associate_percent_encodes_the_cookie(router: respx.Router, leads: Any) -> None:
    route = router.post("/rest/v1/leads/318581/associate.json").respond(
        json={"requestId": "e42b#14272d07d78", "success": True}
    )
    cookie = "id:287-GTJ-838&token:_mch-marketo.com-1396310362214-46169"
    await leads.associate(318581, cookie)
    request = route.calls.last.request
    raw = request.url.query.decode()
    assert raw.startswith("cookie=") and raw.count("=") == 1 and "&" not in raw
    assert "%26token" in raw
    assert query_of(request) == [("cookie", cookie)]
    # The docs' already-encoded form is accepted too, and not encoded twice.
    await leads.associate(318581, "id:287-GTJ-838%26token:_mch-marketo.com-1396310362214-46169")
    assert query_of(route.calls.last.request) == [("cookie", cookie)]


# ---- partitions -------------------------------------------------------------------------------


async def test_partitions(router: respx.Router, leads: Any) -> None:
    result = [
        {"id": 1, "name": "Default", "description": "Initial system partition"},
        {"id": 2, "name": "Europe"},
    ]
    router.get("/rest/v1/leads/partitions.json").respond(json=ok(result))
    assert await leads.partitions() == [
        Partition(id=1, name="Default", description="Initial system partition"),
        Partition(id=2, name="Europe"),
    ]


async def test_update_partitions(router: respx.Router, leads: Any) -> None:
    route = router.post("/rest/v1/leads/partitions.json").respond(
        json=ok(
            [
                {"id": 5, "status": "updated"},
                {
                    "id": 6,
                    "status": "skipped",
                    "reasons": [{"code": "1008", "message": "Access denied to partition 'Mars'"}],
                },
            ]
        )
    )
    report = await leads.update_partitions({5: "Europe", 6: "Mars"})
    assert json_of(route.calls.last.request) == {
        "input": [{"id": 5, "partitionName": "Europe"}, {"id": 6, "partitionName": "Mars"}]
    }
    assert [o.status for o in report.outcomes] == ["updated", "skipped"]
    with pytest.raises(ValueError, match="assignments"):
        await leads.update_partitions([(5, "")])
    refused = await leads.update_partitions([(0, "Europe"), (2**40, "Europe")])
    assert [o.status for o in refused.outcomes] == ["failed", "failed"]
    assert "field 'id' must be a positive integer id" in refused.outcomes[1].reasons[0].message
    assert route.call_count == 1


# ---- fleet-wide key leases --------------------------------------------------------------------


class RecordingLeases:
    """A KeyLeases that grants every key and remembers the names asked for."""

    def __init__(self) -> None:
        self.names: list[str] = []

    async def acquire(self, keys: Any) -> frozenset[str]:
        self.names.extend(keys)
        return frozenset(keys)

    async def release(self, keys: Any) -> None:
        return None

    @contextlib.asynccontextmanager
    async def holding(self, keys: Any) -> AsyncIterator[frozenset[str]]:
        held = await self.acquire(keys)
        try:
            yield held
        finally:
            await self.release(held)


async def test_sync_and_push_lease_keys_by_lookup_field(router: respx.Router, mk: Any) -> None:
    leases = RecordingLeases()
    fleet = Leads(Api(request=mk.request, key_leases=leases))
    answer = ok([{"id": 1, "status": "created"}])
    router.post("/rest/v1/leads.json").respond(json=answer)
    router.post("/rest/v1/leads/push.json").respond(json=answer)
    await fleet.sync([{"email": "a@example.com"}])
    await fleet.push(
        [{"mktToken": "tok", "firstName": "T"}], program_name="P", lookup_field="mktToken"
    )
    await fleet.sync([{"email": "a@example.com"}], action="createDuplicate")
    assert [name.rsplit(":", 1)[0] for name in leases.names] == ["leads:email", "leads:mktToken"]
