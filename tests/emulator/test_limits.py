"""The rate window and the in-flight counter as pure code on a fake clock."""

from __future__ import annotations

import pytest

from dataforseo_bulk.emulator import InFlight, Limits, RateWindow

from .helpers import FakeClock


def test_window_refuses_the_call_over_the_limit_until_the_oldest_call_leaves() -> None:
    window = RateWindow(limit=3, period=60.0)
    for now in (0.0, 10.0, 20.0):
        assert window.has_room(now)
        window.record(now)
    assert not window.has_room(20.0)
    assert not window.has_room(59.999)
    assert window.has_room(60.0)  # the call at 0.0 is exactly one period old: out of the window


@pytest.mark.parametrize(
    ("limit", "period", "calls", "expected"),
    [
        # calls at these times → accepted?
        (2, 10.0, [0, 0, 0, 5, 10, 10, 10], [1, 1, 0, 0, 1, 1, 0]),
        (1, 1.0, [0, 0.5, 1.0, 1.5, 2.0], [1, 0, 1, 0, 1]),
        (3, 60.0, [0, 1, 2, 3, 59, 60, 61, 62], [1, 1, 1, 0, 0, 1, 1, 1]),
    ],
)
def test_sliding_window_table(limit: int, period: float, calls: list[float], expected: list[int]) -> None:
    clock = FakeClock(0.0)
    limits = Limits(rate_limit=limit, rate_period=period, max_concurrency=None, clock=clock)
    accepted = []
    for at in calls:
        clock.now = at
        verdict = limits.admit()
        accepted.append(int(verdict is None))
        if verdict is None:
            limits.release()
        else:
            assert verdict == 40202
    assert accepted == expected


def test_refused_calls_do_not_extend_the_window() -> None:
    clock = FakeClock(0.0)
    limits = Limits(rate_limit=1, rate_period=60.0, max_concurrency=None, clock=clock)
    assert limits.admit() is None
    limits.release()
    for second in range(1, 60):
        clock.now = second
        assert limits.admit() == 40202
    clock.now = 60.0
    assert limits.admit() is None


def test_concurrency() -> None:
    limits = Limits(rate_limit=None, rate_period=60.0, max_concurrency=2, clock=FakeClock())
    assert limits.admit() is None
    assert limits.admit() is None
    assert limits.admit() == 40209
    limits.release()
    assert limits.admit() is None


def test_a_call_refused_for_concurrency_is_not_counted_in_the_window() -> None:
    clock = FakeClock(0.0)
    limits = Limits(rate_limit=2, rate_period=60.0, max_concurrency=1, clock=clock)
    assert limits.admit() is None
    assert limits.admit() == 40209
    limits.release()
    assert limits.admit() is None  # the second accepted call, not the third
    limits.release()
    assert limits.admit() == 40202


def test_rate_is_checked_before_concurrency() -> None:
    limits = Limits(rate_limit=1, rate_period=60.0, max_concurrency=1, clock=FakeClock())
    assert limits.admit() is None
    assert limits.admit() == 40202


def test_unlimited() -> None:
    limits = Limits(rate_limit=None, rate_period=60.0, max_concurrency=None, clock=FakeClock())
    for _ in range(10_000):
        assert limits.admit() is None
    assert limits.in_flight.current == 10_000


def test_in_flight_refuses_an_unbalanced_leave() -> None:
    with pytest.raises(RuntimeError):
        InFlight(3).leave()
