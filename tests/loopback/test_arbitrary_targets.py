"""Hypothesis: arbitrary strings as targets, alone and mixed with valid domains and their spellings.

This test runs the emulator **in-process** through ``asgi_transport`` (no socket), for speed:
50 jobs over real sockets would cost seconds for nothing the other loopback tests do not
already cover. Everything else is the real client and the real emulator: normalisation, dedup,
chunking, the emulator's own validation of each target (a normalized target it would refuse
comes back as 40501 and fails its chunk: that is a bug this test finds).

Catches: a crash on some input; a string in both or neither of ``result`` / ``result.failed``;
a valid string without the emulator's value for its normal form; an invalid one not failed as
``invalid``; a normal form sent (and paid for) twice.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataforseo_bulk import BulkClient, BulkResult, FailureKind
from dataforseo_bulk.emulator import EmulatorConfig, Ledger, asgi_transport, create_app, expected_backlinks
from dataforseo_bulk.targets import normalize_target

from . import FAST_RETRY, LOGIN, PASSWORD

pytestmark = pytest.mark.loopback

_LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
_TLD = st.sampled_from(["com", "org", "net", "de", "co.uk", "io"])
DOMAINS = st.builds(
    lambda labels, tld: ".".join([*labels, tld]), st.lists(_LABEL, min_size=1, max_size=3), _TLD
)
PAGES = st.builds(
    lambda scheme, host, path: f"{scheme}://{host}/{path}",
    st.sampled_from(["http", "https", "HTTPS"]),
    DOMAINS,
    st.text(st.characters(exclude_categories=["Cs"]), max_size=12),
)


@st.composite
def _spellings(draw: st.DrawFn) -> str:
    """A valid domain as a caller might write it: any case, surrounding whitespace, a trailing dot."""
    domain = draw(DOMAINS)
    if draw(st.booleans()):
        domain = "".join(c.upper() if draw(st.booleans()) else c for c in domain)
    if draw(st.booleans()):
        domain += "."
    pad = st.sampled_from(["", " ", "\t", "\n", "\u3000"])
    return draw(pad) + domain + draw(pad)


TARGETS = st.one_of(
    st.lists(st.text()),
    # Lone surrogates too, which no JSON body can carry: they must be refused before sending.
    st.lists(st.one_of(DOMAINS, st.text(st.characters(exclude_categories=()))), max_size=20),
    st.lists(st.one_of(st.text(), DOMAINS, _spellings(), PAGES), max_size=60),
    # Few distinct domains, many spellings: repeats across chunks.
    st.lists(st.sampled_from(["a.com", "b.org", "A.COM", " a.com.", "b.org.", "B.Org", "x"]), max_size=40),
)


async def _run(targets: list[str], ledger: Ledger) -> BulkResult[int]:
    app = create_app(EmulatorConfig(), ledger)
    async with BulkClient(
        LOGIN,
        PASSWORD,
        base_url="http://127.0.0.1",  # ignored by the in-process transport
        transport=asgi_transport(app),
        chunk_size=7,
        max_concurrency=3,
        rate_limit=100_000,
        rate_period=1.0,
        retry_policy=FAST_RETRY,
    ) as bulk:
        return await bulk.bulk_backlinks(targets)


@pytest.fixture(scope="module")
def shared_ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    """One ledger for every example (module scope: hypothesis runs the test body many times
    per function-scoped fixture); each example reads what it added."""
    ledger = Ledger(tmp_path_factory.mktemp("hypothesis") / "ledger.sqlite")
    yield ledger
    ledger.close()


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(targets=TARGETS)
def test_any_strings_are_each_answered_or_failed_exactly_once(
    shared_ledger: Ledger, targets: list[str]
) -> None:
    before = Counter(shared_ledger.charged_counts())
    result = asyncio.run(_run(targets, shared_ledger))
    charged = Counter(shared_ledger.charged_counts())
    charged.subtract(before)
    charged = +charged  # drop the targets this example did not charge
    distinct = set(targets)
    assert set(result) | set(result.failed) == distinct
    assert not set(result) & set(result.failed)
    sent: set[str] = set()
    for raw in distinct:
        normal = normalize_target(raw)
        if isinstance(normal, str):
            assert result.get(raw) == expected_backlinks(normal), (raw, normal, result.failed.get(raw))
            sent.add(normal)
        else:
            assert result.failed[raw].kind is FailureKind.INVALID, (raw, result.failed[raw])
    assert charged == Counter(sent)
    assert result.stats.targets == len(distinct)


async def _stream(targets: list[str], ledger: Ledger) -> tuple[dict[str, int], dict[str, FailureKind], int]:
    """The same job streamed: every outcome merged, and how many times a key came twice."""
    app = create_app(EmulatorConfig(), ledger)
    values: dict[str, int] = {}
    failed: dict[str, FailureKind] = {}
    repeated = 0
    async with (
        BulkClient(
            LOGIN,
            PASSWORD,
            base_url="http://127.0.0.1",
            transport=asgi_transport(app),
            chunk_size=7,
            max_concurrency=3,
            rate_limit=100_000,
            rate_period=1.0,
            retry_policy=FAST_RETRY,
        ) as bulk,
        bulk.stream(targets) as outcomes,
    ):
        async for outcome in outcomes:
            handed_out = outcome.values.keys() | outcome.failed.keys()
            repeated += len(handed_out & (values.keys() | failed.keys()))
            values.update(outcome.values)
            failed.update({raw: failure.kind for raw, failure in outcome.failed.items()})
    return values, failed, repeated


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(targets=TARGETS)
def test_streamed_outcomes_add_up_to_the_bulk_result(shared_ledger: Ledger, targets: list[str]) -> None:
    # bulk_backlinks() builds its result from the job's own index, stream() from what each
    # chunk hands out: the two must agree, each string handed out once.
    result = asyncio.run(_run(targets, shared_ledger))
    values, failed, repeated = asyncio.run(_stream(targets, shared_ledger))
    assert values == dict(result)
    assert failed == {raw: failure.kind for raw, failure in result.failed.items()}
    assert repeated == 0
