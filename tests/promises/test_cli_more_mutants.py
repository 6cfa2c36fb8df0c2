"""More of the command's documented behaviour, through ``main(argv)`` in this process: written for
the mutants of ``cli/account.py``, ``cli/cache.py``, ``cli/waits.py``, ``cli/options.py`` and
``cli/progress.py`` the suite let live (docs/testing.md, "Mutation testing").

``--sandbox`` is checked against respx standing in for the sandbox's address (no network); the
rest against the emulator served in a thread of this process, as in ``test_cli_mutants.py``.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx

from conftest import LOGIN, PASSWORD, FakeAPI, backlinks_of
from dataforseo_bulk import JobStats, Progress, RetryDetails
from dataforseo_bulk._constants import DEFAULT_BASE_URL, SANDBOX_URL
from dataforseo_bulk.cli.options import abort_line
from dataforseo_bulk.cli.progress import ProgressDisplay, describe, summary
from dataforseo_bulk.cli.waits import announce_long_waits
from dataforseo_bulk.emulator import expected_backlinks
from dataforseo_bulk.errors import SharedLimitsLost

from . import test_cli_mutants
from .test_cli_mutants import Api, job, rows, run

# The emulator in a thread, and a clean environment in a temporary directory, as there.
api = test_cli_mutants.api
_clean_environment = test_cli_mutants._clean_environment

BULK = "/v3/backlinks/bulk_backlinks/live"
USER_DATA = "/v3/appendix/user_data"


def user_data(result: dict[str, object]) -> httpx.Response:
    task = {"id": "t", "status_code": 20000, "status_message": "Ok.", "cost": 0, "result": [result]}
    return httpx.Response(
        200, json={"status_code": 20000, "status_message": "Ok.", "cost": 0, "tasks": [task]}
    )


ACCOUNT = {
    "login": LOGIN,
    "money": {"total": 50.0, "balance": 41.3022},
    "rates": {"limits": {"minute": {"total_backlinks": 2000}}},
}


@pytest.fixture
def sandbox() -> Iterator[FakeAPI]:
    """The sandbox's address answered by respx: its calls recorded, the account above."""
    fake = FakeAPI()
    with respx.mock(assert_all_called=False) as router:
        router.post(f"{SANDBOX_URL}{BULK}").mock(side_effect=fake)
        router.get(f"{SANDBOX_URL}{USER_DATA}").mock(side_effect=lambda request: user_data(ACCOUNT))
        yield fake


def credentials(*argv: str) -> list[str]:
    return [*argv, "--login", LOGIN, "--password", PASSWORD]


def cache_line(out: str) -> str:
    [line] = [line for line in out.splitlines() if line.startswith("  cache ")]
    return line


# --- --sandbox (docs/cli.md: "use the free sandbox, https://sandbox.dataforseo.com") -------------
def test_account_with_sandbox_reads_the_sandboxs_account(
    sandbox: FakeAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    done = run(capsys, *credentials("account", "--sandbox"))
    assert done.code == 0, done.err
    assert done.out.splitlines() == [
        f"login        {LOGIN}",
        "balance      $41.3022",
        "rate limit   2,000 calls/min on the bulk endpoints",
    ]


def test_a_job_with_sandbox_sends_its_calls_to_the_sandbox_and_caches_them_as_the_sandboxs(
    sandbox: FakeAPI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "t.txt").write_text("cnn.com\nbbc.com\n", encoding="utf-8")
    cache = ["--cache", "c.sqlite", "--max-age", "1d"]
    done = run(capsys, *credentials("backlinks", "t.txt", "--sandbox", "-o", "out.csv", *cache))
    assert done.code == 0, done.err
    assert sorted(row[:2] for row in rows(tmp_path / "out.csv")[1:]) == [
        ["bbc.com", str(backlinks_of("bbc.com"))],
        ["cnn.com", str(backlinks_of("cnn.com"))],
    ]
    assert sorted(sandbox.sent_targets) == ["bbc.com", "cnn.com"]
    # The dry run prices the same job from the sandbox's answers in the cache: nothing to buy...
    dry = run(capsys, "backlinks", "t.txt", "--sandbox", "--dry-run", *cache)
    assert cache_line(dry.out).startswith("  cache     2 targets answered from the cache"), dry.out
    # ...but they are not the real API's answers.
    real = run(capsys, "backlinks", "t.txt", "--dry-run", *cache)
    assert cache_line(real.out).startswith("  cache     0 targets answered from the cache"), real.out
    stats = run(capsys, "cache", "stats", "c.sqlite")
    assert f"  bulk_backlinks at {SANDBOX_URL}: 2 answers" in stats.out


# --- the dry run's account lines (docs/cli.md, --dry-run) ----------------------------------------
@pytest.mark.parametrize(
    ("account", "options", "expected"),
    [
        pytest.param(
            ACCOUNT,
            ("--rate", "500/30"),
            [
                f"  account   {LOGIN}: balance $41.3022",
                "  limit     2,000 calls/min on the bulk endpoints (this job paces at 500/30s)",
                "  fits      yes: up to $0.0200 of the $41.3022 balance",
            ],
            id="the account, the rate it paces at and the fit",
        ),
        pytest.param(
            {},
            (),
            [
                "  account   ?: balance not reported",
                "  limit     not reported on the bulk endpoints (this job paces at 2000/60s)",
                "  fits      unknown: the account's answer carries no balance",
            ],
            id="what the account did not report",
        ),
    ],
)
def test_a_dry_run_shows_the_account_lines(
    account: dict[str, object],
    options: tuple[str, ...],
    expected: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "t.txt").write_text("cnn.com\n", encoding="utf-8")
    with respx.mock(assert_all_called=False) as router:
        router.get(f"{DEFAULT_BASE_URL}{USER_DATA}").mock(side_effect=lambda request: user_data(account))
        done = run(capsys, *credentials("backlinks", "t.txt", "--dry-run", *options))
    assert done.code == 0, done.err
    assert done.out.splitlines()[-3:] == expected


def test_a_dry_run_with_no_balance_check_does_not_read_the_account(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "t.txt").write_text("cnn.com\n", encoding="utf-8")
    with respx.mock(assert_all_called=False) as router:
        route = router.get(f"{DEFAULT_BASE_URL}{USER_DATA}").mock(
            side_effect=lambda request: user_data(ACCOUNT)
        )
        done = run(capsys, *credentials("backlinks", "t.txt", "--dry-run", "--no-balance-check"))
    assert done.code == 0, done.err
    assert done.out.splitlines()[-1] == "  account   not read (--no-balance-check)"
    assert not route.called


# --- long waits announced (docs/cli.md: "with the chunk, the code and the API's message") -------
@pytest.mark.parametrize(
    ("code", "http_status", "answered"),
    [
        (50303, 200, "50303"),  # HTTP 200 goes without saying
        (50303, 503, "50303 / HTTP 503"),
        (None, 429, "HTTP 429"),
        (None, None, "nothing"),  # no answer at all
    ],
)
def test_a_long_wait_names_the_code_and_the_http_status_that_asked_for_it(
    code: int | None, http_status: int | None, answered: str
) -> None:
    stream = io.StringIO()
    on_retry = announce_long_waits(stream)
    on_retry(RetryDetails("chunk 3", 2, code, http_status, "Try again later.", 60.0))  # type: ignore[arg-type]
    on_retry(RetryDetails("chunk 3", 1, code, http_status, "Try again later.", 9.9))  # type: ignore[arg-type]
    on_retry(RetryDetails("chunk 4", 1, code, http_status, "Try again later.", 10.0))  # type: ignore[arg-type]
    assert stream.getvalue().splitlines() == [  # 10 s or more: said; less: an ordinary retry
        "dataforseo-bulk: waiting 60 s before retrying chunk 3 "
        f"(attempt 2 answered {answered}: Try again later.)",
        "dataforseo-bulk: waiting 10 s before retrying chunk 4 "
        f"(attempt 1 answered {answered}: Try again later.)",
    ]


# --- dataforseo-bulk cache stats|prune (docs/cli.md, "The results cache") ------------------------
def test_cache_stats_on_a_redis_url_says_redis_expires_its_answers_itself(
    capsys: pytest.CaptureFixture[str],
) -> None:
    done = run(capsys, "cache", "stats", "redis://127.0.0.1:9/0")
    assert done.code == 2
    assert done.err.splitlines() == [
        "dataforseo-bulk: cache stats works on a cache file, not a Redis URL: Redis deletes old "
        "answers by itself (each has a time to live) and holds only hashes of the endpoints "
        "and parameters; ask Redis itself (redis-cli INFO keyspace)"
    ]


def test_a_dry_run_with_a_cache_in_a_missing_directory_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "t.txt").write_text("cnn.com\n", encoding="utf-8")
    done = run(capsys, "backlinks", "t.txt", "--dry-run", "--cache", "nodir/c.sqlite", "--max-age", "1d")
    assert done.code == 2
    [line] = done.err.splitlines()
    assert line.startswith("dataforseo-bulk: cache 'nodir/c.sqlite': the directory 'nodir' does not exist")


@pytest.fixture
def far_from_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A local time zone 5 h 30 min from UTC: what the command prints in UTC is then told apart."""
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _minutes(before: dt.datetime, after: dt.datetime) -> set[str]:
    """Every minute from ``before`` to ``after`` as the command writes it (UTC)."""
    minute = before.replace(second=0, microsecond=0)
    found = set()
    while minute <= after:
        found.add(minute.strftime("%Y-%m-%d %H:%M UTC"))
        minute += dt.timedelta(minutes=1)
    return found


def _size(line: str) -> float:
    number, unit = re.fullmatch(r".*, file (\d+\.\d) (kB|MB)", line).groups()  # type: ignore[union-attr]
    return float(number) * (1e6 if unit == "MB" else 1e3)


@pytest.mark.usefixtures("far_from_utc")
def test_cache_stats_names_each_endpoint_with_its_parameters_when_bought_in_utc_and_the_size(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "small.txt").write_text("cnn.com\nbbc.com\n", encoding="utf-8")
    (tmp_path / "big.txt").write_text("".join(f"site{i}.com\n" for i in range(2000)), encoding="utf-8")
    cache = ["--cache", "c.sqlite", "--max-age", "1d", "--quiet"]
    before = dt.datetime.now(dt.UTC)
    pages = ("--rank-scale", "one_hundred", "--no-include-subdomains")
    done = run(capsys, *job(api, "pages-summary", "small.txt", *pages, "-o", "p.csv", *cache))
    assert done.code == 0, done.err
    after = dt.datetime.now(dt.UTC)
    small = run(capsys, "cache", "stats", "c.sqlite")
    assert small.code == 0, small.err
    head, scope = small.out.splitlines()
    assert head.startswith("c.sqlite: 2 answers, file ") and head.endswith(" kB"), head
    on_disk = sum(p.stat().st_size for p in tmp_path.glob("c.sqlite*"))
    assert on_disk / 2 < _size(head) < on_disk * 2
    found = re.fullmatch(
        rf"  bulk_pages_summary include_subdomains=False rank_scale=one_hundred at {re.escape(api.url)}: "
        r"2 answers, bought (.*) to (.*)",
        scope,
    )
    assert found, scope
    assert {found[1], found[2]} <= _minutes(before, after)

    done = run(capsys, *job(api, "backlinks", "big.txt", "-o", "b.csv", *cache))
    assert done.code == 0, done.err
    big = run(capsys, "cache", "stats", "c.sqlite")
    head = big.out.splitlines()[0]
    assert head.startswith("c.sqlite: 2,002 answers, file ") and head.endswith(" MB"), head
    on_disk = sum(p.stat().st_size for p in tmp_path.glob("c.sqlite*"))
    assert on_disk / 2 < _size(head) < on_disk * 2
    assert _size(head) >= 100_000  # in MB from 100 kB up, in kB below


# --- why a job stopped (docs/cli.md quotes the budget's line whole) -------------------------------
def test_a_stop_at_max_cost_says_how_to_go_on(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "t.txt").write_text("cnn.com\nbbc.com\n", encoding="utf-8")
    argv = ("--chunk-size", "1", "--concurrency", "1", "--max-cost", "0.03", "-o", "out.csv")
    stopped = run(capsys, *job(api, "backlinks", "t.txt", *argv))
    assert stopped.code == 2
    assert (
        "aborted: budget reached: $0.02003 spent or held by calls in flight, of --max-cost 0.03; the next "
        "call could cost up to $0.02003. Raise --max-cost to go on (with the same --checkpoint nothing is "
        "paid twice)"
    ) in stopped.err.splitlines()


def test_a_stop_at_the_balance_says_how_to_go_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A piped input cannot be priced before the job: it stops at the balance instead (docs/jobs.md)."""
    from anyio.from_thread import start_blocking_portal

    from dataforseo_bulk.emulator import EmulatorConfig, Ledger, serve

    ledger = Ledger(tmp_path / "ledger.sqlite")
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(serve(EmulatorConfig(balance_usd=0.03), ledger=ledger)) as url,
    ):
        argv = ("--chunk-size", "1", "--concurrency", "1", "-o", "out.csv")
        stdin = io.TextIOWrapper(io.BytesIO(b"cnn.com\nbbc.com\n"), encoding="utf-8")
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("sys.stdin", stdin)
            stopped = run(capsys, *job(Api(url, ledger), "backlinks", "-", *argv))
    ledger.close()
    assert stopped.code == 2
    assert (
        "aborted: balance reached: $0.02003 spent or held by calls in flight, of the account's $0.03000; "
        "the next call could cost up to $0.02003. Add funds to go on (with the same --checkpoint nothing "
        "is paid twice)"
    ) in stopped.err.splitlines()


# --- progress (docs/cli.md, "Progress") ----------------------------------------------------------
def progress(elapsed: float, done: int, calls: int) -> Progress:
    return Progress(
        chunks_done=calls, targets_done=done, calls=calls, retries=0, cost_usd=0.05 * calls, elapsed=elapsed
    )


def test_the_eta_comes_from_the_rate_of_the_last_30_seconds() -> None:
    """100 targets/s for a minute, then 10/s, the last 5 s at 40/s: the ETA is at the rate of the
    last 30 s (15/s), not the average since the start nor that of the last answer."""
    clock = [0.0]
    stream = io.StringIO()
    display = ProgressDisplay(100_000, stream=stream, live=False, clock=lambda: clock[0], ticker=False)
    for second in range(0, 61, 5):
        display.update(progress(second, 100 * second, second))
    for second in range(65, 96, 5):
        display.update(progress(second, 6000 + 10 * (second - 60), second))
    display.update(progress(100, 6350 + 200, 100))
    clock[0] = 100.0
    display.tick()
    last = stream.getvalue().splitlines()[-1]
    rate = (6550 - 6100) / 30  # from the answer at 70 s to the one at 100 s
    assert last.endswith(f"ETA {dt.timedelta(seconds=int((100_000 - 6550) / rate))}"), last


@pytest.mark.parametrize(
    ("elapsed", "done", "calls", "eta"),
    [
        (0.5, 5000, 5, "ETA 0:00:09"),  # from the average rate since the start: 10,000/s
        (2.0, 0, 5, None),  # nothing done yet: no rate, no ETA
        (0.0, 1000, 1, None),  # an answer at 0.0 s on a fake clock: no rate yet
        (4.0, 4000, 4, None),  # fewer than 5 calls: no ETA
    ],
)
def test_a_plain_line_without_a_given_eta_takes_it_from_the_average_rate(
    elapsed: float, done: int, calls: int, eta: str | None
) -> None:
    line = describe(progress(elapsed, done, calls), 100_000)
    assert line.startswith("[")
    assert (line.split("  ")[-1] if "ETA" in line else None) == eta


def test_the_eta_window_drops_what_is_older_than_30_seconds() -> None:
    """Answers at 40 s and 80 s: the rate is that between them, not since the start."""
    stream = io.StringIO()
    display = ProgressDisplay(10_000, stream=stream, live=False, clock=lambda: 80.0, ticker=False)
    display.update(progress(40, 4000, 40))  # 100 targets/s so far...
    display.update(progress(80, 4400, 80))  # ...then 10/s
    display.tick()
    last = stream.getvalue().splitlines()[-1]
    assert last.endswith(f"ETA {dt.timedelta(seconds=(10_000 - 4400) // 10)}"), last


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def test_on_a_terminal_the_bar_is_redrawn_in_place_with_the_counts_beside_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """docs/cli.md: a bar drawn by rich, redrawn in place, then targets, calls, spend and ETA."""
    monkeypatch.setenv("COLUMNS", "120")
    stream = io.StringIO()
    display = ProgressDisplay(100_000, stream=stream, live=True, clock=lambda: 0.0)
    for second in range(1, 8):
        display.update(progress(second, 10_000 * second, 10 * second))
    display.close()
    frames = [ANSI.sub("", frame).rstrip() for frame in stream.getvalue().split("\r\x1b[2K")]
    assert len(frames) >= 2  # drawn, then drawn again over itself
    assert frames[0] == "━" * 28  # the bar before the first answer: empty, no counts yet
    bar, counts = frames[-1].split(" ", 1)
    assert counts == "70,000/100,000 targets  70%  70 calls 10.0/s  $3.5000  ETA 0:00:03"
    assert len(bar) == 28 and bar.startswith("━" * 19) and bar[19] in "╸╺"  # 70 % of 28


def test_closing_a_display_on_a_terminal_before_any_answer_prints_nothing() -> None:
    """A job refused before it began leaves no bar (the display is closed, not finished)."""
    stream = io.StringIO()
    ProgressDisplay(10, stream=stream, live=True).close()
    assert stream.getvalue() == ""


def test_a_stop_the_cli_has_no_words_of_its_own_for_is_said_as_the_library_says_it() -> None:
    """docs/scaling.md: a Redis lost mid-job stops it (exit 2) with the library's own message."""
    lost = SharedLimitsLost("lost the Redis of shared limits (redis://127.0.0.1:9/0): connection refused")
    assert abort_line(lost) == "lost the Redis of shared limits (redis://127.0.0.1:9/0): connection refused"


def test_a_plain_display_never_fails_on_a_first_answer_at_zero_seconds_or_a_repeated_count() -> None:
    """On a fake clock an answer may come at 0.0 s, and two reports may carry the same count."""
    stream = io.StringIO()
    display = ProgressDisplay(100_000, stream=stream, live=False, clock=lambda: 0.0, ticker=False)
    display.update(progress(0.0, 1000, 5))
    display.update(progress(0.0, 2000, 6))
    display.update(progress(3.0, 2000, 7))
    display.tick()
    assert stream.getvalue().splitlines() == [
        "progress: 0:00:00 [............................] 1,000/100,000 targets   1%  5 calls 0.0/s  $0.2500",
        "progress: 0:00:00 [............................] 2,000/100,000 targets   2%  7 calls 2.3/s  $0.3500"
        "  ETA 0:02:27",
    ]


def test_on_a_terminal_no_plain_lines_come_beside_the_bar() -> None:
    """The timed ``progress:`` lines are for a pipe or a log; on a terminal rich draws the bar."""
    stream = io.StringIO()
    display = ProgressDisplay(10, stream=stream, live=True, plain_every=0.0)  # would tick non-stop
    display.update(progress(1.0, 5, 5))
    display.close()
    assert "progress:" not in stream.getvalue()


def test_the_summary_says_1_retry_and_the_speed_of_a_job_shorter_than_a_second() -> None:
    stats = JobStats(targets=2, ok=2, calls=3, retries=1, cost_usd=0.06006, elapsed=0.5)
    assert summary(stats, headline="done").splitlines() == [
        "done",
        "  targets   2 distinct: 2 ok, 0 failed (0 invalid), 0 duplicate inputs",
        "  calls     3 (1 retry); 0 targets answered from the checkpoint",
        "  cost      $0.0601",
        "  time      0:00:00 (0.5 s)",
        "  speed     4 targets/s, 6.0 calls/s",
    ]


# --- dataforseo-bulk emulate (docs/cli.md: "the same flags as python -m dataforseo_bulk.emulator") -
def test_emulate_hands_its_flags_to_the_emulator_which_says_what_is_wrong_in_its_name(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A login with ':' passes the flags' own checks and is refused by the emulator's settings."""
    done = run(capsys, "emulate", "--port", "0", "--login", "me:you")
    assert done.code == 2
    assert done.err.splitlines()[-1] == (
        "dataforseo-bulk emulate: error: login must be a non-empty string without ':' (Basic auth), "
        "got 'me:you'"
    )


# --- a file that fails mid-job: one line, exit 2, never a traceback (docs/cli.md, "Exit status") ----
def test_an_output_that_fills_up_mid_job_is_one_line(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "t.txt").write_text("".join(f"site{i}.com\n" for i in range(3000)), encoding="utf-8")
    done = run(capsys, *job(api, "backlinks", "t.txt", "-o", "/dev/full", "--format", "csv", "--quiet"))
    assert done.code == 2
    assert done.err.splitlines() == ["dataforseo-bulk: cannot go on: No space left on device"]


def test_a_checkpoint_that_fails_mid_job_is_one_line_naming_it(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk under the checkpoint fills up (SQLite's own error) as the first answers are stored."""
    import sqlite3

    from dataforseo_bulk.checkpoint import Checkpoint

    def full(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Checkpoint, "save", full)
    (tmp_path / "t.txt").write_text("cnn.com\n", encoding="utf-8")
    done = run(
        capsys, *job(api, "backlinks", "t.txt", "-o", "out.csv", "--checkpoint", "job.sqlite", "--quiet")
    )
    assert done.code == 2
    assert done.err.splitlines() == [
        "dataforseo-bulk: checkpoint 'job.sqlite' failed: database or disk is full"
    ]
    assert not (tmp_path / "out.csv").exists()


def test_an_output_that_cannot_be_moved_into_place_is_one_line_naming_the_file(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file system turns read-only before the finished output is moved into place."""
    import errno
    import os

    def read_only(source: str, target: str) -> None:
        raise OSError(errno.EROFS, "Read-only file system", str(target))

    monkeypatch.setattr(os, "replace", read_only)
    (tmp_path / "t.txt").write_text("cnn.com\n", encoding="utf-8")
    done = run(capsys, *job(api, "backlinks", "t.txt", "-o", "out.csv", "--quiet"))
    assert done.code == 2
    assert done.err.splitlines() == [
        f"dataforseo-bulk: cannot go on {str(tmp_path / 'out.csv')!r}: Read-only file system"
    ]


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    done = run(capsys)
    assert done.code == 2
    assert (
        done.err.splitlines()[-1] == "dataforseo-bulk: error: the following arguments are required: COMMAND"
    )


def test_the_demo_runs_100000_targets_at_40_ms_with_20_of_jitter_by_default(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/cli.md: ``--targets N`` (default 100,000), ``--latency-ms`` 40 with ± 20 of jitter.
    (Run with 200 targets and no latency, so as not to wait: what the demo asked for is recorded.)"""
    import dataforseo_bulk.cli as cli
    import dataforseo_bulk.emulator as emulator

    asked: dict[str, object] = {}
    real_targets, real_config = cli.demo_targets, emulator.EmulatorConfig

    def targets(n: int) -> list[str]:
        asked["targets"] = n
        return real_targets(200)

    def config(**settings: object) -> object:
        asked.update(latency_ms=settings["latency_ms"], jitter_ms=settings["jitter_ms"])
        return real_config(**{**settings, "latency_ms": 0.0, "jitter_ms": 0.0})  # type: ignore[arg-type]

    monkeypatch.setattr(cli, "demo_targets", targets)
    monkeypatch.setattr(emulator, "EmulatorConfig", config)
    done = run(capsys, "demo", "--quiet")
    assert done.code == 0, done.err
    assert asked == {"targets": 100_000, "latency_ms": 40.0, "jitter_ms": 20.0}


def test_cache_needs_an_action_and_prune_takes_an_age(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    none = run(capsys, "cache")
    assert none.code == 2
    assert (
        none.err.splitlines()[-1]
        == "dataforseo-bulk cache: error: the following arguments are required: ACTION"
    )
    (tmp_path / "t.txt").write_text("cnn.com\nbbc.com\n", encoding="utf-8")
    cache = ["--cache", "c.sqlite", "--max-age", "1d", "--quiet"]
    assert run(capsys, *job(api, "backlinks", "t.txt", "-o", "out.csv", *cache)).code == 0
    pruned = run(capsys, "cache", "prune", "c.sqlite", "--older-than", "1d")
    assert pruned.code == 0, pruned.err
    assert pruned.out.startswith("pruned 0 answers bought 1d ago or earlier; 2 left, file "), pruned.out


def test_the_first_eta_counts_from_nothing_done_at_the_start() -> None:
    stream = io.StringIO()
    display = ProgressDisplay(10, stream=stream, live=False, clock=lambda: 1.0, ticker=False)
    display.update(progress(1.0, 2, 5))  # 2 targets in the first second: 8 left at 2/s
    assert stream.getvalue().splitlines()[-1].endswith("ETA 0:00:04")


@pytest.mark.parametrize(
    ("options", "line"),
    [
        (["--max-age", "1d"], "dataforseo-bulk: --max-age needs --cache FILE (the results cache to use)"),
        (
            ["--cache", "c.sqlite"],
            "dataforseo-bulk: --cache needs --max-age: how old a cached answer may be, e.g. --max-age 7d "
            "(or 12h, 30m, 45s; 0 buys every answer again)",
        ),
    ],
)
def test_cache_and_max_age_go_together(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str], line: str
) -> None:
    (tmp_path / "t.txt").write_text("cnn.com\n", encoding="utf-8")
    done = run(capsys, *job(api, "backlinks", "t.txt", "-o", "out.csv", *options))
    assert (done.code, done.err.splitlines()) == (2, [line])
    assert not (tmp_path / "out.csv").exists() and api.calls() == 0


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("https://h:x", "--base-url https://h:x is not a URL (Invalid port: 'x')"),
        (
            "http://example.com",
            "--base-url http://example.com: plain http would send your credentials in clear; use https://, "
            "or http:// only on loopback (127.0.0.1, localhost) for the emulator",
        ),
    ],
)
def test_a_base_url_refused_says_why_whole(capsys: pytest.CaptureFixture[str], url: str, says: str) -> None:
    """A reason with ': ' inside was cut at it ("--base-url https://h:x: 'x')"): fixed."""
    done = run(capsys, "backlinks", "t.txt", "--base-url", url)
    assert done.code == 2
    assert done.err.splitlines()[-1] == f"dataforseo-bulk backlinks: error: argument --base-url: {says}"


@pytest.mark.parametrize(
    ("output", "says"),
    [
        ("newdir/", "-o newdir/: that is a directory; give a file, e.g. -o newdir/out.csv"),
        ("adir", "-o adir: that is a directory; give a file, e.g. -o adir/out.csv"),
        (
            "out.XLSX",
            "-o out.XLSX: its suffix '.xlsx' is not a known output format; name the file .csv or .jsonl, "
            "or pass --format csv|jsonl",
        ),
    ],
)
def test_an_output_that_cannot_be_written_is_refused_before_the_job(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str], output: str, says: str
) -> None:
    (tmp_path / "t.txt").write_text("cnn.com\n", encoding="utf-8")
    (tmp_path / "adir").mkdir()
    done = run(capsys, *job(api, "backlinks", "t.txt", "-o", output))
    assert (done.code, done.err.splitlines()) == (2, [f"dataforseo-bulk: {says}"])
    assert api.calls() == 0


def test_csv_on_stdout_with_o_dash(api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """docs/cli.md: ``-o -`` is stdout, CSV unless ``--format`` says otherwise."""
    (tmp_path / "t.txt").write_text("cnn.com\n", encoding="utf-8")
    done = run(capsys, *job(api, "backlinks", "t.txt", "-o", "-", "--quiet"))
    assert done.code == 0, done.err
    assert done.out.splitlines() == [
        "target,backlinks,error_kind,error_code,error_reason",
        f"cnn.com,{expected_backlinks('cnn.com')},,,",
    ]


def test_timeout_that_is_not_a_number_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    done = run(capsys, "backlinks", "t.txt", "--timeout", "soon")
    assert done.code == 2
    assert done.err.splitlines()[-1] == (
        "dataforseo-bulk backlinks: error: argument --timeout: --timeout soon: give seconds greater than 0, "
        "e.g. --timeout 60"
    )


def test_the_demo_takes_a_latency_with_decimals(capsys: pytest.CaptureFixture[str]) -> None:
    """docs/cli.md: ``--latency-ms MS`` (≥ 0): a number, not only a whole one."""
    done = run(capsys, "demo", "--targets", "200", "--latency-ms", "0.5", "--quiet")
    assert done.code == 0, done.err
