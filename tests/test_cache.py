"""The results cache without the emulator: knobs, ages, the SQLite store, what is and is not cached.

Catches: a bad ``cache=`` / ``max_age=`` accepted (or refused only after calls went out); an
age string read wrongly; a failure cached (and never retried); an answer older than max_age
used; a store that loses its rows or refreshes their purchase time when it answers; a file
that is not a cache written to or taken as one.
"""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
import respx

from conftest import BASE_URL, LOGIN, PASSWORD, FakeAPI, backlinks_of, ok
from dataforseo_bulk import BulkClient, ConfigurationError, FailureKind
from dataforseo_bulk.cache import check_max_age, describe_age, parse_age, saved_by, scope_of
from dataforseo_bulk.cache_sqlite import SQLiteCache
from dataforseo_bulk.checkpoint import Checkpoint


class FakeTime:
    """A wall clock the test moves by hand."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("7d", 7 * 86_400),
        ("12h", 12 * 3_600),
        ("30m", 1_800),
        ("45s", 45),
        ("0", 0),
        ("1.5h", 5_400),
        (" 2d ", 2 * 86_400),
        ("0s", 0),
    ],
)
def test_parse_age_reads_each_unit(text: str, seconds: float) -> None:
    assert parse_age(text) == dt.timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(604_800, "7d"), (43_200, "12h"), (5_400, "90m"), (45, "45s"), (0, "0"), (1.5, "1.5s")],
)
def test_describe_age_reads_back(seconds: float, text: str) -> None:
    assert describe_age(dt.timedelta(seconds=seconds)) == text
    assert parse_age(text) == dt.timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["7", "", "d", "7w", "-1d", "1d2h", "seven days", "1e3s", "nan"])
def test_parse_age_refuses_what_it_cannot_read_and_says_how(text: str) -> None:
    with pytest.raises(ConfigurationError, match=r"e\.g\. 7d, 12h, 30m, 45s"):
        parse_age(text)


@pytest.mark.parametrize(
    ("max_age", "seconds"),
    [(dt.timedelta(days=7), 604_800.0), (3600, 3600.0), (0.5, 0.5), (0, 0.0), (dt.timedelta(0), 0.0)],
)
def test_max_age_as_timedelta_or_seconds(max_age: object, seconds: float) -> None:
    assert check_max_age(max_age) == seconds


@pytest.mark.parametrize("max_age", [-1, dt.timedelta(seconds=-1), math.nan, math.inf, True, "7d", None, [1]])
def test_max_age_refused_with_how_to_fix(max_age: object) -> None:
    with pytest.raises(ConfigurationError, match=r"max_age=.*timedelta\(days=7\)"):
        check_max_age(max_age)


@pytest.mark.parametrize(
    ("knobs", "message"),
    [
        ({"cache": "c.sqlite"}, r"cache= needs max_age="),
        ({"max_age": 60}, r"max_age=60 without cache="),
        ({"cache": "c.sqlite", "max_age": -5}, r"max_age=-5"),
        ({"cache": "", "max_age": 60}, r"cache=''"),
        ({"cache": 42, "max_age": 60}, r"cache=42: give a file path"),
        ({"cache": "memcached://127.0.0.1:11211", "max_age": 60}, r"memcached://\.\.\.'.*or a Redis URL"),
    ],
)
def test_cache_knobs_refused_at_construction(knobs: dict[str, object], message: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=message):
        BulkClient(LOGIN, PASSWORD, **knobs)  # type: ignore[arg-type]
    assert not (tmp_path / "c.sqlite").exists()


def test_saved_money_is_each_targets_price_and_share_of_a_call() -> None:
    assert saved_by(1000, 1000) == pytest.approx(0.05)
    assert saved_by(10, 1000) == pytest.approx(10 * 0.00005)
    assert saved_by(100, 100) == pytest.approx(0.023)
    assert saved_by(0, 1000) == 0.0


def test_scope_is_the_api_endpoint_and_parameters_in_any_order() -> None:
    a = scope_of(
        "https://api.dataforseo.com", "bulk_pages_summary", {"rank_scale": "x", "include_subdomains": True}
    )
    b = scope_of(
        "https://api.dataforseo.com", "bulk_pages_summary", {"include_subdomains": True, "rank_scale": "x"}
    )
    assert a == b
    assert a != scope_of(
        "https://sandbox.dataforseo.com",
        "bulk_pages_summary",
        {"rank_scale": "x", "include_subdomains": True},
    )
    assert a != scope_of(
        "https://api.dataforseo.com", "bulk_pages_summary", {"rank_scale": "y", "include_subdomains": True}
    )
    assert scope_of("u", "bulk_backlinks", {}) != scope_of("u", "bulk_spam_score", {})


# --- the SQLite store ----------------------------------------------------------------------
def test_store_answers_what_is_younger_than_max_age_and_keeps_the_purchase_time(tmp_path: Path) -> None:
    clock = FakeTime()
    with SQLiteCache(tmp_path / "c.sqlite", now=clock) as cache:
        cache.put("s", {"a.com": {"target": "a.com", "backlinks": 1}})
        clock.now += 100
        cache.put("s", {"b.com": {"target": "b.com", "backlinks": 2}})
        clock.now += 50
        # a.com is 150 s old, b.com 50 s.
        assert set(cache.fresh("s", ["a.com", "b.com", "c.com"], 200)) == {"a.com", "b.com"}
        assert set(cache.fresh("s", ["a.com", "b.com"], 150)) == {"b.com"}  # exactly max_age: stale
        assert cache.fresh("s", ["a.com", "b.com"], 0) == {}
        assert cache.fresh("other scope", ["a.com", "b.com"], 1e9) == {}
        # Answering does not make an answer younger: 60 s on, b.com is 110 s old.
        clock.now += 60
        assert set(cache.fresh("s", ["a.com", "b.com"], 111)) == {"b.com"}
        assert set(cache.fresh("s", ["a.com", "b.com"], 110)) == set()
        # A new purchase replaces the old answer and its time.
        cache.put("s", {"a.com": {"target": "a.com", "backlinks": 9}})
        assert cache.fresh("s", ["a.com"], 1) == {"a.com": {"target": "a.com", "backlinks": 9}}


def test_store_looks_up_more_targets_than_one_sql_statement_binds(tmp_path: Path) -> None:
    targets = [f"site{i}.com" for i in range(2_500)]
    with SQLiteCache(tmp_path / "c.sqlite") as cache:
        cache.put("s", {t: {"target": t, "backlinks": i} for i, t in enumerate(targets)})
        found = cache.fresh("s", targets, 60)
    assert len(found) == 2_500 and found["site2499.com"]["backlinks"] == 2_499


def test_prune_drops_old_answers_keeps_the_rest_and_shrinks_the_file(tmp_path: Path) -> None:
    clock = FakeTime()
    path = tmp_path / "c.sqlite"
    padding = "x" * 200
    with SQLiteCache(path, now=clock) as cache:
        cache.put("s", {f"old{i}.com": {"target": f"old{i}.com", "pad": padding} for i in range(20_000)})
        clock.now += 40 * 86_400
        cache.put("s", {"new.com": {"target": "new.com", "backlinks": 1}})
        before = cache.stats()
        assert before.entries == 20_001
        assert cache.prune(30 * 86_400) == 20_000
        after = cache.stats()
        assert after.entries == 1 and cache.fresh("s", ["new.com"], 60) == {
            "new.com": {"target": "new.com", "backlinks": 1}
        }
    assert after.file_bytes < before.file_bytes / 4
    assert path.stat().st_size < 200_000


def test_stats_per_scope(tmp_path: Path) -> None:
    clock = FakeTime(1000.0)
    with SQLiteCache(tmp_path / "c.sqlite", now=clock) as cache:
        cache.put("b", {"x.com": {}, "y.com": {}})
        clock.now = 2000.0
        cache.put("a", {"x.com": {}})
        stats = cache.stats()
    assert stats.entries == 3
    assert [(s.scope, s.entries, s.oldest, s.newest) for s in stats.scopes] == [
        ("a", 1, 2000.0, 2000.0),
        ("b", 2, 1000.0, 1000.0),
    ]


def test_a_file_that_is_not_sqlite_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "targets.csv"
    path.write_bytes(b"target\ncnn.com\n" * 100)
    before = path.read_bytes()
    with pytest.raises(ConfigurationError, match=r"cache '.*targets\.csv' is not a usable SQLite file"):
        SQLiteCache(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["targets.csv"]


def test_an_sqlite_file_of_something_else_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "app.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE users (name TEXT)")
    db.commit()
    db.close()
    before = path.read_bytes()
    with pytest.raises(
        ConfigurationError, match=r"something else \(tables \['users'\]\), not a dataforseo-bulk cache"
    ):
        SQLiteCache(path)
    assert path.read_bytes() == before


def test_a_checkpoint_is_not_a_cache_and_a_cache_is_not_a_checkpoint(tmp_path: Path) -> None:
    Checkpoint(tmp_path / "job.sqlite", endpoint="bulk_backlinks", params={}).close()
    with pytest.raises(ConfigurationError, match="not a dataforseo-bulk cache"):
        SQLiteCache(tmp_path / "job.sqlite")
    SQLiteCache(tmp_path / "cache.sqlite").close()
    with pytest.raises(ConfigurationError, match="not a dataforseo-bulk checkpoint"):
        Checkpoint(tmp_path / "cache.sqlite", endpoint="bulk_backlinks", params={})


def test_a_missing_directory_or_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"the directory '.*nowhere' does not exist; create it"):
        SQLiteCache(tmp_path / "nowhere" / "c.sqlite")
    with pytest.raises(ConfigurationError, match="is a directory: give a file name inside it"):
        SQLiteCache(tmp_path)


# --- through the client, with the API mocked ---------------------------------------------
def _client(cache: object, max_age: object = 3600) -> BulkClient:
    return BulkClient(
        LOGIN,
        PASSWORD,
        base_url=BASE_URL,
        cache=cache,  # type: ignore[arg-type]
        max_age=max_age,  # type: ignore[arg-type]
    )


async def test_a_bad_cache_file_fails_the_job_before_any_call(
    tmp_path: Path, api: FakeAPI, mocked: respx.MockRouter
) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database, but my notes\n" * 50)
    async with _client(path) as client:
        with pytest.raises(ConfigurationError, match="not a usable SQLite file"):
            await client.bulk_backlinks(["a.com"])
    assert api.calls == []
    assert path.read_text() == "not a database, but my notes\n" * 50


async def test_failures_are_never_cached_and_are_sent_again(
    tmp_path: Path, api: FakeAPI, mocked: respx.MockRouter
) -> None:
    api.respond = lambda api, targets: ok(targets, leave_out={"gone.com"})
    async with _client(tmp_path / "c.sqlite") as client:
        first = await client.bulk_backlinks(["a.com", "gone.com", "b.com"])
        assert first.failed["gone.com"].kind is FailureKind.MISSING
        sent_first = len(api.sent_targets)
        api.respond = lambda api, targets: ok(targets)
        second = await client.bulk_backlinks(["a.com", "gone.com", "b.com"])
    assert api.sent_targets[sent_first:] == ["gone.com"]  # only the failure is asked again
    assert dict(second) == {t: backlinks_of(t) for t in ("a.com", "gone.com", "b.com")}
    assert (second.stats.cached, second.stats.calls) == (2, 1)


async def test_an_item_this_version_cannot_read_is_bought_again(
    tmp_path: Path, api: FakeAPI, mocked: respx.MockRouter
) -> None:
    with SQLiteCache(tmp_path / "c.sqlite") as cache:
        scope = scope_of(BASE_URL, "bulk_backlinks", {})
        cache.put(
            scope,
            {"a.com": {"target": "a.com", "backlinks": "many"}, "b.com": {"target": "b.com", "backlinks": 5}},
        )
        async with _client(cache) as client:
            result = await client.bulk_backlinks(["a.com", "b.com"])
        assert api.sent_targets == ["a.com"]
        assert dict(result) == {"a.com": backlinks_of("a.com"), "b.com": 5}
        assert not result.failed
        # The bought answer replaced the unreadable one.
        assert cache.fresh(scope, ["a.com"], 60) == {
            "a.com": {"target": "a.com", "backlinks": backlinks_of("a.com")}
        }


async def test_a_store_object_given_by_the_caller_is_left_open(
    tmp_path: Path, api: FakeAPI, mocked: respx.MockRouter
) -> None:
    with SQLiteCache(tmp_path / "c.sqlite") as cache:
        async with _client(cache) as client:
            await client.bulk_backlinks(["a.com"])
            await client.bulk_backlinks(["a.com"])
        assert cache.stats().entries == 1  # still open: the client did not close it
    assert api.sent_targets == ["a.com"]


async def test_a_cache_that_cannot_store_logs_a_warning_and_the_job_still_answers(
    tmp_path: Path,
    api: FakeAPI,
    mocked: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr("dataforseo_bulk._sqlite.SQLITE_BUSY_TIMEOUT", 0.05)
    path = tmp_path / "c.sqlite"
    with SQLiteCache(path) as cache:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock for too long
        try:
            async with _client(cache) as client:
                result = await client.bulk_backlinks(["a.com", "b.com"])
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert cache.stats().entries == 0
    assert dict(result) == {"a.com": backlinks_of("a.com"), "b.com": backlinks_of("b.com")}
    assert "could not store 2 answers in the cache" in caplog.text and "database is locked" in caplog.text


class CountingStore:
    """A ResultCache of one's own (the interface a Redis store will implement): a dict, counting
    its round trips."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, object]] = {}
        self.lookups: list[int] = []
        self.puts: list[int] = []

    def fresh(self, scope: str, targets: Sequence[str], max_age: float) -> dict[str, dict[str, object]]:
        self.lookups.append(len(targets))
        return {t: self.items[scope, t] for t in targets if (scope, t) in self.items}

    def put(self, scope: str, items: Mapping[str, dict[str, object]]) -> None:
        self.puts.append(len(items))
        self.items.update({(scope, t): item for t, item in items.items()})

    def close(self) -> None:
        raise AssertionError("a store the caller gave is the caller's to close")


async def test_one_lookup_per_chunk_of_input_and_one_put_per_chunk_bought(
    api: FakeAPI, mocked: respx.MockRouter
) -> None:
    store = CountingStore()
    targets = [f"site{i}.com" for i in range(4_500)]
    async with _client(store) as client:
        await client.bulk_backlinks(targets[:2_000])
        assert (store.lookups, store.puts) == ([1_000, 1_000], [1_000, 1_000])
        result = await client.bulk_backlinks(targets)
    assert store.lookups == [1_000, 1_000, 1_000, 1_000, 1_000, 1_000, 500]  # one per batch of input
    assert store.puts == [1_000, 1_000, 1_000, 1_000, 500]  # only what was bought
    assert (result.stats.cached, result.stats.calls) == (2_000, 3)
    assert len(api.sent_targets) == 4_500


def test_a_writer_waits_at_most_60_s_for_another_writer(tmp_path: Path) -> None:
    """docs/jobs.md: "a writer waits for another's transaction (60 s at most)": the wait is
    SQLite's busy timeout on the cache's connection (a real minute is not waited out here; a
    writer held back longer than the timeout is the test above, the timeout made short)."""
    with SQLiteCache(tmp_path / "c.sqlite") as cache:
        assert cache._conn.execute("PRAGMA busy_timeout").fetchone() == (60_000,)


async def test_a_writer_waits_for_another_writers_transaction_then_stores(
    tmp_path: Path, api: FakeAPI, mocked: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    """docs/jobs.md: a writer waits for another's transaction instead of failing with "database
    is locked" (another process's transaction, here a connection in another thread, ends 0.3 s on)."""
    path = tmp_path / "c.sqlite"
    finished = False
    finished_at_commit: list[bool] = []
    with SQLiteCache(path) as cache:
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")

        def commit() -> None:
            finished_at_commit.append(finished)
            other.execute("COMMIT")

        timer = threading.Timer(0.3, commit)
        timer.start()
        try:
            async with _client(cache) as client:
                result = await client.bulk_backlinks(["a.com", "b.com"])
                finished = True
        finally:
            timer.join()
            other.close()
        assert cache.stats().entries == 2  # stored once the other transaction ended
    assert finished_at_commit == [False]  # the job was still waiting to store when it ended
    assert dict(result) == {"a.com": backlinks_of("a.com"), "b.com": backlinks_of("b.com")}
    assert "could not store" not in caplog.text
