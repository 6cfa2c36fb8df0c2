"""The facade: ``async with BulkClient(...) as c: result = await c.bulk_backlinks(targets)``.

Every knob is keyword-only and validated here, before any network call, with a message
that says how to fix the call. The client owns one ``httpx.AsyncClient`` with a connection
pool sized to the concurrency cap, unless the caller hands in their own client or transport.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeGuard, TypeVar, overload

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
from .api import Poster, client_poster, transport_poster
from .backoff import RetryPolicy
from .endpoints import (
    BULK_BACKLINKS,
    BULK_NEW_LOST_BACKLINKS,
    BULK_NEW_LOST_REFERRING_DOMAINS,
    BULK_PAGES_SUMMARY,
    BULK_RANKS,
    BULK_REFERRING_DOMAINS,
    BULK_SPAM_SCORE,
    Endpoint,
)
from .engine import ChunkOutcome, Job, JobSettings, OutcomeSink, OutcomeStore, RetryDetails, Targets
from .errors import ConfigurationError, JobAborted
from .pacing import LOOP_CLOCK, Clock, Pacer
from .params import DEFAULT_INCLUDE_SUBDOMAINS, DEFAULT_RANK_SCALE, RankScale
from .result import BulkResult, JobStats, Progress, TargetFailure
from .transport import FastTransport, proxies_configured

if TYPE_CHECKING:
    # Imported where used: a checkpoint needs sqlite3, an item model pydantic (~0.1 s).
    from .checkpoint import Checkpoint
    from .items import (
        NewLostBacklinksItem,
        NewLostReferringDomainsItem,
        PagesSummaryItem,
        ReferringDomainsItem,
    )
    from .shared_limits import SharedAccount, SharedLimits

V = TypeVar("V")


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
    # Plain numbers inside their ranges, the usual knobs, are checked here. Anything else goes to
    # the pydantic model in _knobs, imported only then (pydantic costs ~0.1 s at start-up): it
    # accepts, converts and words its messages exactly as the client always has.
    options = _plain_options(**knobs)
    if options is None:
        from ._knobs import validate  # lazy: see above

        options = _Options(**validate(**knobs))
    return options


def _plain_options(
    *,
    rate_limit: object,
    rate_period: object,
    max_concurrency: object,
    chunk_size: object,
    max_retries: object,
    max_cost: object,
) -> _Options | None:
    """The knobs, if each is a plain number inside its range; else ``None``."""
    if (
        _is_int(rate_limit, 1)
        and _is_positive(rate_period)
        and _is_int(max_concurrency, 1)
        and _is_int(chunk_size, 1, MAX_CHUNK_SIZE)
        and _is_int(max_retries, 0, 50)
        and (max_cost is None or _is_positive(max_cost))
    ):
        return _Options(
            rate_limit=rate_limit,
            rate_period=float(rate_period),
            max_concurrency=max_concurrency,
            chunk_size=chunk_size,
            max_retries=max_retries,
            max_cost=float(max_cost) if max_cost is not None else None,
        )
    return None


def _is_int(value: object, low: int, high: int | None = None) -> TypeGuard[int]:
    """An ``int`` (not a bool, not a subclass) from ``low`` to ``high``."""
    return type(value) is int and low <= value and (high is None or value <= high)


def _is_positive(value: object) -> TypeGuard[float]:
    """A finite ``float`` or an ``int`` (not a bool, not a subclass) greater than 0."""
    if type(value) is float or type(value) is int:
        return 0 < value <= sys.float_info.max  # also refuses NaN and infinity
    return False


def _check_base_url(base_url: str) -> str:
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
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise ConfigurationError(
            f"timeout={timeout!r}: give seconds > 0 (live calls may take up to 120 s; default "
            f"{DEFAULT_READ_TIMEOUT}) or an httpx.Timeout"
        )
    return httpx.Timeout(timeout, connect=min(DEFAULT_CONNECT_TIMEOUT, float(timeout)))


class _Credentials:
    """Login and password; the password is in no repr, str or message."""

    __slots__ = ("auth", "login", "password")

    def __init__(self, login: str | None, password: str | None) -> None:
        login = login if login is not None else os.environ.get(ENV_LOGIN)
        password = password if password is not None else os.environ.get(ENV_PASSWORD)
        if not login or not password:
            raise ConfigurationError(
                f"no API credentials: pass login= and password= (from https://app.dataforseo.com/api-access) "
                f"or set {ENV_LOGIN} and {ENV_PASSWORD}"
            )
        self.login = login
        self.password = password
        self.auth = httpx.BasicAuth(login, password)

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
    """Async client for DataForSEO's bulk Backlinks endpoints. See the README for a tour."""

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
        clock: Clock = LOOP_CLOCK,
        shared_limits: str | SharedLimits | None = None,
    ) -> None:
        self._options = _validate(
            rate_limit=rate_limit,
            rate_period=rate_period,
            max_concurrency=max_concurrency,
            chunk_size=chunk_size,
            max_retries=max_retries,
            max_cost=max_cost,
        )
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
        self._clock = clock
        self._timeout = timeout_
        self._owns_http = http_client is None
        # The default transport is FastTransport (see transport.py and docs/benchmarks.md); with
        # proxies configured in the environment, httpx's own, through a client that honours them.
        if transport is None and http_client is None and not proxies_configured(os.environ):
            transport = FastTransport(max_connections=max_concurrency)
        self._transport = transport
        self._http = http_client or httpx.AsyncClient(
            transport=transport,
            timeout=timeout_,
            limits=httpx.Limits(max_connections=max_concurrency, max_keepalive_connections=max_concurrency),
            headers={"User-Agent": USER_AGENT},
        )

    def __repr__(self) -> str:
        return f"<BulkClient {self.base_url} login={self._credentials.login!r}>"

    def _poster(self, url: str) -> Poster:
        if self._transport is not None and self._owns_http:
            return transport_poster(
                self._transport,
                url,
                login=self._credentials.login,
                password=self._credentials.password,
                timeout=self._timeout,
                user_agent=USER_AGENT,
            )
        return client_poster(self._http, url, self._credentials.auth)

    async def __aenter__(self) -> BulkClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
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

    # --- endpoints -------------------------------------------------------------------
    async def bulk_backlinks(
        self,
        targets: Targets,
        *,
        checkpoint: str | Path | None = None,
        max_cost: float | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> BulkResult[int]:
        """Live backlink count of every target: ``result[target] -> int``; see ``result.failed``."""
        return await self.run(
            BULK_BACKLINKS, targets, checkpoint=checkpoint, max_cost=max_cost, on_progress=on_progress
        )

    async def bulk_ranks(
        self,
        targets: Targets,
        *,
        rank_scale: RankScale = DEFAULT_RANK_SCALE,
        checkpoint: str | Path | None = None,
        max_cost: float | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> BulkResult[int]:
        """Rank of every target: ``result[target] -> int``, 0–1000 (0–100 with
        ``rank_scale="one_hundred"``)."""
        params = BULK_RANKS.check_params({"rank_scale": rank_scale})
        return await self.run(
            BULK_RANKS,
            targets,
            params=params,
            checkpoint=checkpoint,
            max_cost=max_cost,
            on_progress=on_progress,
        )

    async def bulk_spam_score(
        self,
        targets: Targets,
        *,
        checkpoint: str | Path | None = None,
        max_cost: float | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> BulkResult[int]:
        """Spam score of every target: ``result[target] -> int`` from 0 to 100."""
        return await self.run(
            BULK_SPAM_SCORE, targets, checkpoint=checkpoint, max_cost=max_cost, on_progress=on_progress
        )

    async def bulk_referring_domains(
        self,
        targets: Targets,
        *,
        checkpoint: str | Path | None = None,
        max_cost: float | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> BulkResult[ReferringDomainsItem]:
        """Live referring (main) domains of every target: ``result[target] -> ReferringDomainsItem``."""
        return await self.run(
            BULK_REFERRING_DOMAINS, targets, checkpoint=checkpoint, max_cost=max_cost, on_progress=on_progress
        )

    async def bulk_new_lost_backlinks(
        self,
        targets: Targets,
        *,
        date_from: dt.date | str | None = None,
        checkpoint: str | Path | None = None,
        max_cost: float | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> BulkResult[NewLostBacklinksItem]:
        """Backlinks found and lost since ``date_from`` (a date or ``"yyyy-mm-dd"`` within the last
        year, UTC; ``None``: the API's default, one month ago): ``result[target] -> NewLostBacklinksItem``."""
        params = BULK_NEW_LOST_BACKLINKS.check_params({"date_from": date_from})
        return await self.run(
            BULK_NEW_LOST_BACKLINKS,
            targets,
            params=params,
            checkpoint=checkpoint,
            max_cost=max_cost,
            on_progress=on_progress,
        )

    async def bulk_new_lost_referring_domains(
        self,
        targets: Targets,
        *,
        date_from: dt.date | str | None = None,
        checkpoint: str | Path | None = None,
        max_cost: float | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> BulkResult[NewLostReferringDomainsItem]:
        """Referring (main) domains found and lost since ``date_from`` (as for
        :meth:`bulk_new_lost_backlinks`): ``result[target] -> NewLostReferringDomainsItem``."""
        params = BULK_NEW_LOST_REFERRING_DOMAINS.check_params({"date_from": date_from})
        return await self.run(
            BULK_NEW_LOST_REFERRING_DOMAINS,
            targets,
            params=params,
            checkpoint=checkpoint,
            max_cost=max_cost,
            on_progress=on_progress,
        )

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

    async def run(
        self,
        endpoint: Endpoint[V],
        targets: Targets,
        *,
        params: dict[str, Any] | None = None,
        checkpoint: str | Path | None = None,
        max_cost: float | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> BulkResult[V]:
        """Any bulk endpoint: every target answered, merged into one ``BulkResult``.

        ``checkpoint`` names a SQLite file: finished chunks are committed to it as they
        complete, and a rerun with the same file answers those from it without a call.
        ``max_cost`` here overrides the client's. Raises :class:`JobAborted` (its
        ``result`` holding everything already paid for) on a fatal answer or the budget.
        """
        failed: dict[str, TargetFailure] = {}

        def merge(outcome: ChunkOutcome[V]) -> None:
            # Values are not copied here: the job keeps each answer in its own index, and
            # job.answers() hands that over at the end (one dict for the whole job).
            failed.update(outcome.failed)

        params = endpoint.check_params(params)  # before any file is made or call sent
        await self.check_shared_limits()
        with self._store(endpoint, params, checkpoint) as store:
            job = self.job(
                endpoint, merge, params=params, store=store, max_cost=max_cost, on_progress=on_progress
            )
            try:
                stats = await job.run(targets)
            except JobAborted as exc:
                exc.result = BulkResult(job.answers(), failed, job.stats())
                raise
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
    ) -> AbstractAsyncContextManager[OutcomeStream[int]]: ...

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

    def stream(
        self,
        targets: Targets,
        *,
        endpoint: Endpoint[Any] | None = None,
        params: dict[str, Any] | None = None,
        checkpoint: str | Path | None = None,
        max_cost: float | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> AbstractAsyncContextManager[OutcomeStream[Any]]:
        """Per-chunk outcomes in completion order, input read lazily, memory bounded::

            async with client.stream(targets, checkpoint="job.sqlite") as outcomes:
                async for outcome in outcomes:
                    write(outcome.values, outcome.failed)

        A context manager around the iterator, so the job's tasks never outlive the block
        (leaving the block early cancels what is in flight). A fatal answer or the budget
        raises :class:`JobAborted` from the ``async with`` after the last outcome.
        """
        return self._stream(endpoint or BULK_BACKLINKS, targets, params, checkpoint, max_cost, on_progress)

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
        with self._store(endpoint, params, checkpoint) as store:
            job = self.job(
                endpoint,
                deliver,
                params=params,
                store=store,
                max_cost=max_cost,
                on_progress=on_progress,
                streaming=True,
            )

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
                # One error from the job or the consumer's block: raise it as itself, not in a group.
                if len(group.exceptions) == 1:
                    raise group.exceptions[0] from None
                raise
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

    def job(
        self,
        endpoint: Endpoint[V],
        on_outcome: OutcomeSink[V],
        *,
        params: dict[str, Any] | None = None,
        store: OutcomeStore | None = None,
        max_cost: float | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        streaming: bool = False,
    ) -> Job[V]:
        """A :class:`Job` on this client's connection and settings.

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
