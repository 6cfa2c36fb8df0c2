"""The results cache in an SQLite file: the default store behind ``cache="results.sqlite"``.

Many processes may use one file at once (WAL, a busy timeout, one short transaction per chunk:
see :mod:`._sqlite`); a process killed mid-write loses at most the chunk it was writing, never
the file. Each (scope, target) holds one answer, the latest bought, so the file grows with the
distinct targets asked for, not with the jobs; :meth:`SQLiteCache.prune` drops old answers
and gives their pages back to the file system (``auto_vacuum=INCREMENTAL``).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._sqlite import encode_item, open_store, select_in, transaction

log = logging.getLogger("dataforseo_bulk")

SCHEMA_VERSION = 1

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS cache_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO cache_meta (key, value) VALUES ('schema', '{SCHEMA_VERSION}');
CREATE TABLE IF NOT EXISTS cache_scopes (
    id INTEGER PRIMARY KEY,
    scope TEXT NOT NULL UNIQUE      -- the API, endpoint and parameters (canonical JSON)
);
CREATE TABLE IF NOT EXISTS cached_answers (
    scope INTEGER NOT NULL,         -- cache_scopes.id
    target TEXT NOT NULL,           -- normalized, as sent
    item TEXT NOT NULL,             -- the API's item (JSON)
    bought_at REAL NOT NULL,        -- when it was bought (Unix time)
    PRIMARY KEY (scope, target)
) WITHOUT ROWID;
"""
#: Rows deleted per transaction by prune(): other processes' writes wait at most this long.
_PRUNE_BATCH = 5_000


@dataclass(frozen=True, slots=True)
class ScopeStats:
    scope: str  # canonical JSON: api, endpoint, params
    entries: int
    oldest: float  # Unix time of the oldest answer
    newest: float


@dataclass(frozen=True, slots=True)
class CacheStats:
    entries: int
    scopes: tuple[ScopeStats, ...]
    file_bytes: int  # the file and its write-ahead log


class SQLiteCache:
    """A :class:`~dataforseo_bulk.cache.ResultCache` in an SQLite file.

    ``now`` (default ``time.time``) is the wall clock that dates each answer and measures its
    age; tests inject their own.
    """

    def __init__(self, path: str | Path, *, now: Callable[[], float] | None = None) -> None:
        self.path = Path(path)
        self._now = now or time.time
        self._conn = open_store(
            self.path,
            what="cache",
            schema=_SCHEMA,
            marker_table="cached_answers",
            setup="PRAGMA auto_vacuum=INCREMENTAL",  # so prune() can shrink the file
        )
        self._scope_ids: dict[str, int] = {}

    # --- ResultCache -------------------------------------------------------------------
    def fresh(self, scope: str, targets: Sequence[str], max_age: float) -> dict[str, dict[str, Any]]:
        if max_age <= 0 or not targets:
            return {}
        scope_id = self._scope_id(scope)
        if scope_id is None:
            return {}
        query = (
            "SELECT target, item FROM cached_answers "
            "WHERE scope = ? AND bought_at > ? AND target IN ({marks})"
        )
        rows = select_in(self._conn, query, targets, scope_id, self._now() - max_age)
        if not rows:
            return {}
        # One JSON array for the batch: a single decode, not one call per item.
        items = json.loads(f"[{','.join([item for _, item in rows])}]")
        return dict(zip([target for target, _ in rows], items, strict=True))

    def put(self, scope: str, items: Mapping[str, dict[str, Any]]) -> None:
        if not items:
            return
        now = self._now()
        insert = "INSERT OR REPLACE INTO cached_answers (scope, target, item, bought_at) VALUES (?, ?, ?, ?)"
        try:
            with transaction(self._conn):
                scope_id = self._scope_id(scope, create=True)
                rows = [(scope_id, t, encode_item(item), now) for t, item in items.items()]
                self._conn.executemany(insert, rows)
        except sqlite3.OperationalError as exc:
            # The answers are paid for and reach the caller; only a later job's saving is lost.
            log.warning("could not store %d answers in the cache %s: %s", len(items), self.path, exc)

    def close(self) -> None:
        self._conn.close()

    # --- upkeep ------------------------------------------------------------------------
    def prune(self, older_than: float) -> int:
        """Delete answers bought ``older_than`` seconds ago or earlier; return how many.

        In short transactions (jobs using the file meanwhile wait milliseconds, not the whole
        prune), then the freed pages are given back to the file system.
        """
        before = self._now() - older_than
        deleted = 0
        delete = (
            "DELETE FROM cached_answers WHERE (scope, target) IN "
            "(SELECT scope, target FROM cached_answers WHERE bought_at <= ? LIMIT ?)"
        )
        while True:
            with transaction(self._conn):
                count = self._conn.execute(delete, (before, _PRUNE_BATCH)).rowcount
            deleted += count
            if count < _PRUNE_BATCH:
                break
        # executescript steps the pragma to its end (execute() would free a single page).
        self._conn.executescript("PRAGMA incremental_vacuum;")
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return deleted

    def stats(self) -> CacheStats:
        rows = self._conn.execute(
            "SELECT s.scope, COUNT(*), MIN(a.bought_at), MAX(a.bought_at) "
            "FROM cached_answers a JOIN cache_scopes s ON s.id = a.scope GROUP BY a.scope ORDER BY s.scope"
        ).fetchall()
        scopes = tuple(ScopeStats(scope, count, oldest, newest) for scope, count, oldest, newest in rows)
        size = sum(p.stat().st_size for p in (self.path, Path(f"{self.path}-wal")) if p.exists())
        return CacheStats(sum(s.entries for s in scopes), scopes, size)

    def _scope_id(self, scope: str, *, create: bool = False) -> int | None:
        # A scope's id never changes (scopes are never deleted: a few bytes each), so it is
        # safe to remember while other processes use the file.
        scope_id = self._scope_ids.get(scope)
        if scope_id is None:
            if create:
                self._conn.execute("INSERT OR IGNORE INTO cache_scopes (scope) VALUES (?)", (scope,))
            row = self._conn.execute("SELECT id FROM cache_scopes WHERE scope = ?", (scope,)).fetchone()
            if row is None:
                return None
            scope_id = self._scope_ids[scope] = int(row[0])
        return scope_id

    def __enter__(self) -> SQLiteCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
