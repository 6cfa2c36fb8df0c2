"""N worker processes on one account, with and without ``shared_limits``: refusals and aggregate
throughput against the account's bound. Writes its own section of docs/benchmarks.md.

    python benchmarks/multiprocess.py                 # 3 processes, both scenarios, ~3 min
    python benchmarks/multiprocess.py --no-write      # print the section instead

Each run starts a fresh emulator (``benchmarks/emulator.py``, its own process and ledger) with a
time-scaled account (200 calls per 6 s, 30 in flight), a fresh ``redis-server`` (as the tests
do: ``tests/shared/redis_server.py``), and N workers (``tests/shared/worker.py``), each a
``BulkClient`` with the account's full limits, as a team that runs N copies of one job would
configure them, and the client's default retries. One target per call. Refusals (40202, 40209)
and the times of accepted calls come from the emulator's ledger.

Between the markers below ``benchmarks/run.py`` leaves the section alone when it rewrites the
rest of the file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dataforseo_bulk.emulator import Ledger

ROOT = Path(__file__).resolve().parent.parent
WORKER = ROOT / "tests" / "shared" / "worker.py"
OUT = ROOT / "docs" / "benchmarks.md"
BEGIN = "<!-- multiprocess: written by benchmarks/multiprocess.py -->"
END = "<!-- /multiprocess -->"
RATE_LIMIT, RATE_PERIOD, MAX_CONCURRENCY = 200, 6.0, 30
BOUND = RATE_LIMIT / RATE_PERIOD

sys.path.insert(0, str(ROOT / "tests" / "shared"))
from redis_server import RedisServer  # noqa: E402  (the tests' helper: a real redis-server by PID)


@dataclass(frozen=True)
class Scenario:
    name: str
    latency_ms: float
    what_binds: str

    @property
    def bound(self) -> float:
        """Calls per second the account allows here: its rate, or its cap over one call's time."""
        return min(BOUND, MAX_CONCURRENCY / (self.latency_ms / 1000))


SCENARIOS = [
    Scenario("rate-bound", 300, "the rate (33 calls/s x 0.3 s = 10 in flight, under the cap of 30)"),
    Scenario("cap-bound", 1500, "the cap in flight (30 / 1.5 s = 20 calls/s, under the rate of 33)"),
]


def start_emulator(latency_ms: float, ledger: Path) -> tuple[subprocess.Popen[str], str]:
    command = [
        sys.executable, str(ROOT / "benchmarks" / "emulator.py"), "--port", "0",
        "--rate", f"{RATE_LIMIT}/{RATE_PERIOD}", "--concurrency", str(MAX_CONCURRENCY),
        "--latency-ms", str(latency_ms), "--ledger", str(ledger),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()  # "serving DataForSEO emulator on URL (ledger: ...)"
    return process, line.split(" on ", 1)[1].split()[0]


def run_once(scenario: Scenario, processes: int, targets: int, shared: bool, workdir: Path) -> dict[str, Any]:
    ledger_path = workdir / f"{scenario.name}-{processes}-{shared}.sqlite"
    emulator, url = start_emulator(scenario.latency_ms, ledger_path)
    redis = RedisServer(workdir) if shared else None
    try:
        command = [sys.executable, str(WORKER), url, str(targets)]
        extra = [
            "--rate",
            f"{RATE_LIMIT}/{RATE_PERIOD}",
            "--concurrency",
            str(MAX_CONCURRENCY),
            "--retries",
            "4",
        ]
        if redis is not None:
            extra += ["--shared-limits", redis.url]
        started = time.monotonic()
        workers = [
            subprocess.Popen([*command, f"w{i}", *extra], stdout=subprocess.PIPE, text=True)
            for i in range(processes)
        ]
        reports = [json.loads(w.communicate()[0].strip().splitlines()[-1]) for w in workers]
        wall = time.monotonic() - started
    finally:
        emulator.terminate()
        emulator.wait()
        if redis is not None:
            redis.stop()
    with Ledger.open_readonly(ledger_path) as ledger:
        calls = ledger.calls()
    accepted = sorted(c.monotonic for c in calls if c.envelope_code == 20000 and c.task_codes == (20000,))
    codes = [code for c in calls for code in (c.envelope_code, *c.task_codes)]
    span = accepted[-1] - accepted[0] if len(accepted) > 1 else float("nan")
    return {
        "scenario": scenario.name,
        "processes": processes,
        "shared": shared,
        "targets": processes * targets,
        "answered": sum(r["right"] for r in reports),
        "failed": sum(sum(r["failed"].values()) for r in reports),
        "calls": len(calls),
        "accepted": len(accepted),
        "r40202": codes.count(40202),
        "r40209": codes.count(40209),
        "rate": (len(accepted) - 1) / span,
        "wall": wall,
    }


def section(
    rows: list[dict[str, Any]], processes: int, targets: int, started: datetime, elapsed: float
) -> str:
    load = "/".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [
        BEGIN,
        "## Several processes on one account: `shared_limits`",
        "",
        f"{started:%Y-%m-%d %H:%M} UTC, {elapsed / 60:.1f} min, {platform.python_version()}, "
        f"load average {load} at the end. Reproduce: `nice python benchmarks/multiprocess.py` "
        "(method in its docstring).",
        "",
        f"{processes} worker processes (and, for reference, one process doing all their work), each a "
        "`BulkClient` set to the whole account's limits "
        f"({RATE_LIMIT} calls per {RATE_PERIOD:g} s, {MAX_CONCURRENCY} in flight; time-scaled from "
        f"2000 per 60 s), default retries, {targets} one-target calls each, against one emulator "
        "holding the account's limits; with `shared_limits` on one fresh `redis-server`, and "
        "without. Counts from the emulator's ledger. Throughput: accepted calls per second from the "
        f"first to the last accepted call, against the bound (the rate, {BOUND:.1f}/s, or the cap over "
        "one call's time, whichever is lower). The emulator accepts at "
        f"most {RATE_LIMIT} calls in any {RATE_PERIOD:g} s and {MAX_CONCURRENCY} at once; it refuses "
        "the rest, and a refused call is retried after the client's pause or backoff. (Over 100 %: "
        "the first-to-last span leaves one call's time out. Wall: from starting the processes to the "
        "last one's exit.)",
        "",
        "| scenario | what binds | processes | shared | calls sent | 40202 | 40209 "
        "| accepted / s | of the bound | answered | failed | wall s |",
        "|---|---|---:|:-:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    by_name = {s.name: s for s in SCENARIOS}
    for r in rows:
        scenario = by_name[r["scenario"]]
        lines.append(
            f"| {r['scenario']} | {scenario.what_binds} | {r['processes']} "
            f"| {'yes' if r['shared'] else 'no'} "
            f"| {r['calls']} | {r['r40202']} | {r['r40209']} "
            f"| {r['rate']:.1f} | {r['rate'] / scenario.bound:.1%} "
            f"| {r['answered']}/{r['targets']} | {r['failed']} | {r['wall']:.1f} |"
        )
    lines += [
        "",
        END,
    ]
    return "\n".join(lines) + "\n"


def write_section(text: str, out: Path) -> None:
    """Replace the delimited section of ``out`` (or append it): the rest of the file is run.py's."""
    current = out.read_text() if out.exists() else ""
    if BEGIN in current and END in current:
        head, _, rest = current.partition(BEGIN)
        _, _, tail = rest.partition(END)
        current = head + text.rstrip("\n") + tail
    else:
        current = current.rstrip("\n") + "\n\n" + text
    out.write_text(current)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--targets", type=int, default=150, help="calls per process (one target each)")
    parser.add_argument("--scenarios", default=",".join(s.name for s in SCENARIOS))
    parser.add_argument("--no-write", action="store_true", help="print the section instead")
    args = parser.parse_args()
    wanted = args.scenarios.split(",")
    started, t0 = datetime.now(UTC), time.monotonic()
    rows = []
    with tempfile.TemporaryDirectory(prefix="dfsb-multiprocess-") as tmp:
        for scenario in (s for s in SCENARIOS if s.name in wanted):
            # One process doing all the work is the reference; then N without and with sharing.
            for processes, targets, shared in (
                (1, args.processes * args.targets, False),
                (args.processes, args.targets, False),
                (args.processes, args.targets, True),
            ):
                row = run_once(scenario, processes, targets, shared, Path(tmp))
                print(json.dumps(row), file=sys.stderr, flush=True)
                rows.append(row)
    text = section(rows, args.processes, args.targets, started, time.monotonic() - t0)
    if args.no_write:
        print(text)
    else:
        write_section(text, OUT)
        print(f"wrote the multiprocess section of {OUT.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
