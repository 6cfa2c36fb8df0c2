"""dataforseo-bulk: any number of targets in, one target → value map out — paced, retried, typed.

async with BulkClient(login="...", password="...") as client:
    result = await client.bulk_backlinks(targets)
result["cnn.com"]   # -> int
result.failed       # every target without a count, with its reason
result.stats        # targets, calls, retries, cost_usd, elapsed
"""

from __future__ import annotations

from ._constants import DEFAULT_BASE_URL, SANDBOX_URL
from .backoff import RetryPolicy
from .budget import estimate_cost
from .chunks import ChunkRef
from .client import BulkClient
from .endpoints import BULK_BACKLINKS, Endpoint
from .engine import ChunkOutcome, RetryDetails
from .errors import (
    APIError,
    BudgetExceeded,
    ConfigurationError,
    DataForSEOBulkError,
    FatalAnswer,
    FatalAPIError,
    JobAborted,
    PermanentAPIError,
    TransientAPIError,
)
from .result import BulkResult, FailureKind, JobStats, Progress, TargetFailure

__version__ = "0.1.0"

__all__ = [
    "BULK_BACKLINKS",
    "DEFAULT_BASE_URL",
    "SANDBOX_URL",
    "APIError",
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
    "PermanentAPIError",
    "Progress",
    "RetryDetails",
    "RetryPolicy",
    "TargetFailure",
    "TransientAPIError",
    "estimate_cost",
]
