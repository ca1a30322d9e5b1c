"""Decoding answers: the provider's sample responses, partial failures, whole-call errors."""

from __future__ import annotations

import json

import pytest

from marketo_async import DailyQuotaExceeded, RateLimitError, Reason, TransientError
from marketo_async.leadgen import (
    LeadGenAuthenticationError,
    LeadGenDailyQuotaExceeded,
    LeadGenError,
    LeadGenNotFoundError,
    LeadGenRateLimitError,
    LeadGenRequestError,
    LeadGenTransientError,
)
from marketo_async.leadgen._envelope import decode_envelope, object_entries, read_entry
from marketo_async.leadgen._writes import CREATED, UPDATED, UPDATED_UNCHECKED
from marketo_async.leadgen.models import LeadGenField, LeadGenLead

# The provider's old PHP examples' "// Sample Response" blocks (research notes, section 3).
CREATE_SAMPLE = (
    b'{"result":{"creates":[{"success":true,"error":null,"id":321368066},'
    b'{"success":true,"error":null,"id":321368067}]},"error":[],"id":""}'
)
DATE_RANGE_SAMPLE = (
    b'{"result":{"lead":[{"id":"88038561794","accountID":"1234","ownerID":"5678",'
    b'"campaignID":null,"leadStatus":"open","leadScore":"18","active":"1",'
    b'"firstName":"Bob &amp; Jo","lastName":"O&#039;Neil","emailAddress":"bob@example.com",'
    b'"companyName":"&amp;lt;b&amp;gt;Acme","updateTimestamp":"2016-11-09 22:18:22",'
    b'"api_big_text_area_57f6638adc5b8":""}]},"error":null,"id":""}'
)
FIELDS_SAMPLE = (
    b'{"result":{"field":[{"id":"1234","relationship":"lead","systemName":'
    b'"api_big_text_area_57f6638adc5b8","label":"API Big Text Area","source":"API",'
    b'"dataType":"textarea","dataLength":"65535","isRequired":"0","isCustom":"1",'
    b'"isAvailableInContactManager":"1","isEditableInContactManager":"1",'
    b'"isAvailableInForms":"1","isActive":"1"}]},"error":null,"id":""}'
)


def test_create_sample_gives_one_created_entry_per_object_with_integer_ids() -> None:
    result = decode_envelope(200, CREATE_SAMPLE, method="createLeads", call_id="7")
    entries = object_entries(result, "creates")
    assert [read_entry(entry, applied="created") for entry in entries] == [
        ("created", 321368066, ()),
        ("created", 321368067, ()),
    ]


def test_date_range_sample_decodes_strings_and_html_once() -> None:
    result = decode_envelope(200, DATE_RANGE_SAMPLE, method="getLeadsDateRange", call_id="1")
    lead = LeadGenLead.from_api(result["lead"][0])
    assert lead.id == 88038561794
    assert lead["firstName"] == "Bob & Jo"
    assert lead["lastName"] == "O'Neil"
    assert lead["companyName"] == "&lt;b&gt;Acme"  # double-encoded by the UI: decoded once
    assert lead["leadScore"] == "18"
    assert lead["campaignID"] is None
    assert (
        lead.updated_at is not None and lead.updated_at.isoformat() == "2016-11-09T22:18:22+00:00"
    )


def test_fields_sample_reads_string_flags() -> None:
    result = decode_envelope(200, FIELDS_SAMPLE, method="getFields", call_id="1")
    field = LeadGenField.from_api(result["field"][0])
    assert field.system_name == "api_big_text_area_57f6638adc5b8"
    assert (field.id, field.is_custom, field.is_required, field.data_length) == (
        1234,
        True,
        False,
        65535,
    )


def test_error_list_repeating_failed_objects_is_not_a_failed_call() -> None:
    body = json.dumps(
        {
            "result": {
                "creates": [
                    {"success": True, "error": None, "id": 5},
                    {"success": False, "error": {"code": 301, "message": "Entry already exists"}},
                    {"success": "true", "error": None, "id": "7"},
                ]
            },
            # The failing object's error, repeated and renumbered: not mappable to an input.
            "error": [{"code": 301, "message": "Entry already exists", "data": None}],
            "id": "3",
        }
    ).encode()
    result = decode_envelope(200, body, method="createLeads", call_id="3")
    entries = object_entries(result, "creates")
    rules = CREATED
    found = rules.outcomes([None] * 4, entries)  # four objects sent, three answered
    assert found[0] == ("created", 5, ())
    assert found[1] == ("failed", None, (Reason("301", "Entry already exists"),))
    assert found[2] == ("created", 7, ())
    assert found[3][0] == "unknown" and found[3][2][0].code == "no-result"


def test_302_is_an_applied_update_and_updateleads_successes_are_unconfirmed() -> None:
    unchanged = {"success": False, "error": {"code": 302, "message": "No table rows affected"}}
    missing = {"success": False, "error": {"code": 404, "message": "Record does not exist"}}
    entries = [{"success": True, "error": None}, unchanged, missing, "garbled"]
    checked = UPDATED.outcomes([None] * 4, object_entries({"updates": entries}, "updates"))
    assert [status for status, _, _ in checked] == ["updated", "updated", "failed", "unknown"]
    unchecked = UPDATED_UNCHECKED.outcomes([None] * 3, entries[:3])
    assert [status for status, _, _ in unchecked] == ["unknown", "updated", "failed"]
    assert unchecked[0][2][0].code == "unconfirmed"


@pytest.mark.parametrize(
    ("code", "cls", "also"),
    [
        (105, LeadGenAuthenticationError, None),
        (106, LeadGenDailyQuotaExceeded, DailyQuotaExceeded),
        (107, LeadGenRateLimitError, RateLimitError),
        (204, LeadGenRequestError, None),
        (404, LeadGenNotFoundError, None),
        (999, LeadGenTransientError, TransientError),
        (12345, LeadGenError, None),
    ],
)
def test_whole_call_error_object_raises_its_class(
    code: int, cls: type[LeadGenError], also: type[Exception] | None
) -> None:
    body = json.dumps({"result": None, "error": {"code": code, "message": "m", "data": None}})
    with pytest.raises(cls) as caught:
        decode_envelope(200, body.encode(), method="getLeads", call_id="1")
    assert type(caught.value) is cls
    assert caught.value.code == str(code)
    assert caught.value.path == "getLeads"
    if also is not None:
        assert isinstance(caught.value, also)


def test_null_and_empty_list_both_mean_success() -> None:
    for error in ("null", "[]"):
        body = f'{{"result": {{"lead": []}}, "error": {error}, "id": "1"}}'.encode()
        assert decode_envelope(200, body, method="getLeads", call_id="1") == {"lead": []}


def test_http_401_text_is_an_authentication_error() -> None:
    text = b"Unable to determine clusterID from provided accountID/secretKey"
    with pytest.raises(LeadGenAuthenticationError, match="clusterID"):
        decode_envelope(401, text, method="getLeads", call_id="1")


def test_503_is_transient_and_not_applied_while_502_may_have_applied() -> None:
    with pytest.raises(LeadGenTransientError) as unavailable:
        decode_envelope(503, b"Service Unavailable", method="createLeads", call_id="1")
    assert unavailable.value.may_have_applied is False
    with pytest.raises(LeadGenTransientError) as gateway:
        decode_envelope(502, b"<html>Bad Gateway</html>", method="createLeads", call_id="1")
    assert gateway.value.may_have_applied is True


def test_non_json_200_and_a_foreign_id_are_transient_and_ambiguous() -> None:
    with pytest.raises(LeadGenTransientError) as garbled:
        decode_envelope(200, b"<html>oops</html>", method="createLeads", call_id="1")
    assert garbled.value.may_have_applied
    foreign = b'{"result": {}, "error": null, "id": "99"}'
    with pytest.raises(LeadGenTransientError, match="99"):
        decode_envelope(200, foreign, method="createLeads", call_id="1")


def test_a_read_lead_id_is_an_int_and_a_lead_cannot_be_made_without_one() -> None:
    lead = LeadGenLead.from_api({"id": "88038561794", "firstName": "Ada"})
    assert lead.id == 88038561794 and isinstance(lead.id, int)
    with pytest.raises(ValueError, match="its fields: firstName"):
        LeadGenLead({"firstName": "Ada"})
