"""The results cache against the emulator over loopback; its ledger proves what was bought.

Catches: a rerun that buys again what the cache holds fresh; an overlap that buys the old
targets again (or misses a new one); ``max_age=0`` answered from the cache; an answer used
after it expired; another spelling of a cached target bought again or answered under the
wrong key; an answer for one parameter (rank scale) or endpoint served for another; a
streamed job with a cache that answers a late repeat twice or leaves its scratch file behind.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from dataforseo_bulk import BULK_RANKS, BulkResult
from dataforseo_bulk.cache_sqlite import SQLiteCache
from dataforseo_bulk.emulator import EmulatorConfig, Ledger, expected_backlinks, serve
from dataforseo_bulk.targets import normalize_target

from . import client

pytestmark = pytest.mark.loopback

DAY = dt.timedelta(days=1)


class FakeTime:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def cache(tmp_path: Path, fake_time: FakeTime) -> Iterator[SQLiteCache]:
    with SQLiteCache(tmp_path / "results.sqlite", now=fake_time) as store:
        yield store


def domains(start: int, stop: int) -> list[str]:
    return [f"site{i}.example.com" for i in range(start, stop)]


def bought(ledger: Ledger, endpoint: str = "bulk_backlinks") -> dict[str, int]:
    return ledger.charged_counts(endpoint)


def assert_emulator_values(result: BulkResult[int]) -> None:
    for raw, value in result.items():
        target = normalize_target(raw)
        assert isinstance(target, str)
        assert value == expected_backlinks(target), raw


async def test_a_rerun_buys_nothing_while_fresh_and_an_overlap_buys_only_the_new_targets(
    ledger: Ledger, tmp_path: Path
) -> None:
    path = tmp_path / "results.sqlite"
    async with serve(EmulatorConfig(), ledger=ledger) as url:
        async with client(url, cache=path, max_age=DAY) as bulk:
            first = await bulk.bulk_backlinks(domains(0, 2_500))
        calls_after_first = len(ledger.calls())
        async with client(url, cache=str(path), max_age=7 * 86_400) as bulk:  # another client, same file
            again = await bulk.bulk_backlinks(domains(0, 2_500))
        assert len(ledger.calls()) == calls_after_first  # not one call
        async with client(url, cache=path, max_age=DAY) as bulk:
            overlap = await bulk.bulk_backlinks(domains(2_000, 3_200))

    assert bought(ledger) == dict.fromkeys(domains(0, 3_200), 1)  # each target paid for once
    assert dict(again) == dict(first)
    assert_emulator_values(again)
    assert_emulator_values(overlap)
    assert set(overlap) == set(domains(2_000, 3_200))
    s = again.stats
    assert (s.targets, s.ok, s.cached, s.calls, s.cost_usd) == (2_500, 2_500, 2_500, 0, 0.0)
    assert s.saved_usd == pytest.approx(2_500 * (0.00003 + 0.02 / 1000))
    s = overlap.stats
    assert (s.cached, s.calls, s.ok) == (500, 1, 1_200)
    assert s.cost_usd == pytest.approx(0.02 + 700 * 0.00003)


async def test_other_spellings_of_cached_targets_are_answered_under_their_own_spelling(
    ledger: Ledger, cache: SQLiteCache
) -> None:
    first_run = ["cnn.com", "https://example.org/Path?q=1", "bücher.de", "www.bbc.co.uk"]
    spellings = [
        "CNN.COM",
        " cnn.com. ",
        "cnn.com",
        "HTTPS://EXAMPLE.ORG/Path?q=1",
        "xn--bcher-kva.de",
        "BÜCHER.de",
        "www.BBC.co.uk\n",
    ]
    async with serve(EmulatorConfig(), ledger=ledger) as url, client(url, cache=cache, max_age=DAY) as bulk:
        await bulk.bulk_backlinks(first_run)
        calls = len(ledger.calls())
        result = await bulk.bulk_backlinks(spellings)
    assert len(ledger.calls()) == calls
    assert set(result) == set(spellings)  # each under the caller's own spelling
    assert_emulator_values(result)
    assert (result.stats.cached, result.stats.duplicate, result.stats.targets) == (4, 3, 7)


async def test_max_age_zero_buys_everything_again_and_stores_the_new_answers(
    ledger: Ledger, cache: SQLiteCache, fake_time: FakeTime
) -> None:
    targets = domains(0, 1_500)
    async with serve(EmulatorConfig(), ledger=ledger) as url:
        async with client(url, cache=cache, max_age=DAY) as bulk:
            await bulk.bulk_backlinks(targets)
        fake_time.now += 3_600
        async with client(url, cache=cache, max_age=0) as bulk:
            refreshed = await bulk.bulk_backlinks(targets)
        assert bought(ledger) == dict.fromkeys(targets, 2)
        assert (refreshed.stats.cached, refreshed.stats.ok) == (0, 1_500)
        # The refresh stored its answers with their new time: 10 minutes on, they are fresh
        # for a job that takes answers up to 15 minutes old (the first purchase is 70 min old).
        fake_time.now += 600
        async with client(url, cache=cache, max_age=dt.timedelta(minutes=15)) as bulk:
            later = await bulk.bulk_backlinks(targets)
    assert bought(ledger) == dict.fromkeys(targets, 2)
    assert later.stats.cached == 1_500


async def test_an_answer_older_than_max_age_is_bought_again(
    ledger: Ledger, cache: SQLiteCache, fake_time: FakeTime
) -> None:
    async with serve(EmulatorConfig(), ledger=ledger) as url, client(url, cache=cache, max_age=3_600) as bulk:
        await bulk.bulk_backlinks(domains(0, 100))
        fake_time.now += 1_800
        await bulk.bulk_backlinks(domains(50, 150))  # 50 cached, 50 bought at +30 min
        fake_time.now += 1_799  # the first 100 are 59:59 old, the next 50 are 29:59 old
        fresh = await bulk.bulk_backlinks(domains(0, 150))
        assert bought(ledger) == dict.fromkeys(domains(0, 150), 1)
        fake_time.now += 2  # the first 100 are over an hour old now
        expired = await bulk.bulk_backlinks(domains(0, 150))
    assert fresh.stats.cached == 150
    assert expired.stats.cached == 50
    assert bought(ledger) == {**dict.fromkeys(domains(0, 100), 2), **dict.fromkeys(domains(100, 150), 1)}


async def test_parameters_and_endpoints_partition_the_cache(ledger: Ledger, cache: SQLiteCache) -> None:
    targets = domains(0, 300)
    async with serve(EmulatorConfig(), ledger=ledger) as url, client(url, cache=cache, max_age=DAY) as bulk:
        hundred = await bulk.bulk_ranks(targets, rank_scale="one_hundred")
        thousand = await bulk.bulk_ranks(targets, rank_scale="one_thousand")
        assert bought(ledger, "bulk_ranks") == dict.fromkeys(targets, 2)  # not answered from the other scale
        hundred_again = await bulk.bulk_ranks(targets, rank_scale="one_hundred")
        via_run = await bulk.run(BULK_RANKS, targets, params={"rank_scale": "one_thousand"})
        spam = await bulk.bulk_spam_score(targets)
        assert bought(ledger, "bulk_ranks") == dict.fromkeys(targets, 2)
        assert bought(ledger, "bulk_spam_score") == dict.fromkeys(targets, 1)
    assert max(hundred.values()) <= 100 < max(thousand.values())
    assert dict(hundred_again) == dict(hundred) and hundred_again.stats.cached == 300
    assert dict(via_run) == dict(thousand) and via_run.stats.cached == 300
    assert spam.stats.cached == 0


async def test_a_streamed_job_with_a_cache_answers_each_input_once_and_leaves_no_scratch_file(
    ledger: Ledger, cache: SQLiteCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    # Cached targets, new ones, and late exact repeats and other spellings of both.
    inputs = [
        *domains(0, 1_200),
        *domains(1_000, 2_000),
        *domains(0, 10),
        "SITE5.example.com",
        "SITE1999.example.com",
    ]
    async with serve(EmulatorConfig(), ledger=ledger) as url, client(url, cache=cache, max_age=DAY) as bulk:
        await bulk.bulk_backlinks(domains(0, 1_000))
        seen: list[str] = []
        async with bulk.stream(inputs) as outcomes:
            async for outcome in outcomes:
                seen += [*outcome.values, *outcome.failed]
                assert all(v == expected_backlinks(normalize_target(t)) for t, v in outcome.values.items())  # type: ignore[arg-type]
            stats = outcomes.stats()
    assert sorted(seen) == sorted(set(inputs))  # every distinct input once, none twice
    assert bought(ledger) == dict.fromkeys(domains(0, 2_000), 1)
    # 200 + 10 exact repeats and 2 other spellings; the scratch checkpoint is not a resume.
    assert (stats.cached, stats.duplicate, stats.ok, stats.resumed) == (1_000, 212, 2_002, 0)
    assert list(scratch.iterdir()) == []


async def test_a_checkpoint_keeps_what_the_cache_answered(
    ledger: Ledger, cache: SQLiteCache, tmp_path: Path
) -> None:
    checkpoint = tmp_path / "job.sqlite"
    async with serve(EmulatorConfig(), ledger=ledger) as url, client(url, cache=cache, max_age=DAY) as bulk:
        await bulk.bulk_backlinks(domains(0, 500))
        first = await bulk.bulk_backlinks(domains(0, 800), checkpoint=checkpoint)
        resumed = await bulk.bulk_backlinks(domains(0, 800), checkpoint=checkpoint)
    assert (first.stats.cached, first.stats.resumed) == (500, 0)
    assert (resumed.stats.cached, resumed.stats.resumed, resumed.stats.calls) == (0, 800, 0)
    assert dict(resumed) == dict(first)
    assert bought(ledger) == dict.fromkeys(domains(0, 800), 1)


async def test_rich_items_come_back_from_the_cache_as_they_were_bought(
    ledger: Ledger, cache: SQLiteCache
) -> None:
    pages = [f"https://site{i % 40}.example.com/page/{i}" for i in range(150)]
    async with serve(EmulatorConfig(), ledger=ledger) as url, client(url, cache=cache, max_age=DAY) as bulk:
        bought_now = await bulk.bulk_pages_summary(pages, include_subdomains=False)
        from_cache = await bulk.bulk_pages_summary(pages, include_subdomains=False)
        other_params = await bulk.bulk_pages_summary(pages[:10])  # include_subdomains=True: its own scope
    assert from_cache.stats.cached == 150 and from_cache.stats.calls == 0
    assert dict(from_cache) == dict(bought_now)  # the same models, field by field
    assert other_params.stats.cached == 0
    assert bought(ledger, "bulk_pages_summary") == {
        **dict.fromkeys(pages, 1),
        **dict.fromkeys(pages[:10], 2),
    }
