"""Root domains from the Public Suffix List, as tables; the client and the emulator agree."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dataforseo_bulk import BULK_PAGES_SUMMARY
from dataforseo_bulk.domains import root_domain, root_of_host
from dataforseo_bulk.emulator import host_of
from dataforseo_bulk.emulator import root_domain as emulator_root_domain
from dataforseo_bulk.targets import InvalidTarget, normalize_target

HOSTS = [
    # (host, its root domain)
    ("a.example.co.uk", "example.co.uk"),
    ("b.example.co.uk", "example.co.uk"),
    ("example.co.uk", "example.co.uk"),
    ("dataforseo.com", "dataforseo.com"),
    ("docs.dataforseo.com", "dataforseo.com"),
    ("a.b.c.example.org", "example.org"),
    ("news.bbc.co.uk", "bbc.co.uk"),
    ("www.abc.net.au", "abc.net.au"),
    ("ox.ac.uk", "ox.ac.uk"),
    ("shop.example.com.br", "example.com.br"),
    ("city.kawasaki.jp", "city.kawasaki.jp"),  # an exception rule of the list (!city.kawasaki.jp)
    ("a.b.kawasaki.jp", "a.b.kawasaki.jp"),  # under a wildcard rule (*.kawasaki.jp)
    ("foo.blogspot.com", "foo.blogspot.com"),  # the list's private section counts
    ("x.y.github.io", "y.github.io"),
    ("www.xn--bcher-kva.de", "xn--bcher-kva.de"),  # punycode, as targets are sent
    ("a.example.xn--p1ai", "example.xn--p1ai"),
    ("site.example.unknowntld", "example.unknowntld"),  # an unknown TLD is taken as a suffix
    ("WWW.Example.COM.", "example.com"),
    # hosts without a registrable part are their own root
    ("co.uk", "co.uk"),
    ("github.io", "github.io"),
    ("localhost", "localhost"),
    ("192.168.1.20", "192.168.1.20"),
]


@pytest.mark.parametrize(("host", "root"), HOSTS)
def test_root_of_host(host: str, root: str) -> None:
    assert root_of_host(host) == root


@pytest.mark.parametrize(("host", "root"), HOSTS)
def test_the_emulator_has_the_same_root_domains(host: str, root: str) -> None:
    assert emulator_root_domain(host) == root


@pytest.mark.parametrize(
    ("raw", "root"),
    [
        ("a.example.co.uk", "example.co.uk"),
        ("https://b.example.co.uk/path?q=1", "example.co.uk"),
        ("http://WWW.Example.co.uk:8080/", "example.co.uk"),
        ("https://docs.dataforseo.com/v3/", "dataforseo.com"),
        ("bücher.de", "xn--bcher-kva.de"),
        ("http://192.0.2.1/x", "192.0.2.1"),
    ],
)
def test_root_domain_of_a_target_as_sent(raw: str, root: str) -> None:
    target = normalize_target(raw)
    assert not isinstance(target, InvalidTarget)
    assert root_domain(target) == root
    assert emulator_root_domain(host_of(target)) == root  # what the emulator counts for the call


def test_subdomains_of_one_root_share_it() -> None:
    assert root_domain("a.example.co.uk") == root_domain("b.example.co.uk") == "example.co.uk"
    assert BULK_PAGES_SUMMARY.root_domain is root_domain
    assert BULK_PAGES_SUMMARY.max_root_domains == 100


def test_the_list_is_read_from_the_package_never_fetched() -> None:
    # A fresh interpreter, so domains.py loads the list now, with every socket refused.
    script = (
        "import socket\n"
        "def no_network(*a, **k):\n"
        "    raise AssertionError('the Public Suffix List must not be fetched')\n"
        "socket.socket.connect = no_network\n"
        "socket.create_connection = no_network\n"
        "from dataforseo_bulk.domains import root_domain\n"
        "print(root_domain('https://a.example.co.uk/x'), root_domain('foo.blogspot.com'))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["example.co.uk", "foo.blogspot.com"]
