"""docs/cli.md promises found untested by the audit of issue 16 (docs/testing.md's tables): the
command in this process (``run_cli``) against the emulator on loopback."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from dataforseo_bulk.emulator import answers_null, expected_backlinks

from .conftest import Emulator, csv_rows, jsonl_rows, run_cli

pytestmark = pytest.mark.loopback


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert "Traceback" not in done.stderr
    return lines[-1]


# docs/cli.md: "`--sandbox` and `--base-url` exclude each other" (a usage error: exit 2, before
# anything is read or sent).
def test_sandbox_and_base_url_exclude_each_other(emulator: Emulator, tmp_path: Path) -> None:
    source = tmp_path / "targets.txt"
    source.write_text("cnn.com\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    done = run_cli("backlinks", str(source), "-o", str(out), "--sandbox", "--base-url", emulator.url)
    assert "argument --base-url: not allowed with argument --sandbox" in one_line(done)
    assert not out.exists() and emulator.calls() == []


# docs/cli.md: "an input with a NUL byte in its first 8 KiB (a program, an archive, a UTF-16
# file as Windows "Unicode text" writes it) stops the command before anything is written:
# input 'x' is not a text file (...): give one target per line, in UTF-8".
def test_a_utf16_input_is_not_a_text_file_and_nothing_is_written(emulator: Emulator, tmp_path: Path) -> None:
    source = tmp_path / "targets.txt"
    source.write_text("cnn.com\nbbc.com\n", encoding="utf-16")
    out = tmp_path / "out.csv"
    before = calls_so_far(emulator)
    done = run_cli("backlinks", str(source), "-o", str(out), "--base-url", emulator.url)
    line = one_line(done)
    assert line.startswith(f"dataforseo-bulk: input {str(source)!r} is not a text file (")
    assert line.endswith("): give one target per line, in UTF-8")
    assert not out.exists() and calls_so_far(emulator) == before


def test_a_nul_byte_only_after_the_first_8_kib_is_one_invalid_line(
    emulator: Emulator, tmp_path: Path
) -> None:
    targets = [f"site{i}.example.com" for i in range(600)]  # over 8 KiB of lines
    text = "\n".join(targets) + "\n"
    assert len(text.encode()) > 8192
    source = tmp_path / "targets.txt"
    source.write_bytes(text.encode() + b"bad\0.com\n")
    out = tmp_path / "out.csv"
    done = run_cli("backlinks", str(source), "-o", str(out), "--base-url", emulator.url, "--quiet")
    assert done.returncode == 1, done.stderr  # some targets failed: the one with the NUL
    rows = {row["target"]: row for row in csv_rows(out.read_text(encoding="utf-8"))}
    assert len(rows) == 601
    assert all(rows[t]["backlinks"] == str(expected_backlinks(t)) for t in targets)
    assert [row["error_kind"] for t, row in rows.items() if t not in targets] == ["invalid"]


def calls_so_far(emulator: Emulator) -> int:
    return len(emulator.calls())


# docs/errors.md: "A null value in an item ... is not a failure ... Such a target counts in
# stats.ok, is written with an empty cell (CSV) or null (JSONL)"; README: exit 0 "every target
# answered".
@pytest.mark.parametrize("suffix", ["csv", "jsonl"])
def test_a_null_count_is_an_empty_cell_or_a_json_null_and_the_run_succeeds(
    start_emulator: Callable[..., Emulator], tmp_path: Path, suffix: str
) -> None:
    emulator = start_emulator("--null-rate", "0.3")
    targets = [f"site{i}.example.com" for i in range(40)]
    nulls = {t for t in targets if answers_null(t, 0.3)}
    assert nulls and len(nulls) < len(targets)
    source = tmp_path / "targets.txt"
    source.write_text("\n".join(targets) + "\n", encoding="utf-8")
    out = tmp_path / f"out.{suffix}"
    done = run_cli("backlinks", str(source), "-o", str(out), "--base-url", emulator.url, "--quiet")
    assert done.returncode == 0, done.stderr
    text = out.read_text(encoding="utf-8")
    if suffix == "csv":
        rows = {row["target"]: row for row in csv_rows(text)}
        assert {t for t, row in rows.items() if row["backlinks"] == ""} == nulls
        assert all(row["error_kind"] == "" for row in rows.values())
    else:
        values = {row["target"]: row for row in jsonl_rows(text)}
        assert {t for t, row in values.items() if row["backlinks"] is None} == nulls
        assert all("backlinks" in row and row.get("error_kind") is None for row in values.values())
    assert len(emulator.calls()) == 1  # answered once: a null is an answer, never bought again


# docs/cli.md, Output: the example, byte for byte ("targets.txt held # my sites, cnn.com,
# https://www.apple.com/iphone/, '  www.Trustpilot.com', a blank line, bücher.de, cnn.com,
# CNN.com and not a domain; the numbers are the emulator's"); exit 1: a target failed
# (`invalid` included).
DOCUMENTED_ROWS = """target,backlinks,error_kind,error_code,error_reason
not a domain,,invalid,,"contains a space at position 4: remove it (a target has no whitespace, control or \
invisible characters inside; write a space in a URL as %20)"
www.Trustpilot.com,3284024,,,
cnn.com,9429432,,,
CNN.com,9429432,,,
https://www.apple.com/iphone/,45820022,,,
bücher.de,41260537,,,
"""


def test_the_documented_example_prints_the_documented_rows(emulator: Emulator, tmp_path: Path) -> None:
    source = tmp_path / "targets.txt"
    lines = ["# my sites", "cnn.com", "https://www.apple.com/iphone/", "  www.Trustpilot.com", ""]
    lines += ["bücher.de", "cnn.com", "CNN.com", "not a domain"]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = calls_so_far(emulator)
    done = run_cli("backlinks", str(source), "--base-url", emulator.url, "--quiet")
    assert done.returncode == 1, done.stderr
    assert done.stdout.replace("\r\n", "\n") == DOCUMENTED_ROWS
    assert calls_so_far(emulator) == before + 1  # one call: each target sent once


# docs/cli.md, "A budget": "aborted: budget reached: $1.00000 spent or held by calls in flight, of
# --max-cost 1; the next call could cost up to $0.05000. Raise --max-cost to go on (with the same
# --checkpoint nothing is paid twice)", exit 2, and "dataforseo-bulk: 20,000 answered rows kept
# in 'big.partial.csv'; 'big.csv' left as it was (rerun to finish the job)".
def test_the_budget_example_says_what_the_documentation_shows(emulator: Emulator, tmp_path: Path) -> None:
    source = tmp_path / "big.txt"
    source.write_text("".join(f"site{i}.example.com\n" for i in range(5000)), encoding="utf-8")
    out = tmp_path / "big.csv"
    out.write_text("old rows\n", encoding="utf-8")
    done = run_cli("backlinks", str(source), "-o", str(out), "--max-cost", "0.1", "--base-url", emulator.url)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert (
        "aborted: budget reached: $0.10000 spent or held by calls in flight, of --max-cost 0.1; the next "
        "call could cost up to $0.05000. Raise --max-cost to go on (with the same --checkpoint nothing "
        "is paid twice)"
    ) in lines
    partial = tmp_path / "big.partial.csv"
    assert lines[-1] == (
        f"dataforseo-bulk: 2,000 answered rows kept in {str(partial)!r}; {str(out)!r} left as it was "
        "(rerun to finish the job)"
    )
    assert out.read_text(encoding="utf-8") == "old rows\n"
    rows = csv_rows(partial.read_text(encoding="utf-8"))
    assert sum(1 for row in rows if row["backlinks"]) == 2000
    assert {row["error_kind"] for row in rows if not row["backlinks"]} == {"aborted"}


# docs/cli.md, the results cache: errors (exit 2, one line): "cache stats works on a cache file,
# not a Redis URL: ..." (a Redis cache expires its answers by itself); jobs.md: "cache stats and
# cache prune work on a file only: on a Redis URL they say so and exit 2".
@pytest.mark.parametrize("action", [["stats"], ["prune", "--older-than", "30d"]])
def test_cache_stats_and_prune_on_a_redis_url_say_so_in_one_line(action: list[str]) -> None:
    done = run_cli("cache", action[0], "redis://:secret@127.0.0.1:1/0", *action[1:], credentials=False)
    line = one_line(done)
    assert line.startswith(f"dataforseo-bulk: cache {action[0]} works on a cache file, not a Redis URL: ")
    assert len(done.stderr.strip().splitlines()) == 1 and "secret" not in done.stderr


# docs/endpoints.md (corrected by the audit: it showed the Python API's message): "$ dataforseo-bulk
# ranks targets.txt --rank-scale ten" -> the usage synopsis, then "dataforseo-bulk ranks: error:
# argument --rank-scale: invalid choice: 'ten' (choose from 'one_hundred', 'one_thousand')";
# docs/cli.md: a mistake in the command line is reported as argparse does it, exit 2.
def test_a_bad_rank_scale_is_argparses_usage_error(tmp_path: Path) -> None:
    source = tmp_path / "targets.txt"
    source.write_text("cnn.com\n", encoding="utf-8")
    done = run_cli("ranks", str(source), "--rank-scale", "ten")
    lines = one_line(done), done.stderr.splitlines()[0]
    assert lines[0] == (
        "dataforseo-bulk ranks: error: argument --rank-scale: invalid choice: 'ten' "
        "(choose from 'one_hundred', 'one_thousand')"
    )
    assert lines[1].startswith("usage: dataforseo-bulk ranks ")


# docs/emulator.md: "A bad value is a usage error (exit 2) naming the flag: --fault-rate 2 ->
# dataforseo-bulk emulate: error: argument --fault-rate: expected a probability from 0 to 1 such
# as 0.2; got '2'".
def test_the_emulators_bad_flag_message_word_for_word() -> None:
    done = run_cli("emulate", "--fault-rate", "2", credentials=False)
    assert one_line(done) == (
        "dataforseo-bulk emulate: error: argument --fault-rate: expected a probability from 0 to 1 "
        "such as 0.2; got '2'"
    )


# README / docs/cli.md: "Every exit other than 0 and 1 says why in one line ...; never a
# traceback" — an age past what a timedelta holds was an OverflowError traceback (fixed:
# cache.parse_age says it is too large).
@pytest.mark.parametrize(
    "argv",
    [
        ["backlinks", "-", "--dry-run", "--cache", "{dir}/c.sqlite", "--max-age", "99999999999d"],
        ["cache", "prune", "{dir}/c.sqlite", "--older-than", "99999999999d"],
    ],
    ids=["--max-age", "--older-than"],
)
def test_an_age_too_large_is_a_usage_error_not_a_traceback(tmp_path: Path, argv: list[str]) -> None:
    done = run_cli(*(arg.format(dir=tmp_path) for arg in argv), stdin="cnn.com\n", credentials=False)
    line = one_line(done)
    assert line.endswith("age '99999999999d' is too large: give at most 999999999d"), line
    assert list(tmp_path.iterdir()) == []


# docs/cli.md: "Every value is checked before anything is read or sent, by the same checks as the
# Python API" and "a dry run checks what the real run checks": --rate 5/inf and 5/nan passed the
# dry run ("at least nan s at 5/nans") while BulkClient refuses such a window (fixed).
@pytest.mark.parametrize("rate", ["5/inf", "5/nan", "5/1e400"])
def test_a_rate_window_that_is_not_finite_is_refused_by_the_dry_run_too(tmp_path: Path, rate: str) -> None:
    done = run_cli("backlinks", "-", "--dry-run", "--rate", rate, stdin="cnn.com\n", credentials=False)
    assert one_line(done).endswith(
        f"argument --rate: --rate {rate!r}: give the window in seconds as a finite number (2000/60)"
    )
    assert done.stdout == ""


# docs/emulator.md: "A bad value is a usage error (exit 2) naming the flag" — a port out of range
# and a ledger that cannot be opened were tracebacks (OverflowError from bind(), FileNotFoundError).
@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--port", "99999"], "argument --port: expected a port from 0 (any free one) to 65535; got '99999'"),
        (["--port", "-1"], "argument --port: expected a port from 0 (any free one) to 65535; got '-1'"),
        (["--port", "0", "--ledger", "{dir}"], "argument --ledger: cannot open '{dir}': "),
        (["--port", "0", "--ledger", "/proc/l.sqlite"], "argument --ledger: cannot open '/proc/l.sqlite': "),
    ],
    ids=["port too high", "port negative", "ledger a directory", "ledger where no file can be made"],
)
def test_the_emulators_port_and_ledger_are_usage_errors(tmp_path: Path, argv: list[str], says: str) -> None:
    done = run_cli("emulate", *(arg.format(dir=tmp_path) for arg in argv), credentials=False)
    line = one_line(done)
    assert line.startswith("dataforseo-bulk emulate: error: " + says.format(dir=tmp_path)), line
    assert list(tmp_path.iterdir()) == []


# README / docs/cli.md: "-o naming the input or the checkpoint, under any name, is refused before
# anything is opened" — a user's files are never destroyed by a run. The results cache is such a
# file: `-o results.sqlite --format csv` replaced the cache with the run's CSV rows (fixed: -o
# and --checkpoint naming the cache file are refused too).
@pytest.mark.parametrize("option", [["-o", "{cache}", "--format", "csv"], ["--checkpoint", "{cache}"]])
def test_output_or_checkpoint_naming_the_cache_file_is_refused_and_the_cache_kept(
    emulator: Emulator, tmp_path: Path, option: list[str]
) -> None:
    source = tmp_path / "targets.txt"
    source.write_text("cnn.com\nbbc.com\n", encoding="utf-8")
    cache = tmp_path / "results.sqlite"
    base = ["backlinks", str(source), "--base-url", emulator.url, "--quiet", "--cache", str(cache)]
    first = run_cli(*base, "--max-age", "1d", "-o", str(tmp_path / "first.csv"))
    assert first.returncode == 0, first.stderr
    kept = cache.read_bytes()
    calls = calls_so_far(emulator)
    done = run_cli(*base, "--max-age", "1d", *(arg.format(cache=cache) for arg in option))
    flag = option[0]
    assert one_line(done) == (
        f"dataforseo-bulk: {flag} {str(cache)!r} is the results cache ({str(cache)!r}): "
        "give another file name"
    )
    assert cache.read_bytes() == kept and calls_so_far(emulator) == calls


# docs/cli.md: "Every exit other than 0 and 1 says why in one line ...; never a traceback"; a
# target too long is an invalid row like any other. A CSV cell over the csv module's 128 KiB
# limit (in any column) ended the run in a `_csv.Error` traceback (fixed: no such limit).
def test_a_csv_cell_of_any_length_is_read(emulator: Emulator, tmp_path: Path) -> None:
    source = tmp_path / "sites.csv"
    long_target = "x" * 200_000 + ".com"
    notes = "n" * 200_000
    source.write_text(f"domain,notes\ncnn.com,{notes}\n{long_target},\nbbc.com,ok\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    argv = ["backlinks", str(source), "--column", "domain", "-o", str(out), "--base-url", emulator.url]
    done = run_cli(*argv, "--quiet")
    assert done.returncode == 1, done.stderr  # the long target is invalid: some target failed
    rows = {row["target"]: row for row in csv_rows(out.read_text(encoding="utf-8"))}
    assert rows["cnn.com"]["backlinks"] == str(expected_backlinks("cnn.com"))
    assert rows["bbc.com"]["backlinks"] == str(expected_backlinks("bbc.com"))
    assert rows[long_target]["error_kind"] == "invalid"


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ("emulate", "--login", "me:you"),
            "dataforseo-bulk emulate: error: login must be a non-empty string without ':' (Basic auth), "
            "got 'me:you'",
        ),
        (
            ("emulate", "--password", ""),
            "dataforseo-bulk emulate: error: password must be a non-empty string",
        ),
        (
            ("account",),
            "dataforseo-bulk: no API credentials: set DATAFORSEO_LOGIN and DATAFORSEO_PASSWORD "
            "(from https://app.dataforseo.com/api-access), or give --login and --password",
        ),
    ],
)
def test_credentials_missing_or_malformed_are_said_in_the_command_lines_words(
    args: tuple[str, ...], line: str
) -> None:
    done = run_cli(*args, credentials=False)
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == line
    assert "login=" not in done.stderr and "EmulatorConfig" not in done.stderr


def test_a_dry_run_without_credentials_says_what_to_set(tmp_path: Path) -> None:
    source = tmp_path / "t.txt"
    source.write_text("a.com\n")
    done = run_cli("backlinks", str(source), "--dry-run", credentials=False)
    assert done.returncode == 0, done.stderr
    assert (
        "  account   not read: no API credentials: set DATAFORSEO_LOGIN and DATAFORSEO_PASSWORD "
        "(from https://app.dataforseo.com/api-access), or give --login and --password"
    ) in (done.stdout + done.stderr).splitlines()
