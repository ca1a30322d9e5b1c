"""The Lead Gen & CRM (formerly SharpSpring) lead API, on the same limits, retries and batch
engine as the Marketo client.

Example::

    from marketo_async.leadgen import LeadGenClient

    async with LeadGenClient.from_env() as lg:
        report = await lg.leads.upsert(rows)
        async for lead in lg.leads.updated_between(start, end):
            print(lead.id, lead["emailAddress"])
"""

from ._client import DEFAULT_BASE_URL, LEADGEN_RATE_LIMITS, LeadGenClient
from ._errors import (
    LeadGenAuthenticationError,
    LeadGenConnectionError,
    LeadGenDailyQuotaExceeded,
    LeadGenError,
    LeadGenNotFoundError,
    LeadGenRateLimitError,
    LeadGenRequestError,
    LeadGenTransientError,
)
from .leads import Leads
from .models import LeadGenEvent, LeadGenField, LeadGenLead

__all__ = [
    "DEFAULT_BASE_URL",
    "LEADGEN_RATE_LIMITS",
    "LeadGenAuthenticationError",
    "LeadGenClient",
    "LeadGenConnectionError",
    "LeadGenDailyQuotaExceeded",
    "LeadGenError",
    "LeadGenEvent",
    "LeadGenField",
    "LeadGenLead",
    "LeadGenNotFoundError",
    "LeadGenRateLimitError",
    "LeadGenRequestError",
    "LeadGenTransientError",
    "Leads",
]
