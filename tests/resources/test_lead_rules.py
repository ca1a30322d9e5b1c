"""A lead record's rules: its normalised lookup key, and what is refused before sending."""

from __future__ import annotations

from typing import Any

import pytest

from marketo_async.resources._lead_rules import lookup_key, validate_lead

Record = dict[str, Any]


@pytest.mark.parametrize(
    ("action", "lookup_field", "record", "problem"),
    [
        ("createOrUpdate", "email", {"email": "a@x.com"}, None),
        ("createOrUpdate", "email", {"email": None}, "no value for lookup field 'email'"),
        ("createOnly", "email", {"email": "é@x.com"}, "field 'email' has non-ASCII"),
        ("updateOnly", "id", {"id": 12}, None),
        ("updateOnly", "id", {"id": "12"}, None),
        ("updateOnly", "id", {"id": "twelve"}, "field 'id' must be a positive integer id"),
        ("updateOnly", "id", {"id": 1.5}, "field 'id' must be a positive integer id"),
        ("updateOnly", "id", {"id": 0}, "not 0"),
        ("updateOnly", "id", {"id": -1}, "not -1"),
        ("updateOnly", "id", {"id": 2**31}, "(1 to 2,147,483,647)"),
        ("updateOnly", "id", {"id": 2**63}, "(1 to 2,147,483,647)"),
        ("updateOnly", "id", {"id": "0"}, "not '0'"),
        ("updateOnly", "email", {"email": "a@x.com", "id": 2**70}, "field 'id' must be"),
        ("createOrUpdate", "email", {"email": "a@x.com", "score": 2**70}, "beyond any number"),
        ("createOrUpdate", "email", {"email": "a@x.com", "city": {"a": 1}}, "holds a dict"),
        ("createOrUpdate", "email", {"email": "a@x.com", "tags": ["a"]}, "holds a list"),
        ("updateOnly", "id", {"id": True}, "no value for lookup field 'id'"),
        ("createOrUpdate", "id", {"id": 12}, "field 'id' is allowed only with action"),
        ("createOnly", "email", {"email": "a@x.com", "id": 3}, "(Marketo answers 1003)"),
        ("updateOnly", "email", {"email": "a@x.com", "id": 3}, None),
    ],
)
def test_validate_lead(action: str, lookup_field: str, record: Record, problem: str | None) -> None:
    reason = validate_lead(action, lookup_field)(9, record)
    if problem is None:
        assert reason is None
    else:
        assert reason is not None and reason.startswith("record 9: ") and problem in reason


@pytest.mark.parametrize(
    ("record", "field", "key"),
    [
        ({"email": "  Ann.Lee@Example.COM "}, "email", "ann.lee@example.com"),
        ({"email": "STRASSE@x.com"}, "email", "strasse@x.com"),
        ({"email": ""}, "email", None),
        ({}, "email", None),
        ({"id": 42}, "id", 42),
        ({"id": " 42 "}, "id", 42),
        ({"leadId": "7"}, "leadId", 7),
        ({"sfdcId": " 00Q1 "}, "sfdcId", "00Q1"),
        ({"score": 12}, "score", 12),
    ],
)
def test_lookup_key_normalises(record: Record, field: str, key: str | int | None) -> None:
    assert lookup_key(record, field) == key


def test_a_non_record_and_create_duplicate_follow_the_same_rules() -> None:
    assert validate_lead("createOrUpdate", "email")(3, ["not", "a", "record"]) == (
        "record 3: not a mapping of field names to values (['not', 'a', 'record'])"
    )
    create_duplicate = validate_lead("createDuplicate", "email")
    assert create_duplicate(4, {"firstName": "no email is fine"}) is None
    refused = create_duplicate(5, {"email": "a@x.com", "id": 7})
    assert refused == (
        "record 5: field 'id' is allowed only with action 'updateOnly', not 'createDuplicate' "
        "(Marketo answers 1003)"
    )
