"""Reading targets for the CLI: one per line, or one column of a CSV; lazily, from a file or stdin.

Every input is read exactly once, as bytes, whatever it is: a file, stdin (``-``), a pipe, a
FIFO, a process substitution (``<(grep ...)``). Only a regular file is read a second time, before
the job, to count its targets for the progress bar; any other input has no total.

Each line is decoded as UTF-8 on its own: a line that is not valid UTF-8 does not stop the job.
It is handed to ``on_undecodable`` with its line number (the CLI reports it as an invalid
target) and the lines after it are read as usual. A byte-order mark (which spreadsheet
programs put at the start of a CSV they export) is skipped, so it never becomes part of the
first target or of the first header name.
"""

from __future__ import annotations

import csv
import os
import stat
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import BinaryIO

from ..engine import ChunkOutcome
from ..errors import ConfigurationError
from ..result import FailureKind, JobStats, TargetFailure

BOM = b"\xef\xbb\xbf"
#: Looked at for NUL bytes before the first line is read (without consuming anything).
SNIFF_BYTES = 8192

#: Called with an undecodable target (its bad bytes as lone surrogates) and its line number.
OnUndecodable = Callable[[str, int], None]


@contextmanager
def open_input(path: str) -> Iterator[BinaryIO]:
    """The input as bytes; a file that cannot be read, or that is binary, is a ConfigurationError."""
    if path == "-":
        if sys.stdin is None:  # started with stdin closed (`<&-`)
            raise ConfigurationError("cannot read input '-': stdin is closed")
        handle: BinaryIO = sys.stdin.buffer
        _refuse_binary(handle, "stdin")
        yield handle  # stdin stays open: it is not ours to close
        return
    try:  # the `with` below closes it; the `try` only turns a failed open into a clear message
        handle = open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        raise ConfigurationError(f"cannot read input {path!r}: {exc.strerror or exc}") from None
    with handle:
        _refuse_binary(handle, repr(path))
        yield handle


def _refuse_binary(handle: BinaryIO, name: str) -> None:
    """A NUL byte near the start: an executable, an archive, UTF-16 text; not a list of targets."""
    peek = getattr(handle, "peek", None)
    try:
        head = peek(SNIFF_BYTES)[:SNIFF_BYTES] if peek is not None else b""
    except OSError as exc:
        raise ConfigurationError(f"cannot read input {name}: {exc.strerror or exc}") from None
    if b"\0" in head:
        raise ConfigurationError(
            f"input {name} is not a text file (it has NUL bytes; UTF-16 text has them too): "
            "give one target per line, in UTF-8"
        )


def is_regular_file(path: str) -> bool:
    """Whether reading ``path`` a second time is harmless (never stdin, a pipe or a FIFO)."""
    if path == "-":
        return False
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _lines(handle: Iterable[bytes]) -> Iterator[tuple[int, str]]:
    """(line number, text) of each line; bytes that are not UTF-8 become lone surrogates."""
    for number, raw in enumerate(handle, 1):
        if number == 1 and raw.startswith(BOM):
            raw = raw[len(BOM) :]
        yield number, raw.decode("utf-8", "surrogateescape")


def undecodable(text: str) -> bool:
    """Whether ``text`` came from bytes that are not UTF-8 (only they decode to lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def printable(text: str) -> str:
    """An undecodable target as it appears in the output: each bad byte as ``\\xNN``, a backslash
    doubled (so that two different lines never print the same)."""
    raw = text.encode("utf-8", "surrogateescape").replace(b"\\", b"\\\\")
    return raw.decode("utf-8", "backslashreplace")


def read_lines(handle: Iterable[bytes], on_undecodable: OnUndecodable) -> Iterator[str]:
    """One target per line; blank lines and ``#`` comments skipped, surrounding spaces trimmed."""
    for number, line in _lines(handle):
        target = line.strip()
        if not target or target.startswith("#"):
            continue
        if undecodable(target):
            on_undecodable(target, number)
        else:
            yield target


def read_column(handle: Iterable[bytes], column: str, on_undecodable: OnUndecodable) -> Iterator[str]:
    """The named column of a CSV with a header row; blank cells skipped.

    The header is read and checked now, so a wrong ``--column`` is reported before any call,
    not when the job first asks for a target.
    """
    # A cell of any length is a target (an invalid one if too long), as a line of any length is;
    # the csv module's own limit (128 KiB) would stop the job with a traceback.
    csv.field_size_limit(2**31 - 1)
    reader = csv.reader(text for _, text in _lines(handle))
    header = next(reader, None)
    if header is None or column not in header:
        found = ", ".join(printable(name) for name in header or []) or "no header"
        hint = ""
        if len(header or []) == 1 and ";" in found:  # Excel in many locales writes ';'
            hint = "; the file looks ';'-separated: save it with commas, or give one target per line"
        raise ConfigurationError(f"--column {column!r} is not in the CSV header ({found}){hint}")
    return _cells(reader, header.index(column), on_undecodable)


def _cells(reader: Iterator[list[str]], index: int, on_undecodable: OnUndecodable) -> Iterator[str]:
    for row in reader:
        target = row[index].strip() if index < len(row) else ""
        if not target:
            continue
        if undecodable(target):
            on_undecodable(target, reader.line_num)  # type: ignore[attr-defined]
        else:
            yield target


def read_targets(handle: Iterable[bytes], column: str | None, on_undecodable: OnUndecodable) -> Iterator[str]:
    if column:
        return read_column(handle, column, on_undecodable)
    return read_lines(handle, on_undecodable)


@dataclass
class Undecodable:
    """The lines that are not UTF-8: each distinct one a row with ``error_kind`` ``invalid`` and
    reason ``not valid UTF-8 (line N)``, counted as the job counts an invalid target."""

    write: Callable[[ChunkOutcome[object]], None] | None = None
    seen: set[str] = field(default_factory=set)
    duplicate: int = 0

    def __call__(self, text: str, line: int) -> None:
        if text in self.seen:
            self.duplicate += 1
            return
        self.seen.add(text)
        if self.write is not None:
            failure = TargetFailure(FailureKind.INVALID, f"not valid UTF-8 (line {line})")
            self.write(ChunkOutcome(None, {}, {printable(text): failure}))

    def added_to(self, stats: JobStats) -> JobStats:
        n = len(self.seen)
        return replace(
            stats,
            targets=stats.targets + n,
            failed=stats.failed + n,
            invalid=stats.invalid + n,
            duplicate=stats.duplicate + self.duplicate,
        )


def count_targets(path: str, column: str | None) -> int | None:
    """How many distinct targets a regular file holds; None for anything else (read only once).

    The progress bar's total. A job counts each distinct input string once (an exact repeat is
    a duplicate, not another target), so the total counts them the same way and the bar ends
    full however many repeats the file has.
    """
    if not is_regular_file(path):
        return None
    with open_input(path) as handle:
        return len(set(read_targets(handle, column, lambda text, line: None)))
