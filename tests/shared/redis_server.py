"""A real ``redis-server`` for a test: on a free loopback port, no persistence, stopped by its PID.

Used by the tests (fixture ``redis_server`` in ``conftest.py``) and by
``benchmarks/multiprocess.py``. ``.ci/run`` installs the Debian package when it is missing.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis

INSTALL_HINT = "redis-server is not installed: apt-get install -y redis-server (.ci/run does it)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """``redis-server`` as a child process. ``url`` names it; ``stop()`` ends it by its PID."""

    def __init__(self, workdir: Path, *, password: str | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            if os.environ.get("CI"):  # CI installs it (.ci/run): there, a missing one is a failure
                raise RuntimeError(INSTALL_HINT)
            pytest.skip(INSTALL_HINT)  # a developer's machine without Redis still runs the rest
        self.port = free_port()
        self.password = password
        command = [
            binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(workdir),
            "--logfile", str(workdir / "redis.log"),
        ]  # fmt: skip
        if password is not None:
            command += ["--requirepass", password]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.pid = self.process.pid
        self._wait_until_it_answers(workdir)

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password is not None else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, password=self.password, socket_timeout=2.0)

    def _wait_until_it_answers(self, workdir: Path) -> None:
        deadline = time.monotonic() + 10.0
        with self.client() as probe:
            while True:
                if self.process.poll() is not None:
                    log = (workdir / "redis.log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"redis-server exited with {self.process.returncode}:\n{log}")
                try:
                    if probe.ping():
                        return
                except redis.RedisError:
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"redis-server on port {self.port} did not answer PING in 10 s")
                time.sleep(0.02)

    def stop(self) -> None:
        """SIGTERM by PID, SIGKILL if it lingers; idempotent."""
        if self.process.poll() is not None:
            return
        os.kill(self.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            os.kill(self.pid, signal.SIGKILL)
            self.process.wait(timeout=5.0)
