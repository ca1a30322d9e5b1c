"""``serve --fault-seed``: the served emulator's random faults hit the same calls every run."""

from __future__ import annotations

from marketo_async.testing import FakeMarketo
from marketo_async.testing.__main__ import _activity_settings, _parser


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
