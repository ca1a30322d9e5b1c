"""``python -m benchmarks --only NAME`` knows every benchmark the package ships."""

from __future__ import annotations

import importlib

from benchmarks.__main__ import BENCHMARKS, _selected


def test_only_accepts_the_lead_gen_and_migrate_benchmarks() -> None:
    assert _selected("leadgen,migrate") == ["leadgen", "migrate"]


def test_every_registered_benchmark_resolves_to_a_callable() -> None:
    for target in BENCHMARKS.values():
        module_name, _, function = target.partition(":")
        module = importlib.import_module(f"benchmarks.{module_name}")
        assert callable(getattr(module, function or "run"))
