"""The command's documented outputs, through ``main(argv)`` in this process (docs/cli.md).

Against the emulator served in a thread of this process, so that mutation testing of ``cli/``
sees these tests (a subprocess cannot be traced by mutmut): one row per distinct input line in
CSV and JSON Lines, a CSV column, lines that are not UTF-8, the dry run's counts, a stop at
``--max-cost`` with its partial file and a resume that pays nothing twice, the demo, and the
messages docs/cli.md quotes word for word. Each was written for mutants of ``cli/`` that the
suite let live (see docs/testing.md, "Mutation testing").
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from anyio.from_thread import start_blocking_portal

from dataforseo_bulk.cli import main, parse_rate
from dataforseo_bulk.emulator import DEFAULT_LOGIN, DEFAULT_PASSWORD, EmulatorConfig, Ledger, serve
from dataforseo_bulk.emulator import expected_backlinks as backlinks

HEADER = ["target", "backlinks", "error_kind", "error_code", "error_reason"]


@dataclass
class Api:
    url: str
    ledger: Ledger

    def calls(self) -> int:
        return len(self.ledger.calls())


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    """The emulator on a loopback port, served by an event loop in another thread."""
    ledger = Ledger(tmp_path / "ledger.sqlite")
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(serve(EmulatorConfig(), ledger=ledger)) as url,
    ):
        yield Api(url, ledger)
    ledger.close()


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("DATAFORSEO_LOGIN", "DATAFORSEO_PASSWORD", "DATAFORSEO_BULK_SHARED_LIMITS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@dataclass
class Run:
    code: int
    out: str
    err: str


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> Run:
    try:
        code = main(list(argv))
    except SystemExit as exit_:  # argparse's usage errors
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


def job(api: Api, *argv: str) -> list[str]:
    return [*argv, "--base-url", api.url, "--login", DEFAULT_LOGIN, "--password", DEFAULT_PASSWORD]


def rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


LINES = "cnn.com\n  CNN.com \n# a comment\n\nhttps://www.apple.com/iphone/\nnot a domain\ncnn.com\n"
REASON = "not a domain"  # the start of the invalid target's reason is checked below, not its wording


def test_a_job_writes_one_row_per_distinct_input_line_in_csv(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "t.txt").write_text(LINES, encoding="utf-8")
    done = run(capsys, *job(api, "backlinks", "t.txt", "-o", "out.csv"))
    assert done.code == 1, done.err  # one target failed (the invalid one)
    header, *body = rows(tmp_path / "out.csv")
    assert header == HEADER
    by_target = {row[0]: row for row in body}
    assert len(body) == len(by_target) == 4  # one per distinct line; the exact repeat has none
    assert by_target["cnn.com"] == ["cnn.com", str(backlinks("cnn.com")), "", "", ""]
    assert by_target["CNN.com"] == ["CNN.com", str(backlinks("cnn.com")), "", "", ""]  # trimmed
    page = "https://www.apple.com/iphone/"
    assert by_target[page] == [page, str(backlinks(page)), "", "", ""]
    _, value, kind, code, reason = by_target["not a domain"]
    assert (value, kind, code) == ("", "invalid", "") and reason
    assert api.calls() == 1  # cnn.com once for both spellings, with the page: one call
    summary = done.err.splitlines()
    assert "done, 1 target failed (see the error columns)" in summary
    # 4 distinct input strings; the exact repeat and the other spelling are the 2 duplicates
    assert "  targets   4 distinct: 3 ok, 1 failed (1 invalid), 2 duplicate inputs" in summary


def test_every_target_answered_is_exit_0_and_jsonl_has_one_object_per_line(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "t.txt").write_text("cnn.com\nbbc.co.uk\n", encoding="utf-8")
    done = run(capsys, *job(api, "backlinks", "t.txt", "-o", "out.jsonl", "--quiet"))
    assert done.code == 0, done.err
    assert done.err == ""  # --quiet: nothing on stderr for a job that finished
    lines = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    assert sorted(json.loads(line)["target"] for line in lines) == ["bbc.co.uk", "cnn.com"]
    for line in lines:
        row = json.loads(line)
        assert row == {"target": row["target"], "backlinks": backlinks(row["target"])}


def test_jsonl_failure_rows_carry_the_error_fields(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "t.txt").write_text("not a domain\n", encoding="utf-8")
    done = run(capsys, *job(api, "backlinks", "t.txt", "-o", "-", "--format", "jsonl", "--quiet"))
    assert done.code == 1
    [row] = [json.loads(line) for line in done.out.splitlines()]
    assert row["target"] == "not a domain" and row["error_kind"] == "invalid"
    assert row["error_code"] is None and row["error_reason"]
    assert set(row) == {"target", "error_kind", "error_code", "error_reason"}
    assert api.calls() == 0  # an invalid target is never sent


def test_a_csv_column_with_a_bom_quoted_and_blank_cells(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = 'domain,note\ncnn.com,"a, b"\n,blank\n"bbc.co.uk","line\nbreak"\n'
    (tmp_path / "t.csv").write_bytes(b"\xef\xbb\xbf" + text.encode())
    done = run(capsys, *job(api, "backlinks", "t.csv", "--column", "domain", "-o", "out.csv"))
    assert done.code == 0, done.err
    body = rows(tmp_path / "out.csv")[1:]
    assert sorted(row[0] for row in body) == ["bbc.co.uk", "cnn.com"]


def test_a_line_that_is_not_utf8_is_an_invalid_row_and_the_job_goes_on(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "t.txt").write_bytes(b"cnn.com\ncaf\xe9.com\nb\\ad\xff.com\ncaf\xe9.com\n")
    done = run(capsys, *job(api, "backlinks", "t.txt", "-o", "out.csv"))
    assert done.code == 1
    by_target = {row[0]: row for row in rows(tmp_path / "out.csv")[1:]}
    assert by_target["caf\\xe9.com"][2:] == ["invalid", "", "not valid UTF-8 (line 2)"]
    assert by_target["b\\\\ad\\xff.com"][2:] == ["invalid", "", "not valid UTF-8 (line 3)"]
    assert by_target["cnn.com"][1] == str(backlinks("cnn.com"))
    assert len(by_target) == 3
    assert "  targets   3 distinct: 1 ok, 2 failed (2 invalid), 1 duplicate inputs" in done.err.splitlines()


def test_the_dry_run_counts_what_the_job_would_send_and_cost(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "t.txt").write_text(LINES + "".join(f"site{i}.com\n" for i in range(2500)), encoding="utf-8")
    done = run(capsys, "backlinks", "t.txt", "--dry-run", "--chunk-size", "1000", "--rate", "100/30")
    assert done.code == 0, done.err
    assert done.out.splitlines()[:6] == [
        "dry run (no calls made):",
        "  targets   2,504 distinct inputs: 2,502 to send, 1 invalid, 2 duplicate",
        "  rows      2,503 ok, 1 failed if every call succeeds",
        "  calls     3 of at most 1000 targets",
        f"  cost      ${3 * 0.02 + 2502 * 0.00003:.4f} estimated (without retries)",
        "  time      at least 0.6 s at 100/30s (more if latency binds at 30 in flight)",
    ]


def test_max_cost_stops_with_a_partial_file_and_the_rerun_pays_nothing_twice(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    targets = [f"site{i}.com" for i in range(5)]
    (tmp_path / "t.txt").write_text("\n".join(targets) + "\n", encoding="utf-8")
    (tmp_path / "out.csv").write_text("an older run\n", encoding="utf-8")
    resume = ["--checkpoint", "job.sqlite", "--chunk-size", "1", "--concurrency", "1", "-o", "out.csv"]
    # Each call costs up to $0.02003: $0.05 lets two go out, never a third.
    stopped = run(capsys, *job(api, "backlinks", "t.txt", *resume, "--max-cost", "0.05"))
    assert stopped.code == 2
    assert (
        "aborted: budget reached: $0.04006 spent or held by calls in flight, of --max-cost 0.05"
        in stopped.err
    )
    assert (tmp_path / "out.csv").read_text(encoding="utf-8") == "an older run\n"
    partial = rows(tmp_path / "out.partial.csv")[1:]
    assert [row[0] for row in partial if row[1]] == targets[:2]  # the two answers paid for
    assert {row[2] for row in partial if not row[1]} <= {"aborted"}
    assert "2 answered rows kept in" in stopped.err
    assert api.calls() == 2

    dry = run(capsys, "backlinks", "t.txt", "--dry-run", "--checkpoint", "job.sqlite", "--chunk-size", "1")
    assert (
        "  targets   5 distinct inputs: 3 to send, 2 answered from the checkpoint, 0 invalid, 0 duplicate"
        in (dry.out.splitlines())
    )

    again = run(capsys, *job(api, "backlinks", "t.txt", *resume, "--max-cost", "0.05"))
    assert again.code == 2
    partial = rows(tmp_path / "out.partial-2.csv")[1:]
    assert sorted(row[0] for row in partial if row[1]) == targets[:4]  # two from the checkpoint, two bought
    assert api.calls() == 4

    finished = run(capsys, *job(api, "backlinks", "t.txt", *resume, "--max-cost", "1"))
    assert finished.code == 0, finished.err
    body = rows(tmp_path / "out.csv")[1:]
    assert sorted(row[0] for row in body) == targets
    assert all(row[1] == str(backlinks(row[0])) for row in body)
    assert api.ledger.charged_counts() == dict.fromkeys(targets, 1)
    assert "4 targets answered from the checkpoint" in finished.err


def test_refused_credentials_stop_the_job_in_one_line_and_leave_the_output(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "t.txt").write_text("cnn.com\n", encoding="utf-8")
    (tmp_path / "out.csv").write_text("kept\n", encoding="utf-8")
    argv = ["backlinks", "t.txt", "-o", "out.csv", "--base-url", api.url, "--login", DEFAULT_LOGIN]
    done = run(capsys, *argv, "--password", "wrong-password")
    assert done.code == 2
    [line] = [line for line in done.err.splitlines() if line.startswith("dataforseo-bulk: aborted")]
    assert line.startswith("dataforseo-bulk: aborted: the API refused the account: ")
    assert line.endswith("(see docs/errors.md for this code)")
    assert "wrong-password" not in done.err
    assert (tmp_path / "out.csv").read_text(encoding="utf-8") == "kept\n"
    assert not list(tmp_path.glob("out.partial*"))


def test_a_wrong_base_url_path_names_the_address_called(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "t.txt").write_text("cnn.com\n", encoding="utf-8")
    argv = ["backlinks", "t.txt", "--quiet", "--no-balance-check", "--login", DEFAULT_LOGIN]
    done = run(capsys, *argv, "--password", DEFAULT_PASSWORD, "--base-url", api.url + "/wrong")
    assert done.code == 2
    assert f"no such API endpoint at {api.url}/wrong/v3/backlinks/bulk_backlinks/live: check --base-url" in (
        done.err
    )


def test_the_demo_checks_every_count_and_shows_a_sample(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    done = run(capsys, "demo", "--targets", "1000", "--latency-ms", "0", "--quiet", "-o", "demo.csv")
    assert done.code == 0, done.err
    err = done.err.splitlines()
    assert "verified: every count equals the emulator's documented value" in err
    assert (
        "the 1 target reported invalid were planted by the demo on purpose, e.g. 'not a target 999': "
        "contains a space at position 4: remove it (a target has no whitespace, control or invisible "
        "characters inside; write a space in a URL as %20)"
    ) in err
    assert not any(line.startswith("progress:") for line in err)  # --quiet
    assert "results: demo.csv" in err
    sample = err[err.index("sample rows:") + 1 :][:5]
    assert sample[0] == "  " + ",".join(HEADER)
    assert len(sample) == 5 and sample[4].startswith("  not a target 999,,invalid,,")
    assert all(not line.startswith("  not a target") for line in sample[1:4])
    body = rows(tmp_path / "demo.csv")[1:]
    assert len(body) == 1000  # one row per input, the other spellings and the planted one included


@pytest.mark.parametrize(
    ("text", "rate"),
    [("2000", (2000, 60.0)), ("100/30", (100, 30.0)), ("1/0.5", (1, 0.5))],
)
def test_rate_is_calls_a_minute_or_calls_per_seconds(text: str, rate: tuple[int, float]) -> None:
    assert parse_rate(text) == rate


#: Messages docs/cli.md quotes word for word.
QUOTED = [
    pytest.param(
        ["backlinks", "t.txt"],
        "dataforseo-bulk: no API credentials: set DATAFORSEO_LOGIN and DATAFORSEO_PASSWORD "
        "(from https://app.dataforseo.com/api-access), or give --login and --password",
        id="no-credentials",
    ),
    pytest.param(
        ["backlinks", "t.txt", "--login", "you@example.com"],
        "dataforseo-bulk: no API password for login 'you@example.com': set DATAFORSEO_PASSWORD "
        "(from https://app.dataforseo.com/api-access), or give --password",
        id="login-only",
    ),
    pytest.param(
        ["backlinks", "t.txt", "--password", "pw"],
        "dataforseo-bulk: no API login to go with the password: set DATAFORSEO_LOGIN, or give --login",
        id="password-only",
    ),
    pytest.param(
        ["backlinks", "t.txt", "-o", "out.txt"],
        "dataforseo-bulk: -o out.txt: its suffix '.txt' is not a known output format; "
        "name the file .csv or .jsonl, or pass --format csv|jsonl",
        id="output-suffix",
    ),
    pytest.param(
        ["backlinks", "t.txt", "-o", "out"],
        "dataforseo-bulk: -o out: it has no suffix, which is not a known output format; "
        "name the file .csv or .jsonl, or pass --format csv|jsonl",
        id="output-no-suffix",
    ),
    pytest.param(
        ["backlinks", "t.txt", "-o", "sub/"],
        "dataforseo-bulk: -o sub/: that is a directory; give a file, e.g. -o sub/out.csv",
        id="output-directory",
    ),
    pytest.param(
        ["backlinks", "t.txt", "-o", "t.txt"],
        "dataforseo-bulk: -o 't.txt' is the input ('t.txt'): give another file name",
        id="output-is-input",
    ),
    pytest.param(
        ["backlinks", "t.txt", "--checkpoint", "t.txt"],
        "dataforseo-bulk: --checkpoint 't.txt' is the input ('t.txt'): give another file name",
        id="checkpoint-is-input",
    ),
    pytest.param(
        ["backlinks", "t.txt", "-o", "job.csv", "--checkpoint", "job.csv"],
        "dataforseo-bulk: -o 'job.csv' is the checkpoint ('job.csv'): give another file name",
        id="output-is-checkpoint",
    ),
    pytest.param(
        ["demo", "-o", "x.txt"],
        "dataforseo-bulk: -o x.txt: its suffix '.txt' is not a known output format; "
        "name the file .csv (the demo writes CSV)",
        id="demo-output",
    ),
    pytest.param(
        ["backlinks", "t.txt", "--rate", "fast"],
        "--rate 'fast': give calls a minute (2000) or N/SECONDS (2000/60)",
        id="rate-text",
    ),
    pytest.param(
        ["backlinks", "t.txt", "--rate", "0"], "--rate '0': both numbers must be positive", id="rate-0"
    ),
    pytest.param(
        ["backlinks", "t.txt", "--rate", "5/0"], "--rate '5/0': both numbers must be positive", id="period-0"
    ),
    pytest.param(
        ["backlinks", "t.txt", "--timeout", "-1"],
        "--timeout -1: give seconds greater than 0, e.g. --timeout 60",
        id="timeout",
    ),
    pytest.param(
        ["backlinks", "t.txt", "--timeout", "nan"],
        "--timeout nan: give seconds greater than 0",
        id="timeout-nan",
    ),
    pytest.param(
        ["demo", "--targets", "0"], "--targets 0: give a whole number ≥ 1, e.g. --targets 1000", id="targets"
    ),
    pytest.param(
        ["demo", "--targets", "1.5"], "--targets 1.5: give a whole number ≥ 1", id="targets-fraction"
    ),
    pytest.param(
        ["demo", "--latency-ms", "-0.5"],
        "--latency-ms -0.5: give a number ≥ 0, e.g. --latency-ms 40",
        id="latency",
    ),
    pytest.param(
        ["backlinks", "missing.txt", "--login", "a", "--password", "b"],
        "dataforseo-bulk: cannot read input 'missing.txt': No such file or directory",
        id="missing-input",
    ),
]


@pytest.mark.parametrize(("argv", "says"), QUOTED)
def test_the_messages_the_docs_quote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    (tmp_path / "t.txt").write_text("cnn.com\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    done = run(capsys, *argv, "--base-url", "http://127.0.0.1:9") if argv[0] != "demo" else run(capsys, *argv)
    assert done.code == 2
    assert says in done.err.splitlines() or says in done.err, done.err
    assert not (tmp_path / "out.txt").exists() and not (tmp_path / "x.txt").exists()


# endpoints.md: bulk_pages_summary takes at most 100 root domains a call, however long the input
# (cut while the input is still being read, not only at its end).
def test_pages_summary_never_sends_more_than_100_root_domains_a_call(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    targets = [f"site{i}.co.uk" for i in range(1500)]  # 1500 root domains
    (tmp_path / "t.txt").write_text("\n".join(targets) + "\n", encoding="utf-8")
    done = run(capsys, *job(api, "pages-summary", "t.txt", "-o", "out.csv", "--quiet"))
    assert done.code == 0, done.err
    assert [call.targets for call in api.ledger.calls()] == [100] * 15
    assert sorted(row[0] for row in rows(tmp_path / "out.csv")[1:]) == sorted(targets)


# --- the dry run (docs/cli.md: "checks the files as the job would"; what is left to send) ------
def test_a_dry_run_of_one_call_takes_no_time_and_checks_the_output_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "t.txt").write_text("cnn.com\n", encoding="utf-8")
    done = run(capsys, "backlinks", "t.txt", "--dry-run", "-o", "out.txt", "--format", "jsonl")
    assert done.code == 0, done.err
    assert (
        "  time      at least 0.0 s at 2000/60s (more if latency binds at 30 in flight)"
        in done.out.splitlines()
    )
    assert not (tmp_path / "out.txt").exists()  # made to check the place, and thrown away
    slow = run(capsys, "backlinks", "t.txt", "--dry-run", "--rate", "10/60")
    assert (
        "  time      at least 0.0 s at 10/60s (more if latency binds at 30 in flight)"
        in slow.out.splitlines()
    )
    no_cache = run(capsys, "backlinks", "t.txt", "--dry-run", "--max-age", "1d")
    assert no_cache.code == 2 and "--max-age" in no_cache.err  # as the real run would refuse it
    refused = run(capsys, "backlinks", "t.txt", "--dry-run", "-o", "no-such-dir/out.csv")
    assert refused.code == 2
    assert refused.err.startswith("dataforseo-bulk: cannot write output 'no-such-dir/out.csv': ")


def test_a_dry_run_counts_a_csv_column_undecodable_cells_and_repeats(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        b"id,domain\n1,cnn.com\n2,caf\xe9.com\n3,not a domain\n4,also not\n5,cnn.com\n6,CNN.com\n7,bbc.com\n"
    )
    (tmp_path / "t.csv").write_bytes(text + b"8,caf\xe9.com\n9,bbc.com\n")
    done = run(capsys, "backlinks", "t.csv", "--column", "domain", "--dry-run")
    assert done.code == 0, done.err
    assert done.out.splitlines()[1:3] == [
        "  targets   6 distinct inputs: 2 to send, 3 invalid, 4 duplicate",
        "  rows      3 ok, 3 failed if every call succeeds",
    ]


def test_a_dry_run_on_a_checkpoint_of_more_than_one_lookup_counts_all_of_it(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    targets = [f"site{i}.com" for i in range(1000)]
    (tmp_path / "first.txt").write_text("\n".join(targets) + "\n", encoding="utf-8")
    # what is left to send comes first: the lookups go 900 targets at a time
    (tmp_path / "t.txt").write_text("\n".join(["a.com", "b.com", *targets]) + "\n", encoding="utf-8")
    first = run(capsys, *job(api, "backlinks", "first.txt", "--checkpoint", "job.sqlite", "-o", "o.csv"))
    assert first.code == 0, first.err
    done = run(capsys, "backlinks", "t.txt", "--dry-run", "--checkpoint", "job.sqlite")
    assert done.out.splitlines()[1:4] == [
        "  targets   1,002 distinct inputs: 2 to send, 1,000 answered from the checkpoint, "
        "0 invalid, 0 duplicate",
        "  rows      1,002 ok, 0 failed if every call succeeds",
        "  calls     1 of at most 1000 targets",
    ]


def test_a_dry_run_of_pages_summary_counts_calls_of_100_root_domains(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "t.txt").write_text("".join(f"site{i}.co.uk\n" for i in range(250)), encoding="utf-8")
    done = run(capsys, "pages-summary", "t.txt", "--dry-run")
    assert "  calls     3 of at most 1000 targets" in done.out.splitlines()


def test_a_dry_run_with_credentials_says_whether_the_job_fits_the_balance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "t.txt").write_text("".join(f"site{i}.com\n" for i in range(1500)), encoding="utf-8")
    ledger = Ledger(tmp_path / "ledger.sqlite")
    config = EmulatorConfig(balance_usd=0.05)
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(serve(config, ledger=ledger)) as url,
    ):
        done = run(capsys, *job(Api(url, ledger), "backlinks", "t.txt", "--dry-run"))
        refused = run(capsys, *job(Api(url, ledger), "backlinks", "t.txt", "-o", "out.csv"))
    cost = 2 * 0.02 + 1500 * 0.00003
    assert done.code == 0, done.err
    assert (
        f"  fits      NO: up to ${cost:.4f} but the balance is $0.0500; "
        "the job would be refused before any paid call" in done.out.splitlines()
    )
    assert refused.code == 2
    assert (
        f"dataforseo-bulk: aborted: not started: the job is estimated at up to ${cost:.5f} and the account's "
        "balance is $0.05000. Add funds, split the input, or pass --no-balance-check"
    ) in refused.err.splitlines()
    assert not (tmp_path / "out.csv").exists() and ledger.calls() == []
    ledger.close()


def test_a_dry_run_with_a_cache_counts_what_the_cache_answers(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "first.txt").write_text("cnn.com\nbbc.com\n", encoding="utf-8")
    (tmp_path / "t.txt").write_text("cnn.com\nbbc.com\nfoo.com\n", encoding="utf-8")
    cache = ["--cache", "cache.sqlite", "--max-age", "1d"]
    assert run(capsys, *job(api, "backlinks", "first.txt", *cache, "-o", "o.csv")).code == 0
    done = run(capsys, "backlinks", "t.txt", "--dry-run", *cache, "--base-url", api.url)
    assert done.code == 0, done.err
    lines = done.out.splitlines()
    assert "  targets   3 distinct inputs: 1 to send, 0 invalid, 0 duplicate" in lines
    assert any(line.startswith("  cache     2 targets answered from the cache") for line in lines)
    assert f"  cost      ${0.02 + 0.00003:.4f} estimated (without retries)" in lines


# --- the demo (docs/cli.md: "a 100,000-target job against the emulator, every count checked") -----
def test_the_demo_says_what_it_does_and_writes_to_a_temporary_file_without_o(
    capsys: pytest.CaptureFixture[str],
) -> None:
    done = run(capsys, "demo", "--targets", "1000", "--latency-ms", "0")
    assert done.code == 0, done.err
    err = done.err.splitlines()
    assert err[0] == "starting the DataForSEO emulator on loopback; 1,000 targets"
    assert any(line.startswith("progress: ") and "/1,000 targets" in line for line in err)
    [results] = [line for line in err if line.startswith("results: ")]
    output = Path(results.removeprefix("results: "))
    assert output.name == "backlinks.csv" and output.parent.name.startswith("dataforseo-bulk-demo-")
    lines = output.read_text(encoding="utf-8").splitlines()
    answered = [line for line in lines[1:] if not line.startswith("not a target")]
    planted = [line for line in lines if line.startswith("not a target 999,")]
    sample = err[err.index("sample rows:") + 1 :][:5]
    assert sample == ["  " + line for line in [lines[0], *answered[:3], *planted]]


def test_the_demo_says_when_a_count_differs_from_the_emulators_value(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataforseo_bulk.emulator as emulator

    wrong = {"site1.example.org", "site2.example.com", "site5.example.com", "site8.example.com"}
    real = emulator.expected_backlinks
    monkeypatch.setattr(emulator, "expected_backlinks", lambda t: real(t) + (t.removeprefix("www.") in wrong))
    done = run(capsys, "demo", "--targets", "10", "--latency-ms", "0", "--quiet", "-o", "demo.csv")
    assert done.code == 2
    [line] = [line for line in done.err.splitlines() if line.startswith("MISMATCH")]
    assert line.startswith("MISMATCH: 4 counts differ from the emulator's values, e.g. [")
    assert line.count("example") == 3
    assert "verified" not in done.err
    err = done.err.splitlines()  # no target planted in 10: the sample is the file's first rows
    lines = Path("demo.csv").read_text(encoding="utf-8").splitlines()
    assert err[err.index("sample rows:") + 1 :][:4] == ["  " + line for line in lines[:4]]


# --- options (docs/cli.md quotes the --date-from message) ------------------------------------
@pytest.mark.parametrize(
    ("day", "problem"),
    [
        ("2001-01-01", "is more than a year ago"),
        ("2099-01-01", "is in the future (today is {today} in UTC)"),
        ("20260101", "is not a day as YYYY-MM-DD"),
        ("2026-13-01", "is not a day as YYYY-MM-DD"),
    ],
)
def test_date_from_says_what_is_wrong_with_the_day(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], day: str, problem: str
) -> None:
    from dataforseo_bulk.params import earliest_date_from, utc_today

    (tmp_path / "t.txt").write_text("cnn.com\n", encoding="utf-8")
    today = utc_today()
    done = run(capsys, "new-lost-backlinks", "t.txt", "--date-from", day)
    assert done.code == 2
    expected = (
        f"--date-from {day} {problem.format(today=today)}: give a day as YYYY-MM-DD from "
        f"{earliest_date_from(today)} to {today} (UTC; the API keeps one year of new and lost data)"
    )
    assert expected in done.err


def test_a_base_url_nobody_answers_is_one_line_nothing_billed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "t.txt").write_text("cnn.com\n", encoding="utf-8")
    argv = ["backlinks", "t.txt", "--quiet", "--no-balance-check", "--max-retries", "0", "--login", "a"]
    done = run(capsys, *argv, "--password", "b", "--base-url", "http://127.0.0.1:9")
    assert done.code == 2
    [line] = done.err.splitlines()
    assert line.startswith("dataforseo-bulk: aborted: no call reached the API, nothing was sent or billed: ")
    assert line.endswith(". Check --base-url, the network and any proxy settings (HTTPS_PROXY, ...)")


# --- outputs and inputs ----------------------------------------------------------------------
def test_jsonl_keeps_non_ascii_targets_as_text(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "t.txt").write_text("bücher.de\nbü cher.de\n", encoding="utf-8")
    done = run(capsys, *job(api, "backlinks", "t.txt", "-o", "out.jsonl", "--quiet"))
    assert done.code == 1
    text = (tmp_path / "out.jsonl").read_text(encoding="utf-8")
    assert '"target": "bücher.de"' in text and '"target": "bü cher.de"' in text


@pytest.mark.parametrize(
    ("header", "says"),
    [
        ("id,url", "--column 'domain' is not in the CSV header (id, url)"),
        (
            "id;url",
            "--column 'domain' is not in the CSV header (id;url); the file looks ';'-separated: "
            "save it with commas, or give one target per line",
        ),
    ],
)
def test_a_column_not_in_the_header_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], header: str, says: str
) -> None:
    (tmp_path / "t.csv").write_text(f"{header}\n1,cnn.com\n", encoding="utf-8")
    done = run(capsys, "backlinks", "t.csv", "--column", "domain", "--dry-run")
    assert done.code == 2
    assert done.err.splitlines() == [f"dataforseo-bulk: {says}"]


# docs/cli.md: a row whose text holds a bare carriage return is quoted, so a CSV reader reads it
# back as one row (the csv module quotes "\n" but not a lone "\r").
def test_a_target_with_a_carriage_return_is_one_csv_row(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "t.txt").write_bytes(b"cnn.com\na\rb.com\n")
    done = run(capsys, *job(api, "backlinks", "t.txt", "-o", "out.csv", "--quiet"))
    assert done.code == 1
    with (tmp_path / "out.csv").open(encoding="utf-8", newline="") as handle:
        body = list(csv.reader(handle))[1:]
    assert sorted(row[0] for row in body) == ["a\rb.com", "cnn.com"]
    assert {row[0]: row[2] for row in body} == {"cnn.com": "", "a\rb.com": "invalid"}


# docs/cli.md, "The balance": a file's distinct lines are held against the balance before the job
# (with --quiet too, which does not count them for a bar); not when a checkpoint or a cache may
# answer part of it for free: the job then stops at the balance like --max-cost.
@pytest.mark.parametrize(
    "free",
    [[], ["--checkpoint", "job.sqlite"], ["--cache", "cache.sqlite", "--max-age", "1d"]],
    ids=["sized", "checkpoint", "cache"],
)
def test_the_balance_is_checked_before_the_job_unless_part_may_be_free(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], free: list[str]
) -> None:
    (tmp_path / "one.txt").write_text("cnn.com\n", encoding="utf-8")
    (tmp_path / "t.txt").write_text("".join(f"site{i}.com\n" for i in range(1500)), encoding="utf-8")
    ledger = Ledger(tmp_path / "ledger.sqlite")
    config = EmulatorConfig(balance_usd=0.05)
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(serve(config, ledger=ledger)) as url,
    ):
        api = Api(url, ledger)
        first = run(capsys, *job(api, "backlinks", "one.txt", *free, "-o", "one.csv", "--quiet"))
        assert first.code == 0, first.err  # $0.02003 paid: $0.02997 left
        done = run(capsys, *job(api, "backlinks", "t.txt", *free, "-o", "out.csv", "--quiet"))
    assert done.code == 2
    [line] = done.err.splitlines()
    if free:
        assert line.startswith("dataforseo-bulk: aborted: balance reached: $0.00000 spent")
    else:
        estimate = 2 * 0.02 + 1500 * 0.00003
        assert line.startswith(
            f"dataforseo-bulk: aborted: not started: the job is estimated at up to ${estimate:.5f}"
        )
    assert len(ledger.calls()) == 1 and not (tmp_path / "out.csv").exists()
    ledger.close()


# --- what the command says on stderr (docs/cli.md, "Progress") ----------------------------------
def test_progress_counts_against_the_files_targets_and_the_summary_says_done(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "t.csv").write_text("domain\ncnn.com\nbbc.com\n", encoding="utf-8")
    done = run(capsys, *job(api, "backlinks", "t.csv", "--column", "domain", "-o", "out.csv"))
    assert done.code == 0, done.err
    err = done.err.splitlines()
    assert any(line.startswith("progress: ") and " 2/2 targets " in line for line in err), err
    assert "done" in err
    assert "  targets   2 distinct: 2 ok, 0 failed (0 invalid), 0 duplicate inputs" in err


@pytest.mark.parametrize("quiet", [True, False], ids=["quiet", "progress"])
def test_an_empty_input_writes_the_header_and_says_no_targets(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str], quiet: bool
) -> None:
    (tmp_path / "t.txt").write_text("# nothing yet\n\n", encoding="utf-8")
    done = run(capsys, *job(api, "backlinks", "t.txt", "-o", "out.csv", *(["--quiet"] if quiet else [])))
    assert done.code == 0, done.err
    assert (tmp_path / "out.csv").read_text(encoding="utf-8") == ",".join(HEADER) + "\n"
    if quiet:
        assert done.err.splitlines() == ["dataforseo-bulk: no targets in the input"]
    else:
        assert "no targets in the input" in done.err.splitlines()
    assert api.calls() == 0


def test_a_csv_of_failures_only_has_the_endpoints_columns(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "t.txt").write_text("not a domain\n", encoding="utf-8")
    done = run(capsys, *job(api, "ranks", "t.txt", "-o", "out.csv", "--quiet"))
    assert done.code == 1
    assert rows(tmp_path / "out.csv")[0] == ["target", "rank", "error_kind", "error_code", "error_reason"]


def test_library_warnings_are_cli_lines_on_stderr(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "t.txt").write_text("cnn.com\n", encoding="utf-8")
    done = run(capsys, *job(api, "backlinks", "t.txt", "-o", "out.csv", "--quiet", "--concurrency", "40"))
    assert done.code == 0, done.err
    assert done.out == ""
    [warning] = done.err.splitlines()
    assert warning.startswith("dataforseo-bulk: warning: 40 calls at once is more than the 30 the API allows")


def test_a_base_url_that_is_not_https_says_how_to_fix_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "t.txt").write_text("cnn.com\n", encoding="utf-8")
    done = run(capsys, "backlinks", "t.txt", "--base-url", "ftp://x")
    assert done.code == 2
    assert done.err.splitlines()[-1].endswith(
        "argument --base-url: --base-url ftp://x: give an https:// URL, e.g. 'https://api.dataforseo.com'"
    )


# docs/cli.md: --date-from is the endpoint's parameter; a checkpoint belongs to one job (endpoint
# and parameters), so a rerun with another day is refused before any call.
def test_date_from_is_part_of_the_job_its_checkpoint_holds(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from dataforseo_bulk.params import utc_today

    (tmp_path / "t.txt").write_text("cnn.com\n", encoding="utf-8")
    today = utc_today()
    first = ["--checkpoint", "job.sqlite", "-o", "out.csv", "--quiet", "--date-from"]
    done = run(capsys, *job(api, "new-lost-backlinks", "t.txt", *first, str(today)))
    assert done.code == 0, done.err
    again = run(capsys, *job(api, "new-lost-backlinks", "t.txt", *first, str(today - dt.timedelta(days=7))))
    assert again.code == 2
    [line] = again.err.splitlines()
    assert line.startswith("dataforseo-bulk: checkpoint 'job.sqlite' belongs to another job (")
    assert line.endswith(". Rerun with the options it was made with, or give a new checkpoint file.")
    assert api.calls() == 1


def test_an_sqlite_file_of_something_else_is_not_taken_for_a_checkpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlite3

    (tmp_path / "t.txt").write_text("cnn.com\n", encoding="utf-8")
    with contextlib.closing(sqlite3.connect(tmp_path / "notes.sqlite")) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
        db.commit()
    before = (tmp_path / "notes.sqlite").read_bytes()
    done = run(capsys, "backlinks", "t.txt", "--dry-run", "--checkpoint", "notes.sqlite")
    assert done.code == 2
    assert done.err.splitlines() == [
        "dataforseo-bulk: 'notes.sqlite' is an SQLite file of something else (tables ['notes']), "
        "not a dataforseo-bulk checkpoint: give a new file name"
    ]
    assert (tmp_path / "notes.sqlite").read_bytes() == before


# docs/cli.md: a dry run with a checkpoint that does not exist yet checks that the real run could
# make it, and leaves nothing behind.
def test_a_dry_run_checks_a_new_checkpoints_place_and_leaves_no_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "t.txt").write_text("cnn.com\n", encoding="utf-8")
    done = run(capsys, "backlinks", "t.txt", "--dry-run", "--checkpoint", "job.sqlite")
    assert done.code == 0, done.err
    assert (
        "  targets   1 distinct inputs: 1 to send, 0 answered from the checkpoint, 0 invalid, 0 duplicate"
        in (done.out.splitlines())
    )
    assert not (tmp_path / "job.sqlite").exists()
    refused = run(capsys, "backlinks", "t.txt", "--dry-run", "--checkpoint", "no-such-dir/job.sqlite")
    assert refused.code == 2
    assert refused.err.splitlines() == [
        "dataforseo-bulk: checkpoint 'no-such-dir/job.sqlite': the directory 'no-such-dir' does not exist; "
        "create it or give a path in an existing directory"
    ]
