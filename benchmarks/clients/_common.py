"""What every client script shares: its command line, its targets, and its one JSON line.

Only the standard library is imported here, so the start-up cost of a client script is the
cost of its own HTTP stack. Each script is run as ``python benchmarks/clients/NAME.py ...``
and prints exactly one JSON line on stdout.

Modes:

* ``import``  — import the client's libraries, build the targets, report, exit: the start-up
  cost the runner subtracts from a job's CPU and memory.
* ``first``   — import, build a client, make one call with one target: "import plus first call".
* ``job``     — import, build the targets (a list), answer them all, report.
* ``stream``  — (ours only) answer a lazily generated input through ``stream()``, keeping nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

LOGIN = os.environ.get("BENCH_LOGIN", "emulator")
PASSWORD = os.environ.get("BENCH_PASSWORD", "emulator-password")
PATH = "/v3/backlinks/bulk_backlinks/live"
#: A rate no job reaches: the "no limit" setting for the clients' own limiters.
UNLIMITED_RATE = (1_000_000_000, 1.0)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=("import", "first", "job", "stream"), default="job")
    parser.add_argument("--url", default="http://127.0.0.1:8765")
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--chunk", type=int, default=1000, help="targets per task (<= 1000)")
    parser.add_argument("--rate", default="none", help="LIMIT/SECONDS for the client's limiter, or none")
    parser.add_argument("--concurrency", type=int, default=30)
    parser.add_argument("--retry-delay", type=float, default=1.0, help="baselines: first retry wait (s)")
    parser.add_argument("--retries", type=int, default=8, help="baselines: attempts after the first")
    parser.add_argument("--bucket", type=float, default=1.0, help="timeline bucket (s)")
    parser.add_argument("--checkpoint", default=None, help="ours, stream mode: a checkpoint file to use")
    args = parser.parse_args(argv)
    if args.rate == "none":
        args.rate_limit, args.rate_period = UNLIMITED_RATE
    else:
        limit, _, period = args.rate.partition("/")
        args.rate_limit, args.rate_period = int(limit), float(period)
    if not 1 <= args.chunk <= 1000:
        parser.error("--chunk must be 1..1000")
    return args


def target(i: int) -> str:
    """The i-th target: distinct, deterministic, plain lowercase domains (no normalisation work)."""
    return f"example-{i}.com"


def make_targets(n: int) -> list[str]:
    return [target(i) for i in range(n)]


def iter_targets(n: int) -> Iterator[str]:
    for i in range(n):
        yield target(i)


def chunks(targets: list[str], size: int) -> list[list[str]]:
    return [targets[i : i + size] for i in range(0, len(targets), size)]


class Timeline:
    """Completion times of calls, bucketed; ``mark()`` is a list append."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.times: list[float] = []

    def mark(self, n: int = 1) -> None:
        now = time.monotonic()
        self.times.extend([now] * n)

    def buckets(self, width: float) -> list[int]:
        counts: list[int] = []
        for t in self.times:
            b = int((t - self.start) / width)
            while len(counts) <= b:
                counts.append(0)
            counts[b] += 1
        return counts


@contextlib.contextmanager
def profiled() -> Iterator[None]:
    """Profile the job only (not the imports) when ``BENCH_PROFILE`` names an output file."""
    path = os.environ.get("BENCH_PROFILE")
    if not path:
        yield
        return
    import cProfile

    # CPU time (not wall time: neither waiting for the server nor being preempted by other
    # processes is the client's cost). builtins=False: the time of a C builtin (json parsing,
    # dict.update ...) is its Python caller's own time, and costs no profiling event of its own.
    profile = cProfile.Profile(time.process_time, 0.0, True, False)
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        profile.dump_stats(path)


def rusage() -> dict[str, float]:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return {"user": ru.ru_utime, "sys": ru.ru_stime, "maxrss_kb": ru.ru_maxrss}


def emit(
    args: argparse.Namespace, t_script: float, *, at: dict[str, float] | None = None, **fields: Any
) -> None:
    """Print the one JSON line: the fields, the CPU of this process (now, or ``at`` the end of
    the job, before any checking by the harness), and its peak RSS."""
    ru = rusage()
    cpu = at or ru
    record = {
        "mode": args.mode,
        "since_script_start": time.perf_counter() - t_script,
        "cpu": cpu["user"] + cpu["sys"],
        "cpu_user": cpu["user"],
        "cpu_sys": cpu["sys"],
        "maxrss_kb": ru["maxrss_kb"],
        **fields,
    }
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def job_fields(
    args: argparse.Namespace,
    *,
    calls: int,
    answered: int,
    wall: float,
    cpu_before: dict[str, float],
    cpu_after: dict[str, float],
    timeline: Timeline,
    **extra: Any,
) -> dict[str, Any]:
    """The job's figures; its CPU is ``cpu_after - cpu_before``, both taken around the job only."""
    after = cpu_after
    return {
        "targets": args.targets,
        "calls": calls,
        "answered": answered,
        "wall": wall,
        "cpu_job_inprocess": (after["user"] + after["sys"]) - (cpu_before["user"] + cpu_before["sys"]),
        "timeline_bucket": args.bucket,
        "timeline": timeline.buckets(args.bucket),
        **extra,
    }


#: A baseline's job: answer every target, return (calls made, target -> backlinks).
Job = Callable[[argparse.Namespace, list[str], Timeline], Awaitable[tuple[int, dict[str, int]]]]


def gather_main(t_script: float, run: Job) -> None:
    """The ``main`` of every script but ours: parse the command line, run the job in the mode
    asked for, print the one JSON line."""
    args = parse_args()
    targets = make_targets(args.targets if args.mode != "first" else 1)
    if args.mode == "import":
        emit(args, t_script)
        return
    before = rusage()
    timeline = Timeline()
    t0 = time.perf_counter()
    with profiled():
        calls, results = asyncio.run(run(args, targets, timeline))
    wall = time.perf_counter() - t0
    after = rusage()
    answered = sum(1 for t in targets if t in results)  # checked after the CPU is taken
    fields = job_fields(
        args, calls=calls, answered=answered, wall=wall, cpu_before=before, cpu_after=after, timeline=timeline
    )
    emit(args, t_script, at=after, **fields)
