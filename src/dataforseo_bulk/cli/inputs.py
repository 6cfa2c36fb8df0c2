"""Reading targets for the CLI: one per line, or one column of a CSV; lazily, from a file or stdin."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from ..errors import ConfigurationError


@contextmanager
def open_input(path: str) -> Iterator[TextIO]:
    if path == "-":
        yield sys.stdin
        return
    try:  # the `with` below closes it; the `try` only turns a failed open into a clear message
        handle = Path(path).open(encoding="utf-8", newline="")  # noqa: SIM115
    except OSError as exc:
        raise ConfigurationError(f"cannot read input {path!r}: {exc.strerror}") from None
    with handle:
        yield handle


def read_lines(handle: TextIO) -> Iterator[str]:
    """One target per line; blank lines and ``#`` comments skipped, surrounding spaces trimmed."""
    for line in handle:
        target = line.strip()
        if target and not target.startswith("#"):
            yield target


def read_column(handle: TextIO, column: str) -> Iterator[str]:
    """The named column of a CSV with a header row; blank cells skipped."""
    reader = csv.DictReader(handle)
    if reader.fieldnames is None or column not in reader.fieldnames:
        found = ", ".join(reader.fieldnames or []) or "no header"
        raise ConfigurationError(f"--column {column!r} is not in the CSV header ({found})")
    for row in reader:
        target = (row.get(column) or "").strip()
        if target:
            yield target


def read_targets(handle: TextIO, column: str | None) -> Iterator[str]:
    return read_column(handle, column) if column else read_lines(handle)


def count_targets(path: str, column: str | None) -> int | None:
    """How many targets a file holds (for the progress bar's total); None for stdin."""
    if path == "-":
        return None
    with open_input(path) as handle:
        return sum(1 for _ in read_targets(handle, column))
