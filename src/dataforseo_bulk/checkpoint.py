"""A checkpoint: finished targets kept in SQLite so a rerun sends only what is not finished.

One transaction per finished chunk, in WAL mode: a ``kill -9`` at any moment loses at most
the calls that were in flight (their answers never reached us, so nothing of them could be
kept). What was answered and committed is never asked for again. The file holds the API's
items and failures, the job's endpoint and parameters, and per-chunk costs — never
credentials.

One run at a time: a run holds SQLite's own exclusive lock on the file from opening to
closing (``locking_mode=EXCLUSIVE``), so a second process is refused at once, and a process
that dies releases it with its file descriptors (nothing is left behind to clean up).
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ._sqlite import check_path, encode_item, select_in, transaction
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
    given TEXT,                -- the run that handed the answer to the normal form itself
    seen TEXT                  -- the last run that read this target (answered or looked it up)
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

    def __init__(
        self, path: str | Path, *, endpoint: str, params: dict[str, Any], readonly: bool = False
    ) -> None:
        """Open (or create) the checkpoint of this job and lock it for this run.

        ``readonly``: look, never write (``--dry-run``); the file must exist.
        Every problem is a :class:`ConfigurationError` that names the file: a missing directory,
        a directory, a file that is not SQLite or belongs to another job, one in use by another run.
        """
        self.path = Path(path)
        self.readonly = readonly
        self._seen_column = "seen"  # NULL when only looking at a file made before the column existed
        #: This run's mark on the answers it hands out, to tell a repeat from a resumed answer.
        self.run = secrets.token_hex(8)
        with _as_configuration_error(self.path):
            check_path(self.path, what="checkpoint")
            if readonly and not self.path.exists():
                raise ConfigurationError(f"checkpoint {str(self.path)!r} does not exist")
            # Read-write even to only look: a WAL file cannot be read in SQLite's read-only mode
            # without the -shm file that the exclusive locking mode keeps from being made.
            self._conn = sqlite3.connect(self.path, isolation_level=None, timeout=0)
        try:
            with _as_configuration_error(self.path):
                self._open(endpoint, params)
        except BaseException:
            self._conn.close()
            raise

    def _open(self, endpoint: str, params: dict[str, Any]) -> None:
        conn = self._conn
        # Held until close(): no other connection may write the file meanwhile (nor read it, for
        # a run). Set before the file is first read, it also keeps SQLite from making the
        # ``-shm`` file: a dry run leaves nothing behind.
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        # Looked at before anything is written: a file of something else is refused untouched
        # (journal_mode=WAL would rewrite its header).
        tables = _tables(conn)
        if tables and "done" not in tables:
            raise ConfigurationError(
                f"{str(self.path)!r} is an SQLite file of something else (tables {sorted(tables)}), "
                "not a dataforseo-bulk checkpoint: give a new file name"
            )
        if not self.readonly:
            conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode survives a killed process (not a power cut) and costs no fsync per commit.
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("BEGIN EXCLUSIVE")  # takes the lock now: a second run is refused at once
            conn.execute("COMMIT")
            conn.executescript(_SCHEMA)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(done)")}
        if columns and "seen" not in columns:  # a checkpoint made before the column existed
            if self.readonly:
                self._seen_column = "NULL"
            else:
                conn.execute("ALTER TABLE done ADD COLUMN seen TEXT")
        self._check_fingerprint(endpoint, params)

    def _check_fingerprint(self, endpoint: str, params: dict[str, Any]) -> None:
        wanted = json.dumps(
            {"schema": SCHEMA_VERSION, "endpoint": endpoint, "params": params}, sort_keys=True
        )
        row = None
        if not self.readonly or "meta" in _tables(self._conn):
            row = self._conn.execute("SELECT value FROM meta WHERE key = 'job'").fetchone()
        if row is None:
            if self.readonly:
                return
            self._conn.execute("INSERT INTO meta (key, value) VALUES ('job', ?)", (wanted,))
        elif row[0] != wanted:
            raise ConfigurationError(
                f"checkpoint {str(self.path)!r} belongs to another job ({row[0]}); this job is {wanted}. "
                "Rerun with the options it was made with, or give a new checkpoint file."
            )

    # --- OutcomeStore ------------------------------------------------------------------
    def lookup(self, targets: list[str]) -> dict[str, Stored]:
        """The finished ones of ``targets``; each found is marked as read by this run."""
        found: dict[str, Stored] = {}
        if self.readonly and "done" not in _tables(self._conn):
            return found
        run = self.run
        columns = f"target, item, failure, given, {self._seen_column}"
        select = f"SELECT {columns} FROM done WHERE target IN ({{marks}})"
        for target, item, failure, given, seen in select_in(self._conn, select, targets):
            answer = json.loads(item) if item is not None else _failure_from_json(failure)
            if isinstance(answer, TargetFailure) and _wrong_address(answer):
                continue  # stored by an older version: not the target's failure, send it again
            found[target] = Stored(answer, given == run, seen == run)
        if found and not self.readonly:
            with transaction(self._conn):
                self._conn.executemany("UPDATE done SET seen = ? WHERE target = ?", [(run, t) for t in found])
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
        rows: list[tuple[str, str | None, str | None, str | None, str]] = [
            (t, encode_item(item), None, None if t in not_given else run, run)
            for t, item in items.items()
        ]
        rows += [
            (t, None, _failure_to_json(f), None if t in not_given else run, run) for t, f in failed.items()
        ]
        with transaction(self._conn):
            self._conn.executemany(
                "INSERT OR REPLACE INTO done (target, item, failure, given, seen) VALUES (?, ?, ?, ?, ?)",
                rows,
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


def check_new(path: str | Path) -> None:
    """What making a checkpoint at ``path`` would run into, found by making an empty file there
    and removing it (``--dry-run``: the real run would make it)."""
    path = Path(path)
    check_path(path, what="checkpoint")
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except OSError as exc:
        raise ConfigurationError(f"checkpoint {str(path)!r} cannot be made: {exc.strerror or exc}") from None
    os.remove(path)


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


@contextmanager
def _as_configuration_error(path: Path) -> Iterator[None]:
    """SQLite's and the file system's errors as one line that names the file."""
    try:
        yield
    except sqlite3.Error as exc:
        name = getattr(exc, "sqlite_errorname", "")
        if name in ("SQLITE_BUSY", "SQLITE_LOCKED"):
            raise ConfigurationError(
                f"checkpoint {str(path)!r} is in use by another run: wait for it to end, or give another file"
            ) from None
        denied = not os.access(path.parent, os.W_OK | os.X_OK) or (
            path.exists() and not os.access(path, os.R_OK | os.W_OK)
        )
        reason = "permission denied" if name == "SQLITE_CANTOPEN" and denied else str(exc)
        raise ConfigurationError(f"checkpoint {str(path)!r} is not a usable SQLite file ({reason})") from None
    except OSError as exc:
        raise ConfigurationError(f"checkpoint {str(path)!r}: {exc.strerror or exc}") from None


def _wrong_address(failure: TargetFailure) -> bool:
    """A failure that said the request itself was wrong (HTTP 404, 40400, 40402), which earlier
    versions stored as the targets' own: a rerun with the right address must send them."""
    return failure.http_status == 404 or failure.code in (40400, 40402)


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
