"""Baseline: the official ``dataforseo-client`` (synchronous, urllib3) in a thread pool.

Used as its README shows (``Configuration`` → ``ApiClient`` → ``BacklinksApi``, typed request and
response models), each call in a ``ThreadPoolExecutor`` worker, paced by the same
``Semaphore(30)`` + ``aiolimiter.AsyncLimiter`` as the other baselines so that only the HTTP
stack differs. One concession a competent user makes after the first run: the urllib3 pool is
sized to the 30 threads (default ``cpu_count * 5``, which here discards and reopens
connections). The task carries a ``tag``, as in the notes' example (the model sends
``"tag": null`` otherwise). A refused call is retried after an exponential wait.
"""

from __future__ import annotations

import time

T_SCRIPT = time.perf_counter()

import asyncio  # noqa: E402
import sys  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402
from aiolimiter import AsyncLimiter  # noqa: E402
from dataforseo_client import api_client as dfs_api_provider  # noqa: E402
from dataforseo_client import configuration as dfs_config  # noqa: E402
from dataforseo_client.api.backlinks_api import BacklinksApi  # noqa: E402
from dataforseo_client.models.backlinks_bulk_backlinks_live_request_info import (  # noqa: E402
    BacklinksBulkBacklinksLiveRequestInfo,
)
from dataforseo_client.rest import ApiException  # noqa: E402


async def run(args, targets: list[str], timeline: c.Timeline) -> tuple[int, dict[str, int]]:
    configuration = dfs_config.Configuration(host=args.url, username=c.LOGIN, password=c.PASSWORD)
    configuration.connection_pool_maxsize = args.concurrency
    sem = asyncio.Semaphore(args.concurrency)
    limiter = AsyncLimiter(args.rate_limit, args.rate_period)
    results: dict[str, int] = {}
    calls = 0
    loop = asyncio.get_running_loop()

    with (
        dfs_api_provider.ApiClient(configuration) as api_client,
        ThreadPoolExecutor(args.concurrency) as pool,
    ):
        backlinks_api = BacklinksApi(api_client)

        def call(chunk: list[str], tag: str):
            request = BacklinksBulkBacklinksLiveRequestInfo(targets=chunk, tag=tag)
            try:
                return backlinks_api.bulk_backlinks_live([request], _request_timeout=(10.0, 150.0))
            except ApiException:  # non-2xx HTTP: retried below like any refusal
                return None

        async def fetch(index: int, chunk: list[str]) -> None:
            nonlocal calls
            async with sem:
                for attempt in range(args.retries + 1):
                    async with limiter:
                        response = await loop.run_in_executor(pool, call, chunk, f"chunk-{index}")
                    calls += 1
                    timeline.mark()
                    if response is not None and response.status_code == 20000:
                        task = response.tasks[0]
                        if task.status_code == 20000:
                            for item in task.result[0].items:
                                results[item.target] = item.backlinks
                            return
                    await asyncio.sleep(args.retry_delay * 2**attempt)
                raise RuntimeError(f"gave up on a chunk after {args.retries + 1} attempts")

        await asyncio.gather(*(fetch(i, chunk) for i, chunk in enumerate(c.chunks(targets, args.chunk))))
    return calls, results


def main() -> None:
    c.gather_main(T_SCRIPT, run)


if __name__ == "__main__":
    main()
