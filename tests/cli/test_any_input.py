"""Property: whatever the lines (valid, invalid, not UTF-8, repeated, blank, comments) and
wherever they come from (a file, stdin, a pipe), the output has exactly one row per distinct
input line. The command runs in-process (``cli.main``) against the emulator on loopback."""

from __future__ import annotations

import csv
import io
import os
import sys
import tempfile
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataforseo_bulk.cli import main

from .conftest import LOGIN, PASSWORD, Emulator

pytestmark = pytest.mark.loopback

BOM = b"\xef\xbb\xbf"
VALID = ["cnn.com", "bbc.com", "site1.example.com", "https://a.example.com/p/1", "www.Example.org"]
INVALID = ["not a target", "x..y.com", "ftp://a.com", "localhost"]


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


_line = st.one_of(
    st.sampled_from(VALID).map(str.encode),
    st.sampled_from(VALID).map(lambda t: f"  {t.upper()}\t".encode()),  # another spelling
    st.sampled_from(INVALID).map(str.encode),
    st.sampled_from([b"", b"   ", b"# a comment", b"\r"]),
    st.binary(min_size=1, max_size=8).filter(lambda b: b"\n" not in b and b"\0" not in b and not _is_utf8(b)),
    st.text(st.characters(blacklist_characters="\n\x00", blacklist_categories=("Cs",)), max_size=12).map(
        str.encode
    ),
)
_inputs = st.lists(_line, max_size=40).map(lambda lines: b"".join(line + b"\n" for line in lines))


def expected_rows(data: bytes) -> tuple[set[str], set[int]]:
    """The distinct decodable targets, and the line number of the first of each distinct
    undecodable line, as the documented rules read ``data``."""
    valid: set[str] = set()
    undecodable: dict[bytes, int] = {}
    for number, raw in enumerate(data.split(b"\n")[:-1], 1):
        if number == 1 and raw.startswith(BOM):
            raw = raw[len(BOM) :]
        text = raw.decode("utf-8", "surrogateescape").strip()
        if not text or text.startswith("#"):
            continue
        if _is_utf8(text.encode("utf-8", "surrogateescape")):
            valid.add(text)
        else:
            undecodable.setdefault(text.encode("utf-8", "surrogateescape"), number)
    return valid, set(undecodable.values())


def run_in_process(emulator: Emulator, source: str, data: bytes, directory: Path) -> int:
    output = directory / "out.csv"
    args = ["backlinks", "-", "-o", str(output), "--base-url", emulator.url, "--quiet"]
    args += ["--login", LOGIN, "--password", PASSWORD]
    if source == "file":
        path = directory / "targets.txt"
        path.write_bytes(data)
        args[1] = str(path)
        return main(args)
    if source == "stdin":
        saved = sys.stdin
        sys.stdin = io.TextIOWrapper(io.BufferedReader(io.BytesIO(data)))  # type: ignore[arg-type]
        try:
            return main(args)
        finally:
            sys.stdin = saved
    read, write = os.pipe()  # a pipe, as process substitution gives: /dev/fd/N

    def feed() -> None:
        with os.fdopen(write, "wb") as sink:
            sink.write(data)

    writer = threading.Thread(target=feed)
    writer.start()
    try:
        args[1] = f"/dev/fd/{read}"
        return main(args)
    finally:
        writer.join(timeout=10)
        os.close(read)


@pytest.mark.parametrize("source", ["file", "stdin", "pipe"])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=_inputs)
def test_one_row_per_distinct_input_line(source: str, data: bytes, emulator: Emulator) -> None:
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        code = run_in_process(emulator, source, data, directory)
        with (directory / "out.csv").open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))

    valid, undecodable_lines = expected_rows(data)
    assert code in (0, 1)
    utf8_rows = [r for r in rows if not r["error_reason"].startswith("not valid UTF-8")]
    assert sorted(r["target"] for r in utf8_rows) == sorted(valid)  # each once, none missing
    reasons = [r["error_reason"] for r in rows if r["error_reason"].startswith("not valid UTF-8")]
    assert sorted(reasons) == sorted(f"not valid UTF-8 (line {n})" for n in undecodable_lines)
    assert code == (1 if any(r["error_kind"] for r in rows) else 0)
