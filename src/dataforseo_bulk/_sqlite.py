"""The SQLite layer under the checkpoint and the results cache: open a file safely, commit briefly.

Both stores keep the API's raw items in a file of their own, and both must survive a killed
process and tolerate other readers and writers. What they share lives here, once:

* :func:`open_store` opens (or creates) the file in WAL mode with ``synchronous=NORMAL`` (a
  killed process loses no commit, and a commit costs no fsync) and a busy timeout (a writer
  waits for another process's short transaction instead of failing with "database is
  locked"), then creates the store's tables. A file that is not SQLite, an SQLite file of
  something else, a missing directory or a directory in place of the file is refused with a
  :class:`ConfigurationError` that says what to do, before anything is written to it.
* :func:`transaction` is a short write transaction: ``BEGIN IMMEDIATE`` takes the write lock at
  the start (waiting for it under the busy timeout), so it never fails half-way on a lock.
* :func:`encode_item` writes an API item as both keep it: compact JSON.
* :func:`select_in` runs a ``... IN (?, ?, ...)`` lookup for any number of keys, in parts under
  SQLite's limit on bound variables.

Only the stores import this module (sqlite3 is loaded with the first checkpoint or cache).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ._constants import SQLITE_BUSY_TIMEOUT
from .errors import ConfigurationError

#: An API item as stored (compact JSON); one encoder for all (json.dumps with separators= would
#: build a new one per item, a third of a cached job's time).
encode_item = json.JSONEncoder(separators=(",", ":")).encode
#: Keys bound in one ``IN (...)`` list: under SQLite's lowest limit (999, before 3.32).
_IN_LIST_MAX = 900
#: The first bytes of every SQLite database file.
_SQLITE_HEADER = b"SQLite format 3\x00"


def open_store(
    path: Path, *, what: str, schema: str, marker_table: str, setup: str = ""
) -> sqlite3.Connection:
    """``path`` open as the store ``what`` ("checkpoint", "cache"): its tables created if new.

    ``marker_table`` is a table every such store has: an SQLite file that has tables but not
    this one belongs to something else and is refused untouched. ``setup`` runs before the
    tables are first created (pragmas that only a new file takes, such as ``auto_vacuum``).
    """
    check_path(path, what=what)
    conn = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT, isolation_level=None)
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if tables and marker_table not in tables:
            raise ConfigurationError(
                f"{str(path)!r} is an SQLite file of something else (tables {sorted(tables)}), "
                f"not a dataforseo-bulk {what}: give a new file name"
            )
        if not tables and setup:
            conn.execute(setup)
        conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a killed process (not a power cut) and costs no fsync per commit.
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(schema)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise ConfigurationError(f"{what} {str(path)!r} is not a usable SQLite file ({exc})") from None
    except BaseException:
        conn.close()
        raise
    return conn


def check_path(path: Path, *, what: str) -> None:
    """Refuse a path whose directory is missing, or that is a directory."""
    if not path.parent.is_dir():
        raise ConfigurationError(
            f"{what} {str(path)!r}: the directory {str(path.parent)!r} does not exist; create it "
            "or give a path in an existing directory"
        )
    if path.is_dir():
        raise ConfigurationError(f"{what} {str(path)!r} is a directory: give a file name inside it")
    # SQLite takes a 1-byte file for an empty database and writes over it: a file that is not
    # empty must start as every SQLite file does (an empty one is new, nothing in it to lose).
    try:
        with path.open("rb") as handle:
            head = handle.read(len(_SQLITE_HEADER))
    except OSError:
        return  # missing (to be made), or unreadable: SQLite's own error says which
    if head and head != _SQLITE_HEADER:
        raise ConfigurationError(f"{what} {str(path)!r} is not a usable SQLite file (file is not a database)")


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """``with transaction(conn):`` commit on success, roll back on error (autocommit connection)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def select_in(conn: sqlite3.Connection, query: str, keys: Sequence[str], *before: Any) -> list[Any]:
    """The rows of ``query`` (with ``{marks}`` where the ``IN`` list goes) for every key of ``keys``;
    ``before`` are the parameters that come before the list."""
    rows: list[Any] = []
    for start in range(0, len(keys), _IN_LIST_MAX):
        part = keys[start : start + _IN_LIST_MAX]
        rows += conn.execute(query.format(marks=",".join("?" * len(part))), (*before, *part)).fetchall()
    return rows
