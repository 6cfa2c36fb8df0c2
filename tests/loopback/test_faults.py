"""Faults at 20 % of calls, every kind mixed, over loopback: nothing lost, nothing paid twice
without a reason the ledger shows.

How the emulator charges (``emulator/faults.py``, ``app.py``, ``ledger.py``): a call that passed
every check is charged for the items it computed when it had no fault or one of
``CHARGED_FAULTS``; ``missing_items`` charges only the items it returned. Of those, ``drop``
(connection cut mid-body), ``slow`` (answer after the client's timeout) and ``malformed``
(JSON cut in half) never reach the client in a usable form, so the client must ask again and
pays again; ``http500_ok`` is a complete answer the client keeps. Every other fault is free
and carries no items. Hence, exactly, for every target the client got a value for::

    charged_count(target) == 1 + (number of drop/slow/malformed calls that charged it)

that is: exactly one *usable* charged answer per target.

The seed matters. Faults are drawn from one seeded sequence in the order calls arrive, so the
kinds drawn by a run of ~130 calls are fixed by the seed even though which call gets which
fault depends on timing. ``SEED`` was chosen so that the first draws hold every kind and
exactly one ``missing_items``: missing targets are asked for once more (tag suffix ``.m1``),
and a target left out of both answers is reported ``missing`` by design, which two
``missing_items`` draws in a row would cause about 3e-4 of the time per chunk at this rate
(~3 % of runs with 100 chunks). ``test_the_seed_still_has_the_properties_this_test_needs``
fails first, with a clear message, if the emulator's fault stream changes.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest

from dataforseo_bulk.emulator import FAULT_KINDS, EmulatorConfig, Ledger, expected_backlinks, serve
from dataforseo_bulk.emulator.faults import FaultInjector
from dataforseo_bulk.targets import normalize_target

from . import UNKNOWN_COST_FAULTS, UNUSABLE_CHARGED_FAULTS, charged_targets_by_call, client

pytestmark = pytest.mark.loopback

SEED = 1935
FAULT_RATE = 0.2
TARGETS = 20_000
CHUNK = 200
#: Calls the faulty run may make for the seed's properties to hold (it makes about 130).
DRAWS_COVERED = 200
#: Faults whose answer the client can use: the items in it are kept.
USABLE = frozenset({None, "http500_ok", "missing_items"})


def _inputs() -> list[str]:
    """Distinct valid targets, plus other spellings of some of them (same answer expected)."""
    rng = random.Random(SEED)
    base = [f"site{i}.com" if i % 3 else f"https://page{i}.org/p/{i}" for i in range(TARGETS)]
    others = [
        f" {t.upper()}. " if "://" not in t else t.replace("page", "PAGE") for t in rng.sample(base, 500)
    ]
    inputs = base + others
    rng.shuffle(inputs)
    return inputs


def test_the_seed_still_has_the_properties_this_test_needs() -> None:
    injector = FaultInjector(FAULT_RATE, FAULT_KINDS, SEED)
    draws = []
    for _ in range(DRAWS_COVERED):
        fault = injector.draw()
        if fault == "missing_items":
            injector.items_to_drop(CHUNK)  # as the app does, on a chunk of CHUNK targets
        draws.append(fault)
    assert set(draws[:100]) == FAULT_KINDS | {None}, "pick a SEED whose first 100 draws hold every kind"
    assert draws.count("missing_items") == 1, "pick a SEED with exactly one missing_items in its first draws"


async def test_faults_at_20_percent_lose_nothing_and_pay_twice_only_for_unusable_answers(
    ledger: Ledger, tmp_path_factory: pytest.TempPathFactory
) -> None:
    inputs = _inputs()
    normal = {raw: normalize_target(raw) for raw in inputs}
    assert all(isinstance(n, str) for n in normal.values())

    # The reference: the same job, fault-free.
    clean_ledger = Ledger(tmp_path_factory.mktemp("clean") / "ledger.sqlite")
    try:
        async with serve(EmulatorConfig(), ledger=clean_ledger) as url, client(url, chunk_size=CHUNK) as bulk:
            clean = await bulk.bulk_backlinks(inputs)
    finally:
        clean_ledger.close()
    assert not clean.failed
    assert dict(clean) == {raw: expected_backlinks(str(n)) for raw, n in normal.items()}

    config = EmulatorConfig(
        fault_rate=FAULT_RATE, faults=FAULT_KINDS, seed=SEED, latency_ms=5, jitter_ms=5, slow_seconds=3.0
    )
    async with (
        serve(config, ledger=ledger) as url,
        client(url, chunk_size=CHUNK, max_concurrency=8, timeout=1.5) as bulk,
    ):
        result = await bulk.bulk_backlinks(inputs)

    calls = ledger.calls()
    faults = Counter(call.fault for call in calls)
    # The run was as faulty as claimed, every kind included.
    assert len(calls) <= DRAWS_COVERED
    assert set(faults) == FAULT_KINDS | {None}, faults
    assert sum(faults.values()) - faults[None] >= 0.15 * len(calls), faults

    # Nothing lost: the same map as the fault-free run.
    assert not result.failed, dict(list(result.failed.items())[:5])
    assert dict(result) == dict(clean)

    # One usable answer per part (chunk, or missing-target re-ask ``.m1``): the client stops
    # retrying a part at its first usable answer and never retries a usable one.
    tags = Counter(call.tag for call in calls)
    usable = Counter(call.tag for call in calls if call.fault in USABLE)
    assert usable == Counter(dict.fromkeys(tags, 1)), {tag: n for tag, n in usable.items() if n != 1}
    assert sum(1 for tag in tags if str(tag).endswith(".m1")) == faults["missing_items"]

    # Nothing paid twice without a reason: for every target,
    # charged_count - 1 == number of charged calls with it whose answer was unusable.
    charged = ledger.charged_counts()
    fault_of = {call.seq: call.fault for call in calls}
    unusable: Counter[str] = Counter()
    for seq, targets in charged_targets_by_call(ledger).items():
        if fault_of[seq] in UNUSABLE_CHARGED_FAULTS:
            unusable.update(targets)
    assert set(charged) == {str(n) for n in normal.values()}
    wrong = {t: (n, unusable[t]) for t, n in charged.items() if n - 1 != unusable[t]}
    assert not wrong, f"paid more (or less) often than the failed attempts explain: {wrong}"
    assert max(charged.values()) >= 2  # unusable answers did charge targets again

    # The client's books agree with the emulator's.
    stats = result.stats
    assert stats.calls == len(calls)
    assert stats.retries == len(calls) - len(tags)
    received = sum(call.cost for call in calls if call.fault not in UNUSABLE_CHARGED_FAULTS)
    assert stats.cost_usd == pytest.approx(received, abs=1e-6)
    assert stats.unknown_cost_calls == sum(faults[fault] for fault in UNKNOWN_COST_FAULTS)
    assert ledger.total_cost() > stats.cost_usd  # the unusable answers were paid for too
