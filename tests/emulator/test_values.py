"""The value functions: documented formulas, sensible ranges, one order that is never the request's."""

from __future__ import annotations

from hashlib import blake2b

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dataforseo_bulk.emulator import ENDPOINTS, answer_order, expected_backlinks, expected_item, root_domain
from dataforseo_bulk.emulator.domains import host_of

targets = st.text(min_size=1, max_size=60)


def test_expected_backlinks_is_the_documented_formula() -> None:
    digest = blake2b(b"backlinks\0cnn.com", digest_size=8).digest()
    assert expected_backlinks("cnn.com") == int.from_bytes(digest, "big") % 50_000_000


def test_values_depend_on_the_exact_target_string() -> None:
    assert expected_backlinks("cnn.com") != expected_backlinks("CNN.com")
    assert expected_backlinks("cnn.com") == expected_backlinks("cnn.com")


@given(target=targets)
def test_ranges(target: str) -> None:
    assert 0 <= expected_backlinks(target) < 50_000_000
    assert 0 <= expected_item("bulk_ranks", target)["rank"] <= 1000  # type: ignore[operator]
    assert 0 <= expected_item("bulk_ranks", target, rank_scale="one_hundred")["rank"] <= 100  # type: ignore[operator]
    assert 0 <= expected_item("bulk_spam_score", target)["spam_score"] <= 100  # type: ignore[operator]


@given(target=targets)
def test_parts_never_exceed_their_whole(target: str) -> None:
    item = expected_item("bulk_pages_summary", target)
    pairs = [
        ("referring_domains_nofollow", "referring_domains"),
        ("referring_main_domains", "referring_domains"),
        ("referring_main_domains_nofollow", "referring_main_domains"),
        ("referring_subnets", "referring_ips"),
        ("referring_ips", "referring_domains"),
        ("referring_pages", "backlinks"),
        ("referring_pages_nofollow", "referring_pages"),
        ("broken_backlinks", "backlinks"),
    ]
    for part, whole in pairs:
        assert item[part] <= item[whole], (part, whole)  # type: ignore[operator]


def test_one_hundred_scale_is_the_thousand_scale_divided_by_ten() -> None:
    for target in ("cnn.com", "bbc.com", "https://www.apple.com/iphone/"):
        thousand = expected_item("bulk_ranks", target, rank_scale="one_thousand")["rank"]
        hundred = expected_item("bulk_ranks", target, rank_scale="one_hundred")["rank"]
        assert hundred == (thousand + 5) // 10  # type: ignore[operator]
        assert expected_item("bulk_ranks", target)["rank"] == thousand


def test_same_field_same_value_across_endpoints() -> None:
    summary = expected_item("bulk_pages_summary", "forbes.com")
    assert summary["backlinks"] == expected_backlinks("forbes.com")
    assert summary["rank"] == expected_item("bulk_ranks", "forbes.com")["rank"]
    domains = expected_item("bulk_referring_domains", "forbes.com")
    assert summary["referring_domains"] == domains["referring_domains"]
    page = expected_item("bulk_pages_summary", "https://www.forbes.com/a/")
    assert page["main_domain_rank"] == summary["rank"]


@pytest.mark.parametrize(
    ("target", "kind"),
    [
        ("https://www.apple.com/iphone/", "page"),
        ("HTTP://example.com", "page"),
        ("forbes.com", "domain"),
        ("bbc.co.uk", "domain"),
        ("docs.dataforseo.com", "subdomain"),
        ("www.trustpilot.com", "subdomain"),
    ],
)
def test_type(target: str, kind: str) -> None:
    assert expected_item("bulk_spam_score", target)["type"] == kind


def test_item_field_order_follows_the_api() -> None:
    assert list(expected_item("bulk_spam_score", "a.com")) == ["type", "target", "spam_score"]
    summary = list(expected_item("bulk_pages_summary", "a.com"))
    assert summary[:3] == ["type", "url", "rank"]
    assert summary[-1] == "referring_links_countries"


def test_dates_and_maps() -> None:
    item = expected_item("bulk_pages_summary", "cnn.com")
    assert isinstance(item["first_seen"], str)
    assert item["first_seen"].endswith(" +00:00")
    assert item["lost_date"] is None or item["lost_date"] > item["first_seen"]  # type: ignore[operator]
    links = item["referring_links_types"]
    assert isinstance(links, dict)
    assert all(isinstance(k, str) and isinstance(v, int) for k, v in links.items())


def test_expected_item_refuses_what_the_endpoint_does_not_take() -> None:
    with pytest.raises(TypeError, match="rank_scale"):
        expected_item("bulk_backlinks", "a.com", rank_scale="one_hundred")
    with pytest.raises(ValueError, match="bulk_backlinks"):
        expected_item("bulk_everything", "a.com")


def test_every_endpoint_has_its_key_field_first_or_after_type() -> None:
    for spec in ENDPOINTS.values():
        names = [name for name, _ in spec.item_fields]
        assert spec.key_field in names[:2]
        assert len(names) == len(set(names))


@pytest.mark.parametrize(
    ("host", "root"),
    [
        ("dataforseo.com", "dataforseo.com"),
        ("docs.dataforseo.com", "dataforseo.com"),
        ("a.b.c.example.org", "example.org"),
        ("news.bbc.co.uk", "bbc.co.uk"),
        ("www.abc.net.au", "abc.net.au"),
        ("ox.ac.uk", "ox.ac.uk"),
        ("WWW.Example.COM.", "example.com"),
        ("localhost", "localhost"),
        ("192.168.1.20", "192.168.1.20"),
    ],
)
def test_root_domain(host: str, root: str) -> None:
    assert root_domain(host) == root


@pytest.mark.parametrize(
    ("target", "host"),
    [
        ("https://Docs.DataForSEO.com/v3/", "docs.dataforseo.com"),
        ("http://example.com:8080/x", "example.com"),
        ("example.com/path", "example.com"),
        ("example.com", "example.com"),
    ],
)
def test_host_of(target: str, host: str) -> None:
    assert host_of(target) == host


@given(st.lists(targets, min_size=1, max_size=30))
def test_answer_order_is_a_different_permutation_of_the_distinct_targets(request: list[str]) -> None:
    distinct = list(dict.fromkeys(request))
    order = answer_order(request)
    assert sorted(order) == sorted(distinct)
    if len(distinct) > 1:
        assert order != distinct
