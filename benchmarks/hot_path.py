"""The per-target hot path, measured in-process: this tree against another revision, same run.

    .venv/bin/python benchmarks/hot_path.py                    # this tree only
    .venv/bin/python benchmarks/hot_path.py --against ff67bbd  # this tree and ff67bbd, interleaved

What is timed (CPU time, ``time.process_time``), for three inputs of 1000-target batches:
plain lowercase domains; mixed (10 % capitalised, 5 % pages, 5 % repeats of earlier targets);
normal pages. ``normalize_batch`` per 1000 strings; the engine's ``_accept`` per batch of 1000
(a job reading 100 batches); ``_match`` of an all-integer answer per 1000 items (answered in
another order than sent, as the emulator does); and a whole
job in-process (no HTTP: the poster parses a prepared answer body, so JSON parsing is in) per
1000-target call. Each measurement is the median of its repeats, run in a fresh interpreter per
tree and round (``--rounds``), the trees taking turns, so that the machine's load falls on both.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BATCH = 1000
INPUTS = ("domains", "mixed", "pages")


def make_input(kind: str, n: int) -> list[str]:
    """``n`` caller strings of one kind (deterministic)."""
    if kind == "domains":
        return [f"example-{i}.com" for i in range(n)]
    if kind == "pages":
        return [f"https://www.site-{i % 997}.com/blog/post-{i}?ref=x" for i in range(n)]
    out: list[str] = []
    for i in range(n):
        slot = i % 20
        if slot in (3, 13):
            out.append(f"Example-{i}.COM")  # 10 % capitalised
        elif slot == 7:
            out.append(f"https://shop-{i}.com/item/{i}")  # 5 % pages
        elif slot == 17 and i > 40:
            out.append(out[i - 37])  # 5 % repeats of an earlier string
        else:
            out.append(f"example-{i}.com")
    return out


def timed(fn: Callable[[], object], repeats: int) -> float:
    """Median CPU seconds of ``fn()`` over ``repeats`` runs."""
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times)


def child(total: int, repeats: int) -> dict[str, Any]:
    import anyio

    import dataforseo_bulk
    from dataforseo_bulk import targets
    from dataforseo_bulk.answer import encode_task, parse_answer
    from dataforseo_bulk.backoff import RetryPolicy
    from dataforseo_bulk.endpoints import ENDPOINTS
    from dataforseo_bulk.engine import Job, JobSettings

    # Validation of 1000 strings as the engine does it: one call per string (this tree), or
    # the batch call of a tree that had one.
    normalize_batch = getattr(targets, "normalize_batch", None) or (
        lambda batch: [targets.normalize_target(raw) for raw in batch]
    )

    endpoint = ENDPOINTS["bulk_backlinks"]
    settings = JobSettings(10**9, 1.0, 30, BATCH, RetryPolicy(max_retries=0))
    out: dict[str, Any] = {"module": dataforseo_bulk.__file__}

    def new_job(on_outcome: Callable[[Any], None] = lambda _: None) -> Any:
        async def never(body: bytes) -> Any:
            raise AssertionError("no calls here")

        return Job(endpoint, {}, post=never, settings=settings, on_outcome=on_outcome, job_id="bench")

    def items_for(targets: list[str]) -> list[dict[str, Any]]:
        # In another order than sent, as the emulator (and maybe the API) answers.
        shuffled = list(targets)
        random.Random(len(targets)).shuffle(shuffled)
        return [{"type": "backlinks", "target": t, "backlinks": 7} for t in shuffled]

    for kind in INPUTS:
        strings = make_input(kind, total)
        batches = [strings[i : i + BATCH] for i in range(0, total, BATCH)]
        per = len(batches)

        def _normalize_all(batches: list[list[str]] = batches) -> None:
            for b in batches:
                normalize_batch(b)

        out[f"normalize/{kind}"] = timed(_normalize_all, repeats) / per

        def _accept_all(batches: list[list[str]] = batches) -> None:
            job = new_job()
            for b in batches:
                job._accept(b)

        out[f"accept/{kind}"] = timed(_accept_all, repeats) / per

    # _match: answers for 100 chunks of plain domains, matched into one job's chunk work.
    from dataforseo_bulk.chunks import Chunk
    from dataforseo_bulk.engine import _ChunkWork

    strings = make_input("domains", total)
    chunks = [Chunk(i, strings[i * BATCH : (i + 1) * BATCH], f"bench-{i}") for i in range(total // BATCH)]
    answers = [items_for(c.targets) for c in chunks]
    job = new_job()

    def match_all() -> None:
        for chunk, items in zip(chunks, answers, strict=True):
            job._match(chunk, items, _ChunkWork())

    out["match/domains"] = timed(match_all, repeats) / len(chunks)

    # A whole job, in-process: the poster parses a prepared answer for each body.
    for kind in INPUTS:
        strings = make_input(kind, total)
        prepared: dict[bytes, bytes] = {}
        probe = new_job()
        fresh: list[str] = []
        for i in range(0, total, BATCH):
            fresh.extend(probe._accept(strings[i : i + BATCH]))
        for index, start in enumerate(range(0, len(fresh), BATCH)):
            part = fresh[start : start + BATCH]
            body = encode_task(part, f"bench-{index}", {})
            envelope = {
                "status_code": 20000,
                "status_message": "Ok.",
                "cost": 0.05,
                "tasks": [
                    {
                        "status_code": 20000,
                        "status_message": "Ok.",
                        "cost": 0.05,
                        "data": {"targets": part},
                        "result": [{"items_count": len(part), "items": items_for(part)}],
                    }
                ],
            }
            prepared[body] = json.dumps(envelope).encode()
        calls = len(prepared)

        async def post(body: bytes, prepared: dict[bytes, bytes] = prepared) -> Any:
            await anyio.lowlevel.checkpoint()
            return parse_answer(200, prepared[body])

        def whole_job(strings: list[str] = strings, post: Any = post) -> None:
            job = Job(endpoint, {}, post=post, settings=settings, on_outcome=lambda _: None, job_id="bench")
            anyio.run(job.run, strings)
            assert len(job.answers()) == len(set(strings)), "every distinct target answered"

        out[f"job/{kind}"] = timed(whole_job, max(3, repeats // 2)) / calls
    return out


def run_child(src: Path, total: int, repeats: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    cmd = [sys.executable, __file__, "--child", "--targets", str(total), "--repeats", str(repeats)]
    result = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    record: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    if not record["module"].startswith(str(src)):
        raise RuntimeError(f"the child imported {record['module']}, not the tree under {src}")
    return record


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--against", metavar="REV", help="also measure this git revision, same run")
    parser.add_argument("--rounds", type=int, default=3, help="fresh interpreters per tree (default 3)")
    parser.add_argument("--targets", type=int, default=100_000, help="targets per measurement")
    parser.add_argument("--repeats", type=int, default=7, help="repeats per measurement, median kept")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.targets, args.repeats)))
        return 0
    trees = {"this tree": ROOT / "src"}
    if args.against:
        sys.path.insert(0, str(HERE))
        import run  # the harness's git-archive snapshot of src/

        trees = {args.against: run.snapshot(args.against)[0], **trees}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
    for round_ in range(args.rounds):
        for name, src in trees.items():
            runs[name].append(run_child(src, args.targets, args.repeats))
            print(f"round {round_ + 1}: {name} done", file=sys.stderr, flush=True)
    keys = [k for k in runs[next(iter(trees))][0] if k != "module"]
    names = list(trees)
    print("| per 1000 targets (ms CPU) | " + " | ".join(names) + (" | change |" if len(names) == 2 else " |"))
    print("|---|" + "---:|" * (len(names) + (len(names) == 2)))
    for key in keys:
        medians = [1000 * statistics.median(r[key] for r in runs[name]) for name in names]
        cells = [f"{m:.3f}" for m in medians]
        if len(names) == 2:
            cells.append(f"{medians[1] - medians[0]:+.3f}")
        print(f"| {key} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
