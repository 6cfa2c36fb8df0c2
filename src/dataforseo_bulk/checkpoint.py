"""A checkpoint: finished targets kept in SQLite so a rerun sends only what is not finished.

One transaction per finished chunk, in WAL mode: a ``kill -9`` at any moment loses at most
the calls that were in flight (their answers never reached us, so nothing of them could be
kept). What was answered and committed is never asked for again. The file holds the API's
items and failures, the job's endpoint and parameters, and per-chunk costs — never
credentials.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from pathlib import Path
from typing import Any

from .chunks import ChunkRef
from .engine import Stored
from .errors import ConfigurationError
from .result import FailureKind, TargetFailure

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS done (
    target TEXT PRIMARY KEY,   -- normalized, as sent
    item TEXT,                 -- the API's item (JSON), or NULL for a failure
    failure TEXT,              -- the failure (JSON), or NULL
    given TEXT                 -- the run that handed the answer to the normal form itself
);
CREATE TABLE IF NOT EXISTS chunks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tag TEXT,
    targets INTEGER NOT NULL,
    cost_usd REAL NOT NULL,
    calls INTEGER NOT NULL,
    finished_at REAL NOT NULL
);
"""


class Checkpoint:
    """The SQLite store behind ``checkpoint=``; implements the engine's ``OutcomeStore``."""

    def __init__(self, path: str | Path, *, endpoint: str, params: dict[str, Any]) -> None:
        self.path = Path(path)
        #: This run's mark on the answers it hands out, to tell a repeat from a resumed answer.
        self.run = secrets.token_hex(8)
        self._conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode survives a killed process (not a power cut) and costs no fsync per commit.
            self._conn.execute("PRAGMA synchronous=NORMAL")
            query = "SELECT name FROM sqlite_master WHERE type='table'"
            tables = {row[0] for row in self._conn.execute(query)}
            if tables and "done" not in tables:
                raise ConfigurationError(
                    f"{str(self.path)!r} is an SQLite file of something else (tables {sorted(tables)}), "
                    "not a dataforseo-bulk checkpoint: give a new file name"
                )
            self._conn.executescript(_SCHEMA)
            self._check_fingerprint(endpoint, params)
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise ConfigurationError(
                f"checkpoint {str(self.path)!r} is not a usable SQLite file ({exc})"
            ) from None
        except BaseException:
            self._conn.close()
            raise

    def _check_fingerprint(self, endpoint: str, params: dict[str, Any]) -> None:
        wanted = json.dumps(
            {"schema": SCHEMA_VERSION, "endpoint": endpoint, "params": params}, sort_keys=True
        )
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'job'").fetchone()
        if row is None:
            self._conn.execute("INSERT INTO meta (key, value) VALUES ('job', ?)", (wanted,))
        elif row[0] != wanted:
            raise ConfigurationError(
                f"checkpoint {str(self.path)!r} belongs to another job ({row[0]}); this job is {wanted}. "
                "Rerun with the options it was made with, or give a new checkpoint file."
            )

    # --- OutcomeStore ------------------------------------------------------------------
    def lookup(self, targets: list[str]) -> dict[str, Stored]:
        found: dict[str, Stored] = {}
        run = self.run
        for start in range(0, len(targets), 900):  # under SQLite's bound-variable limit
            part = targets[start : start + 900]
            marks = ",".join("?" * len(part))
            query = f"SELECT target, item, failure, given FROM done WHERE target IN ({marks})"
            for target, item, failure, given in self._conn.execute(query, part):
                answer = json.loads(item) if item is not None else _failure_from_json(failure)
                found[target] = Stored(answer, given == run)
        return found

    def save(
        self,
        chunk: ChunkRef | None,
        items: dict[str, dict[str, Any]],
        failed: dict[str, TargetFailure],
        cost_usd: float,
        calls: int,
        *,
        not_given: frozenset[str] = frozenset(),
    ) -> None:
        run = self.run
        rows: list[tuple[str, str | None, str | None, str | None]] = [
            (t, json.dumps(item, separators=(",", ":")), None, None if t in not_given else run)
            for t, item in items.items()
        ]
        rows += [(t, None, _failure_to_json(f), None if t in not_given else run) for t, f in failed.items()]
        with self._transaction():
            self._conn.executemany(
                "INSERT OR REPLACE INTO done (target, item, failure, given) VALUES (?, ?, ?, ?)", rows
            )
            self._conn.execute(
                "INSERT INTO chunks (tag, targets, cost_usd, calls, finished_at) VALUES (?, ?, ?, ?, ?)",
                (chunk.tag if chunk else None, len(rows), cost_usd, calls, time.time()),
            )

    def given(self, targets: list[str]) -> None:
        if targets:
            with self._transaction():
                update = "UPDATE done SET given = ? WHERE target = ?"
                self._conn.executemany(update, [(self.run, t) for t in targets])

    def close(self) -> None:
        self._conn.close()

    def _transaction(self) -> _Commit:
        self._conn.execute("BEGIN")
        return _Commit(self._conn)

    def __enter__(self) -> Checkpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Commit:
    """``with``: commit on success, roll back on error (the connection runs in autocommit mode)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self._conn.execute("COMMIT" if exc_type is None else "ROLLBACK")


def _failure_to_json(failure: TargetFailure) -> str:
    chunk = failure.chunk
    return json.dumps(
        {
            "kind": failure.kind.value,
            "reason": failure.reason,
            "code": failure.code,
            "http_status": failure.http_status,
            "chunk": [chunk.index, chunk.size, chunk.tag] if chunk else None,
        }
    )


def _failure_from_json(text: str) -> TargetFailure:
    data = json.loads(text)
    chunk = ChunkRef(*data["chunk"]) if data.get("chunk") else None
    return TargetFailure(
        FailureKind(data["kind"]), data["reason"], data.get("code"), data.get("http_status"), chunk
    )
