"""RetryPolicy: capped exponential backoff with bounded jitter, and its argument checks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dataforseo_bulk.backoff import RetryPolicy
from dataforseo_bulk.errors import ConfigurationError


def _top(**kwargs: float) -> RetryPolicy:
    """A policy that always draws the top of the jitter range (the un-jittered base)."""
    return RetryPolicy(random=lambda: 0.0, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (RetryPolicy(initial=1.0, maximum=30.0, exp_base=2.0, jitter=0.0), [1, 2, 4, 8, 16, 30, 30, 30]),
        (_top(initial=1.0, maximum=30.0, exp_base=2.0), [1, 2, 4, 8, 16, 30, 30, 30]),
        (_top(initial=0.5, maximum=10.0, exp_base=3.0), [0.5, 1.5, 4.5, 10, 10, 10, 10, 10]),
        (_top(initial=2.0, maximum=2.0, exp_base=2.0), [2, 2, 2, 2, 2, 2, 2, 2]),
        (_top(initial=1.0, maximum=100.0, exp_base=1.0), [1, 1, 1, 1, 1, 1, 1, 1]),
        (_top(initial=0.25, maximum=1000.0, exp_base=2.0), [0.25, 0.5, 1, 2, 4, 8, 16, 32]),
    ],
    ids=[
        "jitter-0-default-shape",
        "top-of-range-default-shape",
        "base-3-capped-at-10",
        "initial-equals-maximum",
        "base-1-constant",
        "not-yet-capped",
    ],
)
def test_waits_grow_exponentially_and_are_capped(policy: RetryPolicy, expected: list[float]) -> None:
    waits = [policy.wait(n) for n in range(1, len(expected) + 1)]

    assert waits == pytest.approx(expected)


def test_default_policy_shape() -> None:
    policy = _top()  # defaults: 1 s, doubling, capped at 30 s

    assert [policy.wait(n) for n in (1, 2, 3, 5, 6, 20)] == pytest.approx([1, 2, 4, 16, 30, 30])
    assert policy.max_retries >= 1, "retries are on by default"


@pytest.mark.parametrize("jitter", [0.0, 0.25, 0.5, 1.0], ids=lambda j: f"jitter-{j}")
@pytest.mark.parametrize("retry", [1, 3, 10], ids=lambda n: f"retry-{n}")
def test_jitter_range_ends(jitter: float, retry: int) -> None:
    base = min(30.0, 1.0 * 2.0 ** (retry - 1))
    high = RetryPolicy(initial=1.0, maximum=30.0, jitter=jitter, random=lambda: 0.0)
    low = RetryPolicy(initial=1.0, maximum=30.0, jitter=jitter, random=lambda: 1.0)

    assert high.wait(retry) == pytest.approx(base)
    assert low.wait(retry) == pytest.approx(base * (1 - jitter))


def test_default_jitter_never_makes_a_retry_instant() -> None:
    policy = RetryPolicy()  # real random

    waits = [policy.wait(1) for _ in range(500)]

    assert min(waits) >= 0.5 * 1.0, "the first retry waits at least half its base"
    assert max(waits) <= 1.0
    assert len(set(waits)) > 1, "the waits are actually jittered"


# Retry numbers any sane max_retries reaches (later ones are capped: see the test below).
@given(
    retry=st.integers(min_value=1, max_value=100),
    initial=st.floats(min_value=0.0, max_value=60.0),
    extra=st.floats(min_value=0.0, max_value=600.0),
    exp_base=st.floats(min_value=1.0, max_value=4.0),
    jitter=st.floats(min_value=0.0, max_value=1.0),
    draw=st.floats(min_value=0.0, max_value=1.0),
)
def test_every_wait_is_within_the_jitter_range_and_the_cap(
    retry: int, initial: float, extra: float, exp_base: float, jitter: float, draw: float
) -> None:
    maximum = initial + extra
    policy = RetryPolicy(
        initial=initial, maximum=maximum, exp_base=exp_base, jitter=jitter, random=lambda: draw
    )
    base = min(maximum, initial * exp_base ** (retry - 1))

    wait = policy.wait(retry)

    assert 0.0 <= wait <= maximum
    assert base * (1 - jitter) - 1e-9 <= wait <= base + 1e-9


@given(retry=st.integers(min_value=1, max_value=100))
def test_waits_never_shrink_from_one_retry_to_the_next_at_the_top_of_the_range(retry: int) -> None:
    policy = RetryPolicy(random=lambda: 0.0)

    assert policy.wait(retry + 1) >= policy.wait(retry)


def test_wait_is_capped_for_very_late_retries() -> None:
    policy = RetryPolicy(max_retries=5000, random=lambda: 0.0)

    assert policy.wait(2000) == pytest.approx(policy.maximum)


# --- RetryPolicy.testing() ---------------------------------------------------------------


@pytest.mark.parametrize("max_retries", [None, 0, 1, 7], ids=["default", "0", "1", "7"])
def test_testing_policy_waits_zero_but_keeps_the_attempt_count(max_retries: int | None) -> None:
    policy = RetryPolicy.testing() if max_retries is None else RetryPolicy.testing(max_retries)

    expected = RetryPolicy().max_retries if max_retries is None else max_retries
    assert policy.max_retries == expected
    assert [policy.wait(n) for n in range(1, 21)] == [0.0] * 20


# --- invalid arguments -------------------------------------------------------------------


NOT_FINITE = "^backoff initial, maximum and exp_base must be finite numbers$"


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"max_retries": -1}, "max_retries"),
        ({"max_retries": 1.5}, "max_retries"),
        ({"max_retries": True}, "max_retries"),
        ({"max_retries": "3"}, "max_retries"),
        ({"max_retries": None}, "max_retries"),
        ({"initial": -0.1}, "initial"),
        ({"initial": 5.0, "maximum": 1.0}, "maximum"),
        ({"maximum": -1.0}, "maximum"),
        ({"jitter": -0.01}, "jitter"),
        ({"jitter": 1.01}, "jitter"),
        ({"jitter": float("nan")}, "jitter"),
        ({"exp_base": 0.5}, "exp_base"),
        ({"exp_base": 0.0}, "exp_base"),
        ({"initial": float("inf"), "maximum": float("inf")}, NOT_FINITE),
        ({"maximum": float("inf")}, NOT_FINITE),
        ({"exp_base": float("inf")}, NOT_FINITE),
        ({"initial": float("nan")}, NOT_FINITE),
    ],
    ids=[
        "max_retries-negative",
        "max_retries-float",
        "max_retries-bool",
        "max_retries-str",
        "max_retries-none",
        "initial-negative",
        "maximum-below-initial",
        "maximum-negative",
        "jitter-negative",
        "jitter-above-1",
        "jitter-nan",
        "exp_base-below-1",
        "exp_base-zero",
        "initial-infinite",
        "maximum-infinite",
        "exp_base-infinite",
        "initial-nan",
    ],
)
def test_invalid_arguments_raise_configuration_error_naming_them(
    kwargs: dict[str, object], named: str
) -> None:
    with pytest.raises(ConfigurationError, match=named) as caught:
        RetryPolicy(**kwargs)  # type: ignore[arg-type]

    assert isinstance(caught.value, ValueError), "callers may catch ValueError"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_retries": 0},
        {"initial": 0.0, "maximum": 0.0},
        {"initial": 3.0, "maximum": 3.0},
        {"jitter": 0.0},
        {"jitter": 1.0},
        {"exp_base": 1.0},
    ],
    ids=["no-retries", "zero-waits", "initial-equals-maximum", "jitter-0", "jitter-1", "exp_base-1"],
)
def test_edge_arguments_are_accepted(kwargs: dict[str, float]) -> None:
    policy = RetryPolicy(**kwargs)  # type: ignore[arg-type]

    assert policy.wait(1) >= 0.0


def test_testing_rejects_negative_max_retries() -> None:
    with pytest.raises(ConfigurationError, match="max_retries"):
        RetryPolicy.testing(-1)
