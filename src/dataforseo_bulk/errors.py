"""Every exception dataforseo-bulk raises, in one tree.

::

    DataForSEOBulkError
    ├── ConfigurationError        a bad argument; raised before any network call (also a ValueError)
    │   └── SharedLimitsUnavailable   the Redis of ``shared_limits`` did not answer: no call was made
    ├── APIError                  one call failed; carries chunk, HTTP status, code, API message
    │   └── FatalAPIError         no further call can succeed (40100 auth, 40200/40210 money, 40201 ...)
    └── JobAborted                the job stopped early; ``.result`` holds everything already paid for
        ├── FatalAnswer           stopped by a FatalAPIError (``.error``)
        ├── BudgetExceeded        the next call could have taken spending past ``max_cost``
        └── SharedLimitsLost      the Redis of ``shared_limits`` was lost mid-job; calls in flight finished

Transient and permanent answers never raise: they are retried, or their targets land in
``result.failed`` as a ``TargetFailure`` with the code, the API's message and the chunk.
What escapes a job is a ``JobAborted``.
Messages never contain credentials: the client never puts them in a URL, a repr or a message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .chunks import ChunkRef


class DataForSEOBulkError(Exception):
    """Base of every error raised by dataforseo-bulk."""


class ConfigurationError(DataForSEOBulkError, ValueError):
    """An argument is out of range or inconsistent; the message says how to fix the call."""


class APIError(DataForSEOBulkError):
    """One call to the API failed.

    ``status_code`` is the most specific DataForSEO code seen (the task's, else the
    envelope's), ``http_status`` the HTTP status (None when no answer arrived), ``message``
    the API's own words (or the network error's).
    """

    def __init__(
        self,
        message: str,
        *,
        chunk: ChunkRef | None = None,
        http_status: int | None = None,
        status_code: int | None = None,
        attempt: int = 1,
    ) -> None:
        self.message = message
        self.chunk = chunk
        self.http_status = http_status
        self.status_code = status_code
        self.attempt = attempt
        super().__init__(self._describe())

    def _describe(self) -> str:
        parts: list[str] = []
        if self.status_code is not None:
            parts.append(str(self.status_code))
        if self.http_status is not None:
            parts.append(f"HTTP {self.http_status}")
        where = f" ({self.chunk})" if self.chunk is not None else ""
        head = " / ".join(parts)
        return f"{head}: {self.message}{where}" if head else f"{self.message}{where}"


class FatalAPIError(APIError):
    """The account cannot make further calls (credentials, money, access); the job stops."""


class JobAborted(DataForSEOBulkError):
    """The job stopped before every target was answered.

    ``result`` is the partial result: every count already paid for, every failure already
    known, and the targets read but not answered in ``result.failed`` with code ``"aborted"``.
    """

    def __init__(self, message: str, *, result: Any = None) -> None:
        self.result = result
        super().__init__(message)


class FatalAnswer(JobAborted):
    """The API gave a fatal answer (``error``); nothing further was dispatched."""

    def __init__(self, error: FatalAPIError, *, result: Any = None) -> None:
        self.error = error
        super().__init__(f"job aborted by a fatal API answer: {error}", result=result)


class BudgetExceeded(JobAborted):
    """The next call could have taken spending past ``max_cost``; it was not sent."""

    def __init__(self, *, max_cost: float, spent: float, next_call: float, result: Any = None) -> None:
        self.max_cost = max_cost
        self.spent = spent
        self.next_call = next_call
        super().__init__(
            f"budget reached: ${spent:.5f} spent or held by calls in flight, of max_cost=${max_cost:.5f}; "
            f"the next call could cost "
            f"up to ${next_call:.5f}. Raise max_cost to go on.",
            result=result,
        )


class SharedLimitsUnavailable(ConfigurationError):
    """The Redis named by ``shared_limits`` did not answer when a job started; nothing was sent.

    The message names the URL with any password masked.
    """


class SharedLimitsLost(JobAborted):
    """The Redis named by ``shared_limits`` stopped answering mid-job.

    Without it this process cannot know what the account's other clients are doing, so it
    dispatched nothing more; calls already in flight finished and their answers are kept.
    """
