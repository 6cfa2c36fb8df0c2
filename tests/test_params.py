"""Parameter checks as tables: what each extra request field accepts, and the message otherwise."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from dataforseo_bulk import (
    BULK_BACKLINKS,
    BULK_NEW_LOST_BACKLINKS,
    BULK_PAGES_SUMMARY,
    BULK_RANKS,
    ENDPOINTS,
    ConfigurationError,
    Endpoint,
)
from dataforseo_bulk.emulator import ENDPOINTS as EMULATED
from dataforseo_bulk.emulator.validation import date_from_is_valid
from dataforseo_bulk.params import (
    check_date_from,
    check_include_subdomains,
    check_rank_scale,
    earliest_date_from,
    utc_today,
)

TODAY = dt.date(2026, 11, 29)


@pytest.mark.parametrize("value", ["one_hundred", "one_thousand"])
def test_rank_scale_accepts_the_two_scales(value: str) -> None:
    assert check_rank_scale(value) == value


@pytest.mark.parametrize("value", ["One_Hundred", "100", "one_million", "", None, 100, b"one_hundred"])
def test_rank_scale_refuses_anything_else_and_names_both_scales(value: object) -> None:
    with pytest.raises(ConfigurationError, match=r"rank_scale=.* 'one_hundred' .* 'one_thousand'"):
        check_rank_scale(value)


@pytest.mark.parametrize(("value", "sent"), [(True, True), (False, False)])
def test_include_subdomains_is_a_bool(value: bool, sent: bool) -> None:
    assert check_include_subdomains(value) is sent


@pytest.mark.parametrize("value", ["true", "no", 1, 0, None])
def test_include_subdomains_refuses_what_is_not_a_bool(value: object) -> None:
    with pytest.raises(ConfigurationError, match=r"include_subdomains=.*give True .* or False"):
        check_include_subdomains(value)


@pytest.mark.parametrize(
    ("value", "sent"),
    [
        ("2026-11-29", "2026-11-29"),  # today
        ("2026-10-29", "2026-10-29"),  # the API's default, a month ago
        ("2025-11-29", "2025-11-29"),  # exactly one year ago: the oldest allowed
        (dt.date(2026, 1, 31), "2026-01-31"),
        (TODAY, "2026-11-29"),
    ],
)
def test_date_from_within_the_last_year_is_sent_as_yyyy_mm_dd(value: object, sent: str) -> None:
    assert check_date_from(value, today=TODAY) == sent


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2026-11-30", r"'2026-11-30' is in the future \(today is 2026-11-29 in UTC\)"),
        (dt.date(2027, 1, 1), "is in the future"),
        ("2025-11-28", "'2025-11-28' is more than a year ago"),
        ("2020-01-01", "more than a year ago"),
        ("2026-02-30", "'2026-02-30' is not a calendar date"),
        ("2026-13-01", "not a calendar date"),
        ("29/11/2026", "give a datetime.date or a 'yyyy-mm-dd' string such as '2026-10-30'"),
        ("20261129", "yyyy-mm-dd"),
        ("2026-11-29T00:00:00", "yyyy-mm-dd"),
        (" 2026-11-29", "yyyy-mm-dd"),
        ("", "yyyy-mm-dd"),
        (20261129, "yyyy-mm-dd"),
        (
            dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
            r"is a datetime: give a date, e.g. date_from=value.date\(\)",
        ),
    ],
)
def test_date_from_errors_say_how_to_fix_the_call(value: object, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        check_date_from(value, today=TODAY)
    assert "give a date from 2025-11-29 to 2026-11-29" in str(caught.value)


@pytest.mark.parametrize(
    ("today", "earliest"),
    [
        (dt.date(2026, 11, 29), dt.date(2025, 11, 29)),
        (dt.date(2028, 2, 29), dt.date(2027, 2, 28)),  # no 29 February a year before
        (dt.date(2027, 3, 1), dt.date(2026, 3, 1)),
        (dt.date(2027, 1, 1), dt.date(2026, 1, 1)),
    ],
)
def test_the_oldest_date_from_is_the_same_day_a_year_before(today: dt.date, earliest: dt.date) -> None:
    assert earliest_date_from(today) == earliest


@pytest.mark.parametrize("today", [dt.date(2026, 11, 29), dt.date(2028, 2, 29), dt.date(2028, 3, 1)])
def test_client_and_emulator_agree_on_every_date_from(today: dt.date) -> None:
    for offset in range(-370, 3):
        day = today + dt.timedelta(days=offset)
        try:
            check_date_from(day, today=today)
            accepted = True
        except ConfigurationError:
            accepted = False
        # The client also refuses a day after today: its own check, which the API does not document.
        assert accepted is (date_from_is_valid(day.isoformat(), today) and day <= today), day


def test_date_from_is_checked_against_today_in_utc_by_default() -> None:
    today = utc_today()
    assert today in {dt.datetime.now(dt.UTC).date(), dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)}
    assert check_date_from(today) == today.isoformat()
    with pytest.raises(ConfigurationError, match="in the future"):
        check_date_from(today + dt.timedelta(days=2))


# --- per endpoint --------------------------------------------------------------------------


def test_every_endpoint_takes_the_parameters_the_emulator_takes() -> None:
    assert set(ENDPOINTS) == set(EMULATED)
    for name, endpoint in ENDPOINTS.items():
        assert set(endpoint.parameters) == set(EMULATED[name].extra_fields), name
        assert endpoint.key_field == EMULATED[name].key_field
        assert endpoint.max_root_domains == EMULATED[name].max_root_domains
        assert endpoint.path == EMULATED[name].path


@pytest.mark.parametrize(
    ("endpoint", "params", "sent"),
    [
        (BULK_BACKLINKS, None, {}),
        (BULK_BACKLINKS, {}, {}),
        (BULK_RANKS, {"rank_scale": "one_hundred"}, {"rank_scale": "one_hundred"}),
        (BULK_RANKS, {"rank_scale": None}, {}),  # None: the API's default
        (BULK_NEW_LOST_BACKLINKS, {"date_from": dt.date(2026, 6, 1)}, {"date_from": "2026-06-01"}),
        (
            BULK_PAGES_SUMMARY,
            {"include_subdomains": False, "rank_scale": "one_thousand"},
            {"include_subdomains": False, "rank_scale": "one_thousand"},
        ),
    ],
)
def test_check_params_gives_the_fields_to_send(
    endpoint: Endpoint[Any], params: dict[str, object] | None, sent: dict[str, object]
) -> None:
    assert endpoint.check_params(params, today=TODAY) == sent


@pytest.mark.parametrize(
    ("endpoint", "params", "message"),
    [
        (BULK_BACKLINKS, {"rank_scale": "one_hundred"}, "bulk_backlinks has no parameter 'rank_scale'"),
        (BULK_RANKS, {"date_from": "2026-11-01"}, "no parameter 'date_from'; it takes: rank_scale"),
        (BULK_PAGES_SUMMARY, {"include_subdomain": False}, "it takes: include_subdomains, rank_scale"),
        (BULK_RANKS, {"targets": ["a.com"]}, "params may not set 'targets'"),
        (BULK_RANKS, {"tag": "x"}, "params may not set 'tag'"),
        (BULK_RANKS, {"rank_scale": "ten"}, "rank_scale='ten' is not valid"),
        (BULK_NEW_LOST_BACKLINKS, {"date_from": "2024-01-01"}, "more than a year ago"),
        (BULK_PAGES_SUMMARY, {"include_subdomains": "false"}, "include_subdomains='false' is not valid"),
    ],
)
def test_check_params_refuses_with_a_message(
    endpoint: Endpoint[Any], params: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        endpoint.check_params(params, today=TODAY)
