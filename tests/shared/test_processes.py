"""Several worker processes on one account, one emulator, one real Redis.

The emulator holds a time-scaled account (200 calls per 6 s, 30 at once, 300 ms a call) and
answers any excess with 40202/40209; its ledger is the referee. Each worker is a real
subprocess (``worker.py``) running ``bulk_backlinks`` with ``shared_limits`` on the Redis.

Catches: processes that pace as if alone (refusals), a shared schedule that wastes the account's
rate (under 95 % of the bound), slots of a killed process that never come back, and a job that
goes on, or hangs, when Redis goes away.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.abc import Process

from dataforseo_bulk.emulator import EmulatorConfig, Ledger, serve

from .redis_server import RedisServer

pytestmark = pytest.mark.loopback

WORKER = Path(__file__).with_name("worker.py")
RATE_LIMIT, RATE_PERIOD, MAX_CONCURRENCY = 200, 6.0, 30
ACCOUNT = EmulatorConfig(
    rate_limit=RATE_LIMIT, rate_period=RATE_PERIOD, max_concurrency=MAX_CONCURRENCY, latency_ms=300
)
BOUND = RATE_LIMIT / RATE_PERIOD  # calls per second
REFUSALS = {40202, 40209}


def refusals(ledger: Ledger) -> list[int]:
    return [
        code for call in ledger.calls() for code in (call.envelope_code, *call.task_codes) if code in REFUSALS
    ]


async def start_worker(url: str, redis_url: str, targets: int, name: str, *extra: str) -> Process:
    command = [sys.executable, str(WORKER), url, str(targets), name, "--shared-limits", redis_url]
    command += ["--rate", f"{RATE_LIMIT}/{RATE_PERIOD}", "--concurrency", str(MAX_CONCURRENCY), *extra]
    return await anyio.open_process(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


async def lines_of(process: Process) -> list[dict[str, Any]]:
    """Every JSON line the worker printed, once it has exited (stderr shown on failure)."""
    assert process.stdout is not None and process.stderr is not None
    out = b"".join([chunk async for chunk in process.stdout])
    err = b"".join([chunk async for chunk in process.stderr])
    await process.wait()
    assert process.returncode == 0, err.decode(errors="replace")
    return [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]


async def first_line(process: Process) -> dict[str, Any]:
    """The worker's first line (``{"process": id}``), read as soon as it is printed."""
    assert process.stdout is not None
    buffer = b""
    while b"\n" not in buffer:
        buffer += await process.stdout.receive()
    return dict(json.loads(buffer.partition(b"\n")[0]))  # nothing else is printed before the end


async def eventually(condition: Callable[[], bool], *, within: float) -> None:
    """Poll something outside this process (the ledger, Redis) until ``condition()`` holds."""
    with anyio.fail_after(within):
        while True:
            if condition():
                return
            await anyio.sleep(0.05)


async def calls_reach(ledger: Ledger, count: int) -> None:
    await eventually(lambda: len(ledger.calls()) >= count, within=20)


@contextmanager
def killed_at_exit(processes: list[Process]) -> Iterator[None]:
    try:
        yield
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()


async def test_three_processes_share_the_account_without_a_refusal(
    redis_server: RedisServer, ledger: Ledger
) -> None:
    per_process = 60
    async with serve(ACCOUNT, ledger=ledger) as url:
        workers = [await start_worker(url, redis_server.url, per_process, f"p{i}") for i in range(3)]
        with killed_at_exit(workers):
            reports = [(await lines_of(worker))[-1] for worker in workers]

    assert [r["aborted"] for r in reports] == [None] * 3
    assert [r["right"] for r in reports] == [per_process] * 3
    calls = ledger.calls()
    assert len(calls) == 3 * per_process
    assert refusals(ledger) == []
    # The account's rate, used to at least 95 %: the ledger's first to last answer (its own
    # clock) against the bound. One grid for the three: 180 calls ~ 5.4 s.
    times = sorted(call.monotonic for call in calls)
    achieved = (len(times) - 1) / (times[-1] - times[0])
    assert achieved >= 0.95 * BOUND, f"{achieved:.1f} calls/s of {BOUND:.1f}"


async def test_a_killed_process_gives_its_slots_back_and_the_others_finish(
    redis_server: RedisServer, ledger: Ledger
) -> None:
    lease = 1.5
    async with serve(ACCOUNT, ledger=ledger) as url:
        workers = [
            await start_worker(url, redis_server.url, 50, f"k{i}", "--lease", str(lease)) for i in range(3)
        ]
        with killed_at_exit(workers):
            ids = [(await first_line(worker))["process"] for worker in workers]
            await calls_reach(ledger, 40)  # all three are well under way, the victim holds slots
            victim, survivors = workers[0], workers[1:]
            with redis_server.client() as probe:
                leases_key = next(iter(probe.scan_iter("*:leases")))

                def held_by_victim() -> int:
                    """The victim's leases still running (scored by their end, on Redis's clock)."""
                    seconds, micros = probe.time()
                    members = probe.zrangebyscore(leases_key, seconds * 1_000_000 + micros, "+inf")
                    return sum(1 for m in members if m.decode().startswith(f"{ids[0]}:"))

                assert held_by_victim() > 0
                os.kill(victim.pid, signal.SIGKILL)
                await victim.wait()
                # Its leases run out within the lease time.
                await eventually(lambda: held_by_victim() == 0, within=lease + 3)
                reports = [(await lines_of(worker))[-1] for worker in survivors]

    assert [r["aborted"] for r in reports] == [None, None]
    assert [r["right"] for r in reports] == [50, 50]
    assert refusals(ledger) == []


async def test_redis_lost_mid_job_stops_dispatching_and_keeps_what_was_paid(
    redis_server: RedisServer, ledger: Ledger
) -> None:
    async with serve(ACCOUNT, ledger=ledger) as url:
        workers = [await start_worker(url, redis_server.url, 150, f"r{i}") for i in range(2)]
        with killed_at_exit(workers):
            await calls_reach(ledger, 30)
            redis_server.stop()
            reports = [(await lines_of(worker))[-1] for worker in workers]
        answered_before_stop = len(ledger.calls())

    for report in reports:
        assert report["aborted"].startswith("SharedLimitsLost: lost the Redis of shared limits")
        assert "127.0.0.1" in report["aborted"]
        # Every call the emulator answered was received and kept: nothing paid is lost ...
        assert report["right"] == report["ok"] == report["calls"]
        # ... and what was read but not answered is reported as aborted (the input is read
        # lazily: what the job never read is not in the result).
        assert set(report["failed"]) == {"aborted"}
        assert report["ok"] + report["failed"]["aborted"] <= 150
    assert sum(r["calls"] for r in reports) == answered_before_stop
    assert answered_before_stop < 2 * 150  # it stopped
    assert refusals(ledger) == []


async def test_three_processes_keep_sharing_the_account_when_redis_restarts_empty(
    redis_server: RedisServer, ledger: Ledger
) -> None:
    """docs/scaling.md: if Redis restarts empty (here: FLUSHALL, what a restart without
    persistence leaves), the schedule starts again with each process booking after its own last
    slot; with several processes the worst is one 40202 pause, not billed. Every target is
    still answered, and bought exactly once. The same rate as ACCOUNT on a tenth of its window,
    so that the window is full when Redis empties (a burst then would be refused)."""
    rate_limit, rate_period, per_process = 20, 0.6, 40
    account = EmulatorConfig(
        rate_limit=rate_limit, rate_period=rate_period, max_concurrency=MAX_CONCURRENCY, latency_ms=300
    )
    rate = ("--rate", f"{rate_limit}/{rate_period}", "--retries", "3")
    async with serve(account, ledger=ledger) as url:
        workers = [await start_worker(url, redis_server.url, per_process, f"e{i}", *rate) for i in range(3)]
        with killed_at_exit(workers):
            await calls_reach(ledger, 60)  # the window full for a second, each process holding slots
            with redis_server.client() as admin:
                admin.flushall()
            reports = [(await lines_of(worker))[-1] for worker in workers]

    assert [r["aborted"] for r in reports] == [None] * 3
    assert [r["right"] for r in reports] == [per_process] * 3
    bought = ledger.charged_counts()
    assert sorted(bought) == sorted(f"e{p}-{i}.com" for p in range(3) for i in range(per_process))
    assert set(bought.values()) == {1}  # a refused call is not billed, and nothing is bought twice
    # At worst one 40202 (then the shared pause). Without each process's floor, the schedule
    # restarted from Redis's "now" among the slots already handed out: more than one 40202 in
    # each of five runs.
    assert len(refusals(ledger)) <= 1, refusals(ledger)
