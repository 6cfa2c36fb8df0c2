"""The default client is httpx's own: respx mocks it as it is, and a job runs under trio too."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

import anyio
import httpx
import respx

from dataforseo_bulk import BulkClient

from .servers import answer_ok, free_port, ok_body, raw_server

URL = "https://api.dataforseo.com/v3/backlinks/bulk_backlinks/live"


async def test_respx_mocks_the_default_client_without_a_transport_override() -> None:
    with respx.mock(assert_all_called=True) as router:
        route = router.post(URL).mock(
            side_effect=lambda request: httpx.Response(200, content=ok_body(request.content))
        )
        async with BulkClient("login", "password") as c:
            result = await c.bulk_backlinks(["a.com", "b.com"])
    assert dict(result) == {"a.com": 7, "b.com": 7}
    assert route.call_count == 1


def test_a_job_runs_under_trio() -> None:
    async def job() -> dict[str, int]:
        async with (
            raw_server(answer_ok) as server,
            BulkClient("login", "password", base_url=server.url, chunk_size=3, check_balance=False) as c,
        ):
            result = await c.bulk_backlinks([f"site{i}.com" for i in range(10)])
        assert result.stats.calls == 4
        return dict(result)

    assert anyio.run(job, backend="trio") == {f"site{i}.com": 7 for i in range(10)}


class _ImportRecorder(MetaPathFinder):
    """First on ``sys.meta_path``: sees every import that ``sys.modules`` does not answer."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        self.names.append(fullname)
        return None  # the real finders go on as usual


async def test_after_the_first_call_a_job_imports_nothing_per_call() -> None:
    # An import that fails is not cached: Python searches every path entry again, ~50 us each
    # time. httpcore tries ``import sniffio`` on every lock and event it sets up (4-5 a call),
    # so without sniffio installed each call paid 0.4-1.1 ms of CPU for nothing (pyproject.toml).
    recorder = _ImportRecorder()
    async with (
        raw_server(answer_ok) as server,
        BulkClient("login", "password", base_url=server.url, chunk_size=5, check_balance=False) as c,
    ):
        # A first job of the same shape may import what a job needs, once.
        await c.bulk_backlinks([f"warm-up{i}.com" for i in range(50)])
        sys.meta_path.insert(0, recorder)
        try:
            result = await c.bulk_backlinks([f"site{i}.com" for i in range(50)])
        finally:
            sys.meta_path.remove(recorder)
    assert result.stats.calls == 10 and len(result) == 50
    assert recorder.names == []


def test_sniffio_is_a_dependency_so_httpcore_finds_it_on_every_install() -> None:
    # The test above passes only where sniffio is installed; the test extra's trio brings it
    # anyway, so this pins that a plain `pip install dataforseo-bulk` does too.
    required = importlib.metadata.requires("dataforseo-bulk") or []
    unconditional = [line for line in required if ";" not in line]  # no extra, no marker
    assert any(re.match(r"sniffio\b", line) for line in unconditional), required


def test_the_command_line_says_in_one_line_that_the_api_is_unreachable(tmp_path: Path) -> None:
    targets = tmp_path / "targets.txt"
    targets.write_text("a.com\nb.com\n", encoding="utf-8")
    url = f"http://127.0.0.1:{free_port()}"
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from dataforseo_bulk.cli import main; raise SystemExit(main())",
            "backlinks",
            str(targets),
            "--base-url",
            url,
            "-o",
            str(tmp_path / "out.csv"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"DATAFORSEO_LOGIN": "login", "DATAFORSEO_PASSWORD": "password", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 2
    # One line says why (the summary of counts follows it, as for any stopped job).
    lines = [line for line in done.stderr.splitlines() if "ConnectError" in line]
    assert len(lines) == 1 and "no call reached the API" in lines[0], done.stderr
    assert url.removeprefix("http://") in lines[0]
    assert "Traceback" not in done.stderr
