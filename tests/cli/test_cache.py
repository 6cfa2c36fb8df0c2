"""``--cache FILE --max-age AGE`` and ``dataforseo-bulk cache``: real processes, a real emulator.

Catches: a rerun that buys again what the cache holds; a summary or dry run that does not say
what the cache answered; two processes on one cache file failing ("database is locked") or
corrupting it; a ``kill -9`` mid-write that leaves an unusable file; a bad cache file that
truncates the output or surfaces as a traceback; prune that deletes fresh answers.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from dataforseo_bulk.cache_sqlite import SQLiteCache
from dataforseo_bulk.emulator import expected_backlinks

from .conftest import Emulator, csv_rows, readonly, run_cli, sorted_lines, start_cli

pytestmark = pytest.mark.loopback


def write_targets(path: Path, targets: list[str]) -> Path:
    path.write_text("\n".join(targets) + "\n", encoding="utf-8")
    return path


def domains(start: int, stop: int) -> list[str]:
    return [f"site{i}.example.com" for i in range(start, stop)]


def job(source: Path, output: Path, cache: Path, url: str, *more: str) -> list[str]:
    return ["backlinks", str(source), "-o", str(output), "--cache", str(cache), "--base-url", url, *more]


def cached_rows(cache: Path) -> int:
    with readonly(cache) as db:
        return int(db.execute("SELECT COUNT(*) FROM cached_answers").fetchone()[0])


def integrity(cache: Path) -> str:
    db = sqlite3.connect(cache)
    try:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        db.close()


def test_a_rerun_is_answered_from_the_cache_and_says_what_it_saved(
    start_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    emulator = start_emulator()
    source = write_targets(tmp_path / "t.txt", ["SITE3.example.com", *domains(0, 2_000), "not a target"])
    cache = tmp_path / "results.sqlite"
    first = run_cli(*job(source, tmp_path / "a.csv", cache, emulator.url, "--max-age", "7d"))
    calls = len(emulator.calls())
    again = run_cli(*job(source, tmp_path / "b.csv", cache, emulator.url, "--max-age", "12h"))

    assert (first.returncode, again.returncode) == (1, 1), again.stderr  # the invalid target
    assert len(emulator.calls()) == calls == 2
    assert sorted_lines(tmp_path / "b.csv") == sorted_lines(tmp_path / "a.csv")
    rows = csv_rows((tmp_path / "b.csv").read_text(encoding="utf-8"))
    assert {r["target"]: r["backlinks"] for r in rows if r["backlinks"]}["SITE3.example.com"] == str(
        expected_backlinks("site3.example.com")
    )
    summary = again.stderr.splitlines()
    assert "  calls     0 (0 retries); 0 targets answered from the checkpoint" in summary
    assert "  cache     2,000 targets answered from the cache, $0.1000 saved" in summary
    assert "  cost      $0.0000" in summary
    assert not any(line.startswith("  cache ") for line in first.stderr.splitlines())


def test_dry_run_says_what_the_cache_answers_and_what_the_rest_costs(
    start_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    emulator = start_emulator()
    cache = tmp_path / "results.sqlite"
    source = write_targets(tmp_path / "t.txt", domains(0, 1_000))
    missing = run_cli("backlinks", str(source), "--cache", str(cache), "--max-age", "1d", "--dry-run")
    assert missing.returncode == 0, missing.stderr
    assert "0 targets answered from the cache" in missing.stdout and not cache.exists()
    assert run_cli(*job(source, tmp_path / "a.csv", cache, emulator.url, "--max-age", "1d")).returncode == 0

    bigger = write_targets(tmp_path / "more.txt", domains(0, 2_500))
    dry = run_cli(
        "backlinks",
        str(bigger),
        "--cache",
        str(cache),
        "--max-age",
        "1d",
        "--base-url",
        emulator.url,
        "--dry-run",
    )
    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.splitlines()
    assert (
        "  cache     1,000 targets answered from the cache (answers up to 1d old); 1,500 left to buy" in lines
    )
    assert "  calls     2 of at most 1000 targets" in lines
    assert "  cost      $0.0850 estimated (without retries)" in lines  # 2 x $0.02 + 1500 x $0.00003
    # Another API (the default, not this emulator) has nothing cached: a scope of its own.
    elsewhere = run_cli("backlinks", str(bigger), "--cache", str(cache), "--max-age", "1d", "--dry-run")
    assert "  cache     0 targets answered from the cache" in elsewhere.stdout
    assert len(emulator.calls()) == 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--cache", "{cache}"], "dataforseo-bulk: --cache needs --max-age: how old a cached answer may be"),
        (["--max-age", "7d"], "dataforseo-bulk: --max-age needs --cache FILE"),
        (
            ["--cache", "{cache}", "--max-age", "7 days"],
            "argument --max-age: age '7 days': give a number and a unit",
        ),
        (["--cache", "{notes}", "--max-age", "7d"], "is not a usable SQLite file (file is not a database)"),
        (["--cache", "{tmp}/no/such/dir/c.sqlite", "--max-age", "7d"], "does not exist; create it"),
    ],
)
def test_bad_cache_options_are_one_line_and_exit_2_before_any_output(
    options: list[str], message: str, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes, not a cache\n", encoding="utf-8")
    output = tmp_path / "out.csv"
    output.write_text("an earlier result\n", encoding="utf-8")
    source = write_targets(tmp_path / "t.txt", domains(0, 3))
    values = {"cache": str(tmp_path / "c.sqlite"), "notes": str(notes), "tmp": str(tmp_path)}
    args = [o.format(**values) for o in options]
    for dry in ([], ["--dry-run"]):
        done = run_cli(
            "backlinks", str(source), "-o", str(output), "--base-url", "http://127.0.0.1:9", *args, *dry
        )
        assert done.returncode == 2
        assert message in done.stderr.splitlines()[-1] and "Traceback" not in done.stderr, done.stderr
    assert output.read_text(encoding="utf-8") == "an earlier result\n"
    assert notes.read_text(encoding="utf-8") == "my notes, not a cache\n"


def test_cache_stats_and_prune(start_emulator: Callable[..., Emulator], tmp_path: Path) -> None:
    emulator = start_emulator()
    cache = tmp_path / "results.sqlite"
    source = write_targets(tmp_path / "t.txt", domains(0, 1_200))
    assert run_cli(*job(source, tmp_path / "a.csv", cache, emulator.url, "--max-age", "1d")).returncode == 0
    ranks = ["ranks", str(source), "-o", str(tmp_path / "r.csv"), "--rank-scale", "one_hundred"]
    assert (
        run_cli(*ranks, "--cache", str(cache), "--max-age", "1d", "--base-url", emulator.url).returncode == 0
    )

    stats = run_cli("cache", "stats", str(cache), credentials=False)
    assert stats.returncode == 0, stats.stderr
    lines = stats.stdout.splitlines()
    assert lines[0].startswith(f"{cache}: 2,400 answers, file ")
    assert lines[1].startswith(f"  bulk_backlinks at {emulator.url}: 1,200 answers, bought 20")
    assert lines[2].startswith(f"  bulk_ranks rank_scale=one_hundred at {emulator.url}: 1,200 answers")

    kept = run_cli("cache", "prune", str(cache), "--older-than", "1h", credentials=False)
    assert kept.returncode == 0, kept.stderr
    assert kept.stdout.startswith("pruned 0 answers bought 1h ago or earlier; 2,400 left")
    gone = run_cli("cache", "prune", str(cache), "--older-than", "0", credentials=False)
    assert gone.stdout.startswith("pruned 2,400 answers bought 0 ago or earlier; 0 left")
    assert integrity(cache) == "ok"

    nothing = run_cli("cache", "stats", str(tmp_path / "nope.sqlite"), credentials=False)
    assert nothing.returncode == 2
    assert nothing.stderr.startswith(
        f"dataforseo-bulk: no cache file '{tmp_path / 'nope.sqlite'}': give the file"
    )
    assert nothing.stderr.count("\n") == 1
    assert not (tmp_path / "nope.sqlite").exists()


def test_two_processes_share_one_cache_file_at_once(
    start_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    emulator = start_emulator("--latency-ms", "20")
    cache = tmp_path / "results.sqlite"
    sources = [
        write_targets(tmp_path / "a.txt", domains(0, 6_000)),
        write_targets(tmp_path / "b.txt", domains(3_000, 9_000)),
    ]
    options = ["--max-age", "1d", "--chunk-size", "100", "--concurrency", "5", "--rate", "100000/60"]
    processes = [
        start_cli(
            *job(s, tmp_path / f"{s.stem}.csv", cache, emulator.url, *options),
            stderr=tmp_path / f"{s.stem}.err",
        )
        for s in sources
    ]
    codes = [p.wait(timeout=120) for p in processes]
    errors = [(tmp_path / f"{s.stem}.err").read_text(encoding="utf-8") for s in sources]
    assert codes == [0, 0], errors
    assert not any("locked" in e or "Traceback" in e for e in errors), errors
    for s in sources:
        rows = csv_rows((tmp_path / f"{s.stem}.csv").read_text(encoding="utf-8"))
        assert {r["target"]: int(r["backlinks"]) for r in rows} == {
            t: expected_backlinks(t) for t in s.read_text(encoding="utf-8").split()
        }
    assert integrity(cache) == "ok" and cached_rows(cache) == 9_000
    # Whatever the two bought twice while running side by side, a third run buys nothing.
    calls = len(emulator.calls())
    both = write_targets(tmp_path / "all.txt", domains(0, 9_000))
    third = run_cli(*job(both, tmp_path / "all.csv", cache, emulator.url, *options))
    assert third.returncode == 0 and len(emulator.calls()) == calls
    assert "  cache     9,000 targets answered from the cache" in third.stderr


_WRITER = textwrap.dedent(
    """
    import sys
    from dataforseo_bulk.cache_sqlite import SQLiteCache

    cache = SQLiteCache(sys.argv[1])
    pad = "x" * 400
    n = 0
    while True:  # chunks of 1000 answers, each in one transaction, until killed
        names = [f"site{{n + i}}.com" for i in range(1000)]
        cache.put("scope", {{name: {{"target": name, "pad": pad}} for name in names}})
        n += 1000
    """
)


@pytest.mark.parametrize("kill_after_rows", [1_000, 20_000])
def test_kill_9_while_writing_leaves_a_usable_cache(kill_after_rows: int, tmp_path: Path) -> None:
    cache = tmp_path / "results.sqlite"
    SQLiteCache(cache).close()
    writer = subprocess.Popen([sys.executable, "-c", _WRITER.format(), str(cache)])
    try:
        deadline = time.monotonic() + 60
        while cached_rows(cache) < kill_after_rows:
            assert writer.poll() is None, "the writer died on its own"
            assert time.monotonic() < deadline, "the writer made no progress"
            time.sleep(0.005)
        seen = cached_rows(cache)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    assert integrity(cache) == "ok"
    with SQLiteCache(cache) as after:
        rows = after.stats().entries
        assert rows >= seen and rows % 1000 == 0  # whole chunks only: a commit is all or nothing
        found = after.fresh("scope", [f"site{i}.com" for i in range(rows)], 3600)
        assert len(found) == rows and all(json.dumps(item) for item in found.values())
        after.put("scope", {"new.com": {"target": "new.com"}})
        assert after.fresh("scope", ["new.com"], 60) == {"new.com": {"target": "new.com"}}


def test_kill_9_mid_job_then_rerun_buys_only_what_the_cache_lacks(
    start_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    emulator = start_emulator("--latency-ms", "30")
    cache = tmp_path / "results.sqlite"
    source = write_targets(tmp_path / "t.txt", domains(0, 6_000))
    options = ["--max-age", "1d", "--chunk-size", "100", "--concurrency", "5", "--rate", "100000/60"]
    process = start_cli(
        *job(source, tmp_path / "a.csv", cache, emulator.url, *options), stderr=tmp_path / "a.err"
    )
    deadline = time.monotonic() + 60
    while not cache.exists() or cached_rows_or_zero(cache) < 2_000:
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    first_run_last_seq = emulator.settle()
    held = cached_rows(cache)
    assert integrity(cache) == "ok" and 2_000 <= held < 6_000

    rerun = run_cli(*job(source, tmp_path / "b.csv", cache, emulator.url, *options))
    assert rerun.returncode == 0, rerun.stderr
    assert f"  cache     {held:,} targets answered from the cache" in rerun.stderr
    charged_again = [t for seq, _, t in emulator.charges() if seq > first_run_last_seq]
    assert len(charged_again) == 6_000 - held  # exactly what the cache lacked
    rows = csv_rows((tmp_path / "b.csv").read_text(encoding="utf-8"))
    assert {r["target"]: int(r["backlinks"]) for r in rows} == {
        t: expected_backlinks(t) for t in domains(0, 6_000)
    }


def cached_rows_or_zero(cache: Path) -> int:
    try:
        return cached_rows(cache)
    except sqlite3.OperationalError:  # created, no table yet
        return 0
