"""Concurrency-bound calls of 1000 targets: where a client's turnaround goes.

    .venv/bin/python benchmarks/turnaround.py                     # ours (httpx transport) vs baselines
    .venv/bin/python benchmarks/turnaround.py --against ff67bbd   # also ours as committed at ff67bbd
    .venv/bin/python benchmarks/turnaround.py --cpu-clock         # the engine alone, on a CPU clock

30 calls in flight, 300 ± 100 ms a call, no rate limit: the bound is 100 calls a second, and
what a client loses to it is its turnaround (the time a slot stands empty between an answer and
the next call: reading and checking the answer, recording it, getting the next chunk, pacing).
``benchmarks/run.py --scenarios concurrency_full`` is the same job against the emulator; there
the emulator's own CPU (5–10 ms an answer) caps every client on a small machine, so this script
serves the answers with ``benchmarks/standin.py`` instead. Clients take turns in each round.

On a shared machine even that measures mostly how much CPU each client gets. ``--cpu-clock``
takes the machine out: our engine and a bare ``Semaphore + gather`` loop run in-process on the
same poster (it waits 300 ± 100 ms, then parses a prepared 1000-item answer), on an event loop
whose clock is this process's own CPU time plus the time it would have slept: what a wall clock
would show if the process had a core to itself. The engine's own turnaround (answer checked and
recorded, next chunk handed over, next call paced) is then the whole difference between the two.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import run  # noqa: E402  # the harness: client scripts, run_client, snapshot


class CpuClockLoop(asyncio.SelectorEventLoop):
    """An event loop whose time is the process's CPU time plus every wait it skipped.

    Only for code that waits on timers alone (no sockets): a wait is never slept, its length
    is added to the clock and the loop polls on.
    """

    def __init__(self) -> None:
        super().__init__()
        self._skipped = 0.0
        poll = self._selector.select  # type: ignore[attr-defined]

        def select(timeout: float | None = None) -> Any:
            if timeout is None:
                raise RuntimeError("the job would wait forever")
            self._skipped += max(0.0, timeout)
            return poll(0)

        self._selector.select = select  # type: ignore[attr-defined]

    def time(self) -> float:
        return time.process_time() + self._skipped


def cpu_clock_child(kind: str, calls: int) -> dict[str, float]:
    """One job of ``calls`` 1000-target calls on a CPU clock: ``ours`` (the engine) or ``gather``."""
    import pydantic_core

    from dataforseo_bulk.answer import parse_answer
    from dataforseo_bulk.backoff import RetryPolicy
    from dataforseo_bulk.endpoints import ENDPOINTS
    from dataforseo_bulk.engine import Job, JobSettings

    targets = [f"example-{i}.com" for i in range(calls * 1000)]
    answers: dict[str, bytes] = {}
    for start in range(0, len(targets), 1000):
        part = targets[start : start + 1000]
        items = [{"type": "backlinks", "target": t, "backlinks": 7} for t in part]
        task = {"status_code": 20000, "status_message": "Ok.", "cost": 0.05, "result": [{"items": items}]}
        envelope = {"status_code": 20000, "status_message": "Ok.", "cost": 0.05, "tasks": [task]}
        answers[part[0]] = pydantic_core.to_json(envelope)
    draw = random.Random(1).uniform

    async def post(body: bytes) -> Any:
        start = body.index(b'"targets":["') + 12  # the chunk's first target picks its answer
        first = body[start : body.index(b'"', start)].decode()
        await asyncio.sleep(0.3 + draw(-0.1, 0.1))
        return parse_answer(200, answers[first])

    async def ours() -> int:
        settings = JobSettings(10**9, 1.0, 30, 1000, RetryPolicy(max_retries=0))
        job = Job(ENDPOINTS["bulk_backlinks"], {}, post=post, settings=settings, on_outcome=lambda _: None)
        await job.run(targets)
        return len(job.answers())

    async def gather() -> int:
        semaphore = asyncio.Semaphore(30)
        results: dict[str, int] = {}

        async def fetch(chunk: list[str]) -> None:
            async with semaphore:
                answer = await post(pydantic_core.to_json([{"targets": chunk}]))
                for item in answer.items:
                    results[item["target"]] = item["backlinks"]

        await asyncio.gather(*(fetch(targets[i : i + 1000]) for i in range(0, len(targets), 1000)))
        return len(results)

    loop = CpuClockLoop()
    try:
        started, cpu = loop.time(), time.process_time()
        answered = loop.run_until_complete(ours() if kind == "ours" else gather())
        span, cpu = loop.time() - started, time.process_time() - cpu
    finally:
        loop.close()
    assert answered == len(targets)
    return {"calls_s": calls / span, "cpu_ms": 1000 * cpu / calls}


def cpu_clock(args: argparse.Namespace, env: dict[str, str], snapshot_dir: Path | None) -> None:
    runs = [("ours", "ours", env), ("gather", "gather", env)]
    if snapshot_dir is not None:
        runs.insert(1, (f"ours @ {args.against}", "ours", {**env, "PYTHONPATH": str(snapshot_dir)}))
    results: dict[str, list[dict[str, float]]] = {label: [] for label, _, _ in runs}
    for round_ in range(args.rounds):
        for label, kind, child_env in runs:
            cmd = [run.PYTHON, __file__, "--child", kind, "--calls", str(args.calls)]
            out = subprocess.run(cmd, env=child_env, check=True, capture_output=True, text=True).stdout
            results[label].append(json.loads(out.strip().splitlines()[-1]))
            got = results[label][-1]
            print(f"round {round_ + 1} {label}: {got['calls_s']:.2f} calls/s", file=sys.stderr, flush=True)
    report(results, "on a CPU clock")


def report(results: dict[str, list[dict[str, float]]], how: str) -> None:
    print(f"| client ({how}) | calls/s (median, min–max) | CPU ms a call (median) |")
    print("|---|---:|---:|")
    for label, rows in results.items():
        rates = [r["calls_s"] for r in rows]
        print(
            f"| {label} | {statistics.median(rates):.2f} ({min(rates):.2f}–{max(rates):.2f}) | "
            f"{statistics.median(r['cpu_ms'] for r in rows):.2f} |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=600, help="calls of 1000 targets per job")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--clients", default="ours_httpcore,aiohttp_gather,httpx_gather", help="comma list of client scripts"
    )
    parser.add_argument("--against", metavar="REV", help="also run ours_httpcore on src/ as committed at REV")
    parser.add_argument(
        "--cpu-clock", action="store_true", help="the engine vs gather in-process, on a CPU clock"
    )
    parser.add_argument("--child", choices=("ours", "gather"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(cpu_clock_child(args.child, args.calls)))
        return 0
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    runs: list[tuple[str, str, dict[str, str]]] = [(n, n, env) for n in args.clients.split(",")]
    snapshot_dir = None
    if args.against:
        snapshot_dir, _ = run.snapshot(args.against)
        runs.append(
            (f"ours_httpcore @ {args.against}", "ours_httpcore", {**env, "PYTHONPATH": str(snapshot_dir)})
        )
    if args.cpu_clock:
        try:
            cpu_clock(args, env, snapshot_dir)
        finally:
            if snapshot_dir is not None:
                shutil.rmtree(snapshot_dir.parent, ignore_errors=True)
        return 0
    server = subprocess.Popen(
        [run.PYTHON, str(HERE / "standin.py"), "--port", "0", "--latency-ms", "300", "--jitter-ms", "100"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    results: dict[str, list[dict[str, float]]] = {label: [] for label, _, _ in runs}
    try:
        assert server.stdout is not None
        url = server.stdout.readline().split(" on ", 1)[1].split(" ", 1)[0]
        job = (
            "--targets",
            str(args.calls * 1000),
            "--chunk",
            "1000",
            "--concurrency",
            "30",
            "--rate",
            "none",
        )
        for round_ in range(args.rounds):
            for label, name, client_env in runs:
                rec = run.run_client(client_env, name, "job", url, *job)
                if rec["answered"] != args.calls * 1000:
                    raise RuntimeError(f"{label}: {rec['answered']} targets answered")
                got = {
                    "calls_s": rec["calls"] / rec["wall"],
                    "cpu_ms": 1000 * rec["cpu_job_inprocess"] / rec["calls"],
                }
                results[label].append(got)
                print(
                    f"round {round_ + 1} {label}: {got['calls_s']:.1f} calls/s, {got['cpu_ms']:.2f} ms CPU",
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        if snapshot_dir is not None:
            shutil.rmtree(snapshot_dir.parent, ignore_errors=True)
    report(results, "stand-in server")
    return 0


if __name__ == "__main__":
    sys.exit(main())
