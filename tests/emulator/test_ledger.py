"""The ledger: what it records, what it counts, who can read it, and what it never stores."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import anyio
import pytest

from dataforseo_bulk.emulator import EmulatorConfig, Ledger

from .helpers import BACKLINKS, emulator_client, path_of


def test_default_location_is_private() -> None:
    ledger = Ledger()
    try:
        assert ledger.path.name == "ledger.sqlite"
        assert stat.S_IMODE(ledger.path.parent.stat().st_mode) == 0o700
        assert stat.S_IMODE(ledger.path.stat().st_mode) == 0o600
    finally:
        ledger.close(delete=True)
    assert not ledger.path.parent.exists()


def test_record_and_read_back(ledger: Ledger) -> None:
    seq = ledger.record(
        monotonic=12.5,
        endpoint="bulk_ranks",
        tag="chunk-1",
        targets=3,
        http_status=200,
        envelope_code=20000,
        task_codes=[20000, 40000],
        fault=None,
        cost=0.02009,
        charged_targets=["a.com", "b.com", "c.com"],
    )
    (record,) = ledger.calls()
    assert record.seq == seq
    assert (record.monotonic, record.endpoint, record.tag, record.targets) == (
        12.5,
        "bulk_ranks",
        "chunk-1",
        3,
    )
    assert (record.http_status, record.envelope_code, record.task_codes) == (200, 20000, (20000, 40000))
    assert ledger.charged_counts("bulk_ranks") == {"a.com": 1, "b.com": 1, "c.com": 1}
    assert ledger.charged_counts() == {}
    assert ledger.charged_counts(None) == {"a.com": 1, "b.com": 1, "c.com": 1}
    assert ledger.total_cost() == 0.02009


async def test_every_request_is_recorded_and_only_answers_are_charged(ledger: Ledger) -> None:
    async with emulator_client(ledger=ledger) as client:
        await client.post(BACKLINKS, json=[{"targets": ["a.com", "b.com"], "tag": "one"}])
        await client.post(BACKLINKS, json=[{"targets": ["b.com", "c.com", "b.com"], "tag": "two"}])
        await client.post(BACKLINKS, json=[{"targets": ["a.com"], "tag": 3}])
        await client.post(BACKLINKS, content=b"")
        await client.post(path_of("bulk_ranks"), json=[{"targets": ["a.com"]}])
        await client.post("/nowhere", json=[])
    async with emulator_client(ledger=ledger, auth=("emulator", "nope")) as client:
        await client.post(BACKLINKS, json=[{"targets": ["a.com"]}])

    calls = ledger.calls()
    assert [c.seq for c in calls] == sorted(c.seq for c in calls)
    summary = [(c.endpoint, c.tag, c.targets, c.http_status, c.envelope_code, c.task_codes) for c in calls]
    assert summary == [
        ("bulk_backlinks", "one", 2, 200, 20000, (20000,)),
        ("bulk_backlinks", "two", 3, 200, 20000, (20000,)),
        ("bulk_backlinks", None, 1, 200, 20000, (40501,)),
        ("bulk_backlinks", None, 0, 200, 40502, ()),
        ("bulk_ranks", None, 1, 200, 20000, (20000,)),
        ("/nowhere", None, 0, 404, 40400, ()),
        ("bulk_backlinks", None, 0, 401, 40100, ()),
    ]
    assert ledger.charged_counts() == {"a.com": 1, "b.com": 2, "c.com": 1}
    assert ledger.charged_counts("bulk_ranks") == {"a.com": 1}
    assert ledger.total_cost() == pytest.approx(3 * 0.02 + 5 * 0.00003)


async def test_credentials_are_never_stored(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite")
    config = EmulatorConfig(login="who-am-i", password="very-secret-pw")
    async with emulator_client(config, ledger=ledger, auth=("who-am-i", "very-secret-pw")) as client:
        await client.post(BACKLINKS, json=[{"targets": ["a.com"]}])
    async with emulator_client(config, ledger=ledger, auth=("who-am-i", "guess-pw")) as client:
        await client.post(BACKLINKS, json=[{"targets": ["a.com"]}])
    ledger.close()
    stored = b"".join([await anyio.Path(path).read_bytes() async for path in anyio.Path(tmp_path).iterdir()])
    assert b"who-am-i" not in stored and b"very-secret-pw" not in stored and b"guess-pw" not in stored


async def test_another_process_can_read_it_with_plain_sqlite_while_it_is_open(ledger: Ledger) -> None:
    # (test_server.py reads a ledger written by the CLI process through Ledger.open_readonly.)
    async with emulator_client(ledger=ledger) as client:
        await client.post(BACKLINKS, json=[{"targets": ["a.com", "b.com"]}])
    script = (
        "import json, sqlite3, sys; db = sqlite3.connect(sys.argv[1]); "
        "rows = db.execute('SELECT target, COUNT(*) FROM charged_items GROUP BY target').fetchall(); "
        "print(json.dumps(rows))"
    )
    out = await anyio.run_process([sys.executable, "-I", "-c", script, str(ledger.path)], check=True)
    assert json.loads(out.stdout) == [["a.com", 1], ["b.com", 1]]


def test_read_only_ledger_refuses_writes(ledger: Ledger) -> None:
    reader = Ledger.open_readonly(ledger.path)
    with pytest.raises(PermissionError):
        reader.record(
            monotonic=0, endpoint="x", tag=None, targets=0, http_status=200,
            envelope_code=20000, task_codes=[], fault=None, cost=0,
        )  # fmt: skip
    reader.close()
    with pytest.raises(FileNotFoundError):
        Ledger.open_readonly(ledger.path.with_name("missing.sqlite"))


def test_reopening_continues_the_sequence(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "ledger.sqlite"
    with Ledger(path) as first:
        first.record(monotonic=0, endpoint="x", tag=None, targets=0, http_status=200,
                     envelope_code=20000, task_codes=[], fault=None, cost=0.1)  # fmt: skip
    with Ledger(path) as second:
        second.record(monotonic=1, endpoint="x", tag=None, targets=0, http_status=200,
                      envelope_code=20000, task_codes=[], fault=None, cost=0.2)  # fmt: skip
        assert [c.seq for c in second.calls()] == [1, 2]
        assert second.total_cost() == pytest.approx(0.3)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
