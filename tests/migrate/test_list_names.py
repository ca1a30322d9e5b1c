"""Lead Gen & CRM list names arrive HTML-encoded, as its values do: Marketo gets them decoded."""

from __future__ import annotations

from marketo_async.testing import FakeLeadGen, FakeMarketo

from .conftest import Migrate


def test_an_html_encoded_list_name_becomes_a_decoded_marketo_list_name(
    lg: FakeLeadGen, mk: FakeMarketo, migrate: Migrate
) -> None:
    lead = lg.add_lead(emailAddress="a@example.com")
    lg.add_list(13, [lead], name="Webinar &amp; Events")  # as the API answers it
    result = migrate(lg, mk, "--lists")
    assert result.exit_code == 0, result.output
    assert [s.name for s in mk.store.lists.values()] == ["Webinar & Events"]
