"""Pacing: when may the next call go out?

Two small meters, one protocol (``acquire`` / ``release``), combined by :class:`Pacer`:

* :class:`RateMeter` holds ``limit`` calls over *any* window of ``period`` seconds. It books
  calls on an evenly spaced grid (GCRA: one slot every ``period / limit`` seconds), so a job
  starts at the steady rate instead of with a burst. ``aiolimiter.AsyncLimiter(2000, 60)``
  is a leaky bucket that admits ~2000 at once and ~4000 in the first minute; the API answers
  that with 40202. Slots are booked on the grid, not from wake-up times, so the event loop's
  wake-up lateness never accumulates into lost throughput; a call woken much later than its
  slot (the process stalled) books a new one instead of going in a burst with the others.
* :class:`ConcurrencyMeter` caps calls in flight. Its cap shrinks on 40209 ("too many
  simultaneous queries") and grows back one slot at a time while the API stays quiet.

Time comes from a :class:`Clock` so tests can run the meters on a fake clock.

Any meter with the same methods will do (:class:`RateGate`, :class:`ConcurrencyGate`): the
meters in ``shared_limits.py`` keep the same schedule and cap in Redis, for every process of
one account, and their pacer needs a lifetime around the job (:meth:`Pacer.running`).
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

import anyio

from ._constants import (
    CONCURRENCY_BACKOFF_FACTOR,
    CONCURRENCY_RECOVERY_SECONDS,
    RATE_LATE_WAKE_SHARE,
    RATE_WINDOW_MARGIN,
    RATE_WINDOW_MARGIN_MIN,
)


@dataclass(frozen=True, slots=True)
class Clock:
    """Where time comes from: ``now()`` in seconds and ``sleep(seconds)``."""

    now: Callable[[], float]
    sleep: Callable[[float], Awaitable[None]]


#: The event loop's clock (a patched loop clock in tests makes every wait virtual).
LOOP_CLOCK = Clock(now=anyio.current_time, sleep=anyio.sleep)


def slot_interval(
    limit: int, period: float, margin: float = RATE_WINDOW_MARGIN, minimum: float = RATE_WINDOW_MARGIN_MIN
) -> float:
    """Seconds between two booked slots: any half-open window of ``period`` then holds at most
    ``limit`` slots. The margin absorbs transit jitter between our clock and the API's."""
    return (period + max(period * margin, minimum)) / limit


def lateness_allowed(
    period: float, margin: float = RATE_WINDOW_MARGIN, minimum: float = RATE_WINDOW_MARGIN_MIN
) -> float:
    """How late after its slot a call may still go: a share of the window's margin (the rest
    absorbs transit jitter). Later than that, going would bunch it with the calls booked after
    it, so it books a new slot instead."""
    return max(period * margin, minimum) * RATE_LATE_WAKE_SHARE


class RateMeter:
    """At most ``limit`` calls in any window of ``period`` seconds, evenly spaced."""

    def __init__(
        self, limit: int, period: float, *, margin: float = RATE_WINDOW_MARGIN, clock: Clock = LOOP_CLOCK
    ) -> None:
        self.limit = limit
        self.period = period
        self.interval = slot_interval(limit, period, margin)
        self.lateness = lateness_allowed(period, margin)
        self._clock = clock
        self._next_slot = -math.inf
        self._paused_until = -math.inf

    def book(self, now: float) -> float:
        """Book the next free slot at or after ``now``; return its time (pure but for the booking)."""
        slot = max(now, self._next_slot, self._paused_until)
        self._next_slot = slot + self.interval
        return slot

    def pause(self, seconds: float) -> None:
        """Hold every call, booked or not, for ``seconds`` from now (the API said 40202)."""
        self._paused_until = max(self._paused_until, self._clock.now() + seconds)

    async def acquire(self) -> None:
        while True:
            now = self._clock.now()
            slot = self.book(now)
            if slot > now:
                await self._clock.sleep(slot - now)
            woke = self._clock.now()
            # A pause that began while we waited moves us behind it.
            if woke < self._paused_until:
                continue
            # Woken well after the slot (the process stalled: a long garbage collection, a starved
            # CPU), going now would send this call together with every other one whose slot passed
            # meanwhile: a burst the API's window counts (40202). The slot is left unused and a new
            # one booked, so a stall costs its own length and never a refusal.
            if woke - slot <= self.lateness:
                return

    def release(self) -> None:
        """Nothing to give back: a slot is spent once booked."""


class ConcurrencyMeter:
    """At most ``limit`` calls in flight; the cap shrinks on 40209 and recovers slowly."""

    def __init__(
        self,
        limit: int,
        *,
        backoff_factor: float = CONCURRENCY_BACKOFF_FACTOR,
        recovery_seconds: float = CONCURRENCY_RECOVERY_SECONDS,
        clock: Clock = LOOP_CLOCK,
    ) -> None:
        self.limit = limit
        self._limiter = anyio.CapacityLimiter(limit)
        self._backoff_factor = backoff_factor
        self._recovery_seconds = recovery_seconds
        self._clock = clock
        self._last_shrink = -math.inf
        self.in_flight = 0
        self.peak = 0

    @property
    def cap(self) -> int:
        return int(self._limiter.total_tokens)

    def shrink(self) -> None:
        """The API said too many simultaneous calls: lower the cap for a while."""
        self._limiter.total_tokens = max(1, math.floor(self.cap * self._backoff_factor))
        self._last_shrink = self._clock.now()

    def _recover(self) -> None:
        if self.cap >= self.limit:
            return
        quiet = self._clock.now() - self._last_shrink
        grown = int(quiet // self._recovery_seconds)
        if grown > 0:
            self._limiter.total_tokens = min(self.limit, self.cap + grown)
            self._last_shrink += grown * self._recovery_seconds

    async def acquire(self) -> None:
        self._recover()
        await self._limiter.acquire()
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)

    def release(self) -> None:
        self.in_flight -= 1
        self._limiter.release()
        self._recover()


class RateGate(Protocol):
    """What the engine needs of a rate meter (:class:`RateMeter`, or a shared one)."""

    async def acquire(self) -> None: ...

    def pause(self, seconds: float) -> None: ...


class ConcurrencyGate(Protocol):
    """What the engine needs of a cap in flight (:class:`ConcurrencyMeter`, or a shared one)."""

    @property
    def cap(self) -> int: ...

    async def acquire(self) -> None: ...

    def release(self) -> None: ...

    def shrink(self) -> None: ...


class Pacer:
    """Both meters in the order that wastes nothing: a free slot in flight, then a rate slot."""

    def __init__(self, rate: RateGate, concurrency: ConcurrencyGate) -> None:
        self.rate = rate
        self.concurrency = concurrency

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Held around a job's work. Local meters need nothing; shared ones check their store
        here and keep what they hold alive while the job runs."""
        yield

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        await self.concurrency.acquire()
        try:
            await self.rate.acquire()
            yield
        finally:
            self.concurrency.release()
