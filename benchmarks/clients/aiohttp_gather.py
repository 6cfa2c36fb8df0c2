"""Baseline: what a user writes with aiohttp: Semaphore(30) + aiolimiter.AsyncLimiter + gather.

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
import aiohttp  # noqa: E402
from aiolimiter import AsyncLimiter  # noqa: E402


async def run(args, targets: list[str], timeline: c.Timeline) -> tuple[int, dict[str, int]]:
    url = args.url + c.PATH
    sem = asyncio.Semaphore(args.concurrency)
    limiter = AsyncLimiter(args.rate_limit, args.rate_period)
    results: dict[str, int] = {}
    calls = 0
    # aiohttp 3.14 deprecates ClientSession(auth=BasicAuth(...)) for this header; older: BasicAuth.encode().
    if hasattr(aiohttp, "encode_basic_auth"):
        headers = {"Authorization": aiohttp.encode_basic_auth(c.LOGIN, c.PASSWORD)}
    else:
        headers = {"Authorization": aiohttp.BasicAuth(c.LOGIN, c.PASSWORD).encode()}
    timeout = aiohttp.ClientTimeout(total=150)

    async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:

        async def fetch(chunk: list[str]) -> None:
            nonlocal calls
            async with sem:
                for attempt in range(args.retries + 1):
                    async with limiter, session.post(url, json=[{"targets": chunk}]) as response:
                        data = await response.json() if response.status == 200 else None
                    calls += 1
                    timeline.mark()
                    if data and data["status_code"] == 20000 and data["tasks"][0]["status_code"] == 20000:
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
