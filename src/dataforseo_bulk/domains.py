"""Root ("main") domains, from the Public Suffix List.

``bulk_pages_summary`` refuses a call whose targets span more than 100 root domains, and
DataForSEO counts ``dataforseo.com`` and ``docs.dataforseo.com`` as one. The root domain of a
host is its registrable domain under the Public Suffix List: one label more than its public
suffix, so ``a.example.co.uk`` and ``b.example.co.uk`` are both ``example.co.uk``.

The list is the offline copy shipped inside the ``publicsuffixlist`` package (updated with each
release of it); nothing is fetched at run time. The whole list is used, its private section
included (``foo.blogspot.com`` is a root of its own): if DataForSEO reads only the ICANN section
it merges such roots, so it never counts more roots than we do and a chunk we form is never
refused for this. The emulator (:mod:`dataforseo_bulk.emulator.domains`) uses the same package
and the same rule, so both always agree.

Hosts that have no registrable part are their own root: IP addresses, single labels
(``localhost``) and public suffixes themselves (``github.io``, ``co.uk``).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Final

from .targets import target_host

if TYPE_CHECKING:
    from publicsuffixlist import PublicSuffixList

_CACHE_SIZE: Final = 1 << 14  # hosts repeat within a job (pages of one site); a few MB at most


@functools.cache
def _suffix_list() -> PublicSuffixList:
    # Imported and parsed once, on first use (~0.1 s), from the file inside the package: never
    # downloaded, and never loaded by a job that does not count root domains.
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


@functools.lru_cache(maxsize=_CACHE_SIZE)
def root_of_host(host: str) -> str:
    """The registrable domain of ``host`` (any case, an optional trailing dot), lower-cased."""
    host = host.lower().rstrip(".")
    if not host or ":" in host or host.replace(".", "").isdigit():  # IPv6 / IPv4 literals
        return host
    return _suffix_list().privatesuffix(host) or host


def root_domain(target: str) -> str:
    """The root domain of a normalized target: a domain, a subdomain or a page URL."""
    return root_of_host(target_host(target))
