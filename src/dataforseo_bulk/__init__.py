"""dataforseo-bulk: any number of targets in, one target → value map out — paced, retried, typed.

async with BulkClient(login="...", password="...") as client:
    result = await client.bulk_backlinks(targets)
result["cnn.com"]   # -> int
result.failed       # every target without a count, with its reason
result.stats        # targets, calls, retries, cost_usd, elapsed

Around a job, catch ``JobAborted`` (``exc.result`` holds what was already paid for); its
subclasses ``AccountRefused`` and ``BudgetExceeded`` say why the job stopped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._constants import DEFAULT_BASE_URL, SANDBOX_URL
from .account import Account
from .backoff import RetryPolicy
from .budget import estimate_cost
from .chunks import ChunkRef
from .client import BulkClient
from .endpoints import (
    BULK_BACKLINKS,
    BULK_NEW_LOST_BACKLINKS,
    BULK_NEW_LOST_REFERRING_DOMAINS,
    BULK_PAGES_SUMMARY,
    BULK_RANKS,
    BULK_REFERRING_DOMAINS,
    BULK_SPAM_SCORE,
    ENDPOINTS,
    Endpoint,
)
from .engine import ChunkOutcome, RetryDetails
from .errors import (
    AccountRefused,
    APIError,
    APIUnreachable,
    BalanceExhausted,
    BudgetExceeded,
    ConfigurationError,
    DataForSEOBulkError,
    FatalAnswer,
    FatalAPIError,
    JobAborted,
    SharedLimitsLost,
    SharedLimitsUnavailable,
)
from .params import RankScale
from .result import BulkResult, FailureKind, JobStats, Progress, TargetFailure

__version__ = "0.1.0"

# The item models are imported when first named (PEP 562), so a job on a one-number endpoint
# never builds them (pydantic itself comes with the client, whose knobs it checks).
# Type checkers see the plain import (and no __getattr__, which would make any name type-check).
if TYPE_CHECKING:
    from .items import (
        NewLostBacklinksItem,
        NewLostReferringDomainsItem,
        PagesSummaryItem,
        ReferringDomainsItem,
    )
else:
    _ITEMS = frozenset(
        {"NewLostBacklinksItem", "NewLostReferringDomainsItem", "PagesSummaryItem", "ReferringDomainsItem"}
    )

    def __getattr__(name: str) -> object:
        if name in _ITEMS:
            from . import items

            value = getattr(items, name)
            globals()[name] = value  # found directly from now on
            return value
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BULK_BACKLINKS",
    "BULK_NEW_LOST_BACKLINKS",
    "BULK_NEW_LOST_REFERRING_DOMAINS",
    "BULK_PAGES_SUMMARY",
    "BULK_RANKS",
    "BULK_REFERRING_DOMAINS",
    "BULK_SPAM_SCORE",
    "DEFAULT_BASE_URL",
    "ENDPOINTS",
    "SANDBOX_URL",
    "APIError",
    "APIUnreachable",
    "Account",
    "AccountRefused",
    "BalanceExhausted",
    "BudgetExceeded",
    "BulkClient",
    "BulkResult",
    "ChunkOutcome",
    "ChunkRef",
    "ConfigurationError",
    "DataForSEOBulkError",
    "Endpoint",
    "FailureKind",
    "FatalAPIError",
    "FatalAnswer",
    "JobAborted",
    "JobStats",
    "NewLostBacklinksItem",
    "NewLostReferringDomainsItem",
    "PagesSummaryItem",
    "Progress",
    "RankScale",
    "ReferringDomainsItem",
    "RetryDetails",
    "RetryPolicy",
    "SharedLimitsLost",
    "SharedLimitsUnavailable",
    "TargetFailure",
    "estimate_cost",
]
