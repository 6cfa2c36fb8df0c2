"""The account limits, as pure code on an injectable clock so they are tested without sleeping.

* Rate: at most ``limit`` accepted calls in any sliding window of ``period`` seconds, kept as a
  log (deque) of the times of accepted calls. A refused call is not logged, so refusals do
  not extend the penalty (the API counts calls it served).
* Concurrency: at most ``max_in_flight`` calls being processed at once.

A call refused by either limit counts toward neither.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Final

Clock = Callable[[], float]

RATE_LIMITED: Final = 40202
TOO_MANY_SIMULTANEOUS: Final = 40209


class RateWindow:
    """A sliding-window log: a call at ``t`` is refused when ``limit`` calls were accepted in
    ``(t - period, t]``."""

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self._accepted: deque[float] = deque()

    def _forget_before(self, now: float) -> None:
        horizon = now - self.period
        while self._accepted and self._accepted[0] <= horizon:
            self._accepted.popleft()

    def has_room(self, now: float) -> bool:
        self._forget_before(now)
        return len(self._accepted) < self.limit

    def record(self, now: float) -> None:
        self._accepted.append(now)

    def __len__(self) -> int:
        return len(self._accepted)


class InFlight:
    """Counts calls being processed."""

    def __init__(self, maximum: int | None) -> None:
        self.maximum = maximum
        self.current = 0

    def has_room(self) -> bool:
        return self.maximum is None or self.current < self.maximum

    def enter(self) -> None:
        self.current += 1

    def leave(self) -> None:
        if self.current <= 0:
            raise RuntimeError("InFlight.leave() without a matching enter()")
        self.current -= 1


class Limits:
    """Both limits together. Call :meth:`admit`; when it returns ``None`` the call is admitted
    and the caller must call :meth:`release` when done, whatever happens."""

    def __init__(
        self, *, rate_limit: int | None, rate_period: float, max_concurrency: int | None, clock: Clock
    ) -> None:
        self.window = RateWindow(rate_limit, rate_period) if rate_limit is not None else None
        self.in_flight = InFlight(max_concurrency)
        self.clock = clock

    def admit(self) -> int | None:
        """``None`` if admitted, else the envelope status code that refuses the call (rate first)."""
        now = self.clock()
        if self.window is not None and not self.window.has_room(now):
            return RATE_LIMITED
        if not self.in_flight.has_room():
            return TOO_MANY_SIMULTANEOUS
        if self.window is not None:
            self.window.record(now)
        self.in_flight.enter()
        return None

    def release(self) -> None:
        self.in_flight.leave()
