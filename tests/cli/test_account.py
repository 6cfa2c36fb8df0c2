"""``dataforseo-bulk account``, ``--dry-run`` with the account, and a job refused for its balance."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import Emulator, run_cli

pytestmark = pytest.mark.loopback


def test_account_prints_login_balance_and_rate_limit(start_emulator: Callable[..., Emulator]) -> None:
    emulator = start_emulator("--balance", "12.5", "--rate", "1000/60")
    done = run_cli("account", "--base-url", emulator.url)
    assert done.returncode == 0, done.stderr
    assert "login        emulator" in done.stdout
    assert "balance      $12.5000" in done.stdout
    assert "1,000 calls/min" in done.stdout
    assert emulator.calls() == []  # free: not a paid call


def test_account_with_wrong_credentials_is_one_line_and_exit_2(
    start_emulator: Callable[..., Emulator],
) -> None:
    emulator = start_emulator()
    done = run_cli("account", "--base-url", emulator.url, "--password", "wrong")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "40100" in done.stderr and "wrong" not in done.stderr


def test_dry_run_shows_the_balance_the_rate_limit_and_whether_the_job_fits(
    start_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    emulator = start_emulator("--balance", "0.1")
    source = tmp_path / "t.txt"
    source.write_text("\n".join(f"site{i}.com" for i in range(3000)) + "\n", encoding="utf-8")
    done = run_cli("backlinks", str(source), "--dry-run", "--base-url", emulator.url)
    assert done.returncode == 0, done.stderr
    assert "balance $0.1000" in done.stdout and "2,000 calls/min" in done.stdout
    assert "fits      NO: up to $0.1500" in done.stdout
    assert emulator.calls() == []

    small = tmp_path / "small.txt"
    small.write_text("a.com\nb.com\n", encoding="utf-8")
    fits = run_cli("backlinks", str(small), "--dry-run", "--base-url", emulator.url)
    assert "fits      yes" in fits.stdout
    skipped = run_cli("backlinks", str(small), "--dry-run", "--base-url", emulator.url, "--no-balance-check")
    assert "not read (--no-balance-check)" in skipped.stdout


def test_a_file_over_the_balance_is_refused_before_any_call_and_no_output_is_made(
    start_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    emulator = start_emulator("--balance", "0.1")
    source, output = tmp_path / "t.txt", tmp_path / "out.csv"
    source.write_text("\n".join(f"site{i}.com" for i in range(3000)) + "\n", encoding="utf-8")
    done = run_cli("backlinks", str(source), "-o", str(output), "--base-url", emulator.url)
    assert done.returncode == 2
    assert "not started" in done.stderr and "$0.15000" in done.stderr and "$0.10000" in done.stderr
    assert emulator.calls() == [] and not output.exists()
