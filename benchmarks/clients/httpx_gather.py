"""Baseline: what a user writes with httpx: Semaphore(30) + aiolimiter.AsyncLimiter + gather.

One task per POST, at most 1000 targets a task, Basic auth; a refused call (40202, 40209,
HTTP 5xx) is retried after an exponential wait, so every target gets its answer.
"""

from __future__ import annotations

import time

T_SCRIPT = time.perf_counter()

import asyncio  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402
import httpx  # noqa: E402
from aiolimiter import AsyncLimiter  # noqa: E402


async def run(args, targets: list[str], timeline: c.Timeline) -> tuple[int, dict[str, int]]:
    url = args.url + c.PATH
    sem = asyncio.Semaphore(args.concurrency)
    limiter = AsyncLimiter(args.rate_limit, args.rate_period)
    results: dict[str, int] = {}
    calls = 0

    async with httpx.AsyncClient(auth=(c.LOGIN, c.PASSWORD), timeout=150) as client:

        async def fetch(chunk: list[str]) -> None:
            nonlocal calls
            async with sem:
                for attempt in range(args.retries + 1):
                    async with limiter:
                        response = await client.post(url, json=[{"targets": chunk}])
                    calls += 1
                    timeline.mark()
                    if response.status_code == 200:
                        data = response.json()
                        if data["status_code"] == 20000 and data["tasks"][0]["status_code"] == 20000:
                            for item in data["tasks"][0]["result"][0]["items"]:
                                results[item["target"]] = item["backlinks"]
                            return
                    await asyncio.sleep(args.retry_delay * 2**attempt)
                raise RuntimeError(f"gave up on a chunk after {args.retries + 1} attempts")

        await asyncio.gather(*(fetch(chunk) for chunk in c.chunks(targets, args.chunk)))
    return calls, results


def main() -> None:
    c.gather_main(T_SCRIPT, run)


if __name__ == "__main__":
    main()
