"""The ``marketo-async`` command line: bulk loads with a per-row report, resume and a sandbox.

``marketo-async leads upsert leads.csv --sandbox --report report.jsonl``; see
``marketo-async --help``.
"""

from ._main import cli, main

__all__ = ["cli", "main"]
