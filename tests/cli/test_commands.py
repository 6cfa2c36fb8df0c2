"""The command's other paths: a fatal answer or the budget mid-job, dry run, usage errors,
progress on a pipe, and the demo."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from dataforseo_bulk.budget import estimate_cost
from dataforseo_bulk.cli import demo_targets, parse_rate
from dataforseo_bulk.emulator import expected_backlinks

from .conftest import Emulator, csv_rows, run_cli, run_cli_process

pytestmark = pytest.mark.loopback

FUNDS = "Insufficient funds. Your account's balance is too low to complete this request."


def write_targets(path: Path, targets: list[str]) -> Path:
    path.write_text("\n".join(targets) + "\n", encoding="utf-8")
    return path


def assert_prefix_answered(rows: list[dict[str, str]], targets: list[str]) -> None:
    """The rows cover exactly the first len(rows) targets: what the job read before it stopped."""
    assert len({row["target"] for row in rows}) == len(rows)
    assert {row["target"] for row in rows} == set(targets[: len(rows)])


def test_a_fatal_answer_mid_job_stops_it_and_keeps_what_was_paid_for(
    start_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    # $0.15 pays for three calls of 1000 targets ($0.05 each); the fourth is answered 40210.
    emulator = start_emulator("--balance", "0.15", "--latency-ms", "20")
    targets = [f"site{i}.example.com" for i in range(10_000)]
    source, output = write_targets(tmp_path / "t.txt", targets), tmp_path / "out.csv"

    done = run_cli(
        "backlinks", str(source), "-o", str(output), "--base-url", emulator.url, "--concurrency", "1",
        "--no-balance-check",  # the API's own 40210 (the balance check would not start the job)
    )  # fmt: skip

    assert done.returncode == 2, done.stderr
    assert "40210" in done.stderr and FUNDS in done.stderr
    assert re.search(r"^aborted: .*40210", done.stderr, re.MULTILINE), done.stderr
    calls = emulator.calls()
    assert [c.envelope_code for c in calls] == [20000, 20000, 20000, 40210]
    # An unfinished job does not become out.csv: its rows are in out.partial.csv, and it says so.
    assert not output.exists()
    partial = tmp_path / "out.partial.csv"
    assert f"3,000 answered rows kept in {str(partial)!r}" in done.stderr
    rows = csv_rows(partial.read_text(encoding="utf-8"))
    answered = {row["target"]: int(row["backlinks"]) for row in rows if row["backlinks"]}
    # Exactly what the emulator charged is in the output, with the right values ...
    assert answered == {t: expected_backlinks(t) for t in emulator.charged_counts()}
    assert len(answered) == 3000
    # ... and every other target the job read is there as aborted, naming the fatal answer.
    aborted = [row for row in rows if not row["backlinks"]]
    assert {row["error_kind"] for row in aborted} == {"aborted"}
    assert all("40210" in row["error_reason"] for row in aborted)
    assert len(aborted) >= 1000  # at least the refused chunk
    assert_prefix_answered(rows, targets)


def test_max_cost_stops_before_a_call_that_could_pass_it(
    start_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    emulator = start_emulator("--latency-ms", "20")
    targets = [f"site{i}.example.com" for i in range(10_000)]
    source, output = write_targets(tmp_path / "t.txt", targets), tmp_path / "out.csv"

    # Each call of 1000 targets may cost $0.05: two fit under $0.12, a third could not.
    done = run_cli(
        "backlinks", str(source), "-o", str(output), "--base-url", emulator.url, "--max-cost", "0.12"
    )

    assert done.returncode == 2, done.stderr
    assert "aborted" in done.stderr and "--max-cost" in done.stderr
    assert len(emulator.calls()) == 2
    assert not output.exists()
    partial = tmp_path / "out.partial.csv"
    with_value = [row for row in csv_rows(partial.read_text(encoding="utf-8")) if row["backlinks"]]
    assert len(with_value) == 2000
    assert "cost      $0.1000" in done.stderr


def test_dry_run_counts_and_estimates_without_a_call_or_credentials(
    start_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    emulator = start_emulator()
    targets = [f"site{i}.example.com" for i in range(2500)]
    lines = [*targets, "site1.example.com", "SITE2.example.com", "# comment", "", "not a target", "x..y.com"]
    lines += ["site3.example.com", "Site4.Example.com ", "ftp://a.com"]
    source = write_targets(tmp_path / "t.txt", lines)

    done = run_cli(
        "backlinks",
        str(source),
        "--dry-run",
        "--rate",
        "10/60",
        "--base-url",
        emulator.url,
        credentials=False,
    )

    assert done.returncode == 0, done.stderr
    out = done.stdout
    # 2,505 distinct strings: 2,500 to send, 3 invalid, 2 other spellings; plus 2 exact repeats.
    assert "2,505 distinct inputs: 2,500 to send, 3 invalid, 4 duplicate" in out
    assert "rows      2,502 ok, 3 failed if every call succeeds" in out
    assert "calls     3 of at most 1000 targets" in out
    assert f"${estimate_cost(2500):.4f} estimated" in out and "$0.1350" in out
    assert "at least 12.0 s at 10/60s" in out  # 3 calls, one every 6 s
    assert emulator.calls() == []


def test_missing_credentials_name_the_variables(tmp_path: Path) -> None:
    """The real console script in a process of its own: its exit status and its one line."""
    source = write_targets(tmp_path / "t.txt", ["cnn.com"])
    output = tmp_path / "out.csv"
    done = run_cli_process(
        "backlinks", str(source), "-o", str(output), "--base-url", "http://127.0.0.1:9", credentials=False
    )
    assert done.returncode == 2
    assert "DATAFORSEO_LOGIN" in done.stderr and "DATAFORSEO_PASSWORD" in done.stderr
    assert "Traceback" not in done.stderr
    assert not output.exists()  # checked before anything is opened


@pytest.mark.parametrize(
    ("rate", "hint"),
    [("0", "both numbers must be positive"), ("-5/60", "both numbers must be positive"),
     ("10/0", "both numbers must be positive"), ("abc", "give calls a minute (2000) or N/SECONDS"),
     ("5/x", "give calls a minute (2000) or N/SECONDS")],
)  # fmt: skip
def test_parse_rate_rejects(rate: str, hint: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=re.escape(f"--rate {rate!r}: {hint}")):
        parse_rate(rate)


def test_parse_rate() -> None:
    assert parse_rate("2000") == (2000, 60.0)
    assert parse_rate("10000/60") == (10000, 60.0)
    assert parse_rate("5/0.5") == (5, 0.5)


def test_a_bad_rate_is_an_argparse_error() -> None:
    done = run_cli("backlinks", "t.txt", "--rate=10/0", credentials=False)
    assert done.returncode == 2
    assert done.stderr.startswith("usage: dataforseo-bulk backlinks")
    assert "dataforseo-bulk backlinks: error: argument --rate: --rate '10/0': both numbers" in done.stderr


def test_progress_lines_and_summary_on_a_pipe(
    start_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    emulator = start_emulator("--latency-ms", "10")
    targets = [f"site{i}.example.com" for i in range(2000)] + ["not a target", "site7.example.com"]
    source = write_targets(tmp_path / "t.txt", targets)

    done = run_cli("backlinks", str(source), "-o", str(tmp_path / "out.csv"), "--base-url", emulator.url)

    assert done.returncode == 1
    err = done.stderr
    assert "\r" not in err and "\033" not in err  # not a terminal: plain lines
    progress = [line for line in err.splitlines() if line.startswith("progress: ")]
    assert len(progress) >= 2  # the first update, then the last state before the summary
    # The total counts distinct strings, as the job does: the bar ends full despite the repeat.
    assert "[############################] 2,001/2,001 targets 100%" in progress[-1]
    assert re.search(r"2 calls [\d.]+/s  \$0\.1000$", progress[-1]), progress[-1]
    summary = err[err.index("done, 1 target failed (see the error columns)") :].splitlines()
    assert summary[1] == "  targets   2,001 distinct: 2,000 ok, 1 failed (1 invalid), 1 duplicate inputs"
    assert summary[2] == "  calls     2 (0 retries); 0 targets answered from the checkpoint"
    assert summary[3] == "  cost      $0.1000"
    assert re.fullmatch(r"  time      0:00:\d\d \(\d+\.\d s\)", summary[4]), summary[4]


def test_demo_verifies_every_count(tmp_path: Path) -> None:
    output = tmp_path / "demo.csv"
    done = run_cli("demo", "--targets", "3000", "--quiet", "-o", str(output), credentials=False)
    assert done.returncode == 0, done.stderr
    assert "verified: every count equals the emulator's documented value" in done.stderr
    rows = csv_rows(output.read_text(encoding="utf-8"))
    assert {row["target"] for row in rows} == set(demo_targets(3000))
    assert sum(row["error_kind"] == "invalid" for row in rows) == 3
