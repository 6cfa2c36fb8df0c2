"""The real command, in a process of its own, signalled by itself at a chosen moment of its job.

Run as ``python interrupting.py ARGS...`` (the command's own arguments), with:

* ``STOP_AT`` — ``commit``: inside a checkpoint's write transaction, before its rows are
  written (a worker, in the middle of SQLite's commit); ``write``: while the command writes
  an outcome's rows (the main task);
* ``STOP_AFTER`` — at the N-th such moment (1-based);
* ``STOP_SIGNALS`` — the signals sent there, in order and at once (``INT,INT``, ``TERM``);
* ``IGNORE_SIGINT=1`` — the command starts with SIGINT ignored, as a job started with ``&``
  by a script does.

A signal sent by a process to itself is pending before ``os.kill`` returns, so Python acts
on it at that very point of the code: the moment is exact, whatever the machine's load.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from typing import Any

from dataforseo_bulk import checkpoint
from dataforseo_bulk.cli import main
from dataforseo_bulk.cli.outputs import Output

_AFTER = int(os.environ["STOP_AFTER"])
_SIGNALS = [signal.Signals[f"SIG{name}"] for name in os.environ["STOP_SIGNALS"].split(",")]
_seen = 0


def _maybe_stop() -> None:
    global _seen
    _seen += 1
    if _seen == _AFTER:
        for sig in _SIGNALS:
            os.kill(os.getpid(), sig)


_real_transaction = checkpoint.transaction


@contextlib.contextmanager
def _transaction(conn: Any) -> Iterator[None]:
    with _real_transaction(conn):
        _maybe_stop()
        yield


_real_write = Output.write


def _write(self: Output, outcome: Any) -> None:
    _maybe_stop()
    _real_write(self, outcome)


if __name__ == "__main__":
    if os.environ["STOP_AT"] == "commit":
        checkpoint.transaction = _transaction  # type: ignore[assignment]
    else:
        Output.write = _write  # type: ignore[method-assign]
    if os.environ.get("IGNORE_SIGINT"):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(main(sys.argv[1:]))
