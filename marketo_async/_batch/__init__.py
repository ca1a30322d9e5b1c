"""The batch engine: any-size writes sent as API-sized calls, one outcome per input record.

Every write that takes many records (``leads.sync``, ``static_lists.add_leads``, ...) hands its
input, a one-call ``send`` and the caller's :class:`WriteOptions` (hooks, batch size; one
value, made by the public method and passed down unchanged) to :func:`run_batches`, which
streams the input (list, iterable or async iterable) through a bounded look-ahead, sends
calls of at most ``batch_size`` records and ``max_body_bytes`` of JSON, keeps up to
``max_in_flight`` of them running, and returns a :class:`BatchReport`.

Invariants, however the run ends (done, 607, ``stop()``, cancelled, a bug in ``send``):

- **one outcome per input record**: every record read gets exactly one
  :class:`RecordOutcome`, and ``on_outcome`` hears it once;
- **no two same-key records in flight**: records sharing a lookup key never share a call,
  and a record's call starts only after the call carrying the previous record with its key
  returned (Marketo creates duplicate leads otherwise); with ``key_leases`` this holds
  across every process sharing them;
- **input order per key**: same-key records go in the order they were read.

The floor: a key repeated ``k`` times costs ``k`` calls one after another, so with a fixed
call latency a run of ``n`` records takes at least
``max(ceil(calls / max_in_flight), longest same-key chain)`` latencies, where ``calls`` is at
least ``ceil(n / batch_size)``. When the input fits the look-ahead the engine finishes within
one latency of that floor: a record others wait for is sent ahead of the rest (urgent), and
a partial call waits while more input may fill it.

The modules, one concern each:

- ``_outcomes``: statuses, :class:`Reason`, :class:`RecordOutcome`, :class:`BatchReport`;
- ``_results``: how an API's answer maps onto its records (:class:`ResultRules`);
- ``_columns`` and ``_recorder``: outcomes kept compactly, hooks told, the report built
  (:class:`Recorder` is also how the bulk import reports its rows);
- ``_queue``: the keyed look-ahead (synchronous; owners, waiting records, urgency);
- ``_reader``: the input read on demand, validated and coalesced;
- ``_leases``: keys shared with other processes;
- ``_options`` and ``_engine``: the caller's options, every option checked once, and the
  run loop;
- ``_held``: values held by record index until the record's outcome is known;
- ``_mapped``: a write's input converted record by record as it is read.
"""

from . import _outcomes
from ._engine import Send, run_batches
from ._held import Held, keeping_unknown
from ._mapped import mapped
from ._options import BatchOptions, OutcomeHook, Progress, StopHook, WriteHooks, WriteOptions
from ._outcomes import *  # noqa: F403
from ._recorder import Recorder
from ._results import MARKETO_RESULTS, EntryResult, ResultRules, marketo_result, reasons_of
from ._sizes import ENVELOPE_BYTES, MAX_BATCH_SIZE, MAX_BODY_BYTES, json_size, size_bound

# _outcomes' own __all__ is the one list of the statuses and outcome types re-exported here.
__all__ = [
    "ENVELOPE_BYTES",
    "MARKETO_RESULTS",
    "MAX_BATCH_SIZE",
    "MAX_BODY_BYTES",
    "BatchOptions",
    "EntryResult",
    "Held",
    "OutcomeHook",
    "Progress",
    "Recorder",
    "ResultRules",
    "Send",
    "StopHook",
    "WriteHooks",
    "WriteOptions",
    "json_size",
    "keeping_unknown",
    "mapped",
    "marketo_result",
    "reasons_of",
    "run_batches",
    "size_bound",
]
__all__ += _outcomes.__all__
