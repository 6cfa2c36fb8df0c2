"""Writing results as they arrive: CSV or JSON Lines, one row per input target, flushed per chunk.

Each row names the target in the caller's spelling with its value, or its failure (kind,
DataForSEO code, reason). A row never holds credentials.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, TextIO

from ..engine import ChunkOutcome
from ..errors import ConfigurationError
from ..result import TargetFailure

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
        self._writer.writerows(rows)
        self._handle.flush()

    def _start(self, value_columns: list[str]) -> None:
        columns = ["target", *(c for c in value_columns if c != "target" and c not in FAILURE_COLUMNS)]
        self._writer = csv.DictWriter(
            self._handle, [*columns, *FAILURE_COLUMNS], extrasaction="ignore", lineterminator="\n"
        )
        self._writer.writeheader()
        self._writer.writerows(self._waiting)
        self._waiting = []

    def close(self) -> None:
        """Write the rows still waiting (no value came to decide the header). Nothing at all was
        written if the job wrote no row."""
        if self._writer is None and self._waiting:
            self._start([VALUE_COLUMN])
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


@contextmanager
def open_output(
    path: str | None, fmt: str | None, *, columns: Sequence[str] | None = None
) -> Iterator[Writer]:
    """``-`` or None: stdout. The format comes from ``fmt`` or the file's suffix (.csv, .jsonl).

    ``columns``: the value columns of a CSV header (``Endpoint.columns``), known before any
    answer; without them the first value decides.
    """
    fmt = fmt or (Path(path).suffix.lstrip(".").lower() if path and path != "-" else "csv")
    if fmt not in ("csv", "jsonl"):
        raise ConfigurationError(
            f"output format {fmt!r}: name the file .csv or .jsonl, or pass --format csv|jsonl"
        )
    if path is None or path == "-":
        yield from _writing(sys.stdout, fmt, columns)
        return
    try:  # the `with` below closes it; the `try` only turns a failed open into a clear message
        handle = Path(path).open("w", encoding="utf-8", newline="")  # noqa: SIM115
    except OSError as exc:
        raise ConfigurationError(f"cannot write output {path!r}: {exc.strerror}") from None
    with handle:
        yield from _writing(handle, fmt, columns)


def _writing(handle: TextIO, fmt: str, columns: Sequence[str] | None) -> Iterator[Writer]:
    writer = CsvWriter(handle, columns) if fmt == "csv" else JsonlWriter(handle)
    try:
        yield writer
    finally:  # also when the job stops early: rows already written stay, waiting ones are written
        writer.close()
