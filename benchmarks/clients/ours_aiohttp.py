"""Ours: ``BulkClient(transport=httpx_aiohttp.AiohttpTransport())`` (httpx API, aiohttp underneath)."""

from __future__ import annotations

import time

T_SCRIPT = time.perf_counter()

import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _ours  # noqa: E402
import httpx_aiohttp  # noqa: E402

if __name__ == "__main__":
    _ours.main(T_SCRIPT, httpx_aiohttp.AiohttpTransport)
