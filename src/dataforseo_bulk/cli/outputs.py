"""Writing results as they arrive: CSV or JSON Lines, one row per input target, flushed per chunk.

Each row names the target in the caller's spelling with its value, or its failure (kind,
DataForSEO code, reason). A row never holds credentials.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import stat
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, TextIO

from ..engine import ChunkOutcome
from ..errors import ConfigurationError
from ..result import FailureKind, TargetFailure

VALUE_COLUMN = "backlinks"
FAILURE_COLUMNS = ("error_kind", "error_code", "error_reason")


class Writer(Protocol):
    def write(self, outcome: ChunkOutcome[Any]) -> None: ...


def _failure_fields(failure: TargetFailure) -> dict[str, Any]:
    return {"error_kind": failure.kind.value, "error_code": failure.code, "error_reason": failure.reason}


def _flat(value: Any) -> dict[str, Any]:
    """A value as columns: a plain value under VALUE_COLUMN, a model or dict field by field."""
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    if isinstance(value, dict):
        return value
    return {VALUE_COLUMN: value}


def _cells(fields: dict[str, Any]) -> dict[str, Any]:
    """A nested value (``referring_links_tld``: a dict) as compact JSON in its one cell, not as a
    Python repr; plain values as they are."""
    if not any(isinstance(value, dict | list) for value in fields.values()):
        return fields
    return {
        name: json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        if isinstance(value, dict | list)
        else value
        for name, value in fields.items()
    }


class CsvWriter:
    """CSV with a header row: ``target``, the value's columns, then the failure columns.

    The value columns are ``columns`` when given (``Endpoint.columns``: right even if every
    target fails), else those of the first value written (a model or dict is spread field by
    field; a nested dict or list is one cell of JSON). Without ``columns``, rows of failures that
    arrive before any value (invalid targets are reported first) wait for it, so they never fix
    the header to the wrong columns; :meth:`close` writes them under a ``backlinks`` column if no
    value ever came.
    """

    def __init__(self, handle: TextIO, columns: Sequence[str] | None = None) -> None:
        self._handle = handle
        self._writer: csv.DictWriter[str] | None = None
        self._quoted: csv.DictWriter[str] | None = None
        self._waiting: list[dict[str, Any]] = []
        self._columns = list(columns) if columns else None

    def write(self, outcome: ChunkOutcome[Any]) -> None:
        rows = [{"target": t, **_cells(_flat(v))} for t, v in outcome.values.items()]
        rows += [{"target": t, **_failure_fields(f)} for t, f in outcome.failed.items()]
        if not rows:
            return
        if self._writer is None:
            if self._columns is not None:
                self._start(self._columns)
            elif not outcome.values:
                self._waiting += rows
                return
            else:
                self._start(list(_flat(next(iter(outcome.values.values())))))
        assert self._writer is not None
        self._rows(rows)
        self._handle.flush()

    def _rows(self, rows: list[dict[str, Any]]) -> None:
        assert self._writer is not None and self._quoted is not None
        # The csv module quotes a field with "\n" (the line terminator) but not one with a bare
        # "\r", which a reader takes for a line break: such a row has every field quoted.
        if any("\r" in v for row in rows for v in row.values() if type(v) is str):
            for row in rows:
                carriage = any("\r" in v for v in row.values() if type(v) is str)
                (self._quoted if carriage else self._writer).writerow(row)
        else:
            self._writer.writerows(rows)

    def _start(self, value_columns: list[str]) -> None:
        columns = ["target", *(c for c in value_columns if c != "target" and c not in FAILURE_COLUMNS)]
        fields = [*columns, *FAILURE_COLUMNS]
        self._writer = csv.DictWriter(self._handle, fields, extrasaction="ignore", lineterminator="\n")
        self._quoted = csv.DictWriter(
            self._handle, fields, extrasaction="ignore", lineterminator="\n", quoting=csv.QUOTE_ALL
        )
        self._writer.writeheader()
        self._rows(self._waiting)
        self._waiting = []

    def close(self) -> None:
        """Write the header and the rows still waiting, if no value came to decide the header
        (the header alone for a job without a target)."""
        if self._writer is None:
            self._start(self._columns or [VALUE_COLUMN])
        self._handle.flush()

    def flush(self) -> None:
        """A job that ended early: the rows still waiting, if any, but no header alone."""
        if self._writer is None and self._waiting:
            self._start(self._columns or [VALUE_COLUMN])
        self._handle.flush()


class JsonlWriter:
    def __init__(self, handle: TextIO) -> None:
        self._handle = handle

    def write(self, outcome: ChunkOutcome[Any]) -> None:
        lines = [json.dumps({"target": t, **_flat(v)}, ensure_ascii=False) for t, v in outcome.values.items()]
        lines += [
            json.dumps({"target": t, **_failure_fields(f)}, ensure_ascii=False)
            for t, f in outcome.failed.items()
        ]
        if lines:
            self._handle.write("\n".join(lines) + "\n")
            self._handle.flush()

    def close(self) -> None:
        self._handle.flush()

    flush = close


def output_format(path: str | None, fmt: str | None) -> str:
    """``fmt``, else the file's suffix (.csv, .jsonl); csv on stdout."""
    fmt = fmt or (Path(path).suffix.lstrip(".").lower() if path and path != "-" else "csv")
    if fmt not in ("csv", "jsonl"):
        raise ConfigurationError(
            f"output format {fmt!r}: name the file .csv or .jsonl, or pass --format csv|jsonl"
        )
    return fmt


def partial_path(path: str | Path) -> Path:
    """Where a run that ends part-way leaves its rows: ``out.csv`` → ``out.partial.csv``, or
    ``out.partial-2.csv`` (-3, …) if that exists: an earlier run's partial rows are never replaced."""
    path = Path(path)
    candidate = path.with_name(f"{path.stem}.partial{path.suffix}")
    number = 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.stem}.partial-{number}{path.suffix}")
    return candidate


class Output:
    """A writer whose rows reach the named file only when the job ends.

    Rows go to a temporary file beside the target (same directory, so the move is atomic).
    :meth:`complete` marks the job finished: the file then replaces the target. A run that
    ends otherwise (a fatal answer, the budget, Ctrl-C, an error) leaves the target as it was;
    its rows are moved to a new :func:`partial_path` if anything was answered, else thrown
    away. On stdout (and on a device or FIFO, which cannot be replaced) rows are written where
    they go as they come.
    """

    def __init__(self, writer: CsvWriter | JsonlWriter, final: Path | None, temp: Path | None) -> None:
        self._writer = writer
        self.final = final
        self._temp = temp
        self.completed = False
        #: Rows with an answer (a value, or a failure from the API or the checkpoint).
        self.answered = 0

    def write(self, outcome: ChunkOutcome[Any]) -> None:
        self.answered += len(outcome.values) + sum(
            f.kind not in (FailureKind.INVALID, FailureKind.ABORTED) for f in outcome.failed.values()
        )
        self._writer.write(outcome)

    def complete(self) -> None:
        self.completed = True

    def _close(self) -> Path | None:
        """Put the rows where they belong; the path of a partial file left, if any."""
        if self.completed:
            self._writer.close()  # a CSV's header, even without a row
        else:
            self._writer.flush()
        if self._temp is None or self.final is None:
            return None
        if self.completed:
            os.replace(self._temp, self.final)
            return None
        if not self.answered:
            os.remove(self._temp)
            return None
        partial = partial_path(self.final)
        os.replace(self._temp, partial)
        return partial


@contextmanager
def open_output(
    path: str | None, fmt: str | None, *, columns: Sequence[str] | None = None
) -> Iterator[Output]:
    """``-`` or None: stdout. The format comes from ``fmt`` or the file's suffix (.csv, .jsonl).

    ``columns``: the value columns of a CSV header (``Endpoint.columns``), known before any
    answer; without them the first value decides. Call ``complete()`` on what it yields when
    the job has finished; see :class:`Output` for what happens otherwise.
    """
    fmt = output_format(path, fmt)
    if path is None or path == "-":
        yield from _finishing(Output(_writer(sys.stdout, fmt, columns), None, None))
        return
    final = Path(os.path.realpath(path))  # through a symlink: the file it names is replaced
    if final.exists() and not final.is_file():
        if final.is_dir():
            raise ConfigurationError(f"cannot write output {path!r}: it is a directory")
        handle = _open_for_writing(final, path)  # a device or a FIFO: written in place
        with handle:
            yield from _finishing(Output(_writer(handle, fmt, columns), None, None))
        return
    if final.exists() and not os.access(final, os.W_OK):
        raise ConfigurationError(f"cannot write output {path!r}: Permission denied")
    try:
        fd, name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp")
    except OSError as exc:
        raise ConfigurationError(f"cannot write output {path!r}: {exc.strerror or exc}") from None
    temp = Path(name)
    try:
        _copy_mode(final, fd)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            yield from _finishing(Output(_writer(handle, fmt, columns), final, temp))
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temp)  # still there only if an error stopped the move


def _finishing(output: Output) -> Iterator[Output]:
    try:
        yield output
    finally:  # also when the job stops early or fails: see Output
        partial = output._close()
        if partial is not None:
            print(
                f"dataforseo-bulk: {output.answered:,} answered rows kept in {str(partial)!r}; "
                f"{str(output.final)!r} left as it was (rerun to finish the job)",
                file=sys.stderr,
            )


def _copy_mode(final: Path, fd: int) -> None:
    """The mode a new file would get (mkstemp makes it owner-only), or the old file's own."""
    try:
        mode = stat.S_IMODE(os.stat(final).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    os.fchmod(fd, mode)


def _open_for_writing(final: Path, path: str) -> TextIO:
    try:
        return final.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        raise ConfigurationError(f"cannot write output {path!r}: {exc.strerror or exc}") from None


def _writer(handle: TextIO, fmt: str, columns: Sequence[str] | None) -> CsvWriter | JsonlWriter:
    return CsvWriter(handle, columns) if fmt == "csv" else JsonlWriter(handle)
