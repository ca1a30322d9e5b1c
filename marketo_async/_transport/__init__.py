"""The only code that knows httpx: token, limits, retry, wire and decoding."""

from ._auth import Secret, TokenCache, TokenStore
from ._decode import Warning, decode, decode_identity, warnings_of
from ._files import Download, FileTransfers, Sink
from ._http import Answer, ClientStats, MarketoTransport, resent_after_ambiguity
from ._jobs import EXPORT_PACE, IMPORT_PACE, JobCheck, JobPace, Jobs
from ._limiter import KeyLeases, Limiter, LocalLimiter, QuotaExhausted
from ._retry import Decision, RetryState, backoff, retrying

__all__ = [
    "EXPORT_PACE",
    "IMPORT_PACE",
    "Answer",
    "ClientStats",
    "Decision",
    "Download",
    "FileTransfers",
    "JobCheck",
    "JobPace",
    "Jobs",
    "KeyLeases",
    "Limiter",
    "LocalLimiter",
    "MarketoTransport",
    "QuotaExhausted",
    "RetryState",
    "Secret",
    "Sink",
    "TokenCache",
    "TokenStore",
    "Warning",
    "backoff",
    "decode",
    "decode_identity",
    "resent_after_ambiguity",
    "retrying",
    "warnings_of",
]
