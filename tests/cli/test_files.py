"""A user's files under mistakes and odd input: the output, the input and the checkpoint.

Each case is the real command in its own process against the emulator on loopback. What is
checked is what a user would check: the files' bytes, the exit status, the one line on stderr,
and what the emulator billed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from dataforseo_bulk.emulator import expected_backlinks

from .conftest import (
    Emulator,
    cli_command,
    cli_env,
    csv_rows,
    dry_run,
    run_cli,
    start_cli,
    summary_counts,
)

pytestmark = pytest.mark.loopback

TARGETS = [f"site{i}.example.com" for i in range(3000)]
GOOD_ROWS = "target,backlinks,error_kind,error_code,error_reason\nkept.example.com,42,,,\n"


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def one_line_error(done: subprocess.CompletedProcess[str], *, code: int = 2) -> str:
    """The command failed with ``code`` and said why in one line, without a traceback."""
    assert done.returncode == code, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dataforseo-bulk: "), done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


def files_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# --- 1. output files are never destroyed ------------------------------------------------


@pytest.mark.parametrize("link", ["same", "hardlink", "symlink"])
def test_output_naming_the_input_is_refused_and_the_input_is_untouched(
    link: str, emulator: Emulator, tmp_path: Path
) -> None:
    source = write_lines(tmp_path / "same.csv", TARGETS)
    before = source.read_bytes()
    output = source
    if link == "hardlink":
        output = tmp_path / "out.csv"
        os.link(source, output)
    elif link == "symlink":
        output = tmp_path / "out.csv"
        output.symlink_to(source)

    done = run_cli("backlinks", str(source), "-o", str(output), "--base-url", emulator.url)

    assert "is the input" in one_line_error(done)
    assert source.read_bytes() == before


def test_output_naming_the_checkpoint_is_refused(emulator: Emulator, tmp_path: Path) -> None:
    source = write_lines(tmp_path / "t.txt", TARGETS[:10])
    checkpoint = tmp_path / "job.csv"
    made = run_cli(
        "backlinks", str(source), "-o", "-", "--checkpoint", str(checkpoint), "--base-url", emulator.url
    )
    assert made.returncode == 0, made.stderr
    before = checkpoint.read_bytes()

    done = run_cli(
        "backlinks",
        str(source),
        "-o",
        str(checkpoint),
        "--checkpoint",
        str(checkpoint),
        "--base-url",
        emulator.url,
    )

    assert "is the checkpoint" in one_line_error(done)
    assert checkpoint.read_bytes() == before


@pytest.fixture(scope="module")
def refused_runs(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """Runs that must leave an existing output byte-identical: refused, or nothing answered."""
    tmp_path, emulator_url = tmp_path_factory.mktemp("refused"), emulator.url
    source = write_lines(tmp_path / "t.txt", TARGETS)
    table = write_lines(tmp_path / "t.csv", ["domain", *TARGETS])
    other_job = tmp_path / "ranks.sqlite"
    made = run_cli(
        "ranks", str(source), "-o", "-", "--checkpoint", str(other_job), "--base-url", emulator_url
    )
    assert made.returncode == 0, made.stderr
    base = ["backlinks", str(source), "--base-url", emulator_url]
    return {
        "checkpoint-not-sqlite": [*base, "--checkpoint", shutil.which("ls") or "/bin/ls"],
        "checkpoint-of-another-job": [*base, "--checkpoint", str(other_job)],
        "checkpoint-in-missing-directory": [*base, "--checkpoint", "/nonexistent/dir/x.sqlite"],
        "checkpoint-is-a-directory": [*base, "--checkpoint", str(tmp_path)],
        "column-not-in-header": ["backlinks", str(table), "--column", "nope", "--base-url", emulator_url],
        "missing-input": ["backlinks", str(tmp_path / "missing.txt"), "--base-url", emulator_url],
        "input-is-a-directory": ["backlinks", str(tmp_path), "--base-url", emulator_url],
        "binary-input": ["backlinks", shutil.which("ls") or "/bin/ls", "--base-url", emulator_url],
        "unreadable-input": ["backlinks", "/proc/self/mem", "--base-url", emulator_url],
        "wrong-password": [*base, "--password", "wrong"],
        "wrong-base-url-path": [*base, "--base-url", emulator_url + "/v3"],
    }


CASES = [
    "checkpoint-not-sqlite",
    "checkpoint-of-another-job",
    "checkpoint-in-missing-directory",
    "checkpoint-is-a-directory",
    "column-not-in-header",
    "missing-input",
    "input-is-a-directory",
    "binary-input",
    "unreadable-input",
    "wrong-password",
    "wrong-base-url-path",
]


@pytest.mark.parametrize("case", CASES)
def test_a_refused_or_unanswered_run_leaves_the_output_byte_identical(
    case: str, refused_runs: dict[str, list[str]], tmp_path: Path
) -> None:
    args = refused_runs[case]
    output = tmp_path / "out.csv"
    output.write_text(GOOD_ROWS, encoding="utf-8")
    before = files_in(tmp_path)

    done = run_cli(*args, "-o", str(output), "--quiet")

    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("dataforseo-bulk: ")
    assert output.read_text(encoding="utf-8") == GOOD_ROWS
    assert files_in(tmp_path) == before  # no partial file, no temporary file left


def test_a_finished_run_replaces_the_output_and_keeps_its_mode(emulator: Emulator, tmp_path: Path) -> None:
    source = write_lines(tmp_path / "t.txt", TARGETS[:5])
    output = tmp_path / "out.csv"
    output.write_text(GOOD_ROWS, encoding="utf-8")
    output.chmod(0o640)

    done = run_cli("backlinks", str(source), "-o", str(output), "--base-url", emulator.url, "--quiet")

    assert done.returncode == 0, done.stderr
    rows = csv_rows(output.read_text(encoding="utf-8"))
    assert {r["target"]: int(r["backlinks"]) for r in rows} == {t: expected_backlinks(t) for t in TARGETS[:5]}
    assert output.stat().st_mode & 0o777 == 0o640
    assert files_in(tmp_path) == ["out.csv", "t.txt"]


# --- 2. any input is read exactly once --------------------------------------------------


def test_process_substitution_is_read_once(emulator: Emulator, tmp_path: Path) -> None:
    source = write_lines(tmp_path / "t.txt", ["# a comment", *TARGETS])
    output = tmp_path / "out.csv"
    command = " ".join(f"'{part}'" for part in cli_command())
    script = f"{command} backlinks <(grep -v '^#' '{source}') -o '{output}' --base-url {emulator.url}"

    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=cli_env(), timeout=60)

    assert done.returncode == 0, done.stderr
    assert len(csv_rows(output.read_text(encoding="utf-8"))) == len(TARGETS)
    assert summary_counts(done.stderr)["targets"] == len(TARGETS)


def test_a_named_fifo_is_read_once(emulator: Emulator, tmp_path: Path) -> None:
    fifo = tmp_path / "targets.fifo"
    os.mkfifo(fifo)
    output = tmp_path / "out.csv"

    def feed() -> None:
        with fifo.open("w", encoding="utf-8") as sink:  # blocks until the command opens it
            sink.write("\n".join(TARGETS) + "\n")

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    done = run_cli("backlinks", str(fifo), "-o", str(output), "--base-url", emulator.url)
    writer.join(timeout=10)

    assert done.returncode == 0, done.stderr
    assert len(csv_rows(output.read_text(encoding="utf-8"))) == len(TARGETS)


@pytest.mark.parametrize("source", ["file", "stdin"])
def test_an_undecodable_line_is_an_invalid_row_and_the_job_goes_on(
    source: str, start_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    emulator = start_emulator()
    data = (
        ("\n".join(TARGETS[:2000]) + "\n").encode()
        + b"caf\xe9.example.com\n"
        + ("\n".join(TARGETS[2000:]) + "\n").encode()
    )
    path = tmp_path / "t.txt"
    path.write_bytes(data)
    output = tmp_path / "out.csv"
    args = [
        "backlinks",
        str(path) if source == "file" else "-",
        "-o",
        str(output),
        "--base-url",
        emulator.url,
    ]

    done = subprocess.run(
        [*cli_command(), *args], input=data, capture_output=True, env=cli_env(), timeout=60, check=False
    )

    stderr = done.stderr.decode()
    assert done.returncode == 1, stderr
    assert "Traceback" not in stderr
    rows = csv_rows(output.read_text(encoding="utf-8"))
    assert len(rows) == len(TARGETS) + 1
    bad = [r for r in rows if r["error_kind"]]
    assert bad == [
        {
            "target": "caf\\xe9.example.com",
            "backlinks": "",
            "error_kind": "invalid",
            "error_code": "",
            "error_reason": "not valid UTF-8 (line 2001)",
        }
    ]
    assert len(emulator.charged_counts()) == len(TARGETS)  # every valid line sent, each once
    counts = summary_counts(stderr)
    assert (counts["targets"], counts["invalid"], counts["failed"]) == (len(TARGETS) + 1, 1, 1)


# --- 3. configuration errors stop the job and never poison a checkpoint ------------------


def test_a_wrong_base_url_path_is_fatal_and_a_rerun_with_the_right_one_does_the_job(
    start_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    emulator = start_emulator()
    source = write_lines(tmp_path / "t.txt", TARGETS)
    output, checkpoint = tmp_path / "out.csv", tmp_path / "job.sqlite"
    args = ["backlinks", str(source), "-o", str(output), "--checkpoint", str(checkpoint), "--quiet"]

    wrong = run_cli(*args, "--base-url", emulator.url + "/v3")

    assert wrong.returncode == 2, wrong.stderr
    last = wrong.stderr.strip().splitlines()[-1]
    assert re.fullmatch(r"dataforseo-bulk: aborted: .*40402.*check --base-url", last), last
    assert f"{emulator.url}/v3/v3/backlinks/bulk_backlinks/live" in last
    assert "Traceback" not in wrong.stderr
    assert not output.exists()
    assert dry_run("backlinks", str(source), "--checkpoint", str(checkpoint)).to_send == len(TARGETS)

    right = run_cli(*args[:-1], "--base-url", emulator.url)

    assert right.returncode == 0, right.stderr
    assert summary_counts(right.stderr) == {
        "targets": len(TARGETS),
        "ok": len(TARGETS),
        "failed": 0,
        "invalid": 0,
        "duplicate": 0,
    }
    assert len(emulator.charged_counts()) == len(TARGETS)


# --- 4. one run per checkpoint -----------------------------------------------------------


def test_a_second_run_on_a_checkpoint_in_use_is_refused_at_once(
    start_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    emulator = start_emulator("--latency-ms", "200")
    source = write_lines(tmp_path / "t.txt", TARGETS)
    checkpoint = tmp_path / "job.sqlite"
    args = ["backlinks", str(source), "--checkpoint", str(checkpoint), "--base-url", emulator.url]
    slow = ["--chunk-size", "10", "--concurrency", "1"]

    first = start_cli(*args, *slow, "-o", str(tmp_path / "first.csv"), stderr=tmp_path / "first.err")
    try:
        deadline = time.monotonic() + 30
        while not emulator.calls():
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        second = run_cli(*args, "-o", str(tmp_path / "second.csv"), timeout=20)
        peek = run_cli(
            "backlinks", str(source), "--checkpoint", str(checkpoint), "--dry-run", credentials=False
        )
        assert first.poll() is None, "the first run ended before the second was tried"
    finally:
        first.kill()  # like a crash: the lock must not outlive the process
        first.wait(timeout=10)

    assert "is in use by another run" in one_line_error(second)
    assert "is in use by another run" in one_line_error(peek)
    # Every call came from the first run (one job id in every tag): the second sent none.
    assert len({str(call.tag).rsplit("-", 1)[0] for call in emulator.calls()}) == 1
    assert not (tmp_path / "second.csv").exists()
    emulator.settle()
    left = dry_run("backlinks", str(source), "--checkpoint", str(checkpoint), "--chunk-size", "10")
    assert left.resumed > 0 and left.to_send > 0

    after_crash = run_cli(*args, "-o", str(tmp_path / "third.csv"))
    assert after_crash.returncode == 0, after_crash.stderr
    assert len(csv_rows((tmp_path / "third.csv").read_text("utf-8"))) == len(TARGETS)


# --- 5. the same numbers with or without a checkpoint, and in --dry-run -------------------


def counting_lines() -> list[str]:
    """Repeats and other spellings far apart (beyond a chunk), invalid targets, comments."""
    lines = ["# counting", ""]
    for i in range(2500):
        lines.append(f"site{i}.example.com")
        if i % 7 == 0:
            lines.append(f"SITE{i // 3}.example.com")  # another spelling, often of a target long answered
        if i % 5 == 0:
            lines.append(f"site{i // 2}.example.com")  # an exact repeat, often long after its answer
        if i % 300 == 1:
            lines += ["not a target", "x..y.com"]
    return lines


def test_the_same_counts_without_a_checkpoint_with_a_new_one_and_in_a_dry_run(
    emulator: Emulator, tmp_path: Path
) -> None:
    source = write_lines(tmp_path / "t.txt", counting_lines())
    with source.open("ab") as more:
        more.write(b"caf\xe9.example.com\n\xff\ncaf\xe9.example.com\n")  # two undecodable lines, one repeated
    base = ["backlinks", str(source), "--base-url", emulator.url, "--chunk-size", "100", "-o"]

    plain = run_cli(*base, str(tmp_path / "plain.csv"))
    first = run_cli(*base, str(tmp_path / "first.csv"), "--checkpoint", str(tmp_path / "job.sqlite"))
    again = run_cli(*base, str(tmp_path / "again.csv"), "--checkpoint", str(tmp_path / "job.sqlite"))
    planned = dry_run("backlinks", str(source), "--chunk-size", "100")

    assert plain.returncode == first.returncode == again.returncode == 1
    expected = summary_counts(plain.stderr)
    assert summary_counts(first.stderr) == expected
    assert summary_counts(again.stderr) == expected
    assert "0 targets answered from the checkpoint" in first.stderr
    assert (planned.distinct, planned.duplicate, planned.invalid, planned.ok, planned.failed) == (
        expected["targets"],
        expected["duplicate"],
        expected["invalid"],
        expected["ok"],
        expected["failed"],
    )
    rows = {tuple(sorted(r.items())) for r in csv_rows((tmp_path / "plain.csv").read_text("utf-8"))}
    assert {tuple(sorted(r.items())) for r in csv_rows((tmp_path / "first.csv").read_text("utf-8"))} == rows
    assert {tuple(sorted(r.items())) for r in csv_rows((tmp_path / "again.csv").read_text("utf-8"))} == rows


# --- 6. --dry-run tells the truth about the rerun -----------------------------------------


def test_a_dry_run_with_a_checkpoint_says_what_the_rerun_will_send_and_cost(
    start_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    emulator = start_emulator()
    source = write_lines(tmp_path / "t.txt", TARGETS)
    checkpoint = tmp_path / "job.sqlite"
    args = ["backlinks", str(source), "--checkpoint", str(checkpoint), "--chunk-size", "100"]
    stopped = run_cli(*args, "-o", str(tmp_path / "out.csv"), "--base-url", emulator.url, "--max-cost", "0.5")
    assert stopped.returncode == 2, stopped.stderr
    paid = len(emulator.charged_counts())
    assert 0 < paid < len(TARGETS)

    planned = run_cli(*args, "-o", str(tmp_path / "out.csv"), "--dry-run", credentials=False)
    left = dry_run(*args)

    assert planned.returncode == 0, planned.stderr
    assert (left.resumed, left.to_send) == (paid, len(TARGETS) - paid)
    calls = -(-left.to_send // 100)
    assert f"calls     {calls:,} of at most 100 targets" in planned.stdout
    assert f"${calls * 0.02 + left.to_send * 0.00003:.4f} estimated" in planned.stdout
    calls_before = len(emulator.calls())
    rerun = run_cli(*args, "-o", str(tmp_path / "out.csv"), "--base-url", emulator.url)
    assert rerun.returncode == 0, rerun.stderr
    assert len(emulator.calls()) - calls_before == calls
    assert len(emulator.charged_counts()) == len(TARGETS)


def test_a_dry_run_checks_what_the_real_run_checks(emulator: Emulator, tmp_path: Path) -> None:
    source = write_lines(tmp_path / "t.txt", TARGETS[:10])
    ranks = tmp_path / "ranks.sqlite"
    assert (
        run_cli(
            "ranks", str(source), "-o", "-", "--checkpoint", str(ranks), "--base-url", emulator.url
        ).returncode
        == 0
    )
    base = ["backlinks", str(source), "--dry-run"]
    cases = {
        "-o 'x' is the input": [*base, "-o", str(source)],
        "cannot write output": [*base, "-o", str(tmp_path / "missing" / "o.csv")],
        "its suffix '.txt' is not a known output format": [*base, "-o", str(tmp_path / "o.txt")],
        "belongs to another job": [*base, "--checkpoint", str(ranks)],
        "not a usable SQLite file": [*base, "--checkpoint", str(source.with_name("t.csv"))],
        "does not exist": [*base, "--checkpoint", str(tmp_path / "missing" / "x.sqlite")],
    }
    (tmp_path / "t.csv").write_text("not sqlite\n", encoding="utf-8")
    for expected, args in cases.items():
        line = one_line_error(run_cli(*args, credentials=False))
        assert expected.replace("'x'", repr(str(source))) in line, line
    fine = run_cli(
        *base, "--checkpoint", str(tmp_path / "new.sqlite"), "-o", str(tmp_path / "o.csv"), credentials=False
    )
    assert fine.returncode == 0, fine.stderr
    assert files_in(tmp_path) == ["ranks.sqlite", "t.csv", "t.txt"]  # it made nothing


# --- 7. every exit is a message; an empty input writes the header -----------------------


@pytest.mark.skipif(os.geteuid() == 0, reason="root may read and write any file")
def test_permission_denied_is_one_line(emulator: Emulator, tmp_path: Path) -> None:
    source = write_lines(tmp_path / "t.txt", TARGETS[:10])
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    unreadable = write_lines(tmp_path / "secret.txt", TARGETS[:10])
    unreadable.chmod(0)
    base = ["backlinks", str(source), "--base-url", emulator.url]
    assert "Permission denied" in one_line_error(run_cli(*base, "-o", str(locked / "o.csv")))
    assert (
        "permission denied"
        in one_line_error(run_cli(*base, "--checkpoint", str(locked / "x.sqlite"))).lower()
    )
    assert "Permission denied" in one_line_error(
        run_cli("backlinks", str(unreadable), "--base-url", emulator.url)
    )


def test_a_place_nobody_may_write_is_one_line(emulator: Emulator, tmp_path: Path) -> None:
    """Root too: /proc takes no new files."""
    source = write_lines(tmp_path / "t.txt", TARGETS[:10])
    base = ["backlinks", str(source), "--base-url", emulator.url]
    assert "cannot write output '/proc/o.csv'" in one_line_error(run_cli(*base, "-o", "/proc/o.csv"))
    assert "checkpoint '/proc/x.sqlite'" in one_line_error(run_cli(*base, "--checkpoint", "/proc/x.sqlite"))


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_an_empty_input_writes_the_header_and_says_no_targets(
    fmt: str, emulator: Emulator, tmp_path: Path
) -> None:
    source = tmp_path / "empty.txt"
    source.write_text("# nothing here\n\n", encoding="utf-8")
    output = tmp_path / f"out.{fmt}"
    calls = len(emulator.calls())

    done = run_cli("backlinks", str(source), "-o", str(output), "--base-url", emulator.url, "--quiet")

    assert done.returncode == 0, done.stderr
    assert done.stderr == "dataforseo-bulk: no targets in the input\n"
    expected = "target,backlinks,error_kind,error_code,error_reason\n" if fmt == "csv" else ""
    assert output.read_text(encoding="utf-8") == expected
    assert len(emulator.calls()) == calls
