"""The emulator over real loopback sockets: serve() and the command line."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import httpx
import pytest

from dataforseo_bulk.emulator import EmulatorConfig, Ledger, expected_backlinks, serve

from .helpers import AUTH, BACKLINKS

pytestmark = pytest.mark.loopback


async def test_serve_on_port_zero_answers_a_real_call(ledger: Ledger) -> None:
    async with serve(EmulatorConfig(), port=0, ledger=ledger) as url:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url) and not url.endswith(":0")
        async with httpx.AsyncClient(base_url=url, auth=AUTH) as client:
            response = await client.post(BACKLINKS, json=[{"targets": ["cnn.com", "bbc.com"], "tag": "loop"}])
    assert response.status_code == 200
    items = response.json()["tasks"][0]["result"][0]["items"]
    assert {item["target"]: item["backlinks"] for item in items} == {
        "cnn.com": expected_backlinks("cnn.com"),
        "bbc.com": expected_backlinks("bbc.com"),
    }
    assert ledger.calls()[-1].tag == "loop"


async def test_a_client_that_gives_up_on_a_slow_answer_frees_its_slot() -> None:
    config = EmulatorConfig(max_concurrency=1, fault_rate=1.0, faults=frozenset({"slow"}), slow_seconds=30)
    async with serve(config) as url, httpx.AsyncClient(base_url=url, auth=AUTH, timeout=0.2) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post(BACKLINKS, json=[{"targets": ["a.com"]}])
        # The server notices the closed connection and releases the slot: the next call is
        # admitted (and held, since every call is slow: the client times out) rather than
        # refused with 40209. Noticing takes a moment, so 40209 may come first for a while.
        admitted = False
        with anyio.move_on_after(10):
            while not admitted:
                try:
                    answer = (await client.post(BACKLINKS, json=[{"targets": ["a.com"]}])).json()
                except httpx.ReadTimeout:
                    admitted = True
                else:
                    assert answer["status_code"] == 40209
                    await anyio.sleep(0.02)
        assert admitted, "the slot of the abandoned call was never freed (40209 for 10 s)"


@contextmanager
def running_cli(*args: str, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[str]]:
    """``python -m dataforseo_bulk.emulator ARGS``, killed if a test leaves it running."""
    command = [sys.executable, "-m", "dataforseo_bulk.emulator", *args]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as process:
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def announced(process: subprocess.Popen[str]) -> re.Match[str]:
    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.fullmatch(r"serving DataForSEO emulator on (http://127\.0\.0\.1:\d+) \(ledger: (.+)\)\n", line)
    assert match, line
    return match


def test_command_line_serves_until_sigterm(tmp_path: Path) -> None:
    ledger_path = tmp_path / "cli-ledger.sqlite"
    env = {**os.environ, "DATAFORSEO_EMULATOR_PASSWORD": "cli-password"}
    with running_cli("--port", "0", "--ledger", str(ledger_path), env=env) as process:
        match = announced(process)
        assert Path(match.group(2)) == ledger_path
        response = httpx.post(
            match.group(1) + BACKLINKS, json=[{"targets": ["a.com"]}], auth=("emulator", "cli-password")
        )
        assert response.json()["tasks"][0]["status_code"] == 20000
        # Another process (this one) reads the ledger while the emulator runs.
        with Ledger.open_readonly(ledger_path) as reader:
            assert reader.charged_counts() == {"a.com": 1}
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0  # the timeout only guards against a hang
        assert process.stderr is not None
        assert "Traceback" not in process.stderr.read()


def test_command_line_exits_cleanly_on_sigint(tmp_path: Path) -> None:
    with running_cli("--port", "0", "--ledger", str(tmp_path / "l.sqlite")) as process:
        announced(process)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0


def test_command_line_rejects_bad_flags() -> None:
    with running_cli("--faults", "drop,explode") as process:
        assert process.wait(timeout=10) == 2
        assert process.stderr is not None
        assert "choose from" in process.stderr.read()
