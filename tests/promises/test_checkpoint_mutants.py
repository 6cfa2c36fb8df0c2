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
from dataforseo_bulk import BulkClient, ConfigurationError, FailureKind
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



async def dry_run(tmp_path: Path, command: str, checkpoint: Path) -> int:
    """``dataforseo-bulk COMMAND t.txt --dry-run --checkpoint CHECKPOINT``, in this process."""
    (tmp_path / "t.txt").write_text("a.com\nb.com\n", encoding="utf-8")
    argv = [command, str(tmp_path / "t.txt"), "--dry-run", "--checkpoint", str(checkpoint)]
    return await anyio.to_thread.run_sync(main, argv)  # the command runs its own event loop


# cli.md: `--dry-run` "checks the files as the job would": the checkpoint of another job is
# refused (jobs.md, checkpoint point 5), an empty file holds nothing yet; neither is changed.
async def test_a_dry_run_checks_the_checkpoint_as_the_job_would(
    api: FakeAPI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoint = tmp_path / "job.sqlite"
    async with BulkClient(LOGIN, PASSWORD) as c:
        await c.bulk_backlinks(["a.com"], checkpoint=str(checkpoint))
    made = checkpoint.read_bytes()
    assert await dry_run(tmp_path, "ranks", checkpoint) == 2
    err = capsys.readouterr().err
    assert f"checkpoint {str(checkpoint)!r} belongs to another job" in err and "bulk_ranks" in err
    assert checkpoint.read_bytes() == made

    empty = tmp_path / "empty.sqlite"
    empty.touch()
    assert await dry_run(tmp_path, "backlinks", empty) == 0
    assert "2 distinct inputs: 2 to send, 0 answered from the checkpoint" in capsys.readouterr().out
    assert empty.read_bytes() == b""


# jobs.md, checkpoint point 8: a file that cannot be used is a ConfigurationError that names it,
# before any call.
async def test_a_checkpoint_that_cannot_be_used_is_refused_with_its_name(
    api: FakeAPI, tmp_path: Path
) -> None:
    garbage = tmp_path / "notes.sqlite"
    garbage.write_text("not a database, just notes\n", encoding="utf-8")
    missing = tmp_path / "no-such-dir" / "job.sqlite"
    refusals = {
        garbage: f"checkpoint {str(garbage)!r} is not a usable SQLite file (file is not a database)",
        missing: f"checkpoint {str(missing)!r}: the directory {str(missing.parent)!r} does not exist; "
        "create it or give a path in an existing directory",
        tmp_path: f"checkpoint {str(tmp_path)!r} is a directory: give a file name inside it",
    }
    async with BulkClient(LOGIN, PASSWORD) as c:
        for path, message in refusals.items():
            with pytest.raises(ConfigurationError) as caught:
                await c.bulk_backlinks(["a.com"], checkpoint=str(path))
            assert str(caught.value) == message
    assert api.calls == []
