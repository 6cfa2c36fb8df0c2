"""The results cache: answers bought by any job, kept for later jobs while they are fresh.

A cache entry is the API's raw item for one normalized target, under a *scope* (the API, the
endpoint and its parameters: :func:`scope_of`), with the wall-clock time it was bought. A job
with a cache asks it, one batch per chunk of input, for the targets whose answer is younger
than ``max_age`` and sends only the rest; each answer it buys is put in the cache. Failures
are never cached.

:class:`ResultCache` is the whole interface a store implements. The SQLite store
(:mod:`.cache_sqlite`, the default: a file, no server) and the Redis store (:mod:`.cache_redis`,
a ``redis://`` URL: answers shared by several hosts) implement it. This module imports no
storage library: a job without a cache loads none.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ._constants import COST_PER_CALL_USD, COST_PER_TARGET_USD
from .errors import ConfigurationError

_AGE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([dhms])\s*")
_UNIT_SECONDS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
_REDIS_SCHEMES = frozenset({"redis", "rediss", "unix"})


@runtime_checkable
class ResultCache(Protocol):
    """A store of bought answers, keyed by scope and normalized target.

    ``fresh`` returns, for the targets it holds under ``scope`` bought less than ``max_age``
    seconds ago, the API's raw item of each (one round trip for the whole list). ``put``
    records each item of a chunk as bought now, replacing an older answer (one short
    transaction). ``close`` releases the store.
    """

    def fresh(self, scope: str, targets: Sequence[str], max_age: float) -> dict[str, dict[str, Any]]: ...

    def put(self, scope: str, items: Mapping[str, dict[str, Any]]) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class CacheUse:
    """What a job needs to use a cache: the store, its scope and how old an answer may be."""

    store: ResultCache
    scope: str
    max_age: float  # seconds; 0: every answer is bought again (and stored)


def saved_by(cached: int, chunk_size: int) -> float:
    """What ``cached`` targets would have cost in calls of ``chunk_size``: each its own price and
    its share of a call's (a lone cached target would have ridden along in a chunk)."""
    return round(cached * (COST_PER_TARGET_USD + COST_PER_CALL_USD / chunk_size), 8)


def scope_of(base_url: str, endpoint: str, params: Mapping[str, Any]) -> str:
    """The key under which a job's answers are cached: the same API, endpoint and parameters.

    The API's URL is part of it so that the sandbox's dummy data (or an emulator's) never
    answers a job on the real API. Parameters are canonical JSON: the same values in any order
    are the same scope.
    """
    return json.dumps(
        {"api": base_url, "endpoint": endpoint, "params": dict(params)}, sort_keys=True, separators=(",", ":")
    )


def check_max_age(max_age: object) -> float:
    """``max_age`` (a ``timedelta`` or seconds, >= 0) in seconds; else a ConfigurationError."""
    if isinstance(max_age, dt.timedelta):
        seconds = max_age.total_seconds()
    elif type(max_age) is int or type(max_age) is float:
        seconds = float(max_age)
    else:
        seconds = math.nan
    if not 0 <= seconds <= sys.float_info.max:
        raise ConfigurationError(
            f"max_age={max_age!r}: give how old a cached answer may be, as a datetime.timedelta "
            "(max_age=timedelta(days=7)) or seconds >= 0 (0: buy every answer again and store it)"
        )
    return seconds


def parse_age(text: str) -> dt.timedelta:
    """``"7d"``, ``"12h"``, ``"30m"``, ``"45s"`` (decimals allowed) or ``"0"`` as a timedelta."""
    if text.strip() == "0":
        return dt.timedelta(0)
    match = _AGE.fullmatch(text)
    if match is None:
        raise ConfigurationError(
            f"age {text!r}: give a number and a unit, d (days), h (hours), m (minutes) or s "
            "(seconds), e.g. 7d, 12h, 30m, 45s; or 0"
        )
    try:
        return dt.timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    except OverflowError:  # past timedelta's range (about 2.7 million years)
        raise ConfigurationError(f"age {text!r} is too large: give at most 999999999d") from None


def describe_age(age: dt.timedelta) -> str:
    """``age`` as :func:`parse_age` reads it, in the largest unit that divides it: ``7d``, ``90m``."""
    seconds = age.total_seconds()
    for unit, size in _UNIT_SECONDS.items():
        if seconds % size == 0:
            return f"{seconds / size:g}{unit}" if seconds else "0"
    return f"{seconds:g}s"


def open_cache(
    cache: str | Path | ResultCache, *, now: Callable[[], float] | None = None
) -> tuple[ResultCache, bool]:
    """The store for ``cache``, and whether the caller owns it (opened here: close it after)."""
    check_cache(cache)
    if isinstance(cache, ResultCache):
        return cache, False
    if isinstance(cache, str) and "://" in cache:  # a Redis URL (check_cache refused others)
        from .cache_redis import RedisCache  # lazy: redis-py only for a Redis cache

        return RedisCache(cache, now=now), True
    from .cache_sqlite import SQLiteCache  # lazy: sqlite3 only when a cache is used

    return SQLiteCache(cache, now=now), True


def check_cache(cache: object) -> str | Path | ResultCache | None:
    """``cache=`` as given, if it is a file path, a Redis URL, a store or None; else a
    ConfigurationError (raised before any call; whether Redis answers is checked on opening)."""
    if cache == "":
        raise ConfigurationError("cache='': give a file path such as 'results.sqlite'")
    if isinstance(cache, str) and "://" in cache:
        scheme = cache.split("://", 1)[0]
        if scheme not in _REDIS_SCHEMES:
            raise ConfigurationError(
                f"cache='{scheme}://...': give a file path such as 'results.sqlite' or a Redis URL "
                "such as 'redis://localhost:6379/0' (rediss:// for TLS, unix:///path/to/redis.sock)"
            )
    if cache is None or isinstance(cache, (str, Path, ResultCache)):
        return cache
    raise ConfigurationError(
        f"cache={cache!r}: give a file path (str or pathlib.Path) such as 'results.sqlite', "
        "a Redis URL such as 'redis://localhost:6379/0', or a ResultCache object"
    )
