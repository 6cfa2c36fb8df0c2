"""The results cache in Redis (``cache="redis://..."``) against a real ``redis-server``, the API
mocked with respx (``tests/conftest.py``).

Catches: a rerun that buys again what Redis holds; an answer older than max_age used; one
scope answering another's job; a spelling that misses; two clients that do not share answers;
an unreachable Redis accepted (or its password shown); a Redis lost mid-job that stops the job
or loses its answers; credentials, or keys without a time to live, written to Redis.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest
import respx

from conftest import BASE_URL, LOGIN, PASSWORD, FakeAPI, backlinks_of, ok
from dataforseo_bulk import BulkClient, ConfigurationError
from dataforseo_bulk._constants import REDIS_CACHE_TTL_SECONDS
from dataforseo_bulk.cache import scope_of
from dataforseo_bulk.cache_redis import RedisCache
from dataforseo_bulk.cli import main

from .redis_server import RedisServer, free_port

REDIS_PASSWORD = "redis-s3cret"
SCOPE = scope_of(BASE_URL, "bulk_backlinks", {})


class FakeTime:
    """A wall clock the test moves by hand."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def _client(cache: object, max_age: object = 3600) -> BulkClient:
    return BulkClient(LOGIN, PASSWORD, base_url=BASE_URL, cache=cache, max_age=max_age)  # type: ignore[arg-type]


async def test_a_rerun_is_answered_from_redis_and_buys_nothing(
    redis_server: RedisServer, api: FakeAPI, mocked: respx.MockRouter
) -> None:
    targets = [f"site{i}.com" for i in range(1_500)]
    async with _client(redis_server.url) as client:
        first = await client.bulk_backlinks(targets)
        bought = len(api.calls)
        again = await client.bulk_backlinks(targets)
    assert (first.stats.calls, first.stats.cached) == (2, 0)
    assert len(api.calls) == bought  # the rerun sent nothing
    assert (again.stats.calls, again.stats.cached, again.stats.cost_usd) == (0, 1_500, 0.0)
    assert dict(again) == dict(first) == {t: backlinks_of(t) for t in targets}


async def test_two_clients_on_one_redis_share_answers(
    redis_server: RedisServer, api: FakeAPI, mocked: respx.MockRouter
) -> None:
    async with _client(redis_server.url) as one, _client(redis_server.url) as other:
        await one.bulk_backlinks(["a.com", "b.com"])
        result = await other.bulk_backlinks(["a.com", "b.com", "c.com"])
    assert len(api.sent_targets) == 3 and api.sent_targets[2:] == ["c.com"]  # the second bought c.com only
    assert (result.stats.cached, result.stats.calls) == (2, 1)
    assert dict(result) == {t: backlinks_of(t) for t in ("a.com", "b.com", "c.com")}


@pytest.mark.parametrize(
    "url", ["redis://:pw@cache.internal:6379/0", "rediss://cache.internal:6380/1", "unix:///run/redis.sock"]
)
def test_a_redis_url_is_accepted_at_construction_and_reached_only_by_a_job(url: str) -> None:
    client = _client(url)  # no connection yet: a bad one is refused when a job opens the cache
    assert client is not None


async def test_any_spelling_hits_and_is_answered_under_its_own(
    redis_server: RedisServer, api: FakeAPI, mocked: respx.MockRouter
) -> None:
    async with _client(redis_server.url) as client:
        await client.bulk_backlinks(["cnn.com"])
        result = await client.bulk_backlinks(["CNN.com", " cnn.com. "])
    assert api.sent_targets == ["cnn.com"]
    assert dict(result) == {"CNN.com": backlinks_of("cnn.com"), " cnn.com. ": backlinks_of("cnn.com")}


async def test_parameters_and_endpoints_partition_the_cache(
    redis_server: RedisServer, api: FakeAPI, mocked: respx.MockRouter
) -> None:
    with RedisCache(redis_server.url) as cache:
        cache.put(SCOPE, {"a.com": {"target": "a.com", "backlinks": 7}})
        ranks = scope_of(BASE_URL, "bulk_ranks", {"rank_scale": "one_hundred"})
        cache.put(ranks, {"a.com": {"target": "a.com", "rank": 3}})
        assert cache.fresh(SCOPE, ["a.com"], 60) == {"a.com": {"target": "a.com", "backlinks": 7}}
        assert cache.fresh(ranks, ["a.com"], 60) == {"a.com": {"target": "a.com", "rank": 3}}
        for other in (
            scope_of(BASE_URL, "bulk_ranks", {"rank_scale": "one_thousand"}),
            scope_of("https://sandbox.dataforseo.com", "bulk_backlinks", {}),
        ):
            assert cache.fresh(other, ["a.com"], 60) == {}


async def test_an_answer_older_than_max_age_is_bought_again_and_replaced(
    redis_server: RedisServer, api: FakeAPI, mocked: respx.MockRouter
) -> None:
    clock = FakeTime()
    with RedisCache(redis_server.url, now=clock) as cache:
        cache.put(
            SCOPE,
            {"a.com": {"target": "a.com", "backlinks": 1}, "b.com": {"target": "b.com", "backlinks": 2}},
        )
        clock.now += 3_599
        assert cache.fresh(SCOPE, ["a.com", "b.com", "c.com"], 3_600) == {
            "a.com": {"target": "a.com", "backlinks": 1},
            "b.com": {"target": "b.com", "backlinks": 2},
        }
        clock.now += 2  # now 3,601 s old
        assert cache.fresh(SCOPE, ["a.com", "b.com"], 3_600) == {}
        assert cache.fresh(SCOPE, ["a.com"], 7_200) == {"a.com": {"target": "a.com", "backlinks": 1}}
        assert cache.fresh(SCOPE, ["a.com"], 0) == {}  # max_age=0: every answer is bought again
        async with _client(cache, max_age=3_600) as client:
            result = await client.bulk_backlinks(["a.com", "b.com"])
        assert sorted(api.sent_targets) == ["a.com", "b.com"]
        assert dict(result) == {"a.com": backlinks_of("a.com"), "b.com": backlinks_of("b.com")}
        # The new answers replaced the old ones, dated now.
        assert cache.fresh(SCOPE, ["a.com"], 1) == {
            "a.com": {"target": "a.com", "backlinks": backlinks_of("a.com")}
        }


async def test_redis_holds_no_credentials_and_every_answer_has_a_time_to_live(
    redis_server: RedisServer, api: FakeAPI, mocked: respx.MockRouter
) -> None:
    async with _client(redis_server.url) as client:
        await client.bulk_backlinks(["a.com", "b.com"])
    with redis_server.client() as redis:
        keys = sorted(redis.scan_iter())
        assert len(keys) == 2 and all(k.startswith(b"dataforseo-bulk:cache:") for k in keys)
        assert [k.rsplit(b":", 1)[1] for k in keys] == [b"a.com", b"b.com"]
        for key in keys:
            assert REDIS_CACHE_TTL_SECONDS - 60 < redis.ttl(key) <= REDIS_CACHE_TTL_SECONDS
            entry = json.loads(redis.get(key))
            assert set(entry) == {"at", "item"} and entry["item"]["target"] in ("a.com", "b.com")
        dump = b"".join(keys + [redis.get(k) for k in keys])
    assert LOGIN.encode() not in dump and PASSWORD.encode() not in dump


async def test_an_unreachable_redis_refuses_the_job_before_any_call_password_masked(
    api: FakeAPI, mocked: respx.MockRouter
) -> None:
    url = f"redis://:{REDIS_PASSWORD}@127.0.0.1:{free_port()}/0"  # nobody listens there
    async with _client(url) as client:
        with pytest.raises(ConfigurationError) as caught:
            await client.bulk_backlinks(["a.com"])
    message = str(caught.value)
    assert "redis://:***@127.0.0.1:" in message and "does not answer" in message and "\n" not in message
    assert REDIS_PASSWORD not in message and PASSWORD not in message
    assert api.calls == []


def test_a_wrong_password_is_refused_at_open_masked(tmp_path: Path) -> None:
    workdir = tmp_path / "redis"
    workdir.mkdir()
    server = RedisServer(workdir, password=REDIS_PASSWORD)
    try:
        with RedisCache(server.url) as cache:  # the right password works
            cache.put(SCOPE, {"a.com": {"target": "a.com"}})
            assert cache.fresh(SCOPE, ["a.com"], 60) == {"a.com": {"target": "a.com"}}
            assert REDIS_PASSWORD not in repr(cache) and "redis://:***@" in repr(cache)
        wrong = server.url.replace(REDIS_PASSWORD, "not-the-" + REDIS_PASSWORD)
        with pytest.raises(ConfigurationError) as caught:
            RedisCache(wrong)
    finally:
        server.stop()
    assert "redis://:***@" in str(caught.value) and REDIS_PASSWORD not in str(caught.value)


async def test_redis_lost_mid_job_the_job_goes_on_with_a_warning(
    redis_server: RedisServer,
    api: FakeAPI,
    mocked: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    targets = [f"site{i}.com" for i in range(1_500)]

    def respond_then_lose_redis(api: FakeAPI, sent: list[str]) -> object:
        redis_server.stop()  # Redis is gone before the first answer is stored
        return ok(sent)

    api.respond = respond_then_lose_redis  # type: ignore[assignment]
    with caplog.at_level(logging.WARNING, logger="dataforseo_bulk"):
        async with _client(redis_server.url) as client:
            result = await client.bulk_backlinks(targets)
    assert dict(result) == {t: backlinks_of(t) for t in targets} and not result.failed
    assert result.stats.calls == 2 and len(api.sent_targets) == 1_500
    # The next lookup (the engine reads ahead) or the first store meets the lost Redis: one warning,
    # then the cache is left alone.
    assert caplog.text.count("in the cache redis://127.0.0.1:") == 1 and "the job goes on" in caplog.text


def test_a_failed_lookup_answers_nothing_and_a_failed_store_only_warns(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeTime()
    cache = RedisCache(redis_server.url, now=clock)
    cache.put(SCOPE, {"a.com": {"target": "a.com"}})
    redis_server.stop()
    with caplog.at_level(logging.WARNING, logger="dataforseo_bulk"):
        assert cache.fresh(SCOPE, ["a.com"], 60) == {}  # the target will be bought
        assert "could not look up 1 targets" in caplog.text
        caplog.clear()
        cache.put(SCOPE, {"b.com": {"target": "b.com"}})  # left alone for a while: no new attempt
        assert caplog.text == ""
        clock.now += 31
        cache.put(SCOPE, {"b.com": {"target": "b.com"}})  # tried again, fails, warns; no exception
        assert "could not store 1 answers" in caplog.text
    cache.close()


def _cached_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cache: str, output: Path) -> list[str]:
    """The command line of a backlinks job on a.com and b.com with ``--cache cache``."""
    monkeypatch.setenv("DATAFORSEO_LOGIN", LOGIN)
    monkeypatch.setenv("DATAFORSEO_PASSWORD", PASSWORD)
    targets = tmp_path / "targets.txt"
    targets.write_text("a.com\nb.com\n")
    options = ["-o", str(output), "--base-url", BASE_URL, "--quiet", "--cache", cache, "--max-age", "7d"]
    return ["backlinks", str(targets), *options]


def test_the_command_line_takes_a_redis_url(
    redis_server: RedisServer,
    api: FakeAPI,
    mocked: respx.MockRouter,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("one.csv", "two.csv"):
        assert main(_cached_job(tmp_path, monkeypatch, redis_server.url, tmp_path / name)) == 0
    assert len(api.sent_targets) == 2  # the second run bought nothing
    rows = [sorted((tmp_path / name).read_text().splitlines()) for name in ("one.csv", "two.csv")]
    assert rows[0] == rows[1] and len(rows[0]) == 3  # the header and the same two answers
    capsys.readouterr()
    assert main(["cache", "stats", redis_server.url]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a Redis URL" in err


def test_the_command_line_refuses_an_unreachable_redis_before_the_output(
    api: FakeAPI,
    mocked: respx.MockRouter,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    output = tmp_path / "out.csv"
    output.write_text("an earlier run's results\n")
    url = f"redis://:{REDIS_PASSWORD}@127.0.0.1:{free_port()}/0"
    code = main(_cached_job(tmp_path, monkeypatch, url, output))
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "redis://:***@127.0.0.1:" in err
    assert REDIS_PASSWORD not in err
    assert output.read_text() == "an earlier run's results\n" and api.calls == []


def test_a_dry_run_prices_only_what_redis_does_not_answer(
    redis_server: RedisServer,
    api: FakeAPI,
    mocked: respx.MockRouter,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(_cached_job(tmp_path, monkeypatch, redis_server.url, tmp_path / "out.csv")) == 0
    bought = len(api.calls)
    capsys.readouterr()
    assert (
        main([*_cached_job(tmp_path, monkeypatch, redis_server.url, tmp_path / "again.csv"), "--dry-run"])
        == 0
    )
    out = capsys.readouterr().out
    assert "2 targets answered from the cache (answers up to 7d old); 0 left to buy" in out
    assert len(api.calls) == bought


def test_without_redis_py_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(ConfigurationError, match=r"pip install 'dataforseo-bulk\[redis\]'"):
        RedisCache("redis://127.0.0.1:6379/0")
