"""Hosts and root domains of targets: the one place that decides what a "root domain" is.

``bulk_pages_summary`` refuses targets spread over more than 100 root ("main") domains, and
DataForSEO counts ``dataforseo.com`` and ``docs.dataforseo.com`` as one. The real rule is the
Public Suffix List; this emulator uses a small documented approximation so it needs no data
file. Swap :func:`root_domain` for a PSL lookup if a test ever needs the exact answer.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

#: Second-level labels that, under a two-letter country TLD, act as part of the suffix
#: (``bbc.co.uk``, ``abc.net.au``, ``ox.ac.uk``).
SECOND_LEVEL_SUFFIXES: Final = frozenset({"co", "com", "org", "net", "ac", "gov", "edu"})


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


def root_domain(host: str) -> str:
    """The registrable ("root", "main") domain of a host, by a simple rule.

    The last two labels, or the last three when the TLD has two letters and the label before it
    is one of :data:`SECOND_LEVEL_SUFFIXES`: ``docs.dataforseo.com`` → ``dataforseo.com``,
    ``news.bbc.co.uk`` → ``bbc.co.uk``. IP addresses and single labels are their own root.
    """
    host = host.lower().rstrip(".")
    if ":" in host or host.replace(".", "").isdigit():
        return host
    labels = host.split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in SECOND_LEVEL_SUFFIXES:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])
