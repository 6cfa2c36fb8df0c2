"""Hosts and root domains of targets: the one place that decides what a "root domain" is.

``bulk_pages_summary`` refuses targets spread over more than 100 root ("main") domains, and
DataForSEO counts ``dataforseo.com`` and ``docs.dataforseo.com`` as one. The rule is the Public
Suffix List, read from the offline copy inside the ``publicsuffixlist`` package (never fetched):
the root is the registrable domain, one label more than the public suffix. The client package
(:mod:`dataforseo_bulk.domains`) applies the same package and rule when it forms chunks, so the
two always agree; this module imports it directly, not through the client.
"""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

from publicsuffixlist import PublicSuffixList


@functools.cache
def _suffix_list() -> PublicSuffixList:
    # Parsed once, on first use, from the file shipped inside the package.
    return PublicSuffixList()


def host_of(target: str) -> str:
    """The lower-cased host of a target: a URL's hostname, or a bare domain up to its first ``/``."""
    if "://" in target:
        host = urlsplit(target).hostname or ""
    else:
        host = target.split("/", 1)[0].rsplit("@", 1)[-1]
        # A bare "host:port" (no scheme) keeps only the host part; IPv6 literals keep their colons.
        if host.count(":") == 1:
            host = host.split(":", 1)[0]
    return host.lower().rstrip(".")


@functools.lru_cache(maxsize=1 << 14)
def root_domain(host: str) -> str:
    """The registrable ("root", "main") domain of a host under the Public Suffix List (its
    private section included): ``docs.dataforseo.com`` → ``dataforseo.com``, ``news.bbc.co.uk``
    → ``bbc.co.uk``, ``foo.blogspot.com`` → itself. IP addresses, single labels and public
    suffixes themselves (``co.uk``, ``github.io``) are their own root.
    """
    host = host.lower().rstrip(".")
    if not host or ":" in host or host.replace(".", "").isdigit():
        return host
    return _suffix_list().privatesuffix(host) or host
