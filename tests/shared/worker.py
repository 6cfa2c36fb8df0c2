"""One worker process of the multi-process tests (and of ``benchmarks/multiprocess.py``).

``python worker.py BASE_URL N_TARGETS NAME [--shared-limits URL] [--lease S] [--rate L/P]
[--concurrency N]`` runs ``bulk_backlinks`` on N targets named after NAME against the emulator
at BASE_URL, one target a call, and prints JSON lines: ``{"process": ...}`` once the client
exists (the id its leases carry in Redis), then ``{"ok": ..., "calls": ..., "aborted": ...}``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

import anyio

from dataforseo_bulk import BulkClient, JobAborted, JobStats
from dataforseo_bulk.emulator import DEFAULT_LOGIN, DEFAULT_PASSWORD, expected_backlinks
from dataforseo_bulk.shared_limits import SharedLimits


def say(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


async def main(args: argparse.Namespace) -> int:
    limit, _, period = args.rate.partition("/")
    shared = SharedLimits(args.shared_limits, lease_seconds=args.lease) if args.shared_limits else None
    client = BulkClient(
        DEFAULT_LOGIN,
        DEFAULT_PASSWORD,
        base_url=args.base_url,
        rate_limit=int(limit),
        rate_period=float(period),
        max_concurrency=args.concurrency,
        chunk_size=1,
        max_retries=args.retries,  # 0 in the tests: a refusal fails its target, nothing hides it
        shared_limits=shared,
    )
    shared_account = client._shared  # the id this process's leases carry in Redis
    say(process=shared_account.process if shared_account is not None else None)
    targets = [f"{args.name}-{i}.com" for i in range(args.targets)]
    aborted: str | None = None
    async with client:
        try:
            result = await client.bulk_backlinks(targets)
        except JobAborted as exc:
            aborted = f"{type(exc).__name__}: {exc}"
            result = exc.result
    stats: JobStats = result.stats
    right = sum(1 for t, v in result.items() if v == expected_backlinks(t))
    kinds: dict[str, int] = {}
    for failure in result.failed.values():
        kinds[failure.kind.value] = kinds.get(failure.kind.value, 0) + 1
    say(ok=stats.ok, right=right, calls=stats.calls, retries=stats.retries, failed=kinds, aborted=aborted)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("base_url")
    parser.add_argument("targets", type=int)
    parser.add_argument("name")
    parser.add_argument("--shared-limits")
    parser.add_argument("--lease", type=float, default=15.0)
    parser.add_argument("--rate", default="200/6")
    parser.add_argument("--concurrency", type=int, default=30)
    parser.add_argument("--retries", type=int, default=0)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    sys.exit(anyio.run(main, parser.parse_args()))
