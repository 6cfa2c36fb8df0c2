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
import time
from pathlib import Path
from typing import Any

from ._sqlite import encode_item, open_store, select_in, transaction
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
        self._conn = open_store(self.path, what="checkpoint", schema=_SCHEMA, marker_table="done")
        try:
            self._check_fingerprint(endpoint, params)
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
        query = "SELECT target, item, failure, given FROM done WHERE target IN ({marks})"
        for target, item, failure, given in select_in(self._conn, query, targets):
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
            (t, encode_item(item), None, None if t in not_given else run) for t, item in items.items()
        ]
        rows += [(t, None, _failure_to_json(f), None if t in not_given else run) for t, f in failed.items()]
        with transaction(self._conn):
            self._conn.executemany(
                "INSERT OR REPLACE INTO done (target, item, failure, given) VALUES (?, ?, ?, ?)", rows
            )
            self._conn.execute(
                "INSERT INTO chunks (tag, targets, cost_usd, calls, finished_at) VALUES (?, ?, ?, ?, ?)",
                (chunk.tag if chunk else None, len(rows), cost_usd, calls, time.time()),
            )

    def given(self, targets: list[str]) -> None:
        if targets:
            with transaction(self._conn):
                update = "UPDATE done SET given = ? WHERE target = ?"
                self._conn.executemany(update, [(self.run, t) for t in targets])

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Checkpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
