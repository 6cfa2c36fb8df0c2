"""The results cache in Redis: ``cache="redis://host:6379/0"``, answers shared by every host.

One key per answer: ``dataforseo-bulk:cache:<scope hash>:<normalized target>``, its value
compact JSON ``{"at": <Unix time bought>, "item": <the API's raw item>}``, with a time to live
(:data:`~._constants.REDIS_CACHE_TTL_SECONDS`, 30 days by default) so Redis deletes old answers
by itself: no ``cache prune``. The scope (API URL, endpoint, parameters: never credentials) is
only hashed into the key. A lookup is one ``MGET`` for the batch, a store one pipeline of
``SET ... EX``: one round trip each.

The purchase time is the wall clock of the host that bought the answer (``now``, injectable),
as in the SQLite store: no extra round trip for Redis's ``TIME``, and hosts kept on NTP differ
by far less than any ``max_age``. A Redis that fails mid-job never stops the job: a failed
lookup answers nothing (the targets are bought), a failed store logs a warning (the answers
still reach the caller), and the cache is left alone for a while
(:data:`~._constants.REDIS_CACHE_PAUSE_SECONDS`). redis-py is imported only here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._constants import (
    REDIS_CACHE_KEY_PREFIX,
    REDIS_CACHE_PAUSE_SECONDS,
    REDIS_CACHE_TIMEOUT,
    REDIS_CACHE_TTL_SECONDS,
)
from .errors import ConfigurationError
from .shared_limits import masked_url

if TYPE_CHECKING:
    from redis import Redis

log = logging.getLogger("dataforseo_bulk")

_INSTALL_HINT = "a Redis cache needs redis-py: pip install 'dataforseo-bulk[redis]'"


class RedisCache:
    """A :class:`~dataforseo_bulk.cache.ResultCache` in Redis, shared by every process and host
    that opens the same URL.

    Opening checks that Redis answers (a :class:`ConfigurationError` naming the URL, its
    password masked, if not). ``ttl`` is each answer's time to live in seconds; ``now``
    (default ``time.time``) dates each answer and measures its age: tests inject their own.
    """

    def __init__(
        self,
        url: str,
        *,
        ttl: float = REDIS_CACHE_TTL_SECONDS,
        now: Callable[[], float] | None = None,
    ) -> None:
        self.where = masked_url(url)
        if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not 1 <= ttl < float("inf"):
            raise ConfigurationError(f"ttl={ttl!r}: give seconds >= 1 (default {REDIS_CACHE_TTL_SECONDS})")
        self._ttl = int(ttl)
        self._now = now or time.time
        self._paused_until = -float("inf")
        try:
            from redis import Redis, RedisError
            from redis.backoff import ExponentialWithJitterBackoff
            from redis.retry import Retry
        except ImportError:
            raise ConfigurationError(_INSTALL_HINT) from None
        self._errors: tuple[type[Exception], ...] = (RedisError, OSError)
        try:
            self._redis: Redis = Redis.from_url(
                url,
                socket_timeout=REDIS_CACHE_TIMEOUT,
                socket_connect_timeout=REDIS_CACHE_TIMEOUT,
                retry=Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.2), 2),
            )
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(f"cache={self.where!r}: {exc}") from None
        try:
            self._redis.ping()
        except self._errors as exc:
            self._redis.close()
            raise ConfigurationError(
                f"cache {self.where}: Redis does not answer ({exc}); start it or fix the URL; "
                "no call was sent"
            ) from None

    def __repr__(self) -> str:
        return f"<RedisCache {self.where} ttl={self._ttl}s>"

    # --- ResultCache -------------------------------------------------------------------
    def fresh(self, scope: str, targets: Sequence[str], max_age: float) -> dict[str, dict[str, Any]]:
        if max_age <= 0 or not targets or self._paused():
            return {}
        prefix = _prefix(scope)
        try:
            values = self._redis.mget([prefix + t for t in targets])
        except self._errors as exc:
            self._failed(exc, f"could not look up {len(targets)} targets in the cache {self.where}")
            return {}
        oldest = self._now() - max_age
        found: dict[str, dict[str, Any]] = {}
        for target, value in zip(targets, values, strict=True):
            entry = _decode(value)
            if entry is not None and entry[0] > oldest:
                found[target] = entry[1]
        return found

    def put(self, scope: str, items: Mapping[str, dict[str, Any]]) -> None:
        if not items or self._paused():
            return
        prefix, now = _prefix(scope), self._now()
        pipe = self._redis.pipeline(transaction=False)
        for target, item in items.items():
            value = json.dumps({"at": now, "item": item}, separators=(",", ":"), ensure_ascii=False)
            pipe.set(prefix + target, value, ex=self._ttl)
        try:
            pipe.execute()
        except self._errors as exc:
            # The answers are paid for and reach the caller; only a later job's saving is lost.
            self._failed(exc, f"could not store {len(items)} answers in the cache {self.where}")

    def close(self) -> None:
        self._redis.close()

    def __enter__(self) -> RedisCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- a Redis that fails mid-job ----------------------------------------------------
    def _paused(self) -> bool:
        return self._now() < self._paused_until

    def _failed(self, exc: Exception, what: str) -> None:
        self._paused_until = self._now() + REDIS_CACHE_PAUSE_SECONDS
        log.warning(
            "%s (%s); the job goes on, buying what it cannot look up, and leaves the cache alone for %g s",
            what,
            exc,
            REDIS_CACHE_PAUSE_SECONDS,
        )


def _prefix(scope: str) -> str:
    """The keys of one scope: a hash of it (API URL, endpoint, parameters), then the target."""
    digest = hashlib.sha256(scope.encode()).hexdigest()[:32]
    return f"{REDIS_CACHE_KEY_PREFIX}:{digest}:"


def _decode(value: bytes | str | None) -> tuple[float, dict[str, Any]] | None:
    """``(bought at, item)`` of a stored value; None for no value or one not written by this
    store (another program's key under the prefix is not an answer: the target is bought)."""
    if value is None:
        return None
    try:
        entry = json.loads(value)
        at, item = entry["at"], entry["item"]
    except (ValueError, TypeError, KeyError):
        return None
    if not isinstance(at, int | float) or not isinstance(item, dict):
        return None
    return float(at), item
