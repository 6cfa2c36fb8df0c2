"""A job killed (SIGKILL) or interrupted (SIGINT, SIGTERM) and rerun with its checkpoint.

Each run is the real command in its own process (the emulator serves from the test's), so a
SIGKILL really loses the process with whatever it had in memory and in flight. The rerun must
end as an uninterrupted run does, and the emulator's ledger must show that nothing was paid for
twice except the calls that were in flight at the kill. What the checkpoint holds is read the
way a user reads it: through ``--dry-run`` (never from its tables).
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
    DryRun,
    Emulator,
    Emulators,
    csv_rows,
    dry_run,
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
    for i, target in enumerate(job_targets()):
        lines.append(target)
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


def wait_for_rows(process: subprocess.Popen[bytes], output: Path, at_least: int) -> None:
    """Until the running job has written ``at_least`` rows to its temporary output (beside
    ``output``): a chunk's rows are written after its answers are committed to the checkpoint."""
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, f"the job ended (exit {process.returncode}) before the signal"
        assert time.monotonic() < deadline, "the job made no progress"
        temporary = list(output.parent.glob(f".{output.name}.*.tmp"))
        if temporary and temporary[0].read_bytes().count(b"\n") > at_least:  # + the header
            return
        time.sleep(0.01)


def resumed_count(stderr: str) -> int:
    match = re.search(r"([\d,]+) targets answered from the checkpoint", stderr)
    assert match, stderr
    return int(match.group(1).replace(",", ""))


def checkpoint_state(reference: Reference, checkpoint: Path) -> DryRun:
    state = dry_run(
        "backlinks", str(reference.input_path), "--checkpoint", str(checkpoint), "--chunk-size", "100"
    )
    assert state.resumed + state.to_send == TARGETS
    return state


def assert_paid_once_except_in_flight(emulator: Emulator, first_run_last_seq: int, left: DryRun) -> None:
    """The rerun buys exactly what the checkpoint did not hold (so nothing committed is bought
    again); a target is bought twice only if the first run's call for it was in flight at the
    stop: at most CONCURRENCY calls of CHUNK_SIZE targets."""
    first: dict[str, int] = defaultdict(int)
    rerun: dict[str, int] = defaultdict(int)
    for seq, _tag, target in emulator.charges():
        (first if seq <= first_run_last_seq else rerun)[target] += 1
    assert set(first.values()) | set(rerun.values()) <= {1}, "a target bought twice within one run"
    assert len(rerun) == left.to_send
    assert set(first) | set(rerun) == {str(normalize_target(t)) for t in job_targets()}
    assert len(set(first) & set(rerun)) <= CONCURRENCY * CHUNK_SIZE


def job_targets() -> list[str]:
    return [
        f"https://site{i}.example.com/p/{i}" if i % 5 == 0 else f"site{i}.example.org" for i in range(TARGETS)
    ]


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
        wait_for_rows(first, output, kill_after_chunks * CHUNK_SIZE)
        os.kill(first.pid, signal.SIGKILL)
    finally:
        first.kill()  # no-op if it is gone; never leaves it running
        first.wait(timeout=10)
    assert first.returncode == -signal.SIGKILL
    assert not output.exists()  # a killed run never leaves a half-written out.csv
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.csv.")] != []  # its temporary file
    first_run_last_seq = emulator.settle()  # what was in flight at the kill has now been answered
    left = checkpoint_state(reference, checkpoint)
    assert kill_after_chunks * CHUNK_SIZE <= left.resumed < TARGETS, "killed too late: nothing to resume"

    rerun = run_cli(*args)
    assert rerun.returncode == reference.exit_code, rerun.stderr
    assert sorted_lines(output) == reference.rows
    assert resumed_count(rerun.stderr) == left.resumed
    assert_paid_once_except_in_flight(emulator, first_run_last_seq, left)
    assert checkpoint_state(reference, checkpoint).to_send == 0


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
    output.write_text("an older output\n", encoding="utf-8")
    args = job_args(reference.input_path, output, checkpoint, emulator.url)

    first = start_cli(*args, stderr=tmp_path / "first.err")
    try:
        wait_for_rows(first, output, 12 * CHUNK_SIZE)
        first.send_signal(stop)
        first.wait(timeout=20)
    finally:
        first.kill()
        first.wait(timeout=10)
    stderr = (tmp_path / "first.err").read_text(encoding="utf-8")
    assert first.returncode == 2, stderr
    assert "dataforseo-bulk: interrupted; finished chunks are kept" in stderr
    assert "Traceback" not in stderr, stderr
    # out.csv is as it was; the rows of the interrupted run are beside it, each one right.
    assert output.read_text(encoding="utf-8") == "an older output\n"
    partial = tmp_path / "out.partial.csv"
    assert f"kept in {str(partial)!r}" in stderr
    expected = {r["target"]: r for r in csv_rows("\n".join(reference.rows))}
    written = csv_rows(partial.read_text("utf-8"))
    answered = [r for r in written if r["error_kind"] not in ("aborted", "invalid")]
    assert answered, "the interrupted run kept no row"
    assert all(r == expected[r["target"]] for r in answered)
    first_run_last_seq = emulator.settle()
    left = checkpoint_state(reference, checkpoint)
    # Every row the run kept is in the checkpoint too: the rerun does not buy it again.
    assert 11 * CHUNK_SIZE <= len({str(normalize_target(r["target"])) for r in answered}) <= left.resumed
    assert left.resumed < TARGETS

    rerun = run_cli(*args)
    assert rerun.returncode == reference.exit_code, rerun.stderr
    assert sorted_lines(output) == reference.rows
    assert resumed_count(rerun.stderr) == left.resumed
    assert_paid_once_except_in_flight(emulator, first_run_last_seq, left)
