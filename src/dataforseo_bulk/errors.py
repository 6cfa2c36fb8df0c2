"""Every exception dataforseo-bulk raises, in one tree.

::

    DataForSEOBulkError
    ├── ConfigurationError        a bad argument; raised before any network call (also a ValueError)
    │   └── SharedLimitsUnavailable   the Redis of ``shared_limits`` did not answer: no call was made
    ├── APIError                  one call's failure: chunk, HTTP status, code, API message
    │   └── FatalAPIError         the answer that stopped a job: never raised, it is AccountRefused.error
    └── JobAborted                the job stopped early; ``.result`` holds everything already paid for
        ├── AccountRefused        the API refused the account (40100 credentials, 40210 funds, 40204
        │                         access, ...; also a wrong address: 404/40400/40402): no call can
        │                         succeed. ``.error`` is the FatalAPIError
        ├── BudgetExceeded        the next call could have taken spending past ``max_cost``
        ├── APIUnreachable        no call of the job could connect (refused, DNS, timeout); nothing billed
        ├── BalanceExhausted      the job could take spending past the account's balance
        └── SharedLimitsLost      the Redis of ``shared_limits`` was lost mid-job; calls in flight finished

What to catch around a job: ``JobAborted`` for every early stop (``exc.result`` is the partial
result), or one of its subclasses for one situation. ``TypeError`` (targets that are not an
iterable of strings) and ``ConfigurationError`` are mistakes in the call, raised before any call.
Transient and permanent answers never raise: they are retried, or their targets land in
``result.failed`` as a ``TargetFailure`` with the code, the API's message and the chunk.

``FatalAnswer`` is the old name of ``AccountRefused`` (the same class).
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
    """An answer after which no call can succeed (credentials, money, access).

    Never raised to your code: the job stops with :class:`AccountRefused`, whose ``error`` this
    is. Catch ``AccountRefused`` (or ``JobAborted``), not this.
    """


class JobAborted(DataForSEOBulkError):
    """The job stopped before every target was answered: catch this around a job.

    ``result`` (from ``bulk_*()`` and ``run()``) is the partial :class:`BulkResult`: every value
    already paid for, every failure already known, and the targets read but not answered in
    ``result.failed`` with kind ``aborted``. The subclass says why (:class:`AccountRefused`,
    :class:`BudgetExceeded`).
    """

    def __init__(self, message: str, *, result: Any = None) -> None:
        self.result = result
        super().__init__(message)


class AccountRefused(JobAborted):
    """The API refused the account: no call can succeed, so the job stopped at once.

    Wrong credentials (40100, HTTP 401), no funds (40200, 40210), paused or denied access
    (40201, 40204, 40207: IP not allowed), a dashboard limit (40203, 40205, 40206), or an
    account-level code the client does not know. ``error`` (a :class:`FatalAPIError`) has the
    ``status_code``, ``http_status`` and the API's ``message``; ``result`` everything already
    paid for. Nothing further was sent; calls in flight were cancelled. Fix the account
    (docs/errors.md says how for each code) and rerun, with the same checkpoint if any.
    """

    def __init__(self, error: FatalAPIError, *, result: Any = None) -> None:
        self.error = error
        super().__init__(f"job aborted by a fatal API answer: {error}", result=result)


#: The old name of :class:`AccountRefused`, kept so that existing code still imports it.
FatalAnswer = AccountRefused


class BudgetExceeded(JobAborted):
    """The next call could have taken spending past ``max_cost``; it was not sent.

    ``max_cost``, ``spent`` (answers received plus calls in flight at their maximum cost) and
    ``next_call`` (the most the next call could cost), all in USD. Rerun with a higher
    ``max_cost`` and the same checkpoint to go on without paying twice.
    """

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


class APIUnreachable(JobAborted):
    """No call of the job ever connected, and a chunk's retry failed to connect too.

    ``error`` is the network error (it names the host). Nothing was sent, so nothing was
    billed; a connection lost later in a job that has been reaching the API is retried instead.
    """

    def __init__(self, error: str, *, result: Any = None) -> None:
        self.error = error
        super().__init__(
            f"no call reached the API, nothing was sent or billed: {error}. {unreachable_advice(error)}",
            result=result,
        )


def unreachable_advice(error: str, base_url: str = "base_url") -> str:
    """What to check when no call could connect, for the network error ``error`` (the CLI names
    its own ``--base-url``)."""
    if "CERTIFICATE_VERIFY_FAILED" in error:
        # Most often a proxy or firewall that re-signs TLS with a CA of its own.
        return (
            "The API's certificate is not trusted here: if your network re-signs TLS, name its CA "
            "bundle in SSL_CERT_FILE (or a directory of CA files in SSL_CERT_DIR)"
        )
    return f"Check {base_url}, the network and any proxy settings (HTTPS_PROXY, ...)"


class BalanceExhausted(JobAborted):
    """The account's balance (read when the job started) does not cover the job.

    Raised before any paid call when the input's size is known and its ``estimate`` exceeds the
    ``balance`` (``result`` then holds nothing: no target was read), or during a job when the
    next call could take spending past it (``result`` holds everything already paid for, as
    for :class:`BudgetExceeded`). Add funds, or pass ``check_balance=False`` to go on anyway.
    """

    def __init__(
        self,
        *,
        balance: float,
        spent: float = 0.0,
        next_call: float = 0.0,
        estimate: float | None = None,
        result: Any = None,
    ) -> None:
        self.balance = balance
        self.spent = spent
        self.next_call = next_call
        self.estimate = estimate
        if estimate is not None:
            message = (
                f"not started: the job is estimated at up to ${estimate:.5f} and the account's balance "
                f"is ${balance:.5f}. Add funds, split the input, or pass check_balance=False "
                "(--no-balance-check)."
            )
        else:
            message = (
                f"balance reached: ${spent:.5f} spent or held by calls in flight, of the account's "
                f"${balance:.5f}; the next call could cost up to ${next_call:.5f}. Add funds to go on."
            )
        super().__init__(message, result=result)


class SharedLimitsUnavailable(ConfigurationError):
    """The Redis named by ``shared_limits`` did not answer when a job started; nothing was sent.

    The message names the URL with any password masked.
    """


class SharedLimitsLost(JobAborted):
    """The Redis named by ``shared_limits`` stopped answering mid-job.

    Without it this process cannot know what the account's other clients are doing, so it
    dispatched nothing more; calls already in flight finished and their answers are kept.
    """
