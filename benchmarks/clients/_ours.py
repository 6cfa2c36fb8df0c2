"""The job of the ``ours_*`` scripts: dataforseo-bulk's ``BulkClient``, as its README shows."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import _common as c

from dataforseo_bulk import BulkClient


def main(t_script: float, make_transport: Callable[[], Any] | None) -> None:
    args = c.parse_args()
    if args.mode == "import":
        c.make_targets(args.targets)  # the same start-up work as a job's
        c.emit(args, t_script)
        return
    targets: Any
    if args.mode == "stream":
        targets = c.iter_targets(args.targets)  # lazily: nothing of the input is held
    else:
        targets = c.make_targets(args.targets if args.mode != "first" else 1)
    before = c.rusage()
    timeline = c.Timeline()
    seen_calls = 0

    def on_progress(progress: Any) -> None:
        nonlocal seen_calls
        if progress.calls > seen_calls:
            timeline.mark(progress.calls - seen_calls)
            seen_calls = progress.calls

    async def run() -> tuple[int, Any, int, int, dict[str, Any]]:
        transport = make_transport() if make_transport is not None else None
        client = BulkClient(
            c.LOGIN,
            c.PASSWORD,
            base_url=args.url,
            rate_limit=args.rate_limit,
            rate_period=args.rate_period,
            max_concurrency=args.concurrency,
            chunk_size=args.chunk,
            transport=transport,
            on_progress=on_progress,
        )
        chosen = type(transport).__name__ if transport is not None else "httpx default (httpcore)"
        extra = {"transport": chosen}
        async with client:
            if args.mode == "stream":
                answered = failed = 0
                async with client.stream(targets, checkpoint=args.checkpoint) as outcomes:
                    async for outcome in outcomes:  # what a consumer does: look, then drop
                        answered += len(outcome.values)
                        failed += len(outcome.failed)
                    stats = outcomes.stats()
                return stats.calls, None, answered, failed, {**extra, "retries": stats.retries}
            result = await client.bulk_backlinks(targets)
            stats = result.stats
            return stats.calls, result, 0, len(result.failed), {**extra, "retries": stats.retries}

    t0 = time.perf_counter()
    with c.profiled():
        calls, result, answered, failed, extra = asyncio.run(run())
    wall = time.perf_counter() - t0
    after = c.rusage()
    if result is not None:  # checked after the CPU is taken
        answered = sum(1 for t in targets if t in result)
    fields = c.job_fields(
        args,
        calls=calls,
        answered=answered,
        wall=wall,
        cpu_before=before,
        cpu_after=after,
        timeline=timeline,
        failed=failed,
        **extra,
    )
    c.emit(args, t_script, at=after, **fields)
