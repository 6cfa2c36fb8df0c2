"""``-o`` naming a FIFO or a terminal device: written in place, row by row (docs/cli.md, "What
happens to your files"), never replaced by a file of its own.

Catches: a temporary file moved over a FIFO (the reader then gets nothing, and the FIFO is gone
from its directory), rows held back until the job ends (the reader of a FIFO sees the first
chunk's rows while later calls are still waiting), a partial file made beside a device.
"""

from __future__ import annotations

import json
import os
import stat
import threading
import tty
from collections.abc import Callable
from pathlib import Path

import pytest

from dataforseo_bulk.emulator import expected_backlinks

from .conftest import Emulator, csv_rows, run_cli

pytestmark = pytest.mark.loopback

CALLS = 8
TARGETS = [f"site{i}.example.com" for i in range(CALLS * 1000)]


def _reader(path: Path, emulator: Emulator) -> tuple[threading.Thread, list[str], list[int]]:
    """Reads ``path`` to its end in a thread: the lines, and the calls the emulator had answered
    when the first data row came."""
    lines: list[str] = []
    calls_at_first_row: list[int] = []

    def read() -> None:
        with path.open(encoding="utf-8", newline="") as handle:
            for line in handle:
                lines.append(line)
                if len(lines) == 2:  # the header, then a row
                    calls_at_first_row.append(len(emulator.calls()))

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread, lines, calls_at_first_row


def test_a_fifo_given_as_output_gets_every_row_as_it_comes(
    start_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    # One call at a time, 0.2 s each: the first chunk's rows are written some 1.4 s before the
    # last call is answered. Rows held back to the end would come after all eight.
    emulator = start_emulator("--latency-ms", "200")
    source = tmp_path / "targets.txt"
    source.write_text("\n".join(TARGETS) + "\n", encoding="utf-8")
    fifo = tmp_path / "rows.fifo"
    os.mkfifo(fifo)
    reader, lines, calls_at_first_row = _reader(fifo, emulator)
    args = ("backlinks", str(source), "-o", str(fifo), "--format", "csv", "--concurrency", "1", "--quiet")
    result = run_cli(*args, "--base-url", emulator.url)
    if reader.is_alive():  # the command never opened the FIFO, or left it open: unblock the reader
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    reader.join(timeout=60)

    assert result.returncode == 0, result.stderr
    assert stat.S_ISFIFO(fifo.stat().st_mode), "the FIFO is still a FIFO"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.fifo", "targets.txt"]  # no file beside
    rows = csv_rows("".join(lines))
    assert {r["target"]: int(r["backlinks"]) for r in rows} == {t: expected_backlinks(t) for t in TARGETS}
    assert len(rows) == len(TARGETS)
    assert calls_at_first_row[0] < CALLS


def test_a_terminal_given_as_output_is_written_in_place(
    start_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    emulator = start_emulator()
    targets = TARGETS[:2_000]
    source = tmp_path / "targets.txt"
    source.write_text("\n".join(targets) + "\n", encoding="utf-8")
    controller, terminal = os.openpty()
    tty.setraw(terminal)  # no echo, no "\r\n" for "\n": the bytes as written
    device = os.ttyname(terminal)
    received = bytearray()

    def read() -> None:  # until every row (a JSON line each) came
        while received.count(b"\n") < len(targets):
            received.extend(os.read(controller, 65536))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        result = run_cli(
            "backlinks", str(source), "-o", device, "--format", "jsonl", "--base-url", emulator.url
        )
        reader.join(timeout=60)
    finally:
        os.close(terminal)
        os.close(controller)

    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["targets.txt"]  # nothing made beside it
    rows = [json.loads(line) for line in received.decode().splitlines()]
    assert {r["target"]: r["backlinks"] for r in rows} == {t: expected_backlinks(t) for t in targets}
