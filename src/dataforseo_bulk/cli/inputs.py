"""Reading targets for the CLI: one per line, or one column of a CSV; lazily, from a file or stdin.

Input is UTF-8; a byte-order mark (which spreadsheet programs put at the start of a CSV they
export) is skipped, so it never becomes part of the first target or of the first header name.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from ..errors import ConfigurationError

ENCODING = "utf-8-sig"  # UTF-8, with or without a byte-order mark


@contextmanager
def open_input(path: str) -> Iterator[TextIO]:
    if path == "-":
        yield from _stdin()
        return
    try:  # the `with` below closes it; the `try` only turns a failed open into a clear message
        handle = Path(path).open(encoding=ENCODING, newline="")  # noqa: SIM115
    except OSError as exc:
        raise ConfigurationError(f"cannot read input {path!r}: {exc.strerror}") from None
    with handle:
        yield handle


def _stdin() -> Iterator[TextIO]:
    """stdin as UTF-8 text with the CSV module's newline handling, whatever the locale says."""
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is None:  # replaced by something without bytes underneath (e.g. a test harness)
        yield sys.stdin
        return
    wrapper = io.TextIOWrapper(buffer, encoding=ENCODING, newline="")
    try:
        yield wrapper
    finally:
        wrapper.detach()  # leave sys.stdin's buffer open


def _decoded(lines: Iterator[str], handle: TextIO) -> Iterator[str]:
    """``lines``, with a decoding error turned into a message that says how to fix the input."""
    try:
        yield from lines
    except UnicodeDecodeError as exc:
        name = getattr(handle, "name", "the input")
        raise ConfigurationError(
            f"input {name!r} is not UTF-8 ({exc.reason}): save it as UTF-8 and run again"
        ) from None


def read_lines(handle: TextIO) -> Iterator[str]:
    """One target per line; blank lines and ``#`` comments skipped, surrounding spaces trimmed."""
    for line in _decoded(iter(handle), handle):
        target = line.strip()
        if target and not target.startswith("#"):
            yield target


def read_column(handle: TextIO, column: str) -> Iterator[str]:
    """The named column of a CSV with a header row; blank cells skipped.

    The header is read and checked now, so a wrong ``--column`` is reported before any call,
    not when the job first asks for a target.
    """
    reader = csv.DictReader(_decoded(iter(handle), handle))
    if reader.fieldnames is None or column not in reader.fieldnames:
        found = ", ".join(reader.fieldnames or []) or "no header"
        hint = ""
        if len(reader.fieldnames or []) == 1 and ";" in found:  # Excel in many locales writes ';'
            hint = "; the file looks ';'-separated: save it with commas, or give one target per line"
        raise ConfigurationError(f"--column {column!r} is not in the CSV header ({found}){hint}")
    return _cells(reader, column)


def _cells(reader: csv.DictReader[str], column: str) -> Iterator[str]:
    for row in reader:
        target = (row.get(column) or "").strip()
        if target:
            yield target


def read_targets(handle: TextIO, column: str | None) -> Iterator[str]:
    return read_column(handle, column) if column else read_lines(handle)


def count_targets(path: str, column: str | None) -> int | None:
    """How many distinct targets a file holds; None for stdin.

    The progress bar's total. A job counts each distinct input string once (an exact repeat is
    a duplicate, not another target), so the total counts them the same way and the bar ends
    full however many repeats the file has.
    """
    if path == "-":
        return None
    with open_input(path) as handle:
        return len(set(read_targets(handle, column)))
