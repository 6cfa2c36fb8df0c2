"""The job engine: any number of targets in, one outcome per chunk out.

The path of one chunk::

    input ──normalize/dedup──▶ producer ──chunk──▶ worker ──pacer──▶ post_task ──▶ classify
                                 (lazy)       (≤ max_concurrency)                    │
          on_outcome ◀── spellings ◀── match items by target ◀── OK ◀───────────────┤
                                       retry (backoff) ◀── TRANSIENT ◀──────────────┤
                              bisect / fail targets ◀── PERMANENT ◀─────────────────┤
                          stop everything, JobAborted ◀── FATAL ◀───────────────────┘

The producer reads the input lazily and hands chunks over a zero-buffer stream, so no more
chunks exist than workers can hold. Every target read is, at the end, in an outcome: a
value, a failure with its reason, or (when the job stopped early) an ``aborted`` failure.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import count
from typing import Any, Generic, Protocol, TypeVar

import anyio
import httpx
from anyio.abc import ObjectReceiveStream, ObjectSendStream, TaskGroup

from ._constants import MAX_SPLIT_CALLS_PER_CHUNK, MISSING_TARGET_RETRIES, RATE_LIMITED_PAUSE_FRACTION
from .answer import Answer, encode_task
from .api import post_task
from .backoff import RetryPolicy
from .budget import Budget, call_cost
from .chunks import Chunk, ChunkBuilder, ChunkRef, halves
from .classify import Action, Decision, Kind, classify
from .endpoints import Endpoint, ItemError
from .errors import BudgetExceeded, FatalAnswer, FatalAPIError, JobAborted
from .pacing import LOOP_CLOCK, Clock, ConcurrencyMeter, Pacer, RateMeter
from .result import FailureKind, JobStats, Progress, TargetFailure
from .targets import InvalidTarget, normalize_target

V = TypeVar("V")
log = logging.getLogger("dataforseo_bulk")

#: A sync iterable (list, generator, open file) or an async iterable of target strings.
Targets = Iterable[str] | AsyncIterable[str]
#: Receives each outcome; may be a coroutine function (the job then waits for it: backpressure).
OutcomeSink = Callable[["ChunkOutcome[V]"], Awaitable[None] | None]


class OutcomeStore(Protocol):
    """Where finished targets are kept between runs (a checkpoint), keyed by normalized target.

    ``lookup`` returns the raw API item (or the failure) of each target already finished;
    ``save`` records one chunk's finished targets in one transaction.
    """

    def lookup(self, targets: list[str]) -> dict[str, dict[str, Any] | TargetFailure]: ...

    def save(
        self,
        chunk: ChunkRef | None,
        items: dict[str, dict[str, Any]],
        failed: dict[str, TargetFailure],
        cost_usd: float,
        calls: int,
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class JobSettings:
    url: str
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


@dataclass(frozen=True, slots=True)
class RetryDetails:
    """Handed to the retry hook before each wait."""

    chunk: ChunkRef
    attempt: int  # the attempt that failed, 1-based
    code: int | None
    http_status: int | None
    message: str
    wait: float


#: Failures a rerun would only repeat; the others (aborted, retries exhausted) are tried again.
_FINISHED_FAILURES = frozenset({FailureKind.PERMANENT, FailureKind.MISSING, FailureKind.BAD_ITEM})


class _Pending:
    """A normalized target sent or about to be sent, with every spelling that asked for it."""

    __slots__ = ("spellings",)

    def __init__(self, spelling: str) -> None:
        self.spellings = [spelling]


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
    chunks_done: int = 0


@dataclass(slots=True)
class _ChunkWork(Generic[V]):
    values: dict[str, V] = field(default_factory=dict)
    items: dict[str, dict[str, Any]] = field(default_factory=dict)  # the API's items, for the store
    failed: dict[str, TargetFailure] = field(default_factory=dict)
    cost: float = 0.0
    calls: int = 0


class Job(Generic[V]):
    """One run of one endpoint over one input. Create, then ``await job.run(targets)``."""

    def __init__(
        self,
        endpoint: Endpoint[V],
        params: dict[str, Any],
        *,
        http: httpx.AsyncClient,
        auth: httpx.Auth,
        settings: JobSettings,
        on_outcome: OutcomeSink[V],
        store: OutcomeStore | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        on_retry: Callable[[RetryDetails], None] | None = None,
        clock: Clock = LOOP_CLOCK,
        job_id: str = "job",
    ) -> None:
        self._endpoint = endpoint
        self._params = params
        self._http = http
        self._auth = auth
        self._settings = settings
        self._on_outcome = on_outcome
        self._store = store
        self._on_progress = on_progress
        self._on_retry = on_retry
        self._clock = clock
        self._job_id = job_id
        self._pacer = Pacer(
            RateMeter(settings.rate_limit, settings.rate_period, clock=clock),
            ConcurrencyMeter(settings.max_concurrency, clock=clock),
        )
        self._budget = Budget(settings.max_cost)
        self._entries: dict[str, _Pending | V | TargetFailure] = {}
        self._seen: set[str] = set()
        self._local = _ChunkWork[V]()
        self._tally = _Tally()
        self._abort: JobAborted | None = None
        self._task_group: TaskGroup | None = None
        self._started = 0.0

    @property
    def pacer(self) -> Pacer:
        return self._pacer

    # --- the run ---------------------------------------------------------------------
    async def run(self, targets: Targets) -> JobStats:
        """Answer every target; raise :class:`JobAborted` (with ``result`` unset) on an early stop."""
        self._started = self._clock.now()
        send, receive = anyio.create_memory_object_stream[Chunk](0)
        try:
            async with anyio.create_task_group() as tg:
                self._task_group = tg
                tg.start_soon(self._produce, targets, send)
                for _ in range(self._settings.max_concurrency):
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
            elapsed=self._clock.now() - self._started,
        )

    # --- input -----------------------------------------------------------------------
    async def _produce(self, targets: Targets, send: ObjectSendStream[Chunk]) -> None:
        endpoint = self._endpoint
        builder = ChunkBuilder(
            self._settings.chunk_size, group_of=endpoint.root_domain, max_groups=endpoint.max_root_domains
        )
        indexes = count()
        async with send:
            async for raw in _each(targets):
                if self._abort is not None:
                    return
                target = self._accept(raw)
                if target is None:
                    continue
                if not builder.fits(target) and not await self._dispatch(builder, send, indexes):
                    return
                builder.add(target)
                if builder.full and not await self._dispatch(builder, send, indexes, only_if_full=True):
                    return
            if self._abort is None:
                await self._dispatch(builder, send, indexes)
            await self._flush_local()

    async def _dispatch(
        self,
        builder: ChunkBuilder,
        send: ObjectSendStream[Chunk],
        indexes: Iterator[int],
        *,
        only_if_full: bool = False,
    ) -> bool:
        """Send the builder's chunk (less what a checkpoint already holds); False if nobody takes it."""
        targets = await self._resume(builder.take())
        if only_if_full and len(targets) < builder.size:
            builder.refill(targets)  # the checkpoint answered some: keep filling
            return True
        if not targets:
            return True
        await self._flush_local()
        index = next(indexes)
        return await _hand_over(send, Chunk(index, targets, f"{self._job_id}-{index}"))

    async def _resume(self, buffer: list[str]) -> list[str]:
        """Answer from the store what an earlier run finished; return what is left to send."""
        if self._store is None or not buffer:
            return buffer
        found = self._store.lookup(buffer)
        if not found:
            return buffer
        work = _ChunkWork[V]()
        for target, stored in found.items():
            if isinstance(stored, TargetFailure):
                work.failed[target] = stored
            else:
                self._take(target, stored, None, work)
        self._tally.resumed += len(found)
        await self._emit(None, work, save=False)
        return [t for t in buffer if t not in found]

    def _accept(self, raw: str) -> str | None:
        """Take one input string; return it normalized if it is a target not seen before."""
        if not isinstance(raw, str):
            raw = repr(raw)  # not ours to crash on: report it under a printable key
        if raw in self._seen:
            self._tally.duplicate += 1
            return None
        self._seen.add(raw)
        self._tally.targets += 1
        target = normalize_target(raw)
        if isinstance(target, InvalidTarget):
            self._tally.invalid += 1
            self._local.failed[raw] = TargetFailure(FailureKind.INVALID, target.reason)
            return None
        entry = self._entries.get(target)
        if entry is None:
            self._entries[target] = _Pending(raw)
            return target
        self._tally.duplicate += 1
        if isinstance(entry, _Pending):
            entry.spellings.append(raw)
        elif isinstance(entry, TargetFailure):
            self._local.failed[raw] = entry
        else:
            self._local.values[raw] = entry
        return None

    # --- workers ---------------------------------------------------------------------
    async def _work(self, receive: ObjectReceiveStream[Chunk]) -> None:
        async with receive:
            async for chunk in receive:
                if self._abort is not None:
                    return
                work = _ChunkWork[V]()
                # On a stop, what is unanswered stays pending and is settled as aborted.
                with contextlib.suppress(_Stopped):
                    await self._answer_chunk(chunk, work)
                await self._emit(chunk.ref, work)

    async def _answer_chunk(self, chunk: Chunk, work: _ChunkWork[V]) -> None:
        todo: list[tuple[Chunk, int]] = [(chunk, 0)]
        split_calls = 0
        while todo:
            part, missing_round = todo.pop()
            answer, decision = await self._attempts(part, work)
            if decision.kind is Kind.OK:
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
                if kind is FailureKind.RETRIES_EXHAUSTED:
                    reason = f"gave up after {self._settings.retry.max_retries + 1} attempts: {reason}"
                failure = TargetFailure(kind, reason, decision.code, answer.http_status, part.ref)
                work.failed.update(dict.fromkeys(part.targets, failure))

    async def _attempts(self, part: Chunk, work: _ChunkWork[V]) -> tuple[Answer, Decision]:
        """The one retry loop: pace, call, classify; retry what the table says, bounded."""
        body = encode_task(part.targets, part.tag, self._params)
        worst_case = call_cost(len(part.targets))
        policy = self._settings.retry
        attempt = 0
        while True:
            attempt += 1
            if self._abort is not None:
                raise _Stopped
            if not self._budget.reserve(worst_case):
                self._stop(
                    BudgetExceeded(
                        max_cost=self._settings.max_cost or 0.0,
                        spent=self._budget.spent,
                        next_call=worst_case,
                    ),
                    cancel=False,
                )
                raise _Stopped
            answer: Answer | None = None
            try:
                async with self._pacer.slot():
                    answer = await post_task(self._http, self._settings.url, body, self._auth)
            finally:
                self._account(worst_case, answer, work)
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
                self._stop(FatalAnswer(error), cancel=True)
                raise _Stopped
            if decision.kind is not Kind.TRANSIENT or attempt > policy.max_retries:
                return answer, decision
            wait = policy.wait(attempt)
            self._tally.retries += 1
            details = RetryDetails(
                part.ref, attempt, decision.code, answer.http_status, decision.message, wait
            )
            log.info("retrying %s in %.2fs after %s: %s", part.ref, wait, decision.code, decision.message)
            if self._on_retry is not None:
                self._on_retry(details)
            await self._clock.sleep(wait)

    def _account(self, worst_case: float, answer: Answer | None, work: _ChunkWork[V]) -> None:
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
        wanted = set(part.targets)
        key_field = self._endpoint.key_field
        leftovers: list[dict[str, Any]] = []
        for item in items:
            key = item.get(key_field)
            if isinstance(key, str) and key in wanted:
                wanted.discard(key)
                self._take(key, item, part.ref, work)
            else:
                leftovers.append(item)
        if wanted and leftovers:
            # The API may echo a target in another spelling (case, trailing slash): match loosely.
            loose = {_loose(t): t for t in wanted}
            for item in leftovers:
                key = item.get(key_field)
                target = loose.pop(_loose(key), None) if isinstance(key, str) else None
                if target is not None:
                    wanted.discard(target)
                    self._take(target, item, part.ref, work)
        return [t for t in part.targets if t in wanted]

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
            self._store.save(ref, work.items, finished, work.cost, work.calls)
        values: dict[str, V] = {}
        failed: dict[str, TargetFailure] = {}
        for target, value in work.values.items():
            entry = self._entries[target]
            self._entries[target] = value
            if isinstance(entry, _Pending):
                values.update(dict.fromkeys(entry.spellings, value))
        for target, failure in work.failed.items():
            entry = self._entries[target]
            self._entries[target] = failure
            if isinstance(entry, _Pending):
                failed.update(dict.fromkeys(entry.spellings, failure))
        await self._publish(ChunkOutcome(ref, values, failed, work.cost, work.calls))

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
        unanswered = [t for t, e in self._entries.items() if isinstance(e, _Pending)]
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
        if cancel and self._task_group is not None:
            # A fatal answer: every call still in flight would fail the same way.
            self._task_group.cancel_scope.cancel()


async def _hand_over(send: ObjectSendStream[Chunk], chunk: Chunk) -> bool:
    """Give a chunk to the next free worker; False if every worker has stopped (job aborting)."""
    try:
        await send.send(chunk)
    except anyio.BrokenResourceError:
        return False
    return True


async def _each(targets: Targets) -> AsyncIterator[str]:
    """Iterate a sync or async iterable, yielding to the event loop now and then."""
    if isinstance(targets, AsyncIterable):
        async for raw in targets:
            yield raw
        return
    for n, raw in enumerate(targets, 1):
        if n % 4096 == 0:
            await anyio.lowlevel.checkpoint()
        yield raw


def _loose(target: str) -> str:
    return target.lower().rstrip("/")
