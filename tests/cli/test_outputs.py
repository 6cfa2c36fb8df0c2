"""Files in, rows out: every distinct input target gets exactly one row, with the right value."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dataforseo_bulk.emulator import expected_backlinks
from dataforseo_bulk.targets import InvalidTarget, normalize_target

from .conftest import Emulator, csv_rows, jsonl_rows, run_cli

pytestmark = pytest.mark.loopback

COLUMNS = ["target", "backlinks", "error_kind", "error_code", "error_reason"]
INVALID = ["not a target", "ftp://ftp.example.com", "http://", "a..b.com", "localhost", "x.com:8080"]


def messy_lines() -> list[str]:
    """~20,000 lines: domains, subdomains, pages, IDNs, repeats, other spellings, padding, blank
    lines, comments and invalid targets."""
    lines = ["# targets for the test", "", "cnn.com", "  CNN.com ", "bücher.de", "cnn.com"]
    for i in range(17_000):
        kind = i % 4
        if kind == 0:
            lines.append(f"site{i}.example.com")
        elif kind == 1:
            lines.append(f"www.shop{i}.example.net")
        elif kind == 2:
            lines.append(f"https://site{i}.example.com/path/{i}?q=1")
        elif i % 40 == 3:
            lines.append(f"bücher{i}.de")  # an IDN, sent as punycode
        else:
            lines.append(f"blog.site{i}.example.co.uk")
        if i % 10 == 3:
            lines.append(lines[-1])  # an exact repeat: no extra row
        if i % 25 == 4:
            lines.append(f"  SITE{i - 4}.Example.COM\t")  # another spelling: its own row, same value
        if i % 50 == 5:
            lines += ["", f"# comment {i}", "   "]
        if i % 100 == 6:
            lines.append(INVALID[(i // 100) % len(INVALID)] + ("" if i < 600 else f" {i}"))
    # Late repeats, long after their first answer: still one row each, and never sent again.
    return lines + lines[:1000]


def expected_rows(lines: list[str]) -> dict[str, tuple[str, Any]]:
    """Caller's spelling (stripped) → ("ok", backlinks) or ("invalid", reason)."""
    expected: dict[str, tuple[str, Any]] = {}
    for line in lines:
        raw = line.strip()
        if not raw or raw.startswith("#") or raw in expected:
            continue
        target = normalize_target(raw)
        if isinstance(target, InvalidTarget):
            expected[raw] = ("invalid", target.reason)
        else:
            expected[raw] = ("ok", expected_backlinks(target))
    return expected


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def read_output(path: Path, fmt: str) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    if fmt == "jsonl":
        return jsonl_rows(text)
    assert text.splitlines()[0].split(",") == COLUMNS
    return csv_rows(text)


def outcome_of(row: dict[str, Any]) -> tuple[str, Any]:
    """A row as ("ok", backlinks) or (error_kind, error_reason), checking its other cells."""
    if row.get("error_kind"):
        assert row.get("backlinks") in (None, ""), row
        assert row["error_code"] in (None, ""), row  # never sent: no API code
        return row["error_kind"], row["error_reason"]
    assert row.get("error_reason") in (None, ""), row
    return "ok", int(row["backlinks"])


# With a checkpoint and one call at a time, repeats are read long after their answer was committed
# (and forgotten in memory): they must still get no second row.
@pytest.mark.parametrize(
    ("fmt", "options"),
    [
        pytest.param("csv", [], id="csv"),
        pytest.param("jsonl", ["--checkpoint", "job.sqlite", "--concurrency", "1"], id="jsonl-checkpoint"),
    ],
)  # fmt: skip
def test_every_distinct_target_gets_one_correct_row(
    fmt: str, options: list[str], start_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    emulator = start_emulator()
    lines = messy_lines()
    assert 19_000 <= len(lines) <= 22_000
    source = write_lines(tmp_path / "targets.txt", lines)
    output = tmp_path / f"results.{fmt}"
    options = [str(tmp_path / option) if option.endswith(".sqlite") else option for option in options]

    done = run_cli(
        "backlinks", str(source), "-o", str(output), "--base-url", emulator.url, "--quiet", *options
    )

    assert done.returncode == 1, done.stderr  # some targets are invalid
    rows = read_output(output, fmt)
    targets = [row["target"] for row in rows]
    assert len(targets) == len(set(targets)), "a target has two rows"
    got = {row["target"]: outcome_of(row) for row in rows}
    assert got == expected_rows(lines)
    # A few by hand, independent of normalize_target: spellings keep their own key.
    assert got["cnn.com"] == got["CNN.com"] == ("ok", expected_backlinks("cnn.com"))
    assert got["bücher.de"] == ("ok", expected_backlinks("xn--bcher-kva.de"))
    assert got["SITE0.Example.COM"] == ("ok", expected_backlinks("site0.example.com"))
    assert got["not a target"][0] == "invalid" and "space" in got["not a target"][1]
    assert sum(kind == "invalid" for kind, _ in got.values()) >= 170
    assert done.stdout == ""
    # Each target was sent (and paid for) once, in its normal form, however often it was asked for.
    sent = {str(normalize_target(raw)) for raw, (kind, _) in got.items() if kind == "ok"}
    assert emulator.charged_counts() == dict.fromkeys(sent, 1)


def test_a_clean_csv_column_exits_0(emulator: Emulator, tmp_path: Path) -> None:
    source = tmp_path / "sites.csv"
    with source.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "domain", "notes"])
        writer.writerow([1, "cnn.com", "news, US"])
        writer.writerow([2, "https://www.bbc.co.uk/news", 'said "hello"'])
        writer.writerow([3, "", "a blank cell is skipped"])
        writer.writerow([4, " Example.ORG ", "padded"])
        for i in range(5, 1505):
            writer.writerow([i, f"site{i}.example.com", f"line {i}\nwith a break"])
    output = tmp_path / "out.jsonl"

    done = run_cli(
        "backlinks",
        str(source),
        "--column",
        "domain",
        "-o",
        str(output),
        "--base-url",
        emulator.url,
        "--quiet",
    )

    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")  # --quiet: not a word
    rows = read_output(output, "jsonl")
    assert all(set(row) == {"target", "backlinks"} for row in rows)
    expected = {"cnn.com": "cnn.com", "https://www.bbc.co.uk/news": "https://www.bbc.co.uk/news"}
    expected["Example.ORG"] = "example.org"
    expected.update({f"site{i}.example.com": f"site{i}.example.com" for i in range(5, 1505)})
    assert {row["target"]: row["backlinks"] for row in rows} == {
        raw: expected_backlinks(target) for raw, target in expected.items()
    }


def test_a_column_that_is_not_in_the_header_is_a_usage_error(emulator: Emulator, tmp_path: Path) -> None:
    source = tmp_path / "sites.csv"
    source.write_text("id,url\n1,cnn.com\n", encoding="utf-8")
    # --quiet: the file is not counted first, so the job itself meets the header.
    done = run_cli("backlinks", str(source), "--column", "domain", "--base-url", emulator.url, "--quiet")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "--column 'domain' is not in the CSV header (id, url)" in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_stdin_to_stdout(fmt: str, emulator: Emulator) -> None:
    targets = [f"site{i}.example.com" for i in range(1200)] + ["bücher.de"]
    args = ["--format", fmt] if fmt == "jsonl" else []  # csv is the default on stdout
    # UTF-8 with a byte-order mark, as a spreadsheet exports it.
    stdin = "\ufeff" + "\r\n".join(targets)

    done = run_cli("backlinks", "-", "-o", "-", *args, "--base-url", emulator.url, stdin=stdin)

    assert done.returncode == 0, done.stderr
    rows = jsonl_rows(done.stdout) if fmt == "jsonl" else csv_rows(done.stdout)
    expected = {t: expected_backlinks(t) for t in targets[:-1]}
    expected["bücher.de"] = expected_backlinks("xn--bcher-kva.de")
    assert {row["target"]: int(row["backlinks"]) for row in rows} == expected
    assert len(rows) == len(targets)
    # Progress and the summary go to stderr, never into the rows.
    assert "progress:" in done.stderr and "progress" not in done.stdout
    assert "1,201 distinct: 1,201 ok, 0 failed" in done.stderr


def test_unknown_output_suffix_is_a_usage_error(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "t.txt", ["cnn.com"])
    done = run_cli(
        "backlinks", str(source), "-o", str(tmp_path / "out.xlsx"), "--base-url", "http://127.0.0.1:9"
    )
    assert done.returncode == 2
    assert "name the file .csv or .jsonl, or pass --format csv|jsonl" in done.stderr
    assert not (tmp_path / "out.xlsx").exists()
