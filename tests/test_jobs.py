"""Streaming and checkpoints, with the API mocked by respx (on a fake loop clock)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import httpx
import pytest

from conftest import LOGIN, PASSWORD, FakeAPI, backlinks_of, ok, scripted, task_error
from dataforseo_bulk import BULK_BACKLINKS, BudgetExceeded, BulkClient, ConfigurationError, RetryPolicy
from dataforseo_bulk.checkpoint import Checkpoint
from dataforseo_bulk.endpoints import Endpoint, int_field

pytestmark = [pytest.mark.looptime, pytest.mark.usefixtures("mocked")]


def client(**knobs: object) -> BulkClient:
    return BulkClient(
        LOGIN,
        PASSWORD,
        retry_policy=RetryPolicy.testing(),
        **knobs,  # type: ignore[arg-type]
    )


def domains(n: int) -> list[str]:
    return [f"site{i}.example.com" for i in range(n)]


async def test_stream_yields_every_target_once_in_completion_order(api: FakeAPI) -> None:
    targets = [*domains(2500), "bad target", "SITE1.example.com"]
    seen: dict[str, int] = {}
    failed: set[str] = set()
    async with client() as c, c.stream(targets) as outcomes:
        async for outcome in outcomes:
            assert not (set(outcome.values) & set(seen))  # nobody twice
            seen.update(outcome.values)
            failed.update(outcome.failed)
    assert seen == {
        **{t: backlinks_of(t) for t in domains(2500)},
        "SITE1.example.com": backlinks_of("site1.example.com"),
    }
    assert failed == {"bad target"}


async def test_leaving_a_stream_early_stops_the_job(api: FakeAPI) -> None:
    api.latency = 1.0
    async with client(chunk_size=10, max_concurrency=2) as c, c.stream(domains(10_000)) as outcomes:
        async for _ in outcomes:
            break
    assert len(api.calls) <= 4  # what was in flight, not the 1000 chunks


async def test_stream_raises_job_aborted_after_the_outcomes_it_paid_for(api: FakeAPI) -> None:
    got = 0
    async with client(max_concurrency=1, max_cost=0.12) as c:
        with pytest.raises(BudgetExceeded) as caught:
            async with c.stream(domains(5000)) as outcomes:
                async for outcome in outcomes:
                    got += len(outcome.values)
    assert got == 2000 and len(api.calls) == 2
    assert caught.value.result is None  # a stream hands its outcomes out as they come


async def test_checkpoint_rerun_sends_only_what_is_not_finished(api: FakeAPI, tmp_path: Path) -> None:
    checkpoint = tmp_path / "job.sqlite"
    targets = domains(5000)
    async with client(max_concurrency=1) as c:
        with pytest.raises(BudgetExceeded):
            await c.bulk_backlinks(targets, checkpoint=checkpoint, max_cost=0.12)  # two chunks fit
    first_run = list(api.sent_targets)
    assert len(first_run) == 2000

    async with client() as c:
        result = await c.bulk_backlinks(targets, checkpoint=checkpoint)
    second_run = api.sent_targets[2000:]
    assert dict(result) == {t: backlinks_of(t) for t in targets}
    assert not set(first_run) & set(second_run)  # nothing bought twice
    assert len(second_run) == 3000
    assert result.stats.resumed == 2000

    async with client() as c:  # a third run: nothing left to ask
        again = await c.bulk_backlinks(targets, checkpoint=checkpoint)
    assert len(api.sent_targets) == 5000 and dict(again) == dict(result)


async def test_checkpoint_keeps_permanent_failures_and_retries_exhausted_ones(
    api: FakeAPI, tmp_path: Path
) -> None:
    checkpoint = tmp_path / "job.sqlite"
    first_run = True

    def respond(api: FakeAPI, targets: list[str]) -> httpx.Response:
        if targets == ["perm.com"]:
            return task_error(40506, "Unknown Fields in POST Data.")
        if targets == ["flaky.com"] and first_run:
            return task_error(50000, "Internal Error.")
        return ok(targets)

    api.respond = respond
    async with client(chunk_size=1, max_concurrency=1) as c:
        first = await c.bulk_backlinks(["perm.com", "flaky.com"], checkpoint=checkpoint)
    assert set(first.failed) == {"perm.com", "flaky.com"}
    calls_before = len(api.calls)
    first_run = False
    async with client(chunk_size=1, max_concurrency=1) as c:
        second = await c.bulk_backlinks(["perm.com", "flaky.com"], checkpoint=checkpoint)
    # The permanent failure is remembered (not paid again); the transient one is tried again.
    assert [call.targets for call in api.calls[calls_before:]] == [["flaky.com"]]
    assert second.failed["perm.com"].code == 40506
    assert second["flaky.com"] == backlinks_of("flaky.com")


async def test_checkpoint_of_another_job_is_refused(api: FakeAPI, tmp_path: Path) -> None:
    checkpoint = tmp_path / "job.sqlite"
    async with client() as c:
        await c.bulk_backlinks(["a.com"], checkpoint=checkpoint)
        other: Endpoint[int] = Endpoint("bulk_ranks", int_field("rank"))
        with pytest.raises(ConfigurationError, match="another job"):
            await c.run(other, ["a.com"], checkpoint=checkpoint)
    assert len(api.calls) == 1
    # Same endpoint, other parameters: refused as well (the file records both).
    ranks = Checkpoint(tmp_path / "ranks.sqlite", endpoint="bulk_ranks", params={"rank_scale": "one_hundred"})
    ranks.close()
    with pytest.raises(ConfigurationError, match="another job"):
        Checkpoint(tmp_path / "ranks.sqlite", endpoint="bulk_ranks", params={"rank_scale": "one_thousand"})


async def test_bad_parameters_fail_before_a_checkpoint_or_call(api: FakeAPI, tmp_path: Path) -> None:
    async with client() as c:
        with pytest.raises(ConfigurationError, match="rank_scale"):
            await c.run(
                BULK_BACKLINKS, ["a.com"], params={"rank_scale": "one_hundred"}, checkpoint=tmp_path / "x"
            )
    assert not api.calls and not (tmp_path / "x").exists()


async def test_checkpoint_never_holds_credentials(api: FakeAPI, tmp_path: Path) -> None:
    checkpoint = tmp_path / "job.sqlite"
    api.respond = scripted(lambda t: task_error(40506, "Unknown Fields."))
    async with client() as c:
        await c.bulk_backlinks(domains(10), checkpoint=checkpoint)
    for path in tmp_path.iterdir():
        content = path.read_bytes()
        assert PASSWORD.encode() not in content and LOGIN.encode() not in content


async def test_streamed_job_with_checkpoint_forgets_answers_but_never_buys_twice(
    api: FakeAPI, tmp_path: Path
) -> None:
    targets = [*domains(3000), *domains(10), "SITE5.example.com"]  # late duplicates, after their answer
    got: dict[str, int] = {}
    async with (
        client(max_concurrency=1) as c,
        c.stream(targets, checkpoint=tmp_path / "job.sqlite") as outcomes,
    ):
        async for outcome in outcomes:
            assert not set(outcome.values) & set(got)  # no input string is answered twice
            got.update(outcome.values)
        stats = outcomes.stats()
    assert sorted(api.sent_targets) == sorted(domains(3000))  # each bought once
    assert got["SITE5.example.com"] == backlinks_of("site5.example.com")
    assert len(got) == 3001
    assert (stats.targets, stats.duplicate, stats.resumed) == (3001, 11, 0)

    async with (
        client(max_concurrency=1) as c,
        c.stream(targets, checkpoint=tmp_path / "job.sqlite") as outcomes,
    ):
        again = {k: v async for outcome in outcomes for k, v in outcome.values.items()}
        stats = outcomes.stats()
    assert again == got and len(api.calls) == 3  # a rerun: all from the checkpoint
    assert (stats.targets, stats.duplicate, stats.resumed) == (3001, 11, 3000)


def late_repeats() -> list[str]:
    """Repeats and other spellings long after their target's answer, in both orders; a target
    whose retries run out, asked for again later; invalid targets."""
    targets = ["flaky.com", *domains(300), "not a target"]
    targets += ["SITE1.example.com", "site1.example.com", "Site1.Example.com", "site2.example.com"]
    targets += [f"SITE{i}.example.com" for i in range(100, 110)] + [
        f"site{i}.example.com" for i in range(100, 105)
    ]
    targets += ["not a target", *domains(5), *domains(400)[350:], "FLAKY.com", "flaky.com"]
    return targets


async def run_stream(
    api: FakeAPI, targets: list[str], checkpoint: Path | None
) -> tuple[dict[str, object], object]:
    rows: dict[str, object] = {}
    async with (
        client(chunk_size=10, max_concurrency=1) as c,
        c.stream(targets, checkpoint=checkpoint) as outcomes,
    ):
        async for outcome in outcomes:
            assert not (set(outcome.values) | set(outcome.failed)) & set(rows)  # one row per input string
            rows.update(outcome.values)
            rows.update({t: f.kind for t, f in outcome.failed.items()})
        stats = outcomes.stats()
    return rows, stats


async def test_the_same_counts_and_calls_with_a_new_checkpoint_as_without(
    api: FakeAPI, tmp_path: Path
) -> None:
    def respond(api: FakeAPI, targets: list[str]) -> httpx.Response:
        if "flaky.com" in targets:
            return task_error(50000, "Internal Error.")  # every attempt: retries run out
        return ok(targets)

    api.respond = respond
    plain_rows, plain = await run_stream(api, late_repeats(), None)
    plain_sent = sorted(api.sent_targets)
    api.calls.clear()
    rows, stats = await run_stream(api, late_repeats(), tmp_path / "job.sqlite")

    assert rows == plain_rows
    assert sorted(api.sent_targets) == plain_sent  # the failed target is not asked for again either
    counts = ("targets", "ok", "failed", "duplicate", "invalid", "calls", "resumed")
    assert {n: getattr(stats, n) for n in counts} == {n: getattr(plain, n) for n in counts}
    assert stats.resumed == 0


async def test_a_checkpoint_in_use_is_refused_before_any_call(api: FakeAPI, tmp_path: Path) -> None:
    path = tmp_path / "job.sqlite"
    with Checkpoint(path, endpoint=BULK_BACKLINKS.name, params={}):
        async with client() as c:
            with pytest.raises(ConfigurationError, match="is in use by another run"):
                await c.bulk_backlinks(domains(10), checkpoint=path)
    assert api.calls == []
    async with client() as c:  # released when the first one closed
        result = await c.bulk_backlinks(domains(10), checkpoint=path)
    assert len(result) == 10


OLD_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE done (target TEXT PRIMARY KEY, item TEXT, failure TEXT, given TEXT);
CREATE TABLE chunks (seq INTEGER PRIMARY KEY AUTOINCREMENT, tag TEXT, targets INTEGER NOT NULL,
    cost_usd REAL NOT NULL, calls INTEGER NOT NULL, finished_at REAL NOT NULL);
INSERT INTO meta VALUES ('job', '{"endpoint": "bulk_backlinks", "params": {}, "schema": 1}');
INSERT INTO done VALUES ('site0.example.com', '{"target": "site0.example.com", "backlinks": 7}', NULL, 'x');
"""


async def test_a_checkpoint_made_by_the_previous_version_is_still_used(api: FakeAPI, tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite"
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.executescript(OLD_SCHEMA)
    with Checkpoint(path, endpoint=BULK_BACKLINKS.name, params={}, readonly=True) as look:
        assert set(look.lookup(domains(2))) == {"site0.example.com"}  # a dry run's look
    async with client() as c:
        result = await c.bulk_backlinks(domains(2), checkpoint=path)
    assert result["site0.example.com"] == 7  # from the file, not bought again
    assert api.sent_targets == ["site1.example.com"]
    assert result.stats.resumed == 1


async def test_targets_an_older_version_stored_as_failed_by_a_wrong_address_are_sent_again(
    api: FakeAPI, tmp_path: Path
) -> None:
    import sqlite3

    path = tmp_path / "poisoned.sqlite"
    failure = (
        '{"kind": "permanent", "reason": "Invalid Path.", "code": 40402, "http_status": 404, "chunk": null}'
    )
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.executescript(OLD_SCHEMA)
        db.execute("INSERT INTO done VALUES ('site1.example.com', NULL, ?, 'x')", (failure,))
        db.commit()
    async with client() as c:
        result = await c.bulk_backlinks(domains(2), checkpoint=path)
    assert result["site1.example.com"] == backlinks_of("site1.example.com")
    assert api.sent_targets == ["site1.example.com"] and not result.failed
