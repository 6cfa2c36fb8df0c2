"""The ``dataforseo-bulk`` command against the emulator (on loopback, served from a thread of
this process): in this process (``run_cli``: ``main(argv)``), or as the real console script in a
process of its own where a process is the point (``run_cli_process``, ``start_cli``: its exit
status, signals, ``kill -9``, two processes)."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import logging
import os
import queue
import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from dataforseo_bulk.cli import main
from dataforseo_bulk.emulator import Ledger, serve
from dataforseo_bulk.emulator.server import build_parser as emulator_parser
from dataforseo_bulk.emulator.server import config_from_args

LOGIN, PASSWORD = "emulator", "emulator-password"


def cli_command() -> list[str]:
    """The venv's console script next to this interpreter, else the same entry point via -c."""
    script = Path(sys.executable).with_name("dataforseo-bulk")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-c", "from dataforseo_bulk.cli import main; raise SystemExit(main())"]


def cli_env(*, credentials: bool = True) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAFORSEO_")}
    env["PYTHONUNBUFFERED"] = "1"
    if credentials:
        env.update(DATAFORSEO_LOGIN=LOGIN, DATAFORSEO_PASSWORD=PASSWORD)
    return env


def run_cli(
    *args: str, stdin: str | None = None, credentials: bool = True, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run the command to its end *in this process*: ``main(argv)`` with the environment, stdin,
    stdout and stderr it has as a process (pipes, not a terminal), the exit status it would exit
    with (argparse's included), stdout and stderr as text as ``subprocess.run(text=True)`` gives
    them. Fast: no interpreter to start. ``run_cli_process`` runs the real console script.
    (``timeout`` is for the process version only.)"""
    streams = {
        name: io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True) for name in ("out", "err")
    }
    streams["err"].reconfigure(errors="backslashreplace")  # as Python's own stderr
    saved = sys.stdin, sys.stdout, sys.stderr
    logger = logging.getLogger("dataforseo_bulk")
    handlers = list(logger.handlers)
    if stdin is not None:
        sys.stdin = io.TextIOWrapper(io.BufferedReader(io.BytesIO(stdin.encode("utf-8"))), encoding="utf-8")
    sys.stdout, sys.stderr = streams["out"], streams["err"]
    try:
        with mock.patch.dict(os.environ, cli_env(credentials=credentials), clear=True):
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse's usage errors, --help, --version
                code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
        logger.handlers[:] = handlers  # the command's warnings handler goes with it

    def text(stream: io.TextIOWrapper) -> str:
        raw = stream.buffer.getvalue()  # type: ignore[attr-defined]
        return raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")  # universal newlines

    return subprocess.CompletedProcess(
        ["dataforseo-bulk", *args], code, text(streams["out"]), text(streams["err"])
    )


def run_cli_process(
    *args: str, stdin: str | None = None, credentials: bool = True, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run the real console script to its end in a process of its own; stdout and stderr as text."""
    return subprocess.run(
        [*cli_command(), *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=cli_env(credentials=credentials),
        timeout=timeout,
        check=False,
    )


#: Python code that gives SIGINT the handler a terminal's foreground job has: the test suite may
#: itself run with SIGINT ignored (started by a script's ``&``), and the command would keep
#: ignoring it, as Python does (src/dataforseo_bulk/cli/interrupt.py).
CTRL_C_ABLE = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "


def ctrl_c_able(command: list[str]) -> list[str]:
    """``command`` (a Python script or ``python -c CODE``, then arguments) with Ctrl-C reaching it."""
    if command[:2] == [sys.executable, "-c"]:
        return [sys.executable, "-c", CTRL_C_ABLE + command[2], *command[3:]]
    if command[0] == sys.executable:  # python script.py ...
        command = command[1:]
    run_script = (
        "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    return [sys.executable, "-c", CTRL_C_ABLE + run_script, *command]


def start_cli(*args: str, stderr: Path) -> subprocess.Popen[bytes]:
    """Start the command in the background (to be signalled); its stderr goes to a file."""
    with stderr.open("wb") as sink:
        return subprocess.Popen(
            ctrl_c_able([*cli_command(), *args]),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=sink,
            env=cli_env(),
        )


@dataclass
class Emulator:
    url: str
    ledger_path: Path
    server: InThread

    def calls(self) -> list[Any]:
        with Ledger.open_readonly(self.ledger_path) as ledger:
            return ledger.calls()

    def charged_counts(self) -> dict[str, int]:
        with Ledger.open_readonly(self.ledger_path) as ledger:
            return ledger.charged_counts()

    def charges(self) -> list[tuple[int, str | None, str]]:
        """(call seq, call tag, target) of every item charged, from the ledger's tables."""
        with readonly(self.ledger_path) as db:
            rows = db.execute(
                "SELECT c.seq, c.tag, i.target FROM charged_items i JOIN calls c ON c.seq = i.seq"
            ).fetchall()
        return [(int(seq), tag, target) for seq, tag, target in rows]

    def settle(self, quiet: float = 0.3, limit: float = 10.0) -> int:
        """Wait until no call has been recorded for ``quiet`` seconds; return the last seq."""
        deadline = time.monotonic() + limit
        last, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            calls = self.calls()
            seq = calls[-1].seq if calls else 0
            if seq != last:
                last, since = seq, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return seq
            time.sleep(0.05)
        raise AssertionError("the emulator kept recording calls")


class InThread:
    """One emulator, as ``python -m dataforseo_bulk.emulator FLAGS`` serves it, on an event loop of
    its own in a thread of this process: no interpreter to start (~0.5 s each), a fresh ledger."""

    def __init__(self, flags: tuple[str, ...], ledger_path: Path) -> None:
        args = emulator_parser().parse_args(["--port", "0", "--ledger", str(ledger_path), *flags])
        self._config = config_from_args(args)
        self._ledger = Ledger(ledger_path)
        self._ready: queue.Queue[str | BaseException] = queue.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = asyncio.Event()
        self._thread = threading.Thread(
            target=asyncio.run, args=(self._serve(),), name="emulator", daemon=True
        )
        self._thread.start()
        started = self._ready.get(timeout=30)
        if isinstance(started, BaseException):
            self.stop()
            raise AssertionError(f"the emulator did not start: {started!r}")
        self.url = started

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        try:
            async with serve(self._config, ledger=self._ledger) as url:
                self._ready.put(url)
                await self._stop.wait()
        except BaseException as exc:
            self._ready.put(exc)
            raise

    def stop(self) -> None:
        if self._loop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)
        assert not self._thread.is_alive(), "the emulator did not stop"
        self._ledger.close()


class Emulators:
    """Starts emulators, each on port 0 with its own ledger; ``stop_all`` ends them."""

    def __init__(self, directory: Callable[[], Path]) -> None:
        self._directory = directory
        self._started: list[InThread] = []

    def start(self, *flags: str) -> Emulator:
        ledger = self._directory() / "ledger.sqlite"
        server = InThread(flags, ledger)
        self._started.append(server)
        return Emulator(server.url, ledger, server)

    def stop_all(self) -> None:
        for server in self._started:
            server.stop()


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """One emulator (the real account's limits, no latency) shared by a module's jobs."""
    emulators = Emulators(lambda: tmp_path_factory.mktemp("emulator"))
    try:
        yield emulators.start()
    finally:
        emulators.stop_all()


@pytest.fixture
def start_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Emulator]]:
    """``start_emulator("--latency-ms", "50", ...)``: a fresh emulator with its own ledger,
    terminated when the test ends, whatever happens."""
    emulators = Emulators(lambda: tmp_path_factory.mktemp("emulator"))
    try:
        yield emulators.start
    finally:
        emulators.stop_all()


def readonly(path: Path) -> contextlib.closing[sqlite3.Connection]:
    """A read-only connection to a SQLite file another process may be writing (closed by ``with``)."""
    return contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5.0))


@dataclass(frozen=True)
class DryRun:
    """What ``--dry-run`` says a run would do: the command's own account of a checkpoint."""

    distinct: int
    to_send: int
    resumed: int
    invalid: int
    duplicate: int
    ok: int
    failed: int


_DRY_TARGETS = re.compile(
    r"targets +([\d,]+) distinct inputs: ([\d,]+) to send, (?:([\d,]+) answered from the checkpoint, )?"
    r"([\d,]+) invalid, ([\d,]+) duplicate\n +rows +([\d,]+) ok, ([\d,]+) failed"
)


def dry_run(*args: str) -> DryRun:
    """``dataforseo-bulk <args> --dry-run``, its counts parsed (it must succeed)."""
    done = run_cli(*args, "--dry-run", credentials=False)
    assert done.returncode == 0, done.stderr
    match = _DRY_TARGETS.search(done.stdout)
    assert match, done.stdout
    distinct, to_send, resumed, invalid, duplicate, ok, failed = (
        int((g or "0").replace(",", "")) for g in match.groups()
    )
    return DryRun(distinct, to_send, resumed, invalid, duplicate, ok, failed)


_SUMMARY = re.compile(
    r"targets +([\d,]+) distinct: ([\d,]+) ok, ([\d,]+) failed \(([\d,]+) invalid\), ([\d,]+) duplicate"
)


def summary_counts(stderr: str) -> dict[str, int]:
    """targets, ok, failed, invalid, duplicate as a run's summary gives them."""
    match = _SUMMARY.search(stderr)
    assert match, stderr
    names = ("targets", "ok", "failed", "invalid", "duplicate")
    return dict(zip(names, (int(g.replace(",", "")) for g in match.groups()), strict=True))


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def jsonl_rows(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def sorted_lines(path: Path) -> list[str]:
    header, *rows = path.read_text(encoding="utf-8").splitlines()
    return [header, *sorted(rows)]
