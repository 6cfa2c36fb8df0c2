"""Reading targets (lines, a CSV column, stdin) and writing rows (CSV, JSON Lines), in-process."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from dataforseo_bulk.cli.inputs import (
    Undecodable,
    count_targets,
    open_input,
    read_column,
    read_lines,
    read_targets,
)
from dataforseo_bulk.cli.outputs import CsvWriter, JsonlWriter, open_output
from dataforseo_bulk.engine import ChunkOutcome
from dataforseo_bulk.errors import ConfigurationError
from dataforseo_bulk.result import FailureKind, TargetFailure

BOM = "\ufeff"
INVALID = TargetFailure(FailureKind.INVALID, "contains a space")


def outcome(values: dict[str, Any] | None = None, failed: dict[str, TargetFailure] | None = None) -> Any:
    return ChunkOutcome(None, values or {}, failed or {})


def lines_of(path: Path, column: str | None = None) -> list[str]:
    with open_input(str(path)) as handle:
        return list(read_targets(handle, column, Undecodable()))


def ignore(text: str, line: int) -> None:
    raise AssertionError(f"line {line} is valid UTF-8")


def binary(text: str) -> io.BytesIO:
    return io.BytesIO(text.encode("utf-8"))


def test_read_lines_skips_blanks_and_comments_and_trims() -> None:
    text = "# header\r\ncnn.com\r\n\r\n   \n  bbc.com \t\n#x.com\n  # indented comment\nhttps://a.com/#frag\n"
    assert list(read_lines(binary(text), ignore)) == ["cnn.com", "bbc.com", "https://a.com/#frag"]


def test_read_column_takes_one_column_and_skips_blank_cells() -> None:
    text = 'id,domain,notes\n1,cnn.com,"a, b"\n2,,blank\n3, bbc.com ,"two\nlines"\n4\n'
    assert list(read_column(binary(text), "domain", ignore)) == ["cnn.com", "bbc.com"]


def test_a_missing_column_is_reported_before_the_first_target_is_asked_for() -> None:
    with pytest.raises(ConfigurationError, match=r"--column 'domain' is not in the CSV header \(id, url\)"):
        read_column(binary("id,url\n1,cnn.com\n"), "domain", ignore)  # not iterated
    with pytest.raises(ConfigurationError, match=r"\(no header\)"):
        read_column(binary(""), "domain", ignore)


def test_a_byte_order_mark_is_not_part_of_the_first_target_or_header(tmp_path: Path) -> None:
    plain, table = tmp_path / "t.txt", tmp_path / "t.csv"
    plain.write_text(BOM + "cnn.com\nbbc.com\n", encoding="utf-8")
    table.write_text(BOM + "domain,id\ncnn.com,1\n", encoding="utf-8")
    assert lines_of(plain) == ["cnn.com", "bbc.com"]
    assert lines_of(table, "domain") == ["cnn.com"]


def test_a_line_that_is_not_utf8_is_reported_with_its_number_and_the_rest_is_read(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("cnn.com\nbücher.de\nbbc.com\nbücher.de\n".encode("latin-1"))
    seen: list[tuple[str, int]] = []
    with open_input(str(path)) as handle:
        assert list(read_targets(handle, None, lambda text, line: seen.append((text, line)))) == [
            "cnn.com",
            "bbc.com",
        ]
    assert [line for _, line in seen] == [2, 4]
    table = tmp_path / "t.csv"
    table.write_bytes("id,domain\n1,cnn.com\n2,bücher.de\n".encode("latin-1"))
    seen.clear()
    with open_input(str(table)) as handle:
        assert list(read_targets(handle, "domain", lambda text, line: seen.append((text, line)))) == [
            "cnn.com"
        ]
    assert [line for _, line in seen] == [3]


def test_undecodable_lines_are_invalid_rows_counted_like_invalid_targets() -> None:
    rows: list[Any] = []
    undecodable = Undecodable(rows.append)
    text = b"caf\xe9.com".decode("utf-8", "surrogateescape")
    backslash = b"\xff\\x".decode("utf-8", "surrogateescape")
    undecodable(text, 2)
    undecodable(text, 7)  # the same bytes again: a duplicate, no second row
    undecodable(backslash, 9)
    assert [(t, f.kind, f.reason) for r in rows for t, f in r.failed.items()] == [
        ("caf\\xe9.com", FailureKind.INVALID, "not valid UTF-8 (line 2)"),
        ("\\xff\\\\x", FailureKind.INVALID, "not valid UTF-8 (line 9)"),
    ]
    from dataforseo_bulk.result import JobStats

    stats = undecodable.added_to(JobStats(targets=3, ok=3, duplicate=1))
    assert (stats.targets, stats.ok, stats.failed, stats.invalid, stats.duplicate) == (5, 3, 2, 2, 2)


def test_a_missing_input_file_is_a_configuration_error(tmp_path: Path) -> None:
    with (
        pytest.raises(ConfigurationError, match=r"cannot read input .*No such file"),
        open_input(str(tmp_path / "nope.txt")),
    ):
        pass


def test_count_targets_counts_distinct_strings_like_the_job(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("cnn.com\ncnn.com\n CNN.com\n# c\n\nnot a target\nbbc.com\n", encoding="utf-8")
    # cnn.com once (an exact repeat is no new target); CNN.com is another spelling with its own row.
    assert count_targets(str(path), None) == 4
    assert count_targets("-", None) is None
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert count_targets(str(fifo), None) is None  # never opened: a FIFO can be read only once


def test_csv_header_waits_for_the_first_value_when_failures_come_first() -> None:
    out = io.StringIO()
    writer = CsvWriter(out)
    writer.write(outcome(failed={"not a target": INVALID}))  # invalid targets are reported first
    assert out.getvalue() == ""
    writer.write(outcome(values={"cnn.com": {"rank": 503, "spam_score": 7}}, failed={"x..y": INVALID}))
    writer.write(outcome(values={"bbc.com": {"rank": 918, "spam_score": 1}}))
    writer.close()
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows == [
        ["target", "rank", "spam_score", "error_kind", "error_code", "error_reason"],
        ["not a target", "", "", "invalid", "", "contains a space"],
        ["cnn.com", "503", "7", "", "", ""],
        ["x..y", "", "", "invalid", "", "contains a space"],
        ["bbc.com", "918", "1", "", "", ""],
    ]


def test_csv_of_plain_values_and_of_failures_only() -> None:
    out = io.StringIO()
    writer = CsvWriter(out)
    writer.write(outcome(values={"cnn.com": 44}))
    writer.write(outcome(failed={"z.com": TargetFailure(FailureKind.PERMANENT, "refused", 40501)}))
    writer.close()
    assert out.getvalue() == (
        "target,backlinks,error_kind,error_code,error_reason\ncnn.com,44,,,\nz.com,,permanent,40501,refused\n"
    )
    only_failures = io.StringIO()
    writer = CsvWriter(only_failures)
    writer.write(outcome(failed={"a b": INVALID}))
    writer.close()
    assert only_failures.getvalue().splitlines() == [
        "target,backlinks,error_kind,error_code,error_reason",
        "a b,,invalid,,contains a space",
    ]
    nothing = io.StringIO()
    CsvWriter(nothing, columns=("rank",)).close()
    assert nothing.getvalue() == "target,rank,error_kind,error_code,error_reason\n"  # the header alone


def test_csv_columns_given_up_front_hold_even_if_every_target_fails() -> None:
    out = io.StringIO()
    writer = CsvWriter(out, columns=("rank",))
    writer.write(outcome(failed={"a b": INVALID}))
    assert out.getvalue().splitlines() == [
        "target,rank,error_kind,error_code,error_reason",
        "a b,,invalid,,contains a space",
    ]
    writer.write(outcome(values={"cnn.com": {"rank": 503}}))
    writer.close()
    assert out.getvalue().splitlines()[-1] == "cnn.com,503,,,"


def test_csv_nested_values_are_json_cells() -> None:
    out = io.StringIO()
    writer = CsvWriter(out)
    item = {"backlinks": 5, "referring_links_tld": {"com": 3, "de": 1}, "lost_date": None, "types": ["a"]}
    writer.write(outcome(values={"cnn.com": item}))
    writer.close()
    row = next(csv.DictReader(io.StringIO(out.getvalue())))
    assert json.loads(row["referring_links_tld"]) == {"com": 3, "de": 1}
    assert json.loads(row["types"]) == ["a"]
    assert (row["backlinks"], row["lost_date"]) == ("5", "")


class Summary(BaseModel):
    backlinks: int
    rank: int | None = None


def test_jsonl_rows_spread_models_and_keep_unicode() -> None:
    out = io.StringIO()
    writer = JsonlWriter(out)
    writer.write(outcome(values={"bücher.de": Summary(backlinks=3, rank=None), "cnn.com": 5}))
    writer.write(outcome(failed={"a b": INVALID}))
    writer.close()
    assert "bücher.de" in out.getvalue()
    assert [json.loads(line) for line in out.getvalue().splitlines()] == [
        {"target": "bücher.de", "backlinks": 3, "rank": None},
        {"target": "cnn.com", "backlinks": 5},
        {"target": "a b", "error_kind": "invalid", "error_code": None, "error_reason": "contains a space"},
    ]


def test_open_output_picks_the_format_from_the_suffix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_output(str(tmp_path / "OUT.JSONL"), None) as output:
        output.write(outcome(values={"cnn.com": 5}))
        output.complete()
    assert json.loads((tmp_path / "OUT.JSONL").read_text("utf-8")) == {"target": "cnn.com", "backlinks": 5}
    with open_output(str(tmp_path / "out.txt"), "csv") as output:
        output.complete()
    assert (tmp_path / "out.txt").read_text("utf-8").startswith("target,backlinks,")
    with open_output("-", None) as output:
        output.write(outcome(failed={"a b": INVALID}))
        output.complete()
    # Rows still waiting for a header are written when the output closes.
    assert capsys.readouterr().out.splitlines()[1] == "a b,,invalid,,contains a space"
    with pytest.raises(ConfigurationError, match=r"'xlsx'.*\.csv or \.jsonl"), open_output("out.xlsx", None):
        pass
    with (
        pytest.raises(ConfigurationError, match=r"cannot write output.*No such file"),
        open_output(str(tmp_path / "missing-dir" / "o.csv"), None),
    ):
        pass
    with (
        pytest.raises(ConfigurationError, match=r"cannot write output.*a directory"),
        open_output(str(tmp_path), "csv"),
    ):
        pass


def test_an_output_reaches_its_file_only_when_the_job_completes(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old,rows\n", encoding="utf-8")
    target.chmod(0o640)
    paid = TargetFailure(FailureKind.PERMANENT, "refused", 40501)
    with pytest.raises(RuntimeError), open_output(str(target), None) as output:
        output.write(outcome(failed={"a b": INVALID}))  # nothing answered yet
        raise RuntimeError("the job failed")
    assert target.read_text("utf-8") == "old,rows\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]  # no partial, no temporary file
    with open_output(str(target), None) as output:
        output.write(outcome(values={"cnn.com": 5}, failed={"z.com": paid}))  # ended early: partial
    assert target.read_text("utf-8") == "old,rows\n"
    partial = tmp_path / "out.partial.csv"
    assert partial.read_text("utf-8").splitlines()[1:] == ["cnn.com,5,,,", "z.com,,permanent,40501,refused"]
    with open_output(str(target), None) as output:
        output.write(outcome(values={"bbc.com": 7}))
    assert (tmp_path / "out.partial-2.csv").exists() and partial.read_text("utf-8").count("\n") == 3
    with open_output(str(target), None) as output:
        output.write(outcome(values={"bbc.com": 7}))
        output.complete()
    assert target.read_text("utf-8").splitlines()[1:] == ["bbc.com,7,,,"]
    assert target.stat().st_mode & 0o777 == 0o640  # the old file's mode, not mkstemp's 0600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "out.partial-2.csv", "out.partial.csv"]
