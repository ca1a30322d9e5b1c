from __future__ import annotations

import datetime as dt

import attrs
import cattrs
import pytest

from marketo_async.models import converter, format_datetime, parse_datetime, strict_converter

UTC = dt.timezone.utc


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2015-05-07T11:47:30-08:00", dt.datetime(2015, 5, 7, 19, 47, 30, tzinfo=UTC)),
        ("2016-05-17T22:11:45Z", dt.datetime(2016, 5, 17, 22, 11, 45, tzinfo=UTC)),
        ("2017-07-27T01:38:33Z+0000", dt.datetime(2017, 7, 27, 1, 38, 33, tzinfo=UTC)),
        ("2017-07-27T01:38:33+0000", dt.datetime(2017, 7, 27, 1, 38, 33, tzinfo=UTC)),
        ("2020-02-29", dt.datetime(2020, 2, 29, tzinfo=UTC)),
    ],
)
def test_every_marketo_datetime_form_parses(text: str, expected: dt.datetime) -> None:
    parsed = parse_datetime(text)
    assert parsed == expected
    assert parsed.tzinfo is not None


@pytest.mark.parametrize(
    "text", ["2016-13-17T22:11:45Z", "2016-05-17T25:11:45Z", "2016-05-17T22:11:4xZ"]
)
def test_an_impossible_time_in_the_usual_z_form_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_datetime(text)


def test_format_datetime_drops_milliseconds() -> None:
    value = dt.datetime(2024, 1, 31, 8, 0, 0, 123456, tzinfo=UTC)
    assert format_datetime(value) == "2024-01-31T08:00:00Z"
    offset = dt.timezone(dt.timedelta(hours=-6))
    assert (
        format_datetime(dt.datetime(2024, 1, 31, 8, tzinfo=offset)) == "2024-01-31T08:00:00-06:00"
    )
    assert format_datetime(dt.datetime(2024, 1, 31, 8)) == "2024-01-31T08:00:00Z"


@attrs.frozen
class Sample:
    list_id: int
    created_at: dt.datetime
    computed_url: str | None = None
    odd: str | None = attrs.field(default=None, metadata={"wire": "ODD_name"})


def test_converter_maps_camel_case_both_ways() -> None:
    raw = {"listId": 7, "createdAt": "2016-05-17T22:11:45Z", "ODD_name": "x", "unknown": 1}
    sample = converter.structure(raw, Sample)
    assert sample == Sample(7, dt.datetime(2016, 5, 17, 22, 11, 45, tzinfo=UTC), None, "x")
    assert converter.unstructure(sample) == {
        "listId": 7,
        "createdAt": "2016-05-17T22:11:45Z",
        "ODD_name": "x",
    }


def test_strict_converter_rejects_unknown_keys() -> None:
    with pytest.raises(cattrs.ClassValidationError):
        strict_converter.structure({"listId": 7, "createdAt": "2016-05-17Z", "new": 1}, Sample)
