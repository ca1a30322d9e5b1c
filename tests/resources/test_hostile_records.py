"""Property: records mixing lone surrogates, impossible ids, values no field can hold and
cells that do not convert to their field's type still get one outcome each, and no
exception leaves the write; only records that can be sent reach the server."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketo_async._batch import STATUSES
from marketo_async.cli._typed import TypeMismatch, typed_record
from marketo_async.resources._arguments import id_or_none
from marketo_async.testing import FakeMarketo
from tests.virtual_time import virtual_backend

TYPES = {"id": "integer", "leadScore": "integer", "rating": "float", "dateOfBirth": "date"}

_good_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
_lone_surrogate = st.sampled_from(["\ud800", "a\udc80b", "\udfff"])
_bad_id = st.sampled_from([0, -1, 2**31, 2**63, 2**70, "0", "-3", "1e3", True])
_unconvertible = st.sampled_from(["n/a", "31/02/1990", str(2**70), "", "nan", "1,5"])
_value = st.one_of(
    _good_text,
    st.integers(-(2**31), 2**31 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    _lone_surrogate,
    st.integers(2**63, 2**80),
    st.just(math.nan),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(_good_text, st.integers(), max_size=2),
    _unconvertible,
)
_record = st.fixed_dictionaries(
    {"email": st.one_of(st.integers(0, 40).map(lambda n: f"u{n}@x.com"), _lone_surrogate)},
    optional={
        "firstName": _value,
        "leadScore": _value,
        "dateOfBirth": _value,
        "rating": _value,
        "id": st.one_of(st.integers(1, 2**31 - 1), _bad_id),
        "k\ud800": _good_text,
    },
)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "anyio_backend", [virtual_backend("asyncio"), virtual_backend("trio")], ids=["asyncio", "trio"]
)
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    records=st.lists(_record, max_size=400),
    action=st.sampled_from(["createOrUpdate", "updateOnly", "createOnly"]),
)
async def test_hostile_records_get_one_outcome_each_and_never_raise(
    records: list[dict[str, Any]], action: str
) -> None:
    typed: list[Any] = []
    for record in records:  # what the CLI does to each row before the write
        try:
            typed.append(typed_record(TYPES)(record))
        except TypeMismatch:
            typed.append(record)  # refused by the CLI; the library must refuse or send it
    fake = FakeMarketo()
    async with fake.client() as client:
        report = await client.leads.sync(typed, action=action)  # type: ignore[arg-type]
    assert len(report.outcomes) == len(records)
    assert all(outcome.status in STATUSES for outcome in report.outcomes)
    for record, outcome in zip(typed, report.outcomes, strict=True):
        bad_text = any(
            isinstance(text, str) and not _encodable(text)
            for pair in record.items()
            for text in pair
        )
        bad_id = "id" in record and id_or_none(record["id"]) is None
        container = any(isinstance(value, (list, dict)) for value in record.values())
        if bad_text or bad_id or container:
            assert outcome.status == "failed" and outcome.reasons[0].code == "local-validation"
    for lead in fake.leads.values():  # nothing that cannot be sent reached the server
        assert all(_encodable(str(value)) for value in lead.values())


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
