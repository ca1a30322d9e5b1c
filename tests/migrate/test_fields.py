"""The field map: defaults, --mapping overrides, and checking it against Marketo's describe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from marketo_async.migrate import (
    DEFAULT_FIELD_MAP,
    MappingError,
    load_mapping,
    merge_mapping,
    resolve,
)
from marketo_async.models.leads import FieldApiAccess, LeadFieldDescription


def _field(
    name: str, data_type: str = "string", *, read_only: bool = False
) -> LeadFieldDescription:
    return LeadFieldDescription(
        id=1,
        display_name=name,
        data_type=data_type,
        rest=FieldApiAccess(name=name, read_only=read_only),
    )


DESCRIBED = [
    _field("email", "email"),
    _field("firstName"),
    _field("lastName"),
    _field("company"),
    _field("leadScore", "integer"),
    _field("leadRole"),
    _field("updatedAt", "datetime", read_only=True),
]


def test_the_default_map_covers_the_standard_fields() -> None:
    for source, target in {
        "emailAddress": "email",
        "firstName": "firstName",
        "lastName": "lastName",
        "companyName": "company",
        "title": "title",
        "phoneNumber": "phone",
        "website": "website",
        "industry": "industry",
        "leadStatus": "leadStatus",
        "zipcode": "postalCode",
    }.items():
        assert DEFAULT_FIELD_MAP[source] == target


def test_overrides_rename_add_and_drop() -> None:
    merged = merge_mapping({"persona": "leadRole", "title": None, "companyName": "accountName"})
    assert merged["persona"] == "leadRole"
    assert "title" not in merged
    assert merged["companyName"] == "accountName"


@pytest.mark.parametrize("overrides", [{"emailAddress": None}, {"emailAddress": "secondaryEmail"}])
def test_email_must_still_map_to_email(overrides: dict[str, str | None]) -> None:
    with pytest.raises(MappingError, match="emailAddress must map to email"):
        merge_mapping(overrides)


def test_two_sources_on_one_target_are_refused() -> None:
    with pytest.raises(MappingError, match="both map to phone"):
        merge_mapping({"officePhoneNumber": "phone"})


def test_resolve_keeps_writable_targets_with_their_types_and_notes_the_rest() -> None:
    resolved = resolve(
        {
            "emailAddress": "email",
            "companyName": "company",
            "leadScore": "leadScore",
            "industry": "industry",
            "updateTimestamp": "updatedAt",
        },
        DESCRIBED,
        source_fields=["emailAddress", "companyName", "persona"],
    )
    assert [(f.source, f.target, f.data_type) for f in resolved.fields] == [
        ("emailAddress", "email", "email"),
        ("companyName", "company", "string"),
        ("leadScore", "leadScore", "integer"),
    ]
    assert resolved.missing_targets == {"industry": "industry", "updateTimestamp": "updatedAt"}
    assert resolved.unmapped == ("persona",)


def test_a_user_mapping_to_a_missing_field_is_an_error() -> None:
    with pytest.raises(MappingError, match="persona -> nope"):
        resolve({"emailAddress": "email", "persona": "nope"}, DESCRIBED, strict=["persona"])


def test_every_bad_target_of_a_mapping_is_named_at_once_with_the_closest_field() -> None:
    mapping = {"emailAddress": "email", "persona": "compnay", "title": "leadScroe"}
    with pytest.raises(MappingError) as raised:
        resolve(mapping, DESCRIBED, strict=["persona", "title"])
    message = str(raised.value)
    assert "persona -> compnay (did you mean 'company'?)" in message
    assert "title -> leadScroe (did you mean 'leadScore'" in message


def test_the_record_leaves_empty_values_out_and_converts_the_rest() -> None:
    resolved = resolve(
        {"emailAddress": "email", "firstName": "firstName", "leadScore": "leadScore"}, DESCRIBED
    )
    record = resolved.record({"emailAddress": "a@b.c", "firstName": "", "leadScore": "7"})
    assert record == {"email": "a@b.c", "leadScore": 7}


def test_load_mapping_reads_a_json_object(tmp_path: Path) -> None:
    path = tmp_path / "map.json"
    path.write_text(json.dumps({"persona": "leadRole", "title": None}))
    assert load_mapping(path) == {"persona": "leadRole", "title": None}


@pytest.mark.parametrize(
    ("text", "message"),
    [("[1]", "one JSON object"), ("{", "not valid JSON"), ('{"a": 3}', "field name or null")],
)
def test_load_mapping_refuses_what_it_cannot_use(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "map.json"
    path.write_text(text)
    with pytest.raises(MappingError, match=message):
        load_mapping(path)
