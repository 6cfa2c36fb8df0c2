"""Ours: ``BulkClient(transport=httpx.AsyncHTTPTransport(...))``: httpx's own transport (httpcore)."""

from __future__ import annotations

import time

T_SCRIPT = time.perf_counter()

import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _ours  # noqa: E402
import httpx  # noqa: E402


def transport() -> httpx.AsyncHTTPTransport:
    # The pool sized to the 30 calls in flight, as the client sizes its own.
    return httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=30, max_keepalive_connections=30))


if __name__ == "__main__":
    _ours.main(T_SCRIPT, transport)
