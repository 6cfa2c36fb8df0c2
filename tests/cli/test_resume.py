"""A job killed (SIGKILL) or interrupted (SIGINT, SIGTERM) and rerun with its checkpoint.

Each run is the real command in its own process against the emulator in another, so a
SIGKILL really loses the process with whatever it had in memory and in flight. The rerun must
end as an uninterrupted run does, and the emulator's ledger must show that nothing was paid for
twice except the calls that were in flight at the kill.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from dataforseo_bulk.targets import normalize_target

from .conftest import (
    Emulator,
    Emulators,
    committed_chunks,
    csv_rows,
    finished_targets,
    run_cli,
    sorted_lines,
    start_cli,
)

pytestmark = pytest.mark.loopback

CONCURRENCY = 5
CHUNK_SIZE = 100
TARGETS = 6_000
LATENCY_MS = "50"


def job_lines() -> list[str]:
    """6,000 distinct targets (60 chunks of 100), with repeats, other spellings and invalid ones."""
    lines = ["# a job to kill", ""]
    for i in range(TARGETS):
        lines.append(f"https://site{i}.example.com/p/{i}" if i % 5 == 0 else f"site{i}.example.org")
        if i % 250 == 7:
            lines += [f"SITE{i}.Example.ORG", f"site{i}.example.org", "not a target", ""]
    return lines


def job_args(input_path: Path, output: Path, checkpoint: Path, url: str) -> list[str]:
    return [
        "backlinks",
        str(input_path),
        "-o",
        str(output),
        "--checkpoint",
        str(checkpoint),
        "--base-url",
        url,
        "--concurrency",
        str(CONCURRENCY),
        "--rate",
        "100000/60",
        "--chunk-size",
        str(CHUNK_SIZE),
    ]


@dataclass(frozen=True)
class Reference:
    input_path: Path
    exit_code: int
    rows: list[str]  # header, then the rows sorted
    calls: int


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """The same job run once without interruption, against a fresh emulator."""
    directory = tmp_path_factory.mktemp("reference")
    input_path = directory / "targets.txt"
    input_path.write_text("\n".join(job_lines()) + "\n", encoding="utf-8")
    emulators = Emulators(lambda: tmp_path_factory.mktemp("emulator"))
    try:
        emulator = emulators.start("--latency-ms", LATENCY_MS)
        output = directory / "out.csv"
        done = run_cli(*job_args(input_path, output, directory / "cp.sqlite", emulator.url), "--quiet")
        calls = emulator.calls()
    finally:
        emulators.stop_all()
    assert done.returncode == 1, done.stderr  # the input has invalid targets
    assert len(calls) == TARGETS // CHUNK_SIZE and all(c.envelope_code == 20000 for c in calls)
    return Reference(input_path, done.returncode, sorted_lines(output), len(calls))


def wait_for_chunks(process: subprocess.Popen[bytes], checkpoint: Path, at_least: int) -> None:
    deadline = time.monotonic() + 60
    while len(committed_chunks(checkpoint)) < at_least:
        assert process.poll() is None, f"the job ended (exit {process.returncode}) before the signal"
        assert time.monotonic() < deadline, "the job made no progress"
        time.sleep(0.01)
    assert process.poll() is None, "the job ended before the signal"


def resumed_count(stderr: str) -> int:
    match = re.search(r"([\d,]+) targets answered from the checkpoint", stderr)
    assert match, stderr
    return int(match.group(1).replace(",", ""))


def assert_paid_once_except_in_flight(
    emulator: Emulator, first_run_last_seq: int, committed_tags: set[str]
) -> None:
    """Every target is charged once, except targets of first-run calls whose answer was never
    committed (in flight at the stop): those are charged exactly twice. At most CONCURRENCY such
    calls exist."""
    by_target: dict[str, list[tuple[int, str | None]]] = defaultdict(list)
    for seq, tag, target in emulator.charges():
        by_target[target].append((seq, tag))
    lost_calls = {
        (seq, tag)
        for charges in by_target.values()
        for seq, tag in charges
        if seq <= first_run_last_seq and tag not in committed_tags
    }
    assert len(lost_calls) <= CONCURRENCY, lost_calls
    for target, charges in by_target.items():
        if len(charges) == 1:
            continue
        first, second = sorted(charges)
        assert len(charges) == 2, (target, charges)
        assert first in lost_calls, (target, charges, "a committed answer was paid for again")
        assert second[0] > first_run_last_seq, (target, charges, "paid twice within one run")


@pytest.mark.parametrize("kill_after_chunks", [1, 20, 40])
def test_kill_9_then_resume_pays_only_for_the_calls_in_flight(
    kill_after_chunks: int,
    reference: Reference,
    start_emulator: Callable[..., Emulator],
    tmp_path: Path,
) -> None:
    emulator = start_emulator("--latency-ms", LATENCY_MS)
    output, checkpoint = tmp_path / "out.csv", tmp_path / "job.sqlite"
    args = job_args(reference.input_path, output, checkpoint, emulator.url)

    first = start_cli(*args, "--quiet", stderr=tmp_path / "first.err")
    try:
        wait_for_chunks(first, checkpoint, kill_after_chunks)
        os.kill(first.pid, signal.SIGKILL)
    finally:
        first.kill()  # no-op if it is gone; never leaves it running
        first.wait(timeout=10)
    assert first.returncode == -signal.SIGKILL
    committed = committed_chunks(checkpoint)
    assert kill_after_chunks <= len(committed) < reference.calls, "killed too late: nothing to resume"
    finished_at_kill = len(finished_targets(checkpoint))
    first_run_last_seq = emulator.settle()  # what was in flight at the kill has now been answered

    rerun = run_cli(*args)
    assert rerun.returncode == reference.exit_code, rerun.stderr
    assert sorted_lines(output) == reference.rows
    assert_paid_once_except_in_flight(emulator, first_run_last_seq, set(committed_chunks(checkpoint)))
    assert resumed_count(rerun.stderr) == finished_at_kill
    # And the two runs together paid for every distinct target.
    assert len(emulator.charged_counts()) == len(finished_targets(checkpoint)) == TARGETS


# Known bug, reported: cli._terminate_as_interrupt raises KeyboardInterrupt from the SIGTERM
# handler inside whichever task is running, so about one run in three ends with an exception
# group (tracebacks, sometimes exit 1). Remove the mark once SIGTERM goes through asyncio's own
# SIGINT handling (cancel the main task) as Ctrl-C does.
@pytest.mark.parametrize(
    "stop",
    [pytest.param(signal.SIGINT, id="SIGINT"), pytest.param(signal.SIGTERM, id="SIGTERM")],
)
def test_interrupt_keeps_what_finished_and_a_rerun_completes(
    stop: signal.Signals,
    reference: Reference,
    start_emulator: Callable[..., Emulator],
    tmp_path: Path,
) -> None:
    emulator = start_emulator("--latency-ms", LATENCY_MS)
    output, checkpoint = tmp_path / "out.csv", tmp_path / "job.sqlite"
    args = job_args(reference.input_path, output, checkpoint, emulator.url)

    first = start_cli(*args, stderr=tmp_path / "first.err")
    try:
        wait_for_chunks(first, checkpoint, 12)
        first.send_signal(stop)
        first.wait(timeout=20)
    finally:
        first.kill()
        first.wait(timeout=10)
    stderr = (tmp_path / "first.err").read_text(encoding="utf-8")
    assert first.returncode == 2, stderr
    assert "dataforseo-bulk: interrupted; finished chunks are kept" in stderr
    # What finished is in the checkpoint, and every value the first run wrote is one of those.
    finished = finished_targets(checkpoint)
    assert 12 * CHUNK_SIZE <= len(finished) < TARGETS
    written = {
        r["target"]: int(r["backlinks"]) for r in csv_rows(output.read_text("utf-8")) if r["backlinks"]
    }
    assert written, "the interrupted run wrote no rows"
    assert all(finished[str(normalize_target(target))] == value for target, value in written.items())
    first_run_last_seq = emulator.settle()

    rerun = run_cli(*args)
    assert rerun.returncode == reference.exit_code, rerun.stderr
    assert sorted_lines(output) == reference.rows
    assert_paid_once_except_in_flight(emulator, first_run_last_seq, set(committed_chunks(checkpoint)))
    assert resumed_count(rerun.stderr) == len(finished)
    assert "Traceback" not in stderr, stderr
