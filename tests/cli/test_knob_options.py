"""The options that set the client's knobs reach the job: ``--timeout`` cuts a call the API holds,
``--max-retries`` bounds what is sent again, ``--chunk-size`` sets the targets per call."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import Emulator, csv_rows, run_cli

pytestmark = pytest.mark.loopback


def test_timeout_and_max_retries_reach_the_calls(
    start_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    # Every call is held for 600 s: only --timeout ends it; --max-retries 1 sends each chunk twice.
    emulator = start_emulator("--fault-rate", "1", "--faults", "slow", "--slow-seconds", "600")
    source = tmp_path / "t.txt"
    source.write_text("a.com\nb.com\nc.com\n", encoding="utf-8")
    output = tmp_path / "out.csv"

    done = run_cli(
        "backlinks", str(source), "-o", str(output), "--base-url", emulator.url,
        "--timeout", "0.5", "--max-retries", "1", "--chunk-size", "2",
    )  # fmt: skip

    assert done.returncode == 1, done.stderr
    rows = csv_rows(output.read_text(encoding="utf-8"))
    assert {row["target"]: row["error_kind"] for row in rows} == dict.fromkeys(
        ["a.com", "b.com", "c.com"], "retries_exhausted"
    )
    calls = emulator.calls()
    assert sorted(call.targets for call in calls) == [1, 1, 2, 2]  # 2 chunks of ≤ 2, each sent twice
