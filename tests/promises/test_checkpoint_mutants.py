"""Tests for mutants of ``checkpoint.py`` that survived the suite (docs/testing.md, "Mutation
testing"): a checkpoint file written by an older version of the library (before the ``seen``
column, with failures that said the request itself was wrong) is used as the docs promise, by a
run and by a dry run. Through the public client (the API mocked by respx on looptime's fake
clock) and the command line in this process.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import anyio
import httpx
import pytest

from conftest import LOGIN, PASSWORD, FakeAPI, backlinks_of, ok, task_error
from dataforseo_bulk import BulkClient, FailureKind
from dataforseo_bulk.cli import main

pytestmark = [pytest.mark.looptime, pytest.mark.usefixtures("mocked")]

#: Targets whose failures the older version stored although they said the request itself was
#: wrong (docs/jobs.md, checkpoint point 4), each as (HTTP status, API code) in the file.
WRONG_ADDRESS = {
    "w404.com": (404, None),
    "w40400.com": (200, 40400),
    "w40402.com": (200, 40402),
    "wboth.com": (404, 40400),
}
TARGETS = ["a.com", "refused.com", *WRONG_ADDRESS, "z.com"]  # z.com: read after them from the file


def older_version(path: Path) -> None:
    """Make ``path`` (a checkpoint of this version) look like one an older version wrote: no
    ``seen`` column (added by this version's migration), and the wrong-address failures it kept
    against the targets."""
    with sqlite3.connect(path) as conn:
        for target, (http_status, code) in WRONG_ADDRESS.items():
            (text,) = conn.execute("SELECT failure FROM done WHERE target = ?", (target,)).fetchone()
            failure = json.loads(text) | {"http_status": http_status, "code": code, "reason": "Not Found."}
            conn.execute("UPDATE done SET failure = ? WHERE target = ?", (json.dumps(failure), target))
        conn.execute("ALTER TABLE done DROP COLUMN seen")
    conn.close()


# jobs.md, "checkpoint=" point 4: failures that said the request itself was wrong (HTTP 404,
# 40400, 40402), stored by an earlier version, are ignored: those targets are sent again. The
# file of an earlier version is read by a dry run without being changed (cli.md: "It leaves the
# checkpoint byte for byte as it was") and used by a run.
async def test_a_checkpoint_of_an_older_version_is_used_and_its_wrong_address_failures_sent_again(
    api: FakeAPI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def first(api: FakeAPI, targets: list[str]) -> httpx.Response:
        if targets[0] in WRONG_ADDRESS or targets == ["refused.com"]:
            return task_error(40102, "No Search Results.")  # a permanent failure: kept by the file
        return ok(targets)

    api.respond = first
    checkpoint = tmp_path / "job.sqlite"
    async with BulkClient(LOGIN, PASSWORD, chunk_size=1) as c:
        before = await c.bulk_backlinks(TARGETS, checkpoint=str(checkpoint))
    assert dict(before) == {"a.com": backlinks_of("a.com"), "z.com": backlinks_of("z.com")}
    older_version(checkpoint)
    old_bytes = checkpoint.read_bytes()

    (tmp_path / "t.txt").write_text("\n".join(TARGETS) + "\n", encoding="utf-8")
    argv = ["backlinks", str(tmp_path / "t.txt"), "--dry-run", "--checkpoint", str(checkpoint)]
    dry = await anyio.to_thread.run_sync(main, argv)  # the command runs its own event loop
    out = capsys.readouterr().out
    assert dry == 0
    counts = "7 distinct inputs: 4 to send, 3 answered from the checkpoint, 0 invalid, 0 duplicate"
    assert f"  targets   {counts}" in out.splitlines()
    assert checkpoint.read_bytes() == old_bytes

    api.respond = lambda api, targets: ok(targets)
    api.calls.clear()
    async with BulkClient(LOGIN, PASSWORD, chunk_size=1) as c:
        again = await c.bulk_backlinks(TARGETS, checkpoint=str(checkpoint))
        third = await c.bulk_backlinks(TARGETS, checkpoint=str(checkpoint))
    assert sorted(api.sent_targets) == sorted(WRONG_ADDRESS)  # sent again, once: then kept
    expected = {t: backlinks_of(t) for t in TARGETS if t != "refused.com"}
    assert dict(again) == dict(third) == expected
    assert again.failed["refused.com"] == before.failed["refused.com"]  # a lasting failure stays
    assert again.failed["refused.com"].kind is FailureKind.PERMANENT
    assert (again.stats.resumed, again.stats.calls) == (3, 4)
    assert (third.stats.resumed, third.stats.calls) == (7, 0)

