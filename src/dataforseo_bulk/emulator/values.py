"""The value of every item field: a pure, documented function of (field name, target string).

Every number the emulator returns comes from :func:`draw`, a 64-bit BLAKE2b hash of the field
name and the target exactly as sent, reduced into a range that suits the field. The same
field has the same value on every endpoint (``backlinks`` in ``bulk_backlinks`` equals
``backlinks`` in ``bulk_pages_summary``), so results can be checked without the emulator:
``expected_backlinks("cnn.com")`` is what the emulator answers for ``cnn.com``.

Counts that are parts of another count (nofollow domains, main domains, broken backlinks ...)
are drawn below their whole, so the numbers are plausible together. No value depends on the
request date: ``date_from`` and ``include_subdomains`` are validated and echoed but do not
change values; ``rank_scale`` does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from hashlib import blake2b
from typing import Final

from .domains import host_of, root_domain

Params = Mapping[str, object]
#: How an item field is computed: (target exactly as sent, request params) → JSON value.
ValueFn = Callable[[str, Params], object]

BACKLINKS_RANGE: Final = 50_000_000
REFERRING_DOMAINS_RANGE: Final = 2_000_000
NEW_LOST_BACKLINKS_RANGE: Final = 1_000_000
NEW_LOST_DOMAINS_RANGE: Final = 50_000
BROKEN_PAGES_RANGE: Final = 10_000
MAP_COUNT_RANGE: Final = 1_000
#: ``first_seen`` falls in the ten years from this instant; fixed so values never depend on "now".
FIRST_SEEN_EPOCH: Final = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
FIRST_SEEN_SPAN_SECONDS: Final = 10 * 365 * 86_400

#: The keys of the ``referring_links_*`` maps of ``bulk_pages_summary``, as the real API names them.
MAP_KEYS: Final[Mapping[str, tuple[str, ...]]] = {
    "referring_links_tld": ("com", "org", "net", "de", "uk", "io"),
    "referring_links_types": ("anchor", "image", "link", "meta", "canonical", "alternate", "redirect"),
    "referring_links_attributes": ("nofollow", "noopener", "noreferrer", "external", "ugc", "sponsored"),
    "referring_links_platform_types": ("cms", "blogs", "news", "ecommerce", "organization", "wikis"),
    "referring_links_semantic_locations": ("", "article", "section", "header", "footer", "nav", "aside"),
    "referring_links_countries": ("", "US", "DE", "GB", "FR", "IN", "NL"),
}


def draw(field: str, target: str) -> int:
    """The raw 64-bit draw behind every value: BLAKE2b-64 of ``f"{field}\\0{target}"``, big-endian."""
    digest = blake2b(f"{field}\0{target}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def below(field: str, target: str, bound: int) -> int:
    """A count in ``0 .. bound - 1`` (``draw % bound``)."""
    return draw(field, target) % bound


def expected_backlinks(target: str) -> int:
    """``backlinks`` for ``target``: ``draw("backlinks", target) % 50_000_000``."""
    return below("backlinks", target, BACKLINKS_RANGE)


def _dataforseo_time(moment: dt.datetime) -> str:
    # The API writes timestamps as "2019-11-14 12:02:27 +00:00".
    return moment.strftime("%Y-%m-%d %H:%M:%S +00:00")


# --- one function per item field; each takes (target, params) so the table can call them alike ---


def target_type(target: str, params: Params) -> str:
    """``type``: ``"page"`` for an http(s) URL, ``"subdomain"`` when the host is not its root domain,
    else ``"domain"``."""
    if target.lower().startswith(("http://", "https://")):
        return "page"
    host = host_of(target)
    return "domain" if root_domain(host) == host else "subdomain"


def backlinks(target: str, params: Params) -> int:
    return expected_backlinks(target)


def rank(target: str, params: Params) -> int:
    """``rank``: ``draw("rank") % 1001``; on ``rank_scale="one_hundred"`` the same rank divided by
    ten, rounded half up (0–100)."""
    value = below("rank", target, 1001)
    return (value + 5) // 10 if params.get("rank_scale") == "one_hundred" else value


def main_domain_rank(target: str, params: Params) -> int:
    """``main_domain_rank``: the :func:`rank` of the target's root domain."""
    return rank(root_domain(host_of(target)), params)


def spam_score(target: str, params: Params) -> int:
    return below("spam_score", target, 101)


def backlinks_spam_score(target: str, params: Params) -> int:
    return below("backlinks_spam_score", target, 101)


def referring_domains(target: str, params: Params) -> int:
    return below("referring_domains", target, REFERRING_DOMAINS_RANGE)


def referring_domains_nofollow(target: str, params: Params) -> int:
    return below("referring_domains_nofollow", target, referring_domains(target, params) + 1)


def referring_main_domains(target: str, params: Params) -> int:
    return below("referring_main_domains", target, referring_domains(target, params) + 1)


def referring_main_domains_nofollow(target: str, params: Params) -> int:
    return below("referring_main_domains_nofollow", target, referring_main_domains(target, params) + 1)


def new_backlinks(target: str, params: Params) -> int:
    return below("new_backlinks", target, NEW_LOST_BACKLINKS_RANGE)


def lost_backlinks(target: str, params: Params) -> int:
    return below("lost_backlinks", target, NEW_LOST_BACKLINKS_RANGE)


def new_referring_domains(target: str, params: Params) -> int:
    return below("new_referring_domains", target, NEW_LOST_DOMAINS_RANGE)


def lost_referring_domains(target: str, params: Params) -> int:
    return below("lost_referring_domains", target, NEW_LOST_DOMAINS_RANGE)


def new_referring_main_domains(target: str, params: Params) -> int:
    return below("new_referring_main_domains", target, new_referring_domains(target, params) + 1)


def lost_referring_main_domains(target: str, params: Params) -> int:
    return below("lost_referring_main_domains", target, lost_referring_domains(target, params) + 1)


def first_seen(target: str, params: Params) -> str:
    """``first_seen``: 2015-01-01 plus ``draw % (ten years in seconds)`` seconds."""
    offset = below("first_seen", target, FIRST_SEEN_SPAN_SECONDS)
    return _dataforseo_time(FIRST_SEEN_EPOCH + dt.timedelta(seconds=offset))


def lost_date(target: str, params: Params) -> str | None:
    """``lost_date``: ``None`` (still live) for three draws in four, else 1–365 days after ``first_seen``."""
    raw = draw("lost_date", target)
    if raw % 4:
        return None
    seen = dt.datetime.strptime(first_seen(target, params), "%Y-%m-%d %H:%M:%S +00:00")
    return _dataforseo_time(seen.replace(tzinfo=dt.UTC) + dt.timedelta(days=1 + raw % 365))


def broken_backlinks(target: str, params: Params) -> int:
    return below("broken_backlinks", target, backlinks(target, params) // 10 + 1)


def broken_pages(target: str, params: Params) -> int:
    return below("broken_pages", target, BROKEN_PAGES_RANGE)


def referring_ips(target: str, params: Params) -> int:
    return below("referring_ips", target, referring_domains(target, params) + 1)


def referring_subnets(target: str, params: Params) -> int:
    return below("referring_subnets", target, referring_ips(target, params) + 1)


def referring_pages(target: str, params: Params) -> int:
    return below("referring_pages", target, backlinks(target, params) + 1)


def referring_pages_nofollow(target: str, params: Params) -> int:
    return below("referring_pages_nofollow", target, referring_pages(target, params) + 1)


def link_map(field: str) -> ValueFn:
    """A ``referring_links_*`` map: each key of :data:`MAP_KEYS` → ``draw(f"{field}.{key}") % 1000``."""
    keys = MAP_KEYS[field]

    def value(target: str, params: Params) -> dict[str, int]:
        return {key: below(f"{field}.{key}", target, MAP_COUNT_RANGE) for key in keys}

    value.__name__ = field
    return value
