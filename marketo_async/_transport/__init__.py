"""The only code that knows httpx: one send pipeline (gate, limiter, send, decode, log) with
auth and decoding as strategies; token, limits, retry and wire."""

from ._auth import BearerToken, Secret, TokenCache, TokenStore
from ._decode import Warning, decode, decode_identity, warnings_of
from ._files import Download, FileTransfers, Sink
from ._http import Answer, MarketoTransport, resent_after_ambiguity
from ._jobs import EXPORT_PACE, IMPORT_PACE, JobCheck, JobPace, Jobs
from ._limiter import (
    BACKGROUND,
    INTERACTIVE,
    KeyLeases,
    Limiter,
    LocalLimiter,
    Priority,
    QuotaExhausted,
    chosen_lane,
    current_priority,
    lane,
)
from ._pipeline import (
    Auth,
    Call,
    ClientStats,
    Codec,
    LaneStats,
    Pipeline,
    Sending,
    connection_error,
    short,
)
from ._retry import Decision, RetryState, backoff, retrying

__all__ = [
    "BACKGROUND",
    "EXPORT_PACE",
    "IMPORT_PACE",
    "INTERACTIVE",
    "Answer",
    "Auth",
    "BearerToken",
    "Call",
    "ClientStats",
    "Codec",
    "Decision",
    "Download",
    "FileTransfers",
    "JobCheck",
    "JobPace",
    "Jobs",
    "KeyLeases",
    "LaneStats",
    "Limiter",
    "LocalLimiter",
    "MarketoTransport",
    "Pipeline",
    "Priority",
    "QuotaExhausted",
    "RetryState",
    "Secret",
    "Sending",
    "Sink",
    "TokenCache",
    "TokenStore",
    "Warning",
    "backoff",
    "chosen_lane",
    "connection_error",
    "current_priority",
    "decode",
    "decode_identity",
    "lane",
    "resent_after_ambiguity",
    "retrying",
    "short",
    "warnings_of",
]
