"""Retry policy: how many attempts, and how long to wait before each. Pure; no I/O.

Capped exponential backoff with jitter: the wait before retry ``n`` (1-based) is drawn
from ``[base * (1 - jitter), base]`` with ``base = min(maximum, initial * exp_base ** (n - 1))``.
``RetryPolicy.testing()`` zeroes every wait but keeps the count of attempts, so tests can
check how often a call was retried without waiting for it.

:func:`wait_before_retry` picks the wait for one failed answer, as the answer asks:

============================  =========================================  ====================
answer                        this chunk waits                           every call waits
============================  =========================================  ====================
40202 (rate limit)            the generic backoff                        the engine's pause
50303 / 50304                 minutes: ``long_initial`` doubling, capped  —
                              at ``long_maximum``
HTTP 429 with Retry-After     Retry-After (capped at retry_after_max)    as long (a proxy's
                                                                         limit is the job's)
HTTP 503 with Retry-After     Retry-After (capped)                       —
anything else transient       the generic backoff                        —
============================  =========================================  ====================
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from ._constants import (
    BACKOFF_EXP_BASE,
    BACKOFF_INITIAL,
    BACKOFF_JITTER,
    BACKOFF_MAX,
    DEFAULT_MAX_RETRIES,
    LONG_BACKOFF_INITIAL,
    LONG_BACKOFF_MAX,
    RETRY_AFTER_MAX,
)
from .errors import ConfigurationError

#: "Try again after a few minutes": 50303 (update in progress), 50304 (function unavailable).
MINUTES_CODES = frozenset({50303, 50304})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int = DEFAULT_MAX_RETRIES
    initial: float = BACKOFF_INITIAL
    maximum: float = BACKOFF_MAX
    exp_base: float = BACKOFF_EXP_BASE
    jitter: float = BACKOFF_JITTER
    random: Callable[[], float] = field(default=random.random, compare=False, repr=False)
    #: The backoff for 50303/50304 ("try again after a few minutes").
    long_initial: float = LONG_BACKOFF_INITIAL
    long_maximum: float = LONG_BACKOFF_MAX
    #: The longest ``Retry-After`` honoured.
    retry_after_max: float = RETRY_AFTER_MAX

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
        long_ok = math.isfinite(self.long_maximum) and 0 <= self.long_initial <= self.long_maximum
        if not long_ok:
            raise ConfigurationError(
                f"long_initial={self.long_initial!r}, long_maximum={self.long_maximum!r}: need "
                "0 <= long_initial <= long_maximum, in seconds (the wait after 50303/50304)"
            )
        if not (math.isfinite(self.retry_after_max) and self.retry_after_max >= 0):
            raise ConfigurationError(
                f"retry_after_max={self.retry_after_max!r}: give the longest Retry-After to honour "
                "in seconds, e.g. 120"
            )

    @classmethod
    def testing(cls, max_retries: int = DEFAULT_MAX_RETRIES) -> RetryPolicy:
        """Zero waits, same attempt count."""
        return cls(
            max_retries=max_retries,
            initial=0.0,
            maximum=0.0,
            long_initial=0.0,
            long_maximum=0.0,
            retry_after_max=0.0,
        )

    def wait(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1 = the first retry)."""
        try:
            base = min(self.maximum, self.initial * self.exp_base ** (retry - 1))
        except OverflowError:  # a very late retry: the cap is the answer
            base = self.maximum
        return base * (1.0 - self.jitter * self.random())

    def long_wait(self, retry: int) -> float:
        """Seconds to wait before retry ``retry`` after 50303/50304: ``long_initial`` doubling up to
        ``long_maximum``, jittered within its top quarter of ``jitter`` (minutes stay minutes)."""
        base = min(self.long_maximum, self.long_initial * 2.0 ** min(retry - 1, 32))
        return base * (1.0 - self.jitter / 4 * self.random())


@dataclass(frozen=True, slots=True)
class Wait:
    """How long to hold off after one failed answer."""

    seconds: float  # before this chunk's retry
    pause_all: float = 0.0  # every call held this long (0: only this chunk waits)


def parse_retry_after(value: str | None, *, now: dt.datetime) -> float | None:
    """``Retry-After`` in seconds from now: a number of seconds or an HTTP date; ``None`` if absent
    or unreadable. A date in the past is 0."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" dates: UTC, per RFC 5322
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())


def wait_before_retry(
    policy: RetryPolicy,
    retry: int,
    *,
    code: int | None,
    http_status: int | None,
    retry_after: str | None,
    now: dt.datetime,
) -> Wait:
    """The wait before retry ``retry`` of a chunk whose answer had ``code`` / ``http_status`` /
    ``Retry-After`` (see the table in the module docstring)."""
    if http_status in (429, 503):
        asked = parse_retry_after(retry_after, now=now)
        if asked is not None:
            seconds = min(asked, policy.retry_after_max)
            return Wait(seconds, pause_all=seconds if http_status == 429 else 0.0)
    if code in MINUTES_CODES:
        return Wait(policy.long_wait(retry))
    return Wait(policy.wait(retry))
