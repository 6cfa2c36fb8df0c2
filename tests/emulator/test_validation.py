"""Body and task checks as pure functions (the HTTP tests cover the same codes end to end)."""

from __future__ import annotations

import datetime as dt

import pytest

from dataforseo_bulk.emulator import ENDPOINTS
from dataforseo_bulk.emulator.validation import (
    TaskError,
    ValidTask,
    date_from_is_valid,
    one_year_before,
    parse_body,
    validate_task,
)

TODAY = dt.date(2026, 11, 29)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"", 40502),
        (b"  \n", 40502),
        (b"[]", 40502),
        (b"not json", 40503),
        (b'{"targets": ["a.com"]}', 40503),
        (b"[1]", 40503),
        (b'[{"targets": ["a.com"]}, "x"]', 40503),
        (b"[NaN]", 40503),
        (b"\xff\xfe", 40503),
    ],
)
def test_bad_bodies(body: bytes, expected: int) -> None:
    assert parse_body(body) == expected


def test_good_body() -> None:
    assert parse_body(b'[{"targets": ["a.com"]}, {}]') == [{"targets": ["a.com"]}, {}]


INVALID_TARGETS = "Invalid Field: 'targets'."
INVALID_DATE = "Invalid Field: 'date_from'."
INVALID_SCALE = "Invalid Field: 'rank_scale'."
INVALID_SUBDOMAINS = "Invalid Field: 'include_subdomains'."
UNKNOWN = "Unknown Fields in POST Data."
A = ["a.com"]
ROOTS_101 = [f"https://p{i}.site{i}.com/" for i in range(101)]
ROOTS_100_MANY_HOSTS = [f"https://h{i}.site{i % 100}.com/x" for i in range(300)]

CASES = [
    # (endpoint, task, expected code or None for valid, message)
    ("bulk_backlinks", {"tag": "x"}, 40501, INVALID_TARGETS),
    ("bulk_backlinks", {"targets": "a.com"}, 40501, INVALID_TARGETS),
    ("bulk_backlinks", {"targets": []}, 40501, INVALID_TARGETS),
    ("bulk_backlinks", {"targets": [f"d{i}.com" for i in range(1001)]}, 40501, INVALID_TARGETS),
    ("bulk_backlinks", {"targets": [f"d{i}.com" for i in range(1000)]}, None, ""),
    ("bulk_backlinks", {"targets": ["a.com", 7]}, 40501, INVALID_TARGETS),
    ("bulk_backlinks", {"targets": ["a.com", None]}, 40501, INVALID_TARGETS),
    ("bulk_backlinks", {"targets": ["   "]}, 40501, INVALID_TARGETS),
    ("bulk_backlinks", {"targets": [""]}, 40501, INVALID_TARGETS),
    ("bulk_backlinks", {"targets": ["a .com"]}, 40501, INVALID_TARGETS),
    ("bulk_backlinks", {"targets": [" a.com"]}, 40501, INVALID_TARGETS),
    ("bulk_backlinks", {"targets": ["a.com\t"]}, 40501, INVALID_TARGETS),
    ("bulk_backlinks", {"targets": ["a" * 2049]}, 40501, INVALID_TARGETS),
    ("bulk_backlinks", {"targets": ["a" * 2048]}, None, ""),
    ("bulk_backlinks", {"targets": A, "tag": 5}, 40501, "Invalid Field: 'tag'."),
    ("bulk_backlinks", {"targets": A, "tag": None}, None, ""),  # null = absent, as the API takes it
    ("bulk_backlinks", {"targets": None}, 40501, INVALID_TARGETS),
    ("bulk_backlinks", {"targets": A, "tag": "t" * 256}, 40501, "Invalid Field: 'tag'."),
    ("bulk_backlinks", {"targets": A, "tag": "t" * 255}, None, ""),
    ("bulk_backlinks", {"targets": A, "limit": 3}, 40506, UNKNOWN),
    ("bulk_backlinks", {"target": A}, 40506, UNKNOWN),
    ("bulk_backlinks", {"targets": A, "rank_scale": "one_hundred"}, 40506, UNKNOWN),
    ("bulk_ranks", {"targets": A, "rank_scale": "one_hundred"}, None, ""),
    ("bulk_ranks", {"targets": A, "rank_scale": "one_million"}, 40501, INVALID_SCALE),
    ("bulk_ranks", {"targets": A, "rank_scale": 100}, 40501, INVALID_SCALE),
    ("bulk_new_lost_backlinks", {"targets": A, "date_from": "2026-11-29"}, None, ""),
    ("bulk_new_lost_backlinks", {"targets": A, "date_from": "2025-11-29"}, None, ""),
    ("bulk_new_lost_backlinks", {"targets": A, "date_from": "2025-11-28"}, 40501, INVALID_DATE),
    # A day after today: no documented rule refuses it (the client refuses it, not the API).
    ("bulk_new_lost_backlinks", {"targets": A, "date_from": "2026-11-30"}, None, ""),
    ("bulk_new_lost_backlinks", {"targets": A, "date_from": None}, None, ""),
    ("bulk_pages_summary", {"targets": A, "include_subdomains": None, "rank_scale": None}, None, ""),
    ("bulk_new_lost_referring_domains", {"targets": A, "date_from": "2026/10/01"}, 40501, INVALID_DATE),
    ("bulk_new_lost_referring_domains", {"targets": A, "date_from": "2026-02-30"}, 40501, INVALID_DATE),
    ("bulk_new_lost_referring_domains", {"targets": A, "date_from": 20261001}, 40501, INVALID_DATE),
    ("bulk_pages_summary", {"targets": A, "include_subdomains": False}, None, ""),
    ("bulk_pages_summary", {"targets": A, "include_subdomains": "true"}, 40501, INVALID_SUBDOMAINS),
    ("bulk_pages_summary", {"targets": A, "include_subdomains": 1}, 40501, INVALID_SUBDOMAINS),
    ("bulk_pages_summary", {"targets": ROOTS_101}, 40501, INVALID_TARGETS),
    ("bulk_pages_summary", {"targets": ROOTS_100_MANY_HOSTS}, None, ""),
    ("bulk_backlinks", {"targets": ROOTS_101}, None, ""),
]  # fmt: skip


@pytest.mark.parametrize(("endpoint", "task", "code", "message"), CASES)
def test_validate_task(endpoint: str, task: dict[str, object], code: int | None, message: str) -> None:
    checked = validate_task(ENDPOINTS[endpoint], task, TODAY)
    if code is None:
        assert isinstance(checked, ValidTask)
        assert list(checked.targets) == task["targets"]
    else:
        assert checked == TaskError(code, message)


def test_params_keep_only_endpoint_fields() -> None:
    checked = validate_task(
        ENDPOINTS["bulk_pages_summary"],
        {"targets": ["a.com"], "tag": "t", "rank_scale": "one_hundred"},
        TODAY,
    )
    assert isinstance(checked, ValidTask)
    assert checked.params == {"rank_scale": "one_hundred"}
    assert checked.tag == "t"


def test_one_year_before_a_leap_day() -> None:
    assert one_year_before(dt.date(2028, 2, 29)) == dt.date(2027, 2, 28)
    assert date_from_is_valid("2027-02-28", dt.date(2028, 2, 29))
    assert not date_from_is_valid("2027-02-27", dt.date(2028, 2, 29))
