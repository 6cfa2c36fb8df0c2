"""A job fully answered from the results cache: targets per second and peak RSS.

    nice .venv/bin/python benchmarks/cache_bench.py                 # 100k and 1M targets, ~2 min
    nice .venv/bin/python benchmarks/cache_bench.py --sizes 100000  # quicker
    nice .venv/bin/python benchmarks/cache_bench.py --write         # also into docs/benchmarks.md

The cache file is filled first (one ``put`` of 1000 answers per chunk, as jobs do), under the
scope a ``bulk_backlinks`` job on the default API uses. Then each job runs in a fresh process
of its own (so its peak RSS is its own): ``stream()`` over a lazy generator (no checkpoint: the
job keeps answered targets in a private scratch file, so memory stays flat), and
``bulk_backlinks()`` (one in-memory result). Its transport fails any call: a job fully answered
from the cache must make none. Each job prints one JSON line; this script writes a markdown
section between markers in docs/benchmarks.md (``--write``), leaving the rest of that file to
``benchmarks/run.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN = "<!-- cache_bench: begin (benchmarks/cache_bench.py writes this section) -->"
END = "<!-- cache_bench: end -->"


def targets(n: int) -> Iterator[str]:
    return (f"site{i}.example.com" for i in range(n))


def fill(path: Path, n: int) -> float:
    from dataforseo_bulk import DEFAULT_BASE_URL
    from dataforseo_bulk.cache import scope_of
    from dataforseo_bulk.cache_sqlite import SQLiteCache

    scope = scope_of(DEFAULT_BASE_URL, "bulk_backlinks", {})
    started = time.perf_counter()
    with SQLiteCache(path) as cache:
        for start in range(0, n, 1000):
            cache.put(
                scope,
                {
                    t: {"target": t, "backlinks": 7}
                    for t in (f"site{i}.example.com" for i in range(start, start + 1000))
                },
            )
    return time.perf_counter() - started


def child(mode: str, n: int, cache: str) -> None:
    import anyio
    import httpx

    from dataforseo_bulk import BulkClient

    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError("a call went out: the cache should have answered everything")

    async def job() -> dict[str, object]:
        answered = 0
        async with BulkClient(
            "login", "password", transport=httpx.MockTransport(refuse), cache=cache, max_age=86_400
        ) as client:
            started = time.perf_counter()
            if mode == "stream":
                async with client.stream(targets(n)) as outcomes:
                    async for outcome in outcomes:
                        answered += len(outcome.values)
                    stats = outcomes.stats()
            else:
                result = await client.bulk_backlinks(list(targets(n)))
                answered, stats = len(result), result.stats
            wall = time.perf_counter() - started
        assert answered == n == stats.cached and stats.calls == 0, (answered, stats)
        return {
            "mode": mode,
            "targets": n,
            "wall": wall,
            "cached": stats.cached,
            "saved_usd": stats.saved_usd,
        }

    out = anyio.run(job)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def report(rows: list[dict[str, Any]], fill_s: float, n_fill: int, command: str) -> str:
    lines = [
        BEGIN,
        "## Results cache: a job fully answered from the cache",
        "",
        f"`{command}` (run with `nice` on the shared 2-core machine). A cache file of {n_fill:,} "
        f"`bulk_backlinks` answers is filled first ({fill_s:.1f} s: {n_fill / fill_s:,.0f} answers/s, "
        "one transaction of 1000 a chunk); then each job runs in a fresh process, its transport "
        "failing any call (none is made). `stream()` reads a lazy generator, with no checkpoint "
        "(answered targets go to a private scratch file, so memory stays flat); `bulk_backlinks()` "
        "builds one in-memory result.",
        "",
        "| job | targets | targets/s | wall s | peak RSS MB | saved |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        job = "`stream()`" if r["mode"] == "stream" else "`bulk_backlinks()`"
        lines.append(
            f"| {job} | {int(r['targets']):,} | {r['targets'] / r['wall']:,.0f} | {r['wall']:.1f} | "
            f"{r['peak_rss_mb']:.0f} | ${r['saved_usd']:,.2f} |"
        )
    lines.append(END)
    return "\n".join(lines)


def write(section: str) -> None:
    text = DOC.read_text(encoding="utf-8")
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + section + text[text.index(END) + len(END) :]
    else:
        marker = "\n## Notes"
        at = text.index(marker) if marker in text else len(text)
        text = text[:at].rstrip("\n") + "\n\n" + section + "\n" + text[at:]
    DOC.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100000,1000000", help="targets per job, comma-separated")
    parser.add_argument("--write", action="store_true", help="write the section into docs/benchmarks.md")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "N", "CACHE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.child[2])
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="cache-bench-") as scratch:
        cache = Path(scratch) / "results.sqlite"
        fill_s = fill(cache, max(sizes))
        rows = []
        for mode in ("stream", "bulk"):
            for n in sizes:
                done = subprocess.run(
                    [sys.executable, __file__, "--child", mode, str(n), str(cache)],
                    capture_output=True,
                    text=True,
                    check=True,
                    env={**os.environ, "TMPDIR": scratch},
                )
                rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
                print(rows[-1], file=sys.stderr)
    command = (
        "nice .venv/bin/python benchmarks/cache_bench.py"
        + (f" --sizes {args.sizes}" if args.sizes != "100000,1000000" else "")
        + " --write"
    )
    section = report(rows, fill_s, max(sizes), command)
    print(section)
    if args.write:
        write(section)


if __name__ == "__main__":
    main()
