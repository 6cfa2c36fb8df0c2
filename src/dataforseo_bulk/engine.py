"""The job engine: any number of targets in, one outcome per chunk out.

The path of one chunk::

    input ──normalize/dedup──▶ producer ──chunk──▶ worker ──pacer──▶ post ──▶ classify
                                 (lazy)       (≤ max_concurrency)                    │
          on_outcome ◀── spellings ◀── match items by target ◀── OK ◀───────────────┤
                                       retry (backoff) ◀── TRANSIENT ◀──────────────┤
                              bisect / fail targets ◀── PERMANENT ◀─────────────────┤
                          stop everything, JobAborted ◀── FATAL ◀───────────────────┘

The producer reads the input lazily and hands chunks over a zero-buffer stream, so no more
chunks exist than workers can hold: one per call in flight, plus a few spare workers that wait
for a slot with their next call ready. Every target read is, at the end, in an outcome: a
value, a failure with its reason, or (when the job stopped early) an ``aborted`` failure.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import inspect
import logging
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from itertools import count, islice
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

import anyio
from anyio.abc import ObjectReceiveStream, ObjectSendStream, TaskGroup

from ._constants import (
    MAX_SPLIT_CALLS_PER_CHUNK,
    MISSING_TARGET_RETRIES,
    RATE_LIMITED_PAUSE_FRACTION,
    SPARE_WORKERS_FRACTION,
)
from .answer import Answer, encode_task
from .api import Poster
from .backoff import RetryPolicy, wait_before_retry
from .budget import Budget, call_cost
from .cache import CacheUse, saved_by
from .chunks import Chunk, ChunkRef, cut_chunk, halves
from .classify import Action, Decision, Kind, classify
from .endpoints import Endpoint, ItemError
from .errors import APIUnreachable, BalanceExhausted, BudgetExceeded, FatalAnswer, FatalAPIError, JobAborted
from .pacing import LOOP_CLOCK, Clock, ConcurrencyMeter, Pacer, RateMeter
from .result import FailureKind, JobStats, Progress, TargetFailure
from .targets import InvalidTarget, all_normal_domains, normalize_target

V = TypeVar("V")
A = TypeVar("A")
log = logging.getLogger("dataforseo_bulk")

#: A sync iterable (list, generator, open file) or an async iterable of target strings.
Targets = Iterable[str] | AsyncIterable[str]
#: Receives each outcome; may be a coroutine function (the job then waits for it: backpressure).
OutcomeSink = Callable[["ChunkOutcome[V]"], Awaitable[None] | None]


class Stored(NamedTuple):
    """A finished target as a store holds it."""

    answer: dict[str, Any] | TargetFailure  # the API's raw item, or the failure
    given_in_this_run: bool  # already handed out in this run under its normal form
    read_in_this_run: bool = False  # already read in this run (in any spelling): a duplicate now


class OutcomeStore(Protocol):
    """Where finished targets are kept between runs (a checkpoint), keyed by normalized target.

    ``lookup`` returns each target already finished; ``save`` records one chunk's finished
    targets in one transaction (``not_given`` lists those whose normal form itself was not
    among the spellings that asked); ``given`` records that the normal form of each of
    ``targets`` has now been handed its answer in this run.
    """

    def lookup(self, targets: list[str]) -> dict[str, Stored]: ...

    def save(
        self,
        chunk: ChunkRef | None,
        items: dict[str, dict[str, Any]],
        failed: dict[str, TargetFailure],
        cost_usd: float,
        calls: int,
        *,
        not_given: frozenset[str] = frozenset(),
    ) -> None: ...

    def given(self, targets: list[str]) -> None: ...


@dataclass(frozen=True, slots=True)
class JobSettings:
    rate_limit: int
    rate_period: float
    max_concurrency: int
    chunk_size: int
    retry: RetryPolicy
    max_cost: float | None = None


@dataclass(frozen=True, slots=True)
class ChunkOutcome(Generic[V]):
    """What one chunk (or, with ``chunk`` None, the input itself: invalid targets and late
    duplicates) settled, keyed by the caller's spellings."""

    chunk: ChunkRef | None
    values: dict[str, V]
    failed: dict[str, TargetFailure]
    cost_usd: float = 0.0
    calls: int = 0
    #: The API's ``total_count`` summed over the chunk's answers (``bulk_pages_summary`` reports
    #: how many of the targets its database holds); ``None`` when no answer carried one.
    total_count: int | None = None


@dataclass(frozen=True, slots=True)
class RetryDetails:
    """Handed to the retry hook before each wait."""

    chunk: ChunkRef
    attempt: int  # the attempt that failed, 1-based
    code: int | None
    http_status: int | None
    message: str
    wait: float


#: Fatal codes that mean the money ran out (40200 Payment Required, 40203 the dashboard's daily
#: cost limit, 40210 Insufficient funds): the calls already accepted are still answered and billed.
_OUT_OF_FUNDS = frozenset({40200, 40203, 40210})
#: Failures a rerun would only repeat; the others (aborted, retries exhausted) are tried again.
_FINISHED_FAILURES = frozenset(
    {FailureKind.PERMANENT, FailureKind.MISSING, FailureKind.BAD_ITEM, FailureKind.NO_DATA}
)


class _Pending:
    """Marks a normalized target read but not answered yet (``_PENDING``, the one instance)."""

    __slots__ = ()


_PENDING = _Pending()
_NOT_VALUES = (_Pending, TargetFailure)
_ABSENT: Any = object()


class _Stopped(Exception):
    """Internal: the job is stopping; leave the chunk's unanswered targets pending."""


@dataclass(slots=True)
class _Tally:
    targets: int = 0
    ok: int = 0
    failed: int = 0
    duplicate: int = 0
    invalid: int = 0
    calls: int = 0
    retries: int = 0
    cost_usd: float = 0.0
    unknown_cost_calls: int = 0
    resumed: int = 0
    cached: int = 0
    chunks_done: int = 0


@dataclass(slots=True)
class _ChunkWork(Generic[V]):
    values: dict[str, V] = field(default_factory=dict)
    items: dict[str, dict[str, Any]] = field(default_factory=dict)  # the API's items, for the store
    failed: dict[str, TargetFailure] = field(default_factory=dict)
    cost: float = 0.0
    calls: int = 0
    total_count: int | None = None


class Job(Generic[V]):
    """One run of one endpoint over one input. Create, then ``await job.run(targets)``."""

    def __init__(
        self,
        endpoint: Endpoint[V],
        params: dict[str, Any],
        *,
        post: Poster,
        settings: JobSettings,
        on_outcome: OutcomeSink[V],
        store: OutcomeStore | None = None,
        cache: CacheUse | None = None,
        forget_answered: bool = False,
        on_progress: Callable[[Progress], None] | None = None,
        on_retry: Callable[[RetryDetails], None] | None = None,
        clock: Clock = LOOP_CLOCK,
        job_id: str = "job",
        pacer: Pacer | None = None,
    ) -> None:
        self._endpoint = endpoint
        self._params = params
        self._post = post
        self._settings = settings
        self._on_outcome = on_outcome
        self._store = store
        self._cache = cache
        # A streamed job with a store keeps answers there, not here: memory stays bounded by the
        # calls in flight, and a late duplicate is answered from the store (never bought again).
        self._forget_answered = forget_answered and store is not None
        self._on_progress = on_progress
        self._on_retry = on_retry
        self._clock = clock
        self._job_id = job_id
        # The client may hand in a pacer whose meters are shared with other processes.
        self._pacer = pacer or Pacer(
            RateMeter(settings.rate_limit, settings.rate_period, clock=clock),
            ConcurrencyMeter(settings.max_concurrency, clock=clock),
        )
        self._budget = Budget(settings.max_cost)
        self._read_balance: Callable[[], Awaitable[float | None]] | None = None
        # Every normalized target read maps to a _Pending marker until answered, then to its
        # value or TargetFailure. In a bulk_*() job this dict *is* the result (see answers()):
        # each answer is stored once. Only targets asked for in some other spelling than their
        # normal form have a list of the caller's spellings in _spellings (the normal form is
        # in the list only if it was asked for itself): most jobs never make one.
        self._entries: dict[str, Any] = {}
        self._spellings: dict[str, list[str]] = {}
        self._seen: set[str] = set()
        self._local = _ChunkWork[V]()
        self._tally = _Tally()
        self._abort: JobAborted | None = None
        self._reached = False  # some call of this job has connected to the API
        self._task_group: TaskGroup | None = None
        self._started = 0.0
        # Retry waits in progress (50303 waits minutes): a stop that lets calls in flight finish
        # ends these at once, so the job does not sit out a wait it will never use.
        self._waits: set[anyio.CancelScope] = set()

    @property
    def pacer(self) -> Pacer:
        return self._pacer

    def cap_at_balance(self, balance: float | None) -> None:
        """Never let the job's spending pass ``balance`` (the account's, read as it starts)."""
        self._budget.balance = balance

    def read_balance_first(self, read: Callable[[], Awaitable[float | None]]) -> None:
        """Read the balance with ``read`` just before the first chunk is dispatched, then cap the
        job at it. A job with nothing to send never reads it; a :class:`JobAborted` from ``read``
        (refused credentials, an unreachable API) stops the job before any call."""
        self._read_balance = read

    # --- the run ---------------------------------------------------------------------
    async def run(self, targets: Targets) -> JobStats:
        """Answer every target; raise :class:`JobAborted` (with ``result`` unset) on an early stop."""
        self._started = self._clock.now()
        send, receive = anyio.create_memory_object_stream[Chunk](0)
        try:
            async with self._pacer.running(), anyio.create_task_group() as tg:
                self._task_group = tg
                tg.start_soon(self._produce, targets, send)
                for _ in range(_workers(self._settings.max_concurrency)):
                    tg.start_soon(self._work, receive.clone())
                receive.close()
        finally:
            # Shielded: on a cancellation from outside, what finished is still reported.
            with anyio.CancelScope(shield=True):
                await self._settle_unanswered()
        if self._abort is not None:
            raise self._abort
        return self.stats()

    def stats(self) -> JobStats:
        t = self._tally
        return JobStats(
            targets=t.targets,
            ok=t.ok,
            failed=t.failed,
            duplicate=t.duplicate,
            invalid=t.invalid,
            calls=t.calls,
            retries=t.retries,
            cost_usd=round(t.cost_usd, 8),
            unknown_cost_calls=t.unknown_cost_calls,
            resumed=t.resumed,
            cached=t.cached,
            saved_usd=saved_by(t.cached, self._settings.chunk_size),
            elapsed=self._clock.now() - self._started,
        )

    # --- input -----------------------------------------------------------------------
    async def _produce(self, targets: Targets, send: ObjectSendStream[Chunk]) -> None:
        """Read the input in batches of a chunk's size, cut chunks, hand each to a free worker."""
        endpoint = self._endpoint
        size = self._settings.chunk_size
        indexes = count()
        pending: list[str] = []
        async with send:
            async for batch in _batches(targets, size):
                if self._abort is not None:
                    return
                fresh = self._accept(batch)
                if self._store is not None:
                    fresh = await self._resume(fresh)
                if self._cache is not None and self._cache.max_age > 0:
                    fresh = await self._from_cache(fresh)
                pending.extend(fresh)
                await self._flush_local()
                while cut := cut_chunk(pending, size, endpoint.root_domain, endpoint.max_root_domains):
                    chunk_targets, pending = pending[:cut], pending[cut:]
                    index = next(indexes)
                    if not await self._dispatch(send, Chunk(index, chunk_targets, f"{self._job_id}-{index}")):
                        return
            while pending and self._abort is None:
                cut = cut_chunk(pending, size, endpoint.root_domain, endpoint.max_root_domains, final=True)
                chunk_targets, pending = pending[:cut], pending[cut:]
                index = next(indexes)
                if not await self._dispatch(send, Chunk(index, chunk_targets, f"{self._job_id}-{index}")):
                    return
            await self._flush_local()

    async def _dispatch(self, send: ObjectSendStream[Chunk], chunk: Chunk) -> bool:
        """Hand ``chunk`` to a worker, reading the balance first if the job was told to."""
        if self._read_balance is not None:
            read, self._read_balance = self._read_balance, None
            try:
                self.cap_at_balance(await read())
            except JobAborted as exc:
                self._stop(exc, cancel=True)
                return False
        return await _hand_over(send, chunk)

    async def _resume(self, fresh: list[str]) -> list[str]:
        """Answer from the store what an earlier run finished; return what is left to send."""
        assert self._store is not None
        found = self._store.lookup(fresh) if fresh else {}
        if not found:
            return fresh
        entries = self._entries
        work = _ChunkWork[V]()
        given: list[str] = []
        repeats = 0
        spellings = self._spellings
        # Counted as a job without a store counts them: a target this run read earlier in another
        # spelling (and forgot since) is a duplicate input, not an answer from an earlier run.
        read_again = 0
        for target, (answer, given_in_this_run, read_in_this_run) in found.items():
            names = spellings.get(target)
            if names is None or target in names:  # the normal form itself asked for it
                if given_in_this_run:
                    # An exact repeat of an input this run already answered (its entry was
                    # forgotten to save memory): a duplicate, not a new target.
                    repeats += 1
                    if names is None:
                        del entries[target]
                        continue
                    names.remove(target)
                else:
                    given.append(target)
                    read_again += read_in_this_run
            else:
                read_again += read_in_this_run
            if isinstance(answer, TargetFailure):
                work.failed[target] = answer
            else:
                self._take(target, answer, None, work)
        self._store.given(given)
        tally = self._tally
        tally.targets -= repeats
        tally.duplicate += repeats + read_again
        tally.resumed += len(found) - repeats - read_again
        await self._emit(None, work, save=False)
        return [t for t in fresh if t not in found]

    async def _from_cache(self, fresh: list[str]) -> list[str]:
        """Answer from the results cache what a job bought less than ``max_age`` ago (one lookup
        for the batch); return what is left to send."""
        assert self._cache is not None
        cache = self._cache
        found = cache.store.fresh(cache.scope, fresh, cache.max_age) if fresh else {}
        if not found:
            return fresh
        work = _ChunkWork[V]()
        for target, item in found.items():
            self._take(target, item, None, work)
        work.failed.clear()  # an item this version cannot read is bought again, not failed
        rest = [t for t in fresh if t not in work.values]
        self._tally.cached += len(work.values)
        # Kept in the checkpoint (if any) like a bought answer; not put back in the cache (its
        # purchase time stays the real one).
        await self._emit(None, work)
        return rest

    def _accept(self, batch: list[str]) -> list[str]:
        """Take input strings; return the normalized targets not seen before, in input order.

        A string in normal form is tracked by its entry alone; another spelling (or an invalid
        string) is also kept in ``_seen``, so that an exact repeat of it is counted once.
        """
        entries = self._entries
        if all_normal_domains(batch) and len(set(batch)) == len(batch) and entries.keys().isdisjoint(batch):
            # The common batch: plain domains in normal form, none repeated, none read before.
            # What the loop below would do, in C: 0.2-0.4 ms less per 1000 (docs/performance.md).
            entries.update(dict.fromkeys(batch, _PENDING))
            self._tally.targets += len(batch)
            return batch
        spellings = self._spellings
        seen = self._seen
        local = self._local
        fresh: list[str] = []
        duplicate = invalid = distinct = 0
        for raw in batch:
            target = normalize_target(raw)
            if isinstance(target, InvalidTarget):
                raw = target.raw  # a non-str input is reported under its printable repr
                if raw in seen:
                    duplicate += 1
                else:
                    seen.add(raw)
                    distinct += 1
                    invalid += 1
                    local.failed[raw] = TargetFailure(FailureKind.INVALID, target.reason)
                continue
            if type(raw) is not str:
                raw = str(raw)  # a str subclass: keep the caller's text as a plain str
            entry = entries.get(target, _ABSENT)
            if target == raw:  # the caller's string is the normal form
                if entry is _ABSENT:
                    entries[raw] = _PENDING
                    fresh.append(raw)
                    distinct += 1
                    continue
                duplicate += 1
                names = spellings.get(target)
                if names is not None and raw not in names:
                    # Asked for under other spellings only, until now.
                    names.append(raw)
                    distinct += 1
                    if type(entry) is not _Pending:  # already answered: hand it over now
                        self._give(local, raw, entry)
                continue
            if raw in seen:
                duplicate += 1
                continue
            seen.add(raw)
            distinct += 1
            if entry is _ABSENT:
                entries[target] = _PENDING
                spellings[target] = [raw]
                fresh.append(target)
                continue
            duplicate += 1
            names = spellings.get(target)
            if names is None:
                spellings[target] = [target, raw]
            else:
                names.append(raw)
            if type(entry) is not _Pending:  # already answered: hand it over now
                self._give(local, raw, entry)
        tally = self._tally
        tally.targets += distinct
        tally.duplicate += duplicate
        tally.invalid += invalid
        return fresh

    @staticmethod
    def _give(local: _ChunkWork[V], raw: str, answer: Any) -> None:
        if isinstance(answer, TargetFailure):
            local.failed[raw] = answer
        else:
            local.values[raw] = answer

    # --- workers ---------------------------------------------------------------------
    async def _work(self, receive: ObjectReceiveStream[Chunk]) -> None:
        async with receive:
            async for chunk in receive:
                if self._abort is not None:
                    return
                work = _ChunkWork[V]()
                # On a stop, what is unanswered stays pending and is settled as aborted.
                try:
                    with contextlib.suppress(_Stopped):
                        await self._answer_chunk(chunk, work)
                except anyio.get_cancelled_exc_class():
                    # Cancelled (a fatal answer, or from outside): what the chunk's calls
                    # bought, and the calls themselves, are still kept and reported.
                    with anyio.CancelScope(shield=True):
                        await self._emit(chunk.ref, work)
                    raise
                await self._emit(chunk.ref, work)

    async def _answer_chunk(self, chunk: Chunk, work: _ChunkWork[V]) -> None:
        todo: list[tuple[Chunk, int]] = [(chunk, 0)]
        split_calls = 0
        while todo:
            part, missing_round = todo.pop()
            answer, decision = await self._attempts(part, work)
            # The slot is free again: let a spare worker send its call before this answer's
            # bookkeeping (shielded: an answer in hand is never dropped by a cancellation).
            await anyio.lowlevel.cancel_shielded_checkpoint()
            if decision.kind is Kind.OK:
                if answer.total_count is not None:
                    work.total_count = (work.total_count or 0) + answer.total_count
                missing = self._match(part, answer.items or [], work)
                if not missing:
                    continue
                if missing_round < MISSING_TARGET_RETRIES:
                    todo.append((part.part(missing, f".m{missing_round + 1}"), missing_round + 1))
                    continue
                failure = TargetFailure(
                    FailureKind.MISSING,
                    f"absent from the API's answer, also when asked again ({missing_round + 1} calls)",
                    chunk=part.ref,
                )
                work.failed.update(dict.fromkeys(missing, failure))
            elif decision.action is Action.SPLIT and split_calls + 2 <= MAX_SPLIT_CALLS_PER_CHUNK:
                split_calls += 2
                left, right = halves(part.targets)
                todo.append((part.part(right, ".r"), missing_round))
                todo.append((part.part(left, ".l"), missing_round))
            else:
                kind = (
                    FailureKind.RETRIES_EXHAUSTED
                    if decision.kind is Kind.TRANSIENT
                    else FailureKind.PERMANENT
                )
                reason = decision.message or "no message"
                if decision.action is Action.NO_DATA:  # an answer, paid for: never bought again
                    kind, reason = FailureKind.NO_DATA, f"{reason}, also when asked again"
                elif kind is FailureKind.RETRIES_EXHAUSTED:
                    reason = f"gave up after {self._settings.retry.max_retries + 1} attempts: {reason}"
                failure = TargetFailure(kind, reason, decision.code, answer.http_status, part.ref)
                work.failed.update(dict.fromkeys(part.targets, failure))

    async def _attempts(self, part: Chunk, work: _ChunkWork[V]) -> tuple[Answer, Decision]:
        """The one retry loop: pace, call, classify; retry what the table says, bounded."""
        body = encode_task(part.targets, part.tag, self._params)
        worst_case = call_cost(len(part.targets))
        policy = self._settings.retry
        attempt = 0
        empty_results = 0
        while True:
            attempt += 1
            if self._abort is not None:
                raise _Stopped
            if not self._budget.reserve(worst_case):
                self._stop(self._over_budget(worst_case), cancel=False)
                raise _Stopped
            answer: Answer | None = None
            sent = False
            try:
                async with self._pacer.slot():
                    if isinstance(self._abort, FatalAnswer):  # out of funds while this call waited
                        raise _Stopped  # (a call reserved within a budget cap may still go)
                    sent = True  # from here on the call may reach the API (and be billed)
                    answer = await self._post(body)
            except JobAborted as stop:  # the pacer cannot pace any more (shared limits lost)
                self._stop(stop, cancel=False)  # what is in flight finishes
                raise _Stopped from None
            finally:
                self._account(worst_case, answer, work, sent=sent)
            if answer.sent:
                self._reached = True
            elif not self._reached and (attempt > 1 or attempt > policy.max_retries):
                # Nothing of this job ever connected, and neither did this chunk's retry: the
                # API is out of reach (wrong host, no network). Stop now rather than retry every
                # chunk. Calls in flight are let finish: one that does connect is paid for as usual.
                log.info("cannot reach the API (%s); stopping the job", answer.error)  # raised below
                self._stop(APIUnreachable(answer.error or "no connection"), cancel=False)
                raise _Stopped
            decision = classify(answer, n_targets=len(part.targets))
            self._react(decision)
            if decision.kind is Kind.FATAL:
                error = FatalAPIError(
                    decision.message or "fatal answer",
                    chunk=part.ref,
                    http_status=answer.http_status,
                    status_code=decision.code,
                    attempt=attempt,
                )
                log.error("%s; stopping the job", error)
                # Out of money: the calls in flight were accepted and will be billed, so their
                # answers are awaited and kept. Any other fatal answer: they would fail alike.
                out_of_funds = decision.code in _OUT_OF_FUNDS or answer.http_status == 402
                self._stop(FatalAnswer(error), cancel=not out_of_funds)
                raise _Stopped
            if decision.action is Action.NO_DATA:
                empty_results += 1  # "no data" once may be a hiccup; twice is the answer
                if empty_results > 1 or policy.max_retries == 0:
                    return answer, decision
            if decision.kind is not Kind.TRANSIENT or attempt > policy.max_retries:
                return answer, decision
            hold = wait_before_retry(
                policy,
                attempt,
                code=decision.code,
                http_status=answer.http_status,
                retry_after=answer.retry_after,
                now=dt.datetime.now(dt.UTC),
            )
            if hold.pause_all > 0:  # a proxy's 429 said how long: every call waits that long
                log.warning("HTTP 429 asked for %.1fs: pausing all calls", hold.pause_all)
                self._pacer.rate.pause(hold.pause_all)
            wait = hold.seconds
            self._tally.retries += 1
            details = RetryDetails(
                part.ref, attempt, decision.code, answer.http_status, decision.message, wait
            )
            log.info("retrying %s in %.2fs after %s: %s", part.ref, wait, decision.code, decision.message)
            if self._on_retry is not None:
                self._on_retry(details)
            with anyio.CancelScope() as waiting:
                self._waits.add(waiting)
                try:
                    await self._clock.sleep(wait)
                finally:
                    self._waits.discard(waiting)

    def _over_budget(self, worst_case: float) -> JobAborted:
        budget = self._budget
        spent = budget.spent + budget.reserved
        if budget.balance is not None and budget.would_pass(budget.balance, worst_case):
            return BalanceExhausted(balance=budget.balance, spent=spent, next_call=worst_case)
        return BudgetExceeded(max_cost=self._settings.max_cost or 0.0, spent=spent, next_call=worst_case)

    def _account(self, worst_case: float, answer: Answer | None, work: _ChunkWork[V], *, sent: bool) -> None:
        if not sent or (answer is not None and not answer.sent):
            # Cancelled while waiting for its slot, or never connected: never went out, costs nothing.
            self._budget.settle(worst_case, 0.0)
            return
        charged = answer.cost if answer is not None and answer.cost_known else None
        self._budget.settle(worst_case, charged)
        self._tally.calls += 1
        work.calls += 1
        if charged is None:
            self._tally.unknown_cost_calls += 1
        else:
            self._tally.cost_usd += charged
            work.cost += charged

    def _react(self, decision: Decision) -> None:
        if decision.action is Action.PAUSE:
            pause = self._settings.rate_period * RATE_LIMITED_PAUSE_FRACTION
            log.warning("rate limit answered (%s): pausing all calls for %.1fs", decision.code, pause)
            self._pacer.rate.pause(pause)
        elif decision.action is Action.SHRINK:
            self._pacer.concurrency.shrink()
            log.warning(
                "too many simultaneous calls (40209): at most %d in flight for a while",
                self._pacer.concurrency.cap,
            )

    def _match(self, part: Chunk, items: list[dict[str, Any]], work: _ChunkWork[V]) -> list[str]:
        """Give each item to its target (by the echoed target, never by position); return the rest."""
        key_field = self._endpoint.key_field
        value_of = self._endpoint.value
        values: dict[str, Any] = work.values
        keep_items = work.items if self._store is not None or self._cache is not None else None
        # Each target (distinct: sent once) to itself: results are keyed by the chunk's own
        # string, the very object the job's index holds, not by the equal string the answer
        # echoes. Recording them then finds each key by identity, without comparing the text of
        # a long-cold string (measured: docs/performance.md).
        wanted = {target: target for target in part.targets}
        leftovers: list[dict[str, Any]] = []
        for item in items:
            key = item.get(key_field)
            target = wanted.pop(key, None) if type(key) is str else None
            if target is None:
                leftovers.append(item)
                continue
            try:
                values[target] = value_of(item)
            except ItemError as exc:
                work.failed[target] = TargetFailure(FailureKind.BAD_ITEM, str(exc), chunk=part.ref)
                continue
            if keep_items is not None:
                keep_items[target] = item
        if wanted and leftovers:
            # The API may echo a target in another spelling (case, trailing slash): match loosely.
            loose = {_loose(t): t for t in wanted}
            for item in leftovers:
                key = item.get(key_field)
                target = loose.pop(_loose(key), None) if isinstance(key, str) else None
                if target is not None:
                    del wanted[target]
                    self._take(target, item, part.ref, work)
        return [t for t in part.targets if t in wanted] if wanted else []

    def _take(self, target: str, item: dict[str, Any], ref: ChunkRef | None, work: _ChunkWork[V]) -> None:
        try:
            work.values[target] = self._endpoint.value(item)
            work.items[target] = item
        except ItemError as exc:
            work.failed[target] = TargetFailure(FailureKind.BAD_ITEM, str(exc), chunk=ref)

    # --- output ----------------------------------------------------------------------
    async def _emit(self, ref: ChunkRef | None, work: _ChunkWork[V], *, save: bool = True) -> None:
        if save and self._store is not None and (work.items or work.failed or work.calls):
            # Committed before anyone hears of it: a crash after this point loses nothing paid for.
            finished = {t: f for t, f in work.failed.items() if f.kind in _FINISHED_FAILURES}
            spellings = self._spellings
            not_given = frozenset(t for t in (*work.items, *finished) if t not in spellings.get(t, (t,)))
            self._store.save(ref, work.items, finished, work.cost, work.calls, not_given=not_given)
        if self._cache is not None and ref is not None and work.items:
            self._cache.store.put(self._cache.scope, work.items)  # bought answers only (ref: a call)
        values: dict[str, V] = self._resolve(work.values)
        failed: dict[str, TargetFailure] = self._resolve(work.failed)
        await self._publish(ChunkOutcome(ref, values, failed, work.cost, work.calls, work.total_count))

    def _resolve(self, answers: dict[str, A]) -> dict[str, A]:
        """Record each target's answer; return it keyed by every spelling that asked for it."""
        entries = self._entries
        spellings = self._spellings
        if self._forget_answered:
            for target, answer in answers.items():
                if isinstance(answer, TargetFailure) and answer.kind not in _FINISHED_FAILURES:
                    entries[target] = answer  # not in the store: kept, so a repeat is not sent again
                else:
                    entries.pop(target, None)
        else:
            entries.update(answers)  # C-level: every target of a chunk is in entries already
        if not spellings:  # every target so far was asked for in its normal form only
            return answers
        by_spelling: dict[str, A] = {}
        names_of = spellings.pop if self._forget_answered else spellings.get
        for target, answer in answers.items():
            for name in names_of(target, None) or (target,):  # the normal form too, if asked for
                by_spelling[name] = answer
        return by_spelling

    def answers(self) -> dict[str, V]:
        """Every value, keyed by the caller's spellings, once the job has ended (a bulk result).

        The job's index is turned into the result in place, not copied: each answer stays
        stored once. The job has no other use for it afterwards.
        """
        entries = self._entries
        tally = self._tally
        if not self._spellings and tally.failed == 0 and tally.ok == len(entries):
            return entries  # every entry holds a value and is keyed as asked: nothing to scan
        for target in [t for t, e in entries.items() if type(e) in _NOT_VALUES]:
            del entries[target]
        for target, names in self._spellings.items():
            value = entries.pop(target, _ABSENT)
            for name in names if value is not _ABSENT else ():  # the normal form too, if asked for
                entries[name] = value
        return entries

    async def _publish(self, outcome: ChunkOutcome[V]) -> None:
        tally = self._tally
        tally.ok += len(outcome.values)
        tally.failed += len(outcome.failed)
        if outcome.chunk is not None:
            tally.chunks_done += 1
        delivered = self._on_outcome(outcome)
        if inspect.isawaitable(delivered):
            await delivered
        if self._on_progress is not None:
            self._on_progress(
                Progress(
                    chunks_done=tally.chunks_done,
                    targets_done=tally.ok + tally.failed,
                    calls=tally.calls,
                    retries=tally.retries,
                    cost_usd=round(tally.cost_usd, 8),
                    elapsed=self._clock.now() - self._started,
                )
            )

    async def _flush_local(self) -> None:
        local = self._local
        if local.values or local.failed:
            self._local = _ChunkWork[V]()
            await self._publish(ChunkOutcome(None, local.values, local.failed))

    async def _settle_unanswered(self) -> None:
        """Whatever was read and has no answer now is reported, never dropped."""
        await self._flush_local()
        tally = self._tally
        if tally.ok + tally.failed >= tally.targets:
            return  # every distinct input string has had its outcome: no need to scan the entries
        unanswered = [t for t, e in self._entries.items() if type(e) is _Pending]
        if not unanswered:
            return
        # Without an abort this is a cancellation from outside (or a bug): say so, do not drop.
        reason = f"not answered: the job stopped first ({self._abort or 'cancelled'})"
        failure = TargetFailure(FailureKind.ABORTED, reason)
        work = _ChunkWork[V](failed=dict.fromkeys(unanswered, failure))
        await self._emit(None, work)

    def _stop(self, reason: JobAborted, *, cancel: bool) -> None:
        if self._abort is None:
            self._abort = reason
        for waiting in self._waits:
            waiting.cancel()
        if cancel and self._task_group is not None:
            # A fatal answer: every call still in flight would fail the same way.
            self._task_group.cancel_scope.cancel()


def _workers(max_concurrency: int) -> int:
    """The cap in flight plus the spare workers that wait for a slot with their next call ready
    (SPARE_WORKERS_FRACTION); the pacer still lets no more than the cap be in flight."""
    return max_concurrency + max(1, round(max_concurrency * SPARE_WORKERS_FRACTION))


async def _hand_over(send: ObjectSendStream[Chunk], chunk: Chunk) -> bool:
    """Give a chunk to the next free worker; False if every worker has stopped (job aborting)."""
    try:
        await send.send(chunk)
    except anyio.BrokenResourceError:
        return False
    return True


async def _batches(targets: Targets, size: int) -> AsyncIterator[list[str]]:
    """The input in lists of up to ``size`` strings, read lazily from a sync or async iterable."""
    if isinstance(targets, AsyncIterable):
        batch: list[str] = []
        async for raw in targets:
            batch.append(raw)
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch
        return
    iterator = iter(targets)
    while batch := list(islice(iterator, size)):
        yield batch
        await anyio.lowlevel.checkpoint()  # a big in-memory input must not starve the workers


def _loose(target: str) -> str:
    return target.lower().rstrip("/")
