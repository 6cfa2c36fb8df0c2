"""The facade: ``async with BulkClient(...) as c: result = await c.bulk_backlinks(targets)``.

Every knob is keyword-only and validated here, before any network call, with a message
that says how to fix the call. The client owns one ``httpx.AsyncClient`` with a connection
pool sized to the concurrency cap, unless the caller hands in their own client or transport.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import os
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Sized
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, overload

import anyio
import httpx
from anyio.streams.memory import MemoryObjectReceiveStream

from ._constants import (
    DEFAULT_BASE_URL,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MAX_RETRIES,
    DEFAULT_RATE_LIMIT,
    DEFAULT_RATE_PERIOD,
    DEFAULT_READ_TIMEOUT,
    ENV_LOGIN,
    ENV_PASSWORD,
    ENV_SHARED_LIMITS,
    LOOPBACK_HOSTS,
    MAX_CHUNK_SIZE,
    USER_AGENT,
)
from ._knobs import validate
from ._tls import tls_context
from .api import Poster, poster
from .backoff import RetryPolicy
from .cache import CacheUse, ResultCache, check_cache, check_max_age, open_cache, scope_of
from .endpoints import (
    BULK_BACKLINKS,
    BULK_NEW_LOST_BACKLINKS,
    BULK_NEW_LOST_REFERRING_DOMAINS,
    BULK_PAGES_SUMMARY,
    BULK_RANKS,
    BULK_REFERRING_DOMAINS,
    BULK_SPAM_SCORE,
    Endpoint,
    endpoint_named,
)
from .engine import ChunkOutcome, Job, JobSettings, OutcomeSink, OutcomeStore, RetryDetails, Targets
from .errors import ConfigurationError, JobAborted
from .pacing import LOOP_CLOCK, Clock, Pacer
from .params import DEFAULT_INCLUDE_SUBDOMAINS, DEFAULT_RANK_SCALE, RankScale
from .result import BulkResult, JobStats, Progress, TargetFailure

if TYPE_CHECKING:
    # Imported where used: a checkpoint needs sqlite3; the item models are built on first use.
    from .account import Account
    from .checkpoint import Checkpoint
    from .items import (
        NewLostBacklinksItem,
        NewLostReferringDomainsItem,
        PagesSummaryItem,
        ReferringDomainsItem,
    )
    from .shared_limits import SharedAccount, SharedLimits

V = TypeVar("V")
log = logging.getLogger("dataforseo_bulk")


_JOB_ARGUMENTS = """
        * **targets** - the domains, subdomains and URLs: any iterable of ``str`` (a list, a
          generator, a file's lines) or an async iterable, read lazily. Not one ``str``: that
          raises ``TypeError``, as does anything that is not an iterable.
        * **checkpoint** - *(optional)* a SQLite file (str or path): each finished chunk is
          committed to it, and a rerun with the same file answers those targets from it
          without a call (and without paying twice). Default ``None``: no file.
        * **max_cost** - *(optional)* a spending cap in USD for this job, float > 0; overrides
          the client's. Default: the client's (``None``, no cap).
        * **on_progress** - *(optional)* called with a :class:`Progress` after every chunk;
          overrides the client's.
"""
_RETURNS_RESULT = """
        Returns a :class:`BulkResult`: answered targets → value, ``.failed`` (target →
        :class:`TargetFailure`) and ``.stats``. Keys are your strings exactly as given.

        Raises :class:`JobAborted` when the job stops early, its ``result`` holding everything
        already paid for: :class:`AccountRefused` (credentials, funds, access: no call can
        succeed) or :class:`BudgetExceeded` (``max_cost`` reached). ``TypeError`` or
        :class:`ConfigurationError` for a bad argument, before any call.
"""
_STREAM_RAISES = """
        Raises :class:`JobAborted` from the ``async with``, after the last outcome, when the
        job stops early (the outcomes delivered are everything paid for):
        :class:`AccountRefused` (credentials, funds, access: no call can succeed) or
        :class:`BudgetExceeded` (``max_cost`` reached). ``TypeError`` or
        :class:`ConfigurationError` for a bad argument, before any call.
"""
F = TypeVar("F", bound=Callable[..., Any])


def _job_doc(result: str) -> Callable[[F], F]:
    """Appends what every job method takes and gives (:data:`_JOB_ARGUMENTS`) to its docstring:
    one text for the nine methods, as ``help()`` and the docs show them."""

    def document(method: F) -> F:
        method.__doc__ = (method.__doc__ or "").rstrip() + "\n" + _JOB_ARGUMENTS + result
        return method

    return document


@dataclass(frozen=True, slots=True)
class _Options:
    """The numeric knobs, validated together (:func:`_validate`)."""

    rate_limit: int
    rate_period: float
    max_concurrency: int
    chunk_size: int
    max_retries: int
    max_cost: float | None


def _validate(**knobs: Any) -> _Options:
    """The numeric knobs, checked and converted by the one model in :mod:`._knobs`."""
    return _Options(**validate(**knobs))


def _warn_above_api_concurrency(max_concurrency: int) -> None:
    # Accepted (an account may have a higher cap), but on an ordinary account every call past
    # the 30th is refused with 40209 and the engine halves its cap: the job runs slower, not faster.
    if max_concurrency > DEFAULT_MAX_CONCURRENCY:
        log.warning(
            "%d calls at once is more than the %d the API allows: the extra calls are refused "
            "(40209) and the job slows down; use %d or fewer unless your account allows more",
            max_concurrency,
            DEFAULT_MAX_CONCURRENCY,
            DEFAULT_MAX_CONCURRENCY,
        )


def _check_targets(targets: object) -> None:
    """A ``TypeError`` now, before any call, for targets that are not a collection of strings."""
    if isinstance(targets, str | bytes | bytearray | memoryview):
        raise TypeError(
            f"targets must be an iterable of domain or URL strings, not one {type(targets).__name__} "
            f"(it would be read character by character): wrap it in a list, e.g. [{targets!r}]"
        )
    if not isinstance(targets, Iterable | AsyncIterable):
        raise TypeError(
            f"targets must be an iterable of domain or URL strings (a list, a generator, an open "
            f"file's lines, an async iterable), not {type(targets).__name__}"
        )


def _check_job_arguments(targets: object, checkpoint: object, on_progress: object) -> None:
    """A ``TypeError`` now, before any file or call, for a job argument of the wrong kind (and
    ``params`` in :meth:`Endpoint.check_params`)."""
    _check_targets(targets)
    if checkpoint is not None and not isinstance(checkpoint, str | os.PathLike):
        raise TypeError(f"checkpoint must be a file name (str or path), not {type(checkpoint).__name__}")
    _check_hook("on_progress", on_progress)


def _check_hook(name: str, hook: object) -> None:
    if hook is not None and not callable(hook):
        raise TypeError(f"{name} must be a function (or None), not {type(hook).__name__}")


def _resolve(endpoint: Endpoint[V] | str) -> Endpoint[V]:
    """An :class:`Endpoint`, or the name of one: the API's function name, e.g. ``"bulk_ranks"``."""
    if isinstance(endpoint, Endpoint):
        return endpoint
    if isinstance(endpoint, str):
        return endpoint_named(endpoint)
    raise TypeError(
        f"endpoint must be an Endpoint (e.g. BULK_RANKS) or its name (e.g. 'bulk_ranks'), "
        f"not {type(endpoint).__name__}"
    )


def _one_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error a task group wrapped: what the caller raises instead of the group.

    A job runs in task groups, which wrap whatever escapes them (a bad item in the caller's
    iterable, an exception from a hook); the caller gets that error itself. With several, the
    first, the group kept as its ``__cause__``.
    """
    leaves: list[BaseException] = []

    def collect(error: BaseException) -> None:
        if isinstance(error, BaseExceptionGroup):
            for inner in error.exceptions:
                collect(inner)
        else:
            leaves.append(error)

    collect(group)
    if len(leaves) > 1:
        leaves[0].__cause__ = group
    return leaves[0]


def _check_cache_knobs(cache: object, max_age: object) -> tuple[str | Path | ResultCache | None, float]:
    """``cache=`` and ``max_age=`` checked together: one without the other is a mistake."""
    checked = check_cache(cache)
    if checked is None:
        if max_age is not None:
            raise ConfigurationError(
                f"max_age={max_age!r} without cache=: give cache='results.sqlite' too, or drop max_age"
            )
        return None, 0.0
    if max_age is None:
        raise ConfigurationError(
            "cache= needs max_age=: how old a cached answer may be to answer a target, e.g. "
            "max_age=timedelta(days=7) or max_age=3600 (seconds); 0 buys every answer again"
        )
    return checked, check_max_age(max_age)


def carries_credentials(base_url: object) -> bool:
    """Whether ``base_url`` has a user name or password in it (``https://user:pw@host``)."""
    return isinstance(base_url, str) and "@" in base_url.partition("://")[2].split("/", 1)[0]


def _check_base_url(base_url: str) -> str:
    if carries_credentials(base_url):
        # A user name or password in the URL would be shown wherever the client names the API
        # (its repr, messages, the CLI's lines); the message does not repeat the URL.
        raise ConfigurationError(
            "base_url may not carry a user name or password ('user:password@'): give the API's "
            f"address alone, e.g. {DEFAULT_BASE_URL!r}, and the credentials as login and password "
            "(or DATAFORSEO_LOGIN and DATAFORSEO_PASSWORD)"
        )
    try:
        url = httpx.URL(base_url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ConfigurationError(f"base_url={base_url!r} is not a URL ({exc})") from None
    if url.scheme == "http" and url.host not in LOOPBACK_HOSTS:
        raise ConfigurationError(
            f"base_url={base_url!r}: plain http would send your credentials in clear; use https://, "
            "or http:// only on loopback (127.0.0.1, localhost) for the emulator"
        )
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigurationError(f"base_url={base_url!r}: give an https:// URL, e.g. {DEFAULT_BASE_URL!r}")
    return base_url.rstrip("/")


def _timeout(timeout: float | httpx.Timeout) -> httpx.Timeout:
    """Seconds: the deadline of a whole call (connect, send, wait, read), with a short connect
    timeout of its own. An ``httpx.Timeout`` limits each phase as httpx does, and its ``read``
    value is the whole call's deadline too (None: no deadline)."""
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise ConfigurationError(
            f"timeout={timeout!r}: give seconds > 0 (live calls may take up to 120 s; default "
            f"{DEFAULT_READ_TIMEOUT}) or an httpx.Timeout"
        )
    return httpx.Timeout(timeout, connect=min(DEFAULT_CONNECT_TIMEOUT, float(timeout)))


def _exists(path: str | Path | None) -> bool:
    return path is not None and Path(path).exists()


class _Credentials:
    """Login and password; the password is in no repr, str or message."""

    __slots__ = ("login", "password")

    def __init__(self, login: str | None, password: str | None) -> None:
        login = login if login is not None else os.environ.get(ENV_LOGIN)
        password = password if password is not None else os.environ.get(ENV_PASSWORD)
        if not login and not password:
            raise ConfigurationError(
                f"no API credentials: pass login= and password= (from https://app.dataforseo.com/api-access) "
                f"or set {ENV_LOGIN} and {ENV_PASSWORD}"
            )
        if not password:
            raise ConfigurationError(
                f"no API password for login {login!r}: pass password= or set {ENV_PASSWORD}"
            )
        if not login:
            raise ConfigurationError(f"no API login to go with the password: pass login= or set {ENV_LOGIN}")
        self.login = login
        self.password = password

    def __repr__(self) -> str:
        return f"<credentials login={self.login!r} password=***>"


class OutcomeStream(AsyncIterator[ChunkOutcome[V]]):
    """The outcomes of one streamed job, in completion order; ``stats()`` at any time."""

    def __init__(self, receive: MemoryObjectReceiveStream[ChunkOutcome[V]], job: Job[V]) -> None:
        self._receive = receive
        self._job = job

    def __aiter__(self) -> OutcomeStream[V]:
        return self

    async def __anext__(self) -> ChunkOutcome[V]:
        try:
            return await self._receive.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    def stats(self) -> JobStats:
        return self._job.stats()


class BulkClient:
    """An async client for DataForSEO's bulk Backlinks endpoints.

    Give it any number of domains and URLs; get one read-only map target → value in which every
    input is accounted for (a value, or a :class:`TargetFailure` with its reason). Calls are
    chunked, paced to the account's limits, retried when the failure is transient, and stopped
    at once when the API says no call can succeed::

        async with BulkClient(login="...", password="...") as client:
            result = await client.bulk_backlinks(["cnn.com", "https://www.apple.com/iphone/"])
        result["cnn.com"]   # an int
        result.failed       # target -> TargetFailure
        result.stats        # JobStats: calls, retries, cost_usd, ...

    Every argument is checked here, before any network call: a bad one raises
    :class:`ConfigurationError` (a ``ValueError``) saying how to fix the call.

    **Parameters**

    * **login**, **password** - *(optional)* the API credentials from
      https://app.dataforseo.com/api-access (not the account's own password). Default: the
      ``DATAFORSEO_LOGIN`` and ``DATAFORSEO_PASSWORD`` environment variables. The password is in
      no repr, log line, message or file.
    * **base_url** - *(optional)* where the API is. Default ``https://api.dataforseo.com``;
      ``SANDBOX_URL`` for the free sandbox (dummy data, never billed); ``http://`` only on
      loopback (an emulator), so that credentials never travel in clear.
    * **rate_limit**, **rate_period** - *(optional)* at most ``rate_limit`` calls (int ≥ 1) in
      *any* window of ``rate_period`` seconds (float > 0). Default 2000 per 60 s, every account's
      limit; 10000 if yours was raised.
    * **max_concurrency** - *(optional)* calls in flight at once, int ≥ 1. Default 30, the API's
      cap: above it the extra calls are refused (40209), so a higher value is logged as a
      warning and only helps an account with a raised cap.
    * **chunk_size** - *(optional)* targets per call, 1 to 1000. Default 1000 (the API's
      maximum, and the cheapest: each call costs $0.02 plus $0.00003 a target).
    * **max_retries** - *(optional)* retries of one call after a transient failure (5xx, rate
      limit, lost answer), 0 to 50. Default 4. A retried live call may be billed again.
    * **timeout** - *(optional)* a deadline in seconds for the whole of one call (connect, send,
      wait, read), float > 0, or an ``httpx.Timeout`` (its ``read`` is the deadline). Default 150
      (live tasks end at 120 s on the server); connecting has its own 10 s limit. A call cut at
      the deadline may have been billed: it counts in ``stats.unknown_cost_calls`` and is retried.
    * **max_cost** - *(optional)* a spending cap in USD, float > 0. No call is sent that could
      take spending (answers received plus calls in flight, at their maximum cost) past it;
      the job stops with :class:`BudgetExceeded`. Default ``None``: no cap. Each job method
      takes its own ``max_cost`` too.
    * **http_client** - *(optional)* your own ``httpx.AsyncClient`` (proxies, certificates,
      event hooks); used as it is and left open. Default: one owned by this client, its
      connection pool sized to ``max_concurrency``.
    * **transport** - *(optional)* an ``httpx.AsyncBaseTransport`` for the client's own
      ``httpx.AsyncClient`` (e.g. ``httpx.MockTransport`` or the emulator's ASGI transport).
      Give ``http_client`` or ``transport``, not both.
    * **on_progress** - *(optional)* called with a :class:`Progress` after every chunk of every
      job (a job method's own ``on_progress`` takes precedence). Keep it quick: it runs in the
      event loop.
    * **on_retry** - *(optional)* called with a :class:`RetryDetails` before each retry.
    * **cache** - *(optional)* a results cache: the path of an SQLite file (made if missing) or a
      ``ResultCache``. Every job answers from it the targets bought for the same API, endpoint
      and parameters less than ``max_age`` ago, buys only the rest and stores what it buys.
      Default ``None``: no cache. See docs/jobs.md.
    * **max_age** - *(with cache)* how old a cached answer may be: a ``datetime.timedelta`` or
      seconds ≥ 0 (0: buy everything again and store the new answers). Required with ``cache``.
    * **check_balance** - *(optional)* read the account's balance (free) as each job starts:
      a job of known size whose worst case exceeds it is refused before any paid call, and no
      call is sent that could take spending past it (:class:`BalanceExhausted`). Default
      ``True``; ``False`` for credentials without access to the account's data.
    * **shared_limits** - *(optional)* a Redis URL (``redis://host:6379/0``) or a
      ``SharedLimits``: every client of the same login on that Redis, in any process on any
      host, shares the account's rate, its cap in flight and the API's pushback. Default: the
      ``DATAFORSEO_BULK_SHARED_LIMITS`` environment variable, else this process paces alone.
      Needs ``pip install 'dataforseo-bulk[redis]'``; see docs/scaling.md.
    * **retry_policy** - *(optional, advanced)* a :class:`RetryPolicy` (backoff times); default
      the project's, with ``max_retries`` retries.
    * **clock** - *(testing hook)* the time source of pacing and backoff; tests pass a fake one.
      Default ``None``: the event loop's clock. Not needed in production code.

    Use it as an async context manager (or call :meth:`aclose`): it closes the connections it
    opened. One client may run several jobs one after another; jobs run at the same time are
    each paced on their own, so together they could pass the account's limits (unless they
    share them through ``shared_limits``).
    """

    def __init__(
        self,
        login: str | None = None,
        password: str | None = None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        rate_limit: int = DEFAULT_RATE_LIMIT,
        rate_period: float = DEFAULT_RATE_PERIOD,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        chunk_size: int = MAX_CHUNK_SIZE,
        max_retries: int = DEFAULT_MAX_RETRIES,
        timeout: float | httpx.Timeout = DEFAULT_READ_TIMEOUT,
        max_cost: float | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        on_retry: Callable[[RetryDetails], None] | None = None,
        retry_policy: RetryPolicy | None = None,
        clock: Clock | None = None,
        cache: str | Path | ResultCache | None = None,
        max_age: dt.timedelta | float | None = None,
        check_balance: bool = True,
        shared_limits: str | SharedLimits | None = None,
    ) -> None:
        if not isinstance(check_balance, bool):
            raise ConfigurationError(
                f"check_balance={check_balance!r}: give True (read the balance as a job starts, "
                "free) or False (credentials without access to it, or no cap wanted)"
            )
        self._check_balance = check_balance
        self._options = _validate(
            rate_limit=rate_limit,
            rate_period=rate_period,
            max_concurrency=max_concurrency,
            chunk_size=chunk_size,
            max_retries=max_retries,
            max_cost=max_cost,
        )
        self._cache, self._max_age = _check_cache_knobs(cache, max_age)
        _warn_above_api_concurrency(self._options.max_concurrency)
        _check_hook("on_progress", on_progress)
        _check_hook("on_retry", on_retry)
        if http_client is not None and transport is not None:
            raise ConfigurationError(
                "give http_client= or transport=, not both (a client has its own transport)"
            )
        self.base_url = _check_base_url(base_url)
        timeout_ = _timeout(timeout)
        self._credentials = _Credentials(login, password)
        # One account's limits shared with its other clients, any process, any host (docs/scaling.md).
        shared_limits = shared_limits or os.environ.get(ENV_SHARED_LIMITS) or None
        self._shared: SharedAccount | None = None
        if shared_limits is not None:
            from .shared_limits import SharedAccount  # lazy: redis-py only when limits are shared

            self._shared = SharedAccount(shared_limits, base_url=self.base_url, login=self._credentials.login)
        self._retry = retry_policy or RetryPolicy(max_retries=self._options.max_retries)
        self._on_progress = on_progress
        self._on_retry = on_retry
        self._clock = clock or LOOP_CLOCK
        self._timeout = timeout_
        self._owns_http = http_client is None
        # With no transport given, httpx builds its own (httpcore, h11) and, as it does only then,
        # honours the environment: HTTPS_PROXY/ALL_PROXY/NO_PROXY, SSL_CERT_FILE/SSL_CERT_DIR.
        self._http = http_client or httpx.AsyncClient(
            transport=transport,
            verify=tls_context(),
            timeout=timeout_,
            limits=httpx.Limits(max_connections=max_concurrency, max_keepalive_connections=max_concurrency),
            headers={"User-Agent": USER_AGENT},
        )

    def __repr__(self) -> str:
        return f"<BulkClient {self.base_url} login={self._credentials.login!r}>"

    def _poster(self, url: str) -> Poster:
        return poster(
            self._http,
            url,
            login=self._credentials.login,
            password=self._credentials.password,
            deadline=self._timeout.read,  # the whole call's deadline: see _timeout()
            own_client=self._owns_http,
        )

    async def __aenter__(self) -> BulkClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections this client opened (not a caller's own ``http_client``)."""
        if self._owns_http:
            await self._http.aclose()
        if self._shared is not None:
            await self._shared.aclose()

    async def check_shared_limits(self) -> None:
        """With ``shared_limits``: raise :class:`SharedLimitsUnavailable` (one line naming the URL,
        password masked) unless its Redis answers. Every job checks it first; call it to refuse
        earlier (before opening files, say)."""
        if self._shared is not None:
            await self._shared.check()

    async def account(self) -> Account:
        """The account behind the credentials (login, balance, rate limit), from the free
        ``GET /v3/appendix/user_data``. Raises :class:`APIError` if it cannot be read."""
        from .account import read_account

        credentials = self._credentials
        auth = httpx.BasicAuth(credentials.login, credentials.password)
        return await read_account(self._http, self.base_url, auth)

    async def _cap_at_balance(
        self, job: Job[Any], endpoint: Endpoint[Any], targets: Targets, checkpoint: str | Path | None
    ) -> None:
        """Keep ``job`` within the account's balance (unless ``check_balance=False``).

        A sized input (not resumed from a checkpoint, no cache: what they hold costs nothing,
        so the input's size would overstate the cost) is priced now, and refused before any
        file is touched or call sent if it could cost more than the balance. Otherwise the
        balance is read just before the first call: a job with nothing to send reads nothing.
        """
        if not self._check_balance:
            return
        from .account import balance_at_start

        chunk_size = min(self._options.chunk_size, endpoint.max_targets)

        async def read(n_targets: int | None = None) -> float | None:
            return await balance_at_start(self.account, n_targets=n_targets, chunk_size=chunk_size)

        sized = isinstance(targets, Sized) and not _exists(checkpoint) and self._cache is None
        if sized and len(targets):  # type: ignore[arg-type]
            job.cap_at_balance(await read(len(targets)))  # type: ignore[arg-type]
        else:
            job.read_balance_first(read)

    # --- endpoints -------------------------------------------------------------------
    @_job_doc(_RETURNS_RESULT)
    async def bulk_backlinks(
        self,
        targets: Targets,
        *,
        checkpoint: str | Path | None = None,
        max_cost: float | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> BulkResult[int | None]:
        """Live backlink count of every target: ``result[target] -> int``, or ``None`` where the
        API answered that it has no data for the target.

        One call per 1000 targets of ``POST /v3/backlinks/bulk_backlinks/live``.

        """
        return await self.run(
            BULK_BACKLINKS, targets, checkpoint=checkpoint, max_cost=max_cost, on_progress=on_progress
        )

    @_job_doc(_RETURNS_RESULT)
    async def bulk_ranks(
        self,
        targets: Targets,
        *,
        rank_scale: RankScale = DEFAULT_RANK_SCALE,
        checkpoint: str | Path | None = None,
        max_cost: float | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> BulkResult[int | None]:
        """Rank of every target: ``result[target] -> int`` (``None``: the API has no data).

        * **rank_scale** - *(optional)* ``"one_thousand"`` (ranks 0–1000, the API's default)
          or ``"one_hundred"`` (0–100).
        """
        params = BULK_RANKS.check_params({"rank_scale": rank_scale})
        return await self.run(
            BULK_RANKS,
            targets,
            params=params,
            checkpoint=checkpoint,
            max_cost=max_cost,
            on_progress=on_progress,
        )

    @_job_doc(_RETURNS_RESULT)
    async def bulk_spam_score(
        self,
        targets: Targets,
        *,
        checkpoint: str | Path | None = None,
        max_cost: float | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> BulkResult[int | None]:
        """Spam score of every target: ``result[target] -> int``, from 0 to 100 (``None``: the API
        has no data).

        """
        return await self.run(
            BULK_SPAM_SCORE, targets, checkpoint=checkpoint, max_cost=max_cost, on_progress=on_progress
        )

    @_job_doc(_RETURNS_RESULT)
    async def bulk_referring_domains(
        self,
        targets: Targets,
        *,
        checkpoint: str | Path | None = None,
        max_cost: float | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> BulkResult[ReferringDomainsItem]:
        """Live referring domains and main domains of every target:
        ``result[target] -> ReferringDomainsItem``.

        """
        return await self.run(
            BULK_REFERRING_DOMAINS, targets, checkpoint=checkpoint, max_cost=max_cost, on_progress=on_progress
        )

    @_job_doc(_RETURNS_RESULT)
    async def bulk_new_lost_backlinks(
        self,
        targets: Targets,
        *,
        date_from: dt.date | str | None = None,
        checkpoint: str | Path | None = None,
        max_cost: float | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> BulkResult[NewLostBacklinksItem]:
        """Backlinks found and lost since a day: ``result[target] -> NewLostBacklinksItem``.

        * **date_from** - *(optional)* a ``datetime.date`` or a ``"yyyy-mm-dd"`` string, from one
          year ago to today (UTC). Default ``None``: the API's, one month ago.
        """
        params = BULK_NEW_LOST_BACKLINKS.check_params({"date_from": date_from})
        return await self.run(
            BULK_NEW_LOST_BACKLINKS,
            targets,
            params=params,
            checkpoint=checkpoint,
            max_cost=max_cost,
            on_progress=on_progress,
        )

    @_job_doc(_RETURNS_RESULT)
    async def bulk_new_lost_referring_domains(
        self,
        targets: Targets,
        *,
        date_from: dt.date | str | None = None,
        checkpoint: str | Path | None = None,
        max_cost: float | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> BulkResult[NewLostReferringDomainsItem]:
        """Referring (main) domains found and lost since a day:
        ``result[target] -> NewLostReferringDomainsItem``.

        * **date_from** - *(optional)* a ``datetime.date`` or a ``"yyyy-mm-dd"`` string, from one
          year ago to today (UTC). Default ``None``: the API's, one month ago.
        """
        params = BULK_NEW_LOST_REFERRING_DOMAINS.check_params({"date_from": date_from})
        return await self.run(
            BULK_NEW_LOST_REFERRING_DOMAINS,
            targets,
            params=params,
            checkpoint=checkpoint,
            max_cost=max_cost,
            on_progress=on_progress,
        )

    @_job_doc(_RETURNS_RESULT)
    async def bulk_pages_summary(
        self,
        targets: Targets,
        *,
        include_subdomains: bool = DEFAULT_INCLUDE_SUBDOMAINS,
        rank_scale: RankScale = DEFAULT_RANK_SCALE,
        checkpoint: str | Path | None = None,
        max_cost: float | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> BulkResult[PagesSummaryItem]:
        """Backlink profile of every page, subdomain or domain: ``result[target] -> PagesSummaryItem``.

        Each call holds at most 100 distinct root domains (Public Suffix List) as well as at most
        1000 targets, so targets spread over many sites take more calls.

        * **include_subdomains** - *(optional)* ``True`` (the API's default): count the
          backlinks of the target's subdomains too; ``False``: the target only.
        * **rank_scale** - *(optional)* ``"one_thousand"`` (0–1000, the default) or
          ``"one_hundred"``.
        """
        params = BULK_PAGES_SUMMARY.check_params(
            {"include_subdomains": include_subdomains, "rank_scale": rank_scale}
        )
        return await self.run(
            BULK_PAGES_SUMMARY,
            targets,
            params=params,
            checkpoint=checkpoint,
            max_cost=max_cost,
            on_progress=on_progress,
        )

    @overload
    async def run(
        self,
        endpoint: Endpoint[V],
        targets: Targets,
        *,
        params: dict[str, Any] | None = None,
        checkpoint: str | Path | None = None,
        max_cost: float | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> BulkResult[V]: ...

    @overload
    async def run(
        self,
        endpoint: str,
        targets: Targets,
        *,
        params: dict[str, Any] | None = None,
        checkpoint: str | Path | None = None,
        max_cost: float | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> BulkResult[Any]: ...

    @_job_doc(_RETURNS_RESULT)
    async def run(
        self,
        endpoint: Endpoint[Any] | str,
        targets: Targets,
        *,
        params: dict[str, Any] | None = None,
        checkpoint: str | Path | None = None,
        max_cost: float | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> BulkResult[Any]:
        """Any bulk endpoint, by description or by name: every target answered, in one result::

            result = await client.run("bulk_ranks", targets, params={"rank_scale": "one_hundred"})

        * **endpoint** - an :class:`Endpoint` (``BULK_RANKS``, ...) or its name in the API
          (``"bulk_ranks"``, the ``{name}`` of ``/v3/backlinks/{name}/live``); see
          :data:`ENDPOINTS`. An unknown name raises :class:`ConfigurationError` listing them.
        * **params** - *(optional)* the endpoint's extra request fields, e.g.
          ``{"rank_scale": "one_hundred"}``, checked before any call; ``targets`` and ``tag``
          are the client's.
        """
        failed: dict[str, TargetFailure] = {}

        def merge(outcome: ChunkOutcome[V]) -> None:
            # Values are not copied here: the job keeps each answer in its own index, and
            # job.answers() hands that over at the end (one dict for the whole job).
            failed.update(outcome.failed)

        endpoint = _resolve(endpoint)
        _check_job_arguments(targets, checkpoint, on_progress)
        params = endpoint.check_params(params)  # before any file is made or call sent
        await self.check_shared_limits()
        with (
            self._cached(endpoint, params, checkpoint, streaming=False) as (cache, checkpoint),
            self._store(endpoint, params, checkpoint) as store,
        ):
            job = self.job(
                endpoint,
                merge,
                params=params,
                store=store,
                cache=cache,
                max_cost=max_cost,
                on_progress=on_progress,
            )
            await self._cap_at_balance(job, endpoint, targets, checkpoint)
            try:
                stats = await job.run(targets)
            except JobAborted as exc:
                exc.result = BulkResult(job.answers(), failed, job.stats())
                raise
            except BaseExceptionGroup as group:
                error = _one_error(group)
                raise error from error.__cause__  # the group when several, else its own cause
        return BulkResult(job.answers(), failed, stats)

    @overload
    def stream(
        self,
        targets: Targets,
        *,
        endpoint: None = None,
        params: dict[str, Any] | None = None,
        checkpoint: str | Path | None = None,
        max_cost: float | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> AbstractAsyncContextManager[OutcomeStream[int | None]]: ...

    @overload
    def stream(
        self,
        targets: Targets,
        *,
        endpoint: Endpoint[V],
        params: dict[str, Any] | None = None,
        checkpoint: str | Path | None = None,
        max_cost: float | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> AbstractAsyncContextManager[OutcomeStream[V]]: ...

    @_job_doc(_STREAM_RAISES)
    def stream(
        self,
        targets: Targets,
        *,
        endpoint: Endpoint[Any] | str | None = None,
        params: dict[str, Any] | None = None,
        checkpoint: str | Path | None = None,
        max_cost: float | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> AbstractAsyncContextManager[OutcomeStream[Any]]:
        """Per-chunk outcomes in completion order, input read lazily, memory bounded::

            async with client.stream(targets, checkpoint="job.sqlite") as outcomes:
                async for outcome in outcomes:      # a ChunkOutcome per chunk
                    write(outcome.values, outcome.failed)
                print(outcomes.stats())             # JobStats so far, at any time

        For inputs of any size: nothing is merged in memory, and with a ``checkpoint`` the
        answers are kept in the file only. A context manager around the iterator, so the job's
        tasks never outlive the block (leaving it early cancels what is in flight).

        * **endpoint** - *(optional)* an :class:`Endpoint` or its name (``"bulk_ranks"``);
          default ``BULK_BACKLINKS``.
        * **params** - *(optional)* the endpoint's extra request fields (as for :meth:`run`).
        """
        resolved = _resolve(endpoint or BULK_BACKLINKS)
        _check_job_arguments(targets, checkpoint, on_progress)
        checked = resolved.check_params(params)  # before any file is made or call sent
        return self._stream(resolved, targets, checked, checkpoint, max_cost, on_progress)

    @asynccontextmanager
    async def _stream(
        self,
        endpoint: Endpoint[V],
        targets: Targets,
        params: dict[str, Any] | None,
        checkpoint: str | Path | None,
        max_cost: float | None,
        on_progress: Callable[[Progress], None] | None,
    ) -> AsyncIterator[OutcomeStream[V]]:
        # A small buffer: a slow consumer holds the workers back instead of piling up outcomes.
        send, receive = anyio.create_memory_object_stream[ChunkOutcome[V]](self._options.max_concurrency)
        raised: list[BaseException] = []

        async def deliver(outcome: ChunkOutcome[V]) -> None:
            # A consumer that left the block early wants no more outcomes.
            with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
                await send.send(outcome)

        params = endpoint.check_params(params)  # before any file is made or call sent
        await self.check_shared_limits()
        with (
            self._cached(endpoint, params, checkpoint, streaming=True) as (cache, checkpoint),
            self._store(endpoint, params, checkpoint) as store,
        ):
            job = self.job(
                endpoint,
                deliver,
                params=params,
                store=store,
                cache=cache,
                max_cost=max_cost,
                on_progress=on_progress,
                streaming=True,
            )
            await self._cap_at_balance(job, endpoint, targets, checkpoint)

            async def produce() -> None:
                async with send:
                    try:
                        await job.run(targets)
                    except JobAborted as exc:
                        raised.append(exc)

            try:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(produce)
                    try:
                        async with receive:
                            yield OutcomeStream(receive, job)
                    finally:
                        tg.cancel_scope.cancel()
            except BaseExceptionGroup as group:
                # An error from the job or the consumer's block: raise it as itself, not in a group.
                error = _one_error(group)
                raise error from error.__cause__  # the group when several, else its own cause
        if raised:
            raise raised[0]

    @contextmanager
    def _store(
        self, endpoint: Endpoint[Any], params: dict[str, Any] | None, checkpoint: str | Path | None
    ) -> Iterator[Checkpoint | None]:
        if checkpoint is None:
            yield None
            return
        from .checkpoint import Checkpoint  # lazy: sqlite3 is needed only with a checkpoint

        with Checkpoint(checkpoint, endpoint=endpoint.name, params=dict(params or {})) as store:
            yield store

    @contextmanager
    def _cached(
        self,
        endpoint: Endpoint[Any],
        params: dict[str, Any],
        checkpoint: str | Path | None,
        *,
        streaming: bool,
    ) -> Iterator[tuple[CacheUse | None, str | Path | None]]:
        """The job's cache (opened here unless the caller gave a store object) and its checkpoint.

        A streamed job with a cache and no checkpoint gets a private temporary checkpoint,
        deleted at the end: answered targets then live on disk, not in memory, and a late
        repeat is still told from a new target (as with a checkpoint of one's own).
        """
        if self._cache is None:
            yield None, checkpoint
            return
        store, owned = open_cache(self._cache)
        try:
            use = CacheUse(store, scope_of(self.base_url, endpoint.name, params), self._max_age)
            if checkpoint is not None or not streaming:
                yield use, checkpoint
                return
            with tempfile.TemporaryDirectory(prefix="dataforseo-bulk-") as scratch:
                yield use, Path(scratch, "answered.sqlite")
        finally:
            if owned:
                store.close()

    def job(
        self,
        endpoint: Endpoint[V],
        on_outcome: OutcomeSink[V],
        *,
        params: dict[str, Any] | None = None,
        store: OutcomeStore | None = None,
        cache: CacheUse | None = None,
        max_cost: float | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        streaming: bool = False,
    ) -> Job[V]:
        """A :class:`Job` on this client's connection and settings (low level: most code wants
        :meth:`run` or :meth:`stream`).

        ``streaming`` with a ``store``: answered targets are kept in the store only, so memory
        stays bounded by the calls in flight however long the input.
        """
        if max_cost is not None:
            _validate(**{**dataclasses.asdict(self._options), "max_cost": max_cost})
        reserved = {"targets", "tag"} & set(params or {})
        if reserved:
            raise ConfigurationError(
                f"params may not set {sorted(reserved)}: the client fills in targets and tag of each call"
            )
        options = self._options
        settings = JobSettings(
            rate_limit=options.rate_limit,
            rate_period=options.rate_period,
            max_concurrency=options.max_concurrency,
            chunk_size=min(options.chunk_size, endpoint.max_targets),
            retry=self._retry,
            max_cost=max_cost if max_cost is not None else options.max_cost,
        )
        return Job(
            endpoint,
            dict(params or {}),
            post=self._poster(self.base_url + endpoint.path),
            settings=settings,
            on_outcome=on_outcome,
            store=store,
            cache=cache,
            forget_answered=streaming,
            on_progress=on_progress or self._on_progress,
            on_retry=self._on_retry,
            clock=self._clock,
            job_id=f"dfsb-{os.urandom(4).hex()}",  # as secrets.token_hex(4), without importing hmac
            pacer=self._shared_pacer(settings),
        )

    def _shared_pacer(self, settings: JobSettings) -> Pacer | None:
        if self._shared is None:
            return None  # the job's own meters, this process alone
        from .shared_limits import SharedPacer

        return SharedPacer(
            self._shared,
            rate_limit=settings.rate_limit,
            rate_period=settings.rate_period,
            max_concurrency=settings.max_concurrency,
            clock=self._clock,
        )
