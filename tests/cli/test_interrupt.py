"""Ctrl-C and SIGTERM at exact moments of a job, as a user sends them (docs/cli.md, "Resume").

The command runs in its own process (``interrupting.py``) and signals itself at a chosen point:
in the middle of a checkpoint's commit, or while it writes rows; one signal, or a second one
right behind it (an impatient Ctrl-C, a SIGTERM then a Ctrl-C), or SIGTERM when SIGINT was
ignored from the start. Whatever the moment, the run must end as documented: status 2, the
line ``interrupted; finished chunks are kept`` once and no traceback, the output untouched and
its answered rows in the partial file, and every chunk committed (the one being committed at
the signal included) kept in the checkpoint, as ``--dry-run`` reads it.

``tests/cli/test_resume.py`` sends the signals from outside, at a moment found by watching the
output, and reruns the job to its end.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dataforseo_bulk.emulator import expected_backlinks
from dataforseo_bulk.targets import normalize_target

from .conftest import Emulator, Emulators, cli_env, csv_rows, ctrl_c_able, dry_run, start_cli

pytestmark = pytest.mark.loopback

HARNESS = Path(__file__).with_name("interrupting.py")
CHUNK, CHUNKS = 50, 40
INTERRUPTED = "dataforseo-bulk: interrupted; finished chunks are kept"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    emulators = Emulators(lambda: tmp_path_factory.mktemp("emulator"))
    try:
        yield emulators.start("--latency-ms", "20")
    finally:
        emulators.stop_all()


def interrupted_run(
    tmp_path: Path, url: str, *, at: str, after: int, signals: str, ignore_sigint: bool = False
) -> tuple[subprocess.CompletedProcess[str], list[str], Path, Path]:
    targets = [f"site{i}.example.org" for i in range(CHUNK * CHUNKS)]
    source, output, checkpoint = tmp_path / "in.txt", tmp_path / "out.csv", tmp_path / "job.sqlite"
    source.write_text("\n".join(targets) + "\n", encoding="utf-8")
    output.write_text("an older output\n", encoding="utf-8")
    env = cli_env() | {"STOP_AT": at, "STOP_AFTER": str(after), "STOP_SIGNALS": signals}
    if ignore_sigint:
        env["IGNORE_SIGINT"] = "1"
    args = [str(source), "-o", str(output), "--checkpoint", str(checkpoint), "--base-url", url]
    knobs = ["--concurrency", "4", "--chunk-size", str(CHUNK), "--rate", "100000/60", "--quiet"]
    done = subprocess.run(
        ctrl_c_able([sys.executable, str(HARNESS), "backlinks", *args, *knobs]),
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=60,
        check=False,
    )
    return done, targets, output, checkpoint


@pytest.mark.parametrize(
    ("at", "after", "signals", "ignore_sigint"),
    [
        pytest.param("commit", 4, "INT", False, id="ctrl-c-during-a-commit"),
        pytest.param("commit", 4, "INT,INT", False, id="ctrl-c-twice-during-a-commit"),
        pytest.param("commit", 5, "TERM", True, id="sigterm-during-a-commit-with-sigint-ignored"),
        pytest.param("write", 4, "TERM,INT", False, id="sigterm-then-ctrl-c-while-writing-rows"),
    ],
)
def test_a_stop_at_any_moment_keeps_every_commit_and_ends_in_one_line(
    at: str, after: int, signals: str, ignore_sigint: bool, emulator: Emulator, tmp_path: Path
) -> None:
    done, targets, output, checkpoint = interrupted_run(
        tmp_path, emulator.url, at=at, after=after, signals=signals, ignore_sigint=ignore_sigint
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "never retrieved" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert lines.count(INTERRUPTED) == 1 and lines[-1] == INTERRUPTED, done.stderr
    assert output.read_text(encoding="utf-8") == "an older output\n"
    partial = tmp_path / "out.partial.csv"
    assert f"kept in {str(partial)!r}" in done.stderr
    rows = csv_rows(partial.read_text(encoding="utf-8"))
    answered = [r for r in rows if not r["error_kind"]]
    assert all(int(r["backlinks"]) == expected_backlinks(normalize_target(r["target"])) for r in answered)
    assert {r["target"] for r in rows} <= set(targets)
    # The checkpoint, as the rerun will read it: the chunk being committed when the signal came
    # (the ``after``-th) and every one before it are kept, with every row the run wrote; the job
    # stopped before its end.
    state = dry_run("backlinks", str(tmp_path / "in.txt"), "--checkpoint", str(checkpoint))
    assert state.resumed >= after * CHUNK
    assert len(answered) <= state.resumed < len(targets)


def test_ctrl_c_is_ignored_when_the_command_was_started_ignoring_it(
    emulator: Emulator, tmp_path: Path
) -> None:
    """As Python and POSIX shells keep it: SIGINT ignored from the start (a job started with
    ``&`` by a script) does not stop the job; it runs to its end."""
    done, targets, output, _ = interrupted_run(
        tmp_path, emulator.url, at="commit", after=3, signals="INT", ignore_sigint=True
    )
    assert done.returncode == 0, done.stderr
    assert INTERRUPTED not in done.stderr
    rows = csv_rows(output.read_text(encoding="utf-8"))
    assert sorted(r["target"] for r in rows) == sorted(targets)


def wait_for_the_demos_calls(process: subprocess.Popen[bytes], stderr: Path) -> float:
    """Return (a deadline a minute ahead) once the demo's job has calls in flight."""
    deadline = time.monotonic() + 60
    while "progress:" not in stderr.read_text(encoding="utf-8", errors="replace"):
        assert process.poll() is None and time.monotonic() < deadline, stderr.read_text()
        time.sleep(0.05)
    time.sleep(0.5)  # the demo paces its 100 calls over ~3 s: some are in flight now
    return deadline


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_the_demo_stopped_mid_job_ends_in_its_lines_without_a_traceback(tmp_path: Path, sig: int) -> None:
    # The demo serves its emulator in the same process: stopping the job must not cut the
    # emulator's requests in flight (each once logged a CancelledError traceback).
    stderr = tmp_path / "stderr.txt"
    output = tmp_path / "demo.csv"
    process = start_cli("demo", "-o", str(output), stderr=stderr)
    try:
        wait_for_the_demos_calls(process, stderr)
        process.send_signal(sig)
        assert process.wait(timeout=60) == 2
    finally:
        process.kill()
        process.wait()
    said = stderr.read_text(encoding="utf-8")
    assert "Traceback" not in said and "Error" not in said, said
    assert said.rstrip("\n").splitlines()[-1] == INTERRUPTED
    assert not output.exists()
    assert output.with_name("demo.partial.csv").is_file()


def test_ctrl_c_pressed_again_and_again_still_ends_with_status_2(tmp_path: Path) -> None:
    # An impatient user: Ctrl-C every 10 ms until the command has exited. Those that come after
    # the job has unwound (the line printed, the interpreter ending) once killed it by the
    # signal itself (status 130 in a shell) instead of the documented 2.
    stderr = tmp_path / "stderr.txt"
    process = start_cli("demo", "-o", str(tmp_path / "demo.csv"), stderr=stderr)
    try:
        deadline = wait_for_the_demos_calls(process, stderr)
        while process.poll() is None and time.monotonic() < deadline:
            process.send_signal(signal.SIGINT)
            time.sleep(0.01)
        assert process.wait(timeout=60) == 2
    finally:
        process.kill()
        process.wait()
    said = stderr.read_text(encoding="utf-8")
    assert "Traceback" not in said, said
    assert said.rstrip("\n").splitlines()[-1] == INTERRUPTED
