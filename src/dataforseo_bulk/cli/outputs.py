"""Writing results as they arrive: CSV or JSON Lines, one row per input target, flushed per chunk.

Each row names the target in the caller's spelling with its value, or its failure (kind,
DataForSEO code, reason). A row never holds credentials.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
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


class CsvWriter:
    def __init__(self, handle: TextIO) -> None:
        self._handle = handle
        self._writer: csv.DictWriter[str] | None = None

    def write(self, outcome: ChunkOutcome[Any]) -> None:
        rows = [{"target": t, **_flat(v)} for t, v in outcome.values.items()]
        rows += [{"target": t, **_failure_fields(f)} for t, f in outcome.failed.items()]
        if not rows:
            return
        if self._writer is None:
            columns = ["target", *(k for k in rows[0] if k not in ("target", *FAILURE_COLUMNS))]
            if outcome.values:
                value_columns = [k for k in _flat(next(iter(outcome.values.values())))]
                columns = ["target", *value_columns]
            else:
                columns = ["target", VALUE_COLUMN]
            self._writer = csv.DictWriter(
                self._handle, [*columns, *FAILURE_COLUMNS], extrasaction="ignore", lineterminator="\n"
            )
            self._writer.writeheader()
        self._writer.writerows(rows)
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


@contextmanager
def open_output(path: str | None, fmt: str | None) -> Iterator[Writer]:
    """``-`` or None: stdout. The format comes from ``fmt`` or the file's suffix (.csv, .jsonl)."""
    fmt = fmt or (Path(path).suffix.lstrip(".").lower() if path and path != "-" else "csv")
    if fmt not in ("csv", "jsonl"):
        raise ConfigurationError(
            f"output format {fmt!r}: name the file .csv or .jsonl, or pass --format csv|jsonl"
        )
    if path is None or path == "-":
        yield CsvWriter(sys.stdout) if fmt == "csv" else JsonlWriter(sys.stdout)
        return
    try:  # the `with` below closes it; the `try` only turns a failed open into a clear message
        handle = Path(path).open("w", encoding="utf-8", newline="")  # noqa: SIM115
    except OSError as exc:
        raise ConfigurationError(f"cannot write output {path!r}: {exc.strerror}") from None
    with handle:
        yield CsvWriter(handle) if fmt == "csv" else JsonlWriter(handle)
