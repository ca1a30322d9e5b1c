"""``serve``'s fault options: seeded faults hit the same calls every run; a value the emulator
refuses is a usage error."""

from __future__ import annotations

import pytest

from marketo_async.testing import FakeMarketo
from marketo_async.testing.__main__ import _activity_settings, _parser, main


def _faulted_calls(*options: str) -> list[int]:
    args = _parser().parse_args(["serve", "--fault-rate", "0.2", *options])
    fake = FakeMarketo()
    _activity_settings(fake, args)
    return [n for n in range(200) if fake.faults.take("GET", "/rest/v1/leads.json") is not None]


def test_a_fault_seed_makes_the_same_calls_fail_in_every_run() -> None:
    first = _faulted_calls("--fault-seed", "30")
    assert first == _faulted_calls("--fault-seed", "30")
    assert 10 < len(first) < 80  # about a fifth of 200 calls
    assert first != _faulted_calls("--fault-seed", "31")


@pytest.mark.parametrize(
    "options",
    [
        ["--fault-rate", "2"],
        ["--fault-rate", "0.1", "--fault-paths", "["],
        ["--short-pages", "5"],
        ["--cut-downloads", "3"],
    ],
)
def test_serve_refuses_an_option_value_the_emulator_cannot_take_as_a_usage_error(
    options: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--port", "0", *options])
    assert exited.value.code == 2
    assert "Traceback" not in capsys.readouterr().err
