"""Money: the price of a call, the estimate of a job, and the guard that keeps it under max_cost.

Pricing (reference section 3): $0.02 a request + $0.00003 a target; the vendor examples with
10 targets cost 0.0203, a full 1000-target call 0.05.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dataforseo_bulk.budget import Budget, call_cost, estimate_cost
from dataforseo_bulk.errors import ConfigurationError

EPS = 1e-9


@pytest.mark.parametrize(
    ("n_targets", "expected"),
    [(0, 0.02), (1, 0.02003), (10, 0.0203), (100, 0.023), (999, 0.04997), (1000, 0.05)],
    ids=["0", "1", "10-vendor-example", "100", "999", "1000-full-call"],
)
def test_call_cost(n_targets: int, expected: float) -> None:
    assert call_cost(n_targets) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("n_targets", "chunk_size", "expected"),
    [
        (0, 1000, 0.0),
        (1, 1000, 0.02003),
        (999, 1000, 0.04997),
        (1000, 1000, 0.05),
        (1001, 1000, 0.07003),
        (2500, 1000, 0.135),
        (0, 100, 0.0),
        (1, 100, 0.02003),
        (100, 100, 0.023),
        (101, 100, 0.04303),
        (1000, 100, 0.23),
        (1001, 100, 0.25003),
        (2500, 100, 0.575),
        (3, 1, 0.06009),
    ],
    ids=[
        "0-by-1000",
        "1-by-1000",
        "999-by-1000",
        "1000-by-1000-one-call",
        "1001-by-1000-two-calls",
        "2500-by-1000-three-calls",
        "0-by-100",
        "1-by-100",
        "100-by-100-one-call",
        "101-by-100-two-calls",
        "1000-by-100-ten-calls",
        "1001-by-100-eleven-calls",
        "2500-by-100-25-calls",
        "3-by-1",
    ],
)
def test_estimate_cost_over_chunk_boundaries(n_targets: int, chunk_size: int, expected: float) -> None:
    assert estimate_cost(n_targets, chunk_size=chunk_size) == pytest.approx(expected)


@pytest.mark.parametrize(("n_targets", "expected"), [(2500, 0.135), (1000, 0.05)], ids=["2500", "1000"])
def test_estimate_cost_defaults_to_full_chunks(n_targets: int, expected: float) -> None:
    assert estimate_cost(n_targets) == pytest.approx(expected)


@given(
    n_targets=st.integers(min_value=0, max_value=20_000), chunk_size=st.integers(min_value=1, max_value=1000)
)
def test_estimate_cost_is_the_sum_of_its_calls(n_targets: int, chunk_size: int) -> None:
    full, rest = divmod(n_targets, chunk_size)
    calls = [chunk_size] * full + ([rest] if rest else [])

    assert estimate_cost(n_targets, chunk_size=chunk_size) == pytest.approx(sum(map(call_cost, calls)))


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"n_targets": -1}, "n_targets"),
        ({"n_targets": 10, "chunk_size": 0}, "chunk_size"),
        ({"n_targets": 10, "chunk_size": -100}, "chunk_size"),
        ({"n_targets": 10, "chunk_size": 1001}, "chunk_size"),
    ],
    ids=["negative-targets", "chunk-0", "chunk-negative", "chunk-above-1000"],
)
def test_estimate_cost_rejects_invalid_arguments(kwargs: dict[str, int], named: str) -> None:
    kwargs = dict(kwargs)  # the parameter table is shared between runs: never change it
    n_targets = kwargs.pop("n_targets")

    with pytest.raises(ConfigurationError, match=named) as caught:
        estimate_cost(n_targets, **kwargs)

    assert isinstance(caught.value, ValueError)


# --- Budget ------------------------------------------------------------------------------

FULL = call_cost(1000)  # 0.05
SMALL = call_cost(10)  # 0.0203


@pytest.mark.parametrize(
    ("max_cost", "reservations", "accepted"),
    [
        (0.10, [FULL, FULL, SMALL], [True, True, False]),
        (0.10, [FULL, SMALL, SMALL, SMALL], [True, True, True, False]),
        (0.05, [FULL], [True]),
        (0.0499, [FULL, SMALL], [False, True]),
        (0.0, [SMALL], [False]),
        (0.02, [SMALL, call_cost(0)], [False, True]),
    ],
    ids=[
        "two-full-calls-fill-0.10",
        "small-calls-until-full",
        "exactly-at-the-cap",
        "refuse-big-then-fit-small",
        "zero-budget",
        "one-cent-short",
    ],
)
def test_reserve_never_goes_past_max_cost(
    max_cost: float, reservations: list[float], accepted: list[bool]
) -> None:
    budget = Budget(max_cost)
    held = 0.0

    for worst_case, expected in zip(reservations, accepted, strict=True):
        ok = budget.reserve(worst_case)
        assert ok is expected
        if ok:
            held += worst_case
        assert budget.reserved == pytest.approx(held), "a refused reservation changes nothing"
        assert budget.spent + budget.reserved <= max_cost + EPS


@pytest.mark.parametrize(
    ("worst_case", "charged", "spent"),
    [
        (FULL, SMALL, SMALL),
        (FULL, FULL, FULL),
        (SMALL, 0.0, 0.0),
        (SMALL, 0, 0.0),
        (FULL, None, FULL),
        (SMALL, None, SMALL),
    ],
    ids=[
        "charged-less-than-worst",
        "charged-worst",
        "free-40501",
        "free-int-zero",
        "unknown-cost-full-call",
        "unknown-cost-small-call",
    ],
)
def test_settle_releases_the_reservation_and_books_the_charge(
    worst_case: float, charged: float | None, spent: float
) -> None:
    budget = Budget(1.0)
    assert budget.reserve(worst_case)

    budget.settle(worst_case, charged)

    assert budget.reserved == pytest.approx(0.0)
    assert budget.spent == pytest.approx(spent)


def test_settling_below_the_worst_case_frees_room_for_more_calls() -> None:
    budget = Budget(0.10)
    assert budget.reserve(FULL)
    assert budget.reserve(FULL)
    assert not budget.reserve(SMALL)

    budget.settle(FULL, SMALL)  # the call answered 10 targets, not 1000

    assert budget.reserve(SMALL)
    assert budget.spent + budget.reserved == pytest.approx(SMALL + FULL + SMALL)


def test_unknown_cost_keeps_the_room_it_reserved() -> None:
    # A call whose answer was lost may have been billed in full: it must not free anything.
    budget = Budget(0.10)
    assert budget.reserve(FULL)
    assert budget.reserve(FULL)

    budget.settle(FULL, None)

    assert not budget.reserve(SMALL)
    assert budget.spent == pytest.approx(FULL)


@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=1000),  # targets in the call
            st.one_of(st.none(), st.floats(min_value=0.0, max_value=1.0)),  # charged share, None = lost
            st.booleans(),  # settle the oldest open call before this reservation
        ),
        max_size=60,
    ),
    st.floats(min_value=0.0, max_value=2.0),
)
def test_reserved_plus_spent_never_exceeds_max_cost(
    calls: list[tuple[int, float | None, bool]], max_cost: float
) -> None:
    budget = Budget(max_cost)
    open_calls: list[tuple[float, float | None]] = []

    for n_targets, share, settle_first in calls:
        if settle_first and open_calls:
            worst, charged_share = open_calls.pop(0)
            budget.settle(worst, None if charged_share is None else worst * charged_share)
        worst_case = call_cost(n_targets)
        if budget.reserve(worst_case):
            open_calls.append((worst_case, share))
        assert budget.spent + budget.reserved <= max_cost + EPS
    for worst, charged_share in open_calls:
        budget.settle(worst, None if charged_share is None else worst * charged_share)
        assert budget.spent <= max_cost + EPS

    assert budget.reserved == pytest.approx(0.0, abs=EPS)


@pytest.mark.parametrize("worst_case", [SMALL, FULL, 1e6], ids=["small", "full", "huge"])
def test_budget_none_never_refuses(worst_case: float) -> None:
    budget = Budget(None)

    assert all(budget.reserve(worst_case) for _ in range(1000))
    for _ in range(1000):
        budget.settle(worst_case, None)
    assert budget.spent == pytest.approx(1000 * worst_case)
    assert budget.reserve(worst_case)
