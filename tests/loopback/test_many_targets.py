"""100,000 input strings with repeats, other spellings and ~1 % invalid ones, over loopback.

Catches: a target lost or answered twice between chunks; a spelling that does not get its
normalized target's value (or gets another one's); an invalid string sent or dropped; a
normalized target sent (and paid for) more than once; cost not summed from the answers.
"""

from __future__ import annotations

import random

import pytest

from dataforseo_bulk import FailureKind
from dataforseo_bulk.emulator import EmulatorConfig, Ledger, expected_backlinks, serve
from dataforseo_bulk.targets import InvalidTarget, normalize_target

from . import client

pytestmark = pytest.mark.loopback

TOTAL = 100_000
TLDS = ("com", "org", "net", "co.uk", "de", "io")


def _random_case(rng: random.Random, text: str) -> str:
    return "".join(c.upper() if rng.random() < 0.5 else c for c in text)


class _Inputs:
    """A reproducible mix: new targets, other spellings of earlier ones, exact repeats, invalid."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        # Each base target as (scheme, host, tail): scheme "" for a domain.
        self.bases: list[tuple[str, str, str]] = []
        self.invalid: list[str] = []

    def new_base(self, i: int) -> tuple[str, str, str]:
        rng = self.rng
        tld = rng.choice(TLDS)
        roll = rng.random()
        if roll < 0.45:
            base = ("", f"site{i}.{tld}", "")
        elif roll < 0.60:
            base = ("", f"{rng.choice(('www', 'blog', 'shop'))}.name{i}.{tld}", "")
        elif roll < 0.65:
            base = ("", f"bücher-{i}.{tld}", "")  # IDN: sent as punycode
        elif roll < 0.85:
            base = ("https", f"page{i}.{tld}", f"/Path/{i}?q={i}")  # the path keeps its case
        else:
            base = ("http", f"www.old{i}.{tld}", f"/a/B/{i}/")
        self.bases.append(base)
        return base

    @staticmethod
    def spell(scheme: str, host: str, tail: str) -> str:
        return f"{scheme}://{host}{tail}" if scheme else host

    def variant(self, base: tuple[str, str, str]) -> str:
        """Another spelling of ``base``: case, surrounding whitespace, a trailing dot, or a mix."""
        rng = self.rng
        scheme, host, tail = base
        if rng.random() < 0.5:
            host = _random_case(rng, host)
            scheme = _random_case(rng, scheme)
        if rng.random() < 0.4:
            host += "."
        if host.startswith("bücher") and rng.random() < 0.3:
            normal = normalize_target(host)
            assert isinstance(normal, str)
            host = normal  # the punycode the caller may also type
        text = self.spell(scheme, host, tail)
        if rng.random() < 0.4:
            text = rng.choice((" ", "\t", "  ")) + text + rng.choice((" ", "\n", "\r\n", ""))
        return text

    def new_invalid(self, i: int) -> str:
        return self.rng.choice(
            (
                f"has space{i}.com",
                f"foo{i}..com",
                f"{i}",
                f"user{i}@mail{i}.com",
                f"example{i}.com:8080",
                f"ftp://x{i}.com",
                f"-bad{i}.com",
                f"site{i}.com/path",
                f"https://user:pw@h{i}.com/",
                f"10.0.{i % 256}.{i // 256 % 256}",
                f"a{i}.123",
                f"http://h{i}.com:99999/",
                f"x{i}\x00.com",
                "",
                "   ",
                "http://",
            )
        )

    def build(self, total: int) -> list[str]:
        rng = self.rng
        inputs: list[str] = []
        for i in range(total):
            roll = rng.random()
            if roll < 0.01:
                text = (
                    self.new_invalid(i)
                    if not self.invalid or rng.random() < 0.7
                    else rng.choice(self.invalid)
                )
                self.invalid.append(text)
            elif roll < 0.56 or not inputs:
                text = self.spell(*self.new_base(i))
            elif roll < 0.75:
                text = self.variant(rng.choice(self.bases))
            else:
                text = rng.choice(inputs)  # an exact repeat
            inputs.append(text)
        return inputs


async def test_100k_targets_with_duplicates_and_invalid_ones_all_accounted_for(ledger: Ledger) -> None:
    inputs = _Inputs(seed=3).build(TOTAL)
    distinct = set(inputs)
    normal = {raw: normalize_target(raw) for raw in distinct}
    valid = {raw: n for raw, n in normal.items() if isinstance(n, str)}
    invalid = {raw for raw, n in normal.items() if isinstance(n, InvalidTarget)}
    targets_sent = set(valid.values())
    # The input really is what the test claims: 100k strings, repeats, spellings, ~1 % invalid.
    assert len(inputs) == TOTAL
    assert len(distinct) < 0.85 * TOTAL  # exact repeats
    assert len(targets_sent) < 0.9 * len(valid)  # other spellings of the same target
    assert 0.005 * TOTAL < sum(1 for raw in inputs if raw in invalid) < 0.015 * TOTAL
    assert len(invalid) > 300

    async with serve(EmulatorConfig(), ledger=ledger) as url, client(url, max_concurrency=8) as bulk:
        result = await bulk.bulk_backlinks(inputs)

    # Every distinct input string is in exactly one of result / result.failed.
    assert set(result) | set(result.failed) == distinct
    assert not set(result) & set(result.failed)
    assert len(result) + len(result.failed) == len(distinct)
    # Each valid spelling carries the emulator's value for its normalized form.
    wrong = {raw: result[raw] for raw, n in valid.items() if result.get(raw) != expected_backlinks(n)}
    assert not wrong, f"{len(wrong)} wrong or missing values, e.g. {list(wrong.items())[:5]}"
    # Each invalid string failed as invalid, and was never sent.
    assert set(result.failed) == invalid
    assert {failure.kind for failure in result.failed.values()} == {FailureKind.INVALID}
    assert all(failure.reason for failure in result.failed.values())

    # The ledger: every normalized target charged exactly once, nothing else charged.
    assert ledger.charged_counts() == dict.fromkeys(targets_sent, 1)
    calls = ledger.calls()
    assert all(call.http_status == 200 and call.task_codes == (20000,) for call in calls)
    assert sum(call.targets for call in calls) == len(targets_sent)
    assert max(call.targets for call in calls) <= 1000
    assert len(calls) == -(-len(targets_sent) // 1000)  # full chunks, only the last one short

    stats = result.stats
    assert stats.calls == len(calls)
    assert stats.retries == 0
    assert stats.cost_usd == pytest.approx(ledger.total_cost(), abs=1e-6)
    assert stats.unknown_cost_calls == 0
    assert stats.targets == len(distinct)
    assert stats.invalid == len(invalid)
    assert stats.duplicate == TOTAL - len(invalid) - len(targets_sent)
    assert (stats.ok, stats.failed) == (len(valid), len(invalid))
