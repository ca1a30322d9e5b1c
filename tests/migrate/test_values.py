"""Converting Lead Gen & CRM strings to Marketo field types, and telling usable emails."""

from __future__ import annotations

import pytest

from marketo_async.migrate import EMPTY, ConversionError, convert, email_problem


@pytest.mark.parametrize(
    "email", ["ada@example.com", "ADA@Example.COM", "a+tag@sub.example.co.uk", "x@y"]
)
def test_a_plausible_email_has_one_at_with_text_either_side(email: str) -> None:
    assert email_problem(email) is None


@pytest.mark.parametrize(
    ("email", "why"),
    [
        (None, "no email address"),
        ("", "no email address"),
        ("  ", "no email address"),
        ("ada.example.com", "not an address"),
        ("ada@@example.com", "not an address"),
        ("a@b@example.com", "not an address"),
        ("@example.com", "not an address"),
        ("ada@", "not an address"),
        (" ada@example.com", "whitespace"),
        ("ada @example.com", "whitespace"),
        ("ada@exa\tmple.com", "whitespace"),
    ],
)
def test_anything_else_is_not_usable_and_says_why(email: str | None, why: str) -> None:
    problem = email_problem(email)
    assert problem is not None and why in problem


@pytest.mark.parametrize(
    ("value", "data_type", "expected"),
    [
        ("O'Brien", "string", "O'Brien"),
        ("+1 555 0100", "phone", "+1 555 0100"),
        ("42", "integer", 42),
        ("42.0", "score", 42),
        ("-3", "integer", -3),
        ("12.5", "currency", 12.5),
        ("7", "float", 7.0),
        ("1", "boolean", True),
        ("0", "boolean", False),
        ("Yes", "boolean", True),
        ("2016-11-09 22:18:22", "datetime", "2016-11-09T22:18:22Z"),
        ("2016-11-09", "date", "2016-11-09"),
        ("2016-11-09 22:18:22", "date", "2016-11-09"),
    ],
)
def test_values_become_the_target_type(value: str, data_type: str, expected: object) -> None:
    converted = convert(value, data_type, source="s", target="t")
    assert converted == expected and type(converted) is type(expected)


@pytest.mark.parametrize("value", [None, "", "   "])
def test_an_empty_value_is_left_out_never_blanking_a_field(value: str | None) -> None:
    assert convert(value, "integer", source="s", target="t") is EMPTY


@pytest.mark.parametrize(
    ("value", "data_type"),
    [
        ("n/a", "integer"),
        ("4.5", "integer"),
        ("nan", "float"),
        ("inf", "currency"),
        ("maybe", "boolean"),
        ("09/11/2016", "date"),
        ("yesterday", "datetime"),
    ],
)
def test_a_value_the_type_cannot_hold_names_both_fields(value: str, data_type: str) -> None:
    with pytest.raises(ConversionError) as caught:
        convert(value, data_type, source="leadScore", target="score")
    assert "leadScore -> score" in str(caught.value)
    assert repr(value) in str(caught.value) and data_type in str(caught.value)
