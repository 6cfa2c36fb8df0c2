"""A record of every request the emulator answered and of every item it charged for.

Stored in SQLite (WAL, one commit per request) at a private path so a test in another
process can read it while the server runs: by default a fresh ``tempfile.mkdtemp()``
directory (mode 0700) holding ``ledger.sqlite`` (mode 0600). Credentials are never stored.

Tables: ``calls`` (one row per request) and ``charged_items`` (one row per item billed: the
call's ``seq``, the endpoint and the target as sent).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final, Self

LEDGER_FILENAME: Final = "ledger.sqlite"

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS calls (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    monotonic REAL NOT NULL,
    wall_time REAL NOT NULL,
    endpoint TEXT NOT NULL,
    tag TEXT,
    targets INTEGER NOT NULL,
    http_status INTEGER NOT NULL,
    envelope_code INTEGER,
    task_codes TEXT NOT NULL,
    fault TEXT,
    cost REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS charged_items (
    seq INTEGER NOT NULL,
    endpoint TEXT NOT NULL,
    target TEXT NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One request as the emulator answered it."""

    seq: int
    #: ``time.monotonic()`` (or the app's injected clock) when the answer was decided.
    monotonic: float
    wall_time: float
    #: The endpoint name, or the request path when it matched no endpoint.
    endpoint: str
    tag: str | None
    #: Number of entries in the first task's ``targets`` (0 when there was none).
    targets: int
    http_status: int
    #: The envelope status code; ``None`` when the body was not an envelope (HTML 50x).
    envelope_code: int | None
    task_codes: tuple[int, ...]
    fault: str | None
    cost: float


class Ledger:
    def __init__(self, path: Path | str | None = None, *, _readonly: bool = False) -> None:
        self._owned_dir: Path | None = None
        if path is None:
            self._owned_dir = Path(tempfile.mkdtemp(prefix="dataforseo-emulator-"))  # mode 0700
            path = self._owned_dir / LEDGER_FILENAME
        self.path = Path(path)
        self.readonly = _readonly
        self._lock = threading.Lock()
        if _readonly:
            uri = f"{self.path.resolve().as_uri()}?mode=ro"
            self._db = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=5.0)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Create the file ourselves so it is private before SQLite writes anything to it;
        # SQLite gives its -wal and -shm files the same mode.
        os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=5.0, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL survives a crash of this process, which is what a test needs, at a
        # fraction of the cost of a full fsync per request.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    @classmethod
    def open_readonly(cls, path: Path | str) -> Ledger:
        """Open an existing ledger (maybe written by another process) for reading only."""
        if not Path(path).is_file():
            raise FileNotFoundError(f"no emulator ledger at {path}")
        return cls(path, _readonly=True)

    def record(
        self,
        *,
        monotonic: float,
        endpoint: str,
        tag: str | None,
        targets: int,
        http_status: int,
        envelope_code: int | None,
        task_codes: Sequence[int],
        fault: str | None,
        cost: float,
        charged_targets: Sequence[str] = (),
    ) -> int:
        """Store one request and the targets billed for it in one transaction; returns its ``seq``."""
        if self.readonly:
            raise PermissionError("this ledger was opened read-only")
        with self._lock:
            self._db.execute("BEGIN")
            try:
                cursor = self._db.execute(
                    "INSERT INTO calls (monotonic, wall_time, endpoint, tag, targets, http_status,"
                    " envelope_code, task_codes, fault, cost) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        monotonic,
                        time.time(),
                        endpoint,
                        tag,
                        targets,
                        http_status,
                        envelope_code,
                        json.dumps(list(task_codes)),
                        fault,
                        cost,
                    ),
                )
                seq = cursor.lastrowid
                assert seq is not None
                if charged_targets:
                    self._db.executemany(
                        "INSERT INTO charged_items (seq, endpoint, target) VALUES (?, ?, ?)",
                        [(seq, endpoint, target) for target in charged_targets],
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return seq

    def calls(self) -> list[CallRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, monotonic, wall_time, endpoint, tag, targets, http_status, envelope_code,"
                " task_codes, fault, cost FROM calls ORDER BY seq"
            ).fetchall()
        return [
            CallRecord(
                seq=row[0],
                monotonic=row[1],
                wall_time=row[2],
                endpoint=row[3],
                tag=row[4],
                targets=row[5],
                http_status=row[6],
                envelope_code=row[7],
                task_codes=tuple(json.loads(row[8])),
                fault=row[9],
                cost=row[10],
            )
            for row in rows
        ]

    def charged_counts(self, endpoint: str | None = "bulk_backlinks") -> dict[str, int]:
        """How many times each target was answered and paid for on ``endpoint`` (``None``: all)."""
        query = "SELECT target, COUNT(*) FROM charged_items"
        args: tuple[str, ...] = ()
        if endpoint is not None:
            query += " WHERE endpoint = ?"
            args = (endpoint,)
        with self._lock:
            rows = self._db.execute(query + " GROUP BY target", args).fetchall()
        return {target: count for target, count in rows}

    def total_cost(self) -> float:
        with self._lock:
            (total,) = self._db.execute("SELECT COALESCE(SUM(cost), 0) FROM calls").fetchone()
        return round(float(total), 8)

    def close(self, *, delete: bool = False) -> None:
        """Close the database. ``delete=True`` also removes the files (and the directory, when
        the ledger made it); the default keeps them for whoever reads the ledger later."""
        with self._lock:
            self._db.close()
        if delete and not self.readonly:
            if self._owned_dir is not None:
                shutil.rmtree(self._owned_dir, ignore_errors=True)
            else:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = "read-only" if self.readonly else "read-write"
        return f"Ledger({str(self.path)!r}, {mode})"
