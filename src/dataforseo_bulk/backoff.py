"""Retry policy: how many attempts, and how long to wait before each. Pure; no I/O.

Capped exponential backoff with jitter: the wait before retry ``n`` (1-based) is drawn
from ``[base * (1 - jitter), base]`` with ``base = min(maximum, initial * exp_base ** (n - 1))``.
``RetryPolicy.testing()`` zeroes every wait but keeps the count of attempts, so tests can
check how often a call was retried without waiting for it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from ._constants import BACKOFF_EXP_BASE, BACKOFF_INITIAL, BACKOFF_JITTER, BACKOFF_MAX, DEFAULT_MAX_RETRIES
from .errors import ConfigurationError


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int = DEFAULT_MAX_RETRIES
    initial: float = BACKOFF_INITIAL
    maximum: float = BACKOFF_MAX
    exp_base: float = BACKOFF_EXP_BASE
    jitter: float = BACKOFF_JITTER
    random: Callable[[], float] = field(default=random.random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if (
            not isinstance(self.max_retries, int)
            or isinstance(self.max_retries, bool)
            or self.max_retries < 0
        ):
            raise ConfigurationError(
                f"max_retries={self.max_retries!r}: give a whole number >= 0 (0 turns retries off)"
            )
        if not (math.isfinite(self.initial) and math.isfinite(self.maximum) and math.isfinite(self.exp_base)):
            raise ConfigurationError("backoff initial, maximum and exp_base must be finite numbers")
        if self.initial < 0 or self.maximum < self.initial:
            raise ConfigurationError(
                f"backoff initial={self.initial!r}, maximum={self.maximum!r}: need 0 <= initial <= maximum"
            )
        if not 0.0 <= self.jitter <= 1.0:
            raise ConfigurationError(f"jitter={self.jitter!r}: give a fraction between 0 and 1")
        if self.exp_base < 1.0:
            raise ConfigurationError(f"exp_base={self.exp_base!r}: give a factor >= 1")

    @classmethod
    def testing(cls, max_retries: int = DEFAULT_MAX_RETRIES) -> RetryPolicy:
        """Zero waits, same attempt count."""
        return cls(max_retries=max_retries, initial=0.0, maximum=0.0)

    def wait(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1 = the first retry)."""
        try:
            base = min(self.maximum, self.initial * self.exp_base ** (retry - 1))
        except OverflowError:  # a very late retry: the cap is the answer
            base = self.maximum
        return base * (1.0 - self.jitter * self.random())
