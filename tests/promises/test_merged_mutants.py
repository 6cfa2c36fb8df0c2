"""Tests for mutants that survived the mutation run of the merged code (docs/testing.md), each a
documented behaviour checked as a table through the module's public functions."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from conftest import envelope
from dataforseo_bulk import RetryPolicy, estimate_cost
from dataforseo_bulk.answer import parse_answer
from dataforseo_bulk.backoff import wait_before_retry
from dataforseo_bulk.classify import Action, Decision, Kind, classify
from dataforseo_bulk.errors import ConfigurationError
from dataforseo_bulk.pacing import RateMeter

NOW = dt.datetime(2026, 12, 1, 12, 0, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"n_targets": None}, "n_targets must be an int, not NoneType"),
        ({"n_targets": 10.0}, "n_targets must be an int, not float"),
        ({"n_targets": 10, "chunk_size": "1000"}, "chunk_size must be an int, not str"),
        ({"n_targets": 10, "chunk_size": 100.0}, "chunk_size must be an int, not float"),
    ],
)
def test_estimate_cost_names_the_argument_of_the_wrong_type_and_its_type(
    arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(TypeError) as caught:
        estimate_cost(**arguments)
    assert str(caught.value) == message


def pages_summary_answer(total_count: object) -> bytes:
    body = envelope(items=[{"target": "a.com", "backlinks": 3}])
    body["tasks"][0]["result"][0]["total_count"] = total_count
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("total_count", "read"),
    [(0, 0), (1, 1), (4000, 4000), (-1, None), (True, None), ("3", None), (2.0, None), (None, None)],
)
def test_the_total_count_is_read_when_it_is_a_whole_number_zero_included(
    total_count: object, read: int | None
) -> None:
    """docs/jobs.md: a ``bulk_pages_summary`` outcome carries the API's ``total_count``; 0 is a count."""
    assert parse_answer(200, pages_summary_answer(total_count)).total_count == read


@pytest.mark.parametrize(("http_status", "retry_after"), [(429, "5"), (503, "90"), (429, "600")])
def test_the_testing_policy_zeroes_the_waits_a_retry_after_asks_for(
    http_status: int, retry_after: str
) -> None:
    """docs/errors.md, Waits: "RetryPolicy.testing() zeroes all of them"."""
    wait = wait_before_retry(
        RetryPolicy.testing(), 1, code=None, http_status=http_status, retry_after=retry_after, now=NOW
    )
    assert (wait.seconds, wait.pause_all) == (0.0, 0.0)


def answer_without_data(result: object) -> bytes:
    body = envelope(items=[])
    body["tasks"][0]["result"] = result
    return json.dumps(body).encode()


@pytest.mark.parametrize("result", [None, []])
def test_an_ok_answer_without_data_is_asked_again_and_says_why(result: object) -> None:
    """docs/errors.md: 20000 with ``result`` null or [] is transient, "no data": asked once more
    (the retry's code and message say why), then its targets fail as ``no_data``."""
    decision = classify(parse_answer(200, answer_without_data(result)), n_targets=3)
    assert decision == Decision(
        Kind.TRANSIENT, 20000, "Ok. answer without data (result null or [])", Action.NO_DATA
    )


@pytest.mark.parametrize(
    ("knobs", "message"),
    [
        (
            {"long_initial": 600.0},
            "long_initial=600.0, long_maximum=300.0: need 0 <= long_initial <= long_maximum, "
            "in seconds (the wait after 50303/50304)",
        ),
        (
            {"long_maximum": float("inf")},
            "long_initial=60.0, long_maximum=inf: need 0 <= long_initial <= long_maximum, "
            "in seconds (the wait after 50303/50304)",
        ),
        (
            {"retry_after_max": -1.0},
            "retry_after_max=-1.0: give the longest Retry-After to honour in seconds, e.g. 120",
        ),
    ],
)
def test_bad_wait_settings_say_what_to_give(knobs: dict[str, float], message: str) -> None:
    """docs/errors.md: ConfigurationError messages name the argument and say how to fix it."""
    with pytest.raises(ConfigurationError) as caught:
        RetryPolicy(**knobs)  # type: ignore[arg-type]
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("limit", "period", "margin", "interval"), [(10, 10.0, 0.5, 1.5), (100, 60.0, 0.1, 0.66)]
)
def test_a_rate_meters_margin_widens_its_slots(
    limit: int, period: float, margin: float, interval: float
) -> None:
    """A wider margin spaces the slots further apart: ``limit`` slots then fit in ``period``
    plus the margin, never in less."""
    assert RateMeter(limit, period, margin=margin).interval == pytest.approx(interval)
