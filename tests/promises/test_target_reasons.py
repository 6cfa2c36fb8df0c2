# ruff: noqa: E501  (a table of whole sentences)
"""Every reason an invalid target gets, word for word (README: "invalid ones are never sent and
land in ``failed`` with the reason"; docs/errors.md: "the reason says how to fix it").

The reason is what a user reads to fix their input, so its words are part of the promise: this
table holds one input for each way a target can be refused (type, empty, length, each bad
character class, each URL and domain mistake). It was written for the wording mutants of
targets.py that survived; change a reason on purpose, and change its row with it.
"""

from __future__ import annotations

import pytest

from dataforseo_bulk.targets import InvalidTarget, normalize_target

REASONS: list[tuple[object, str]] = [
    (b"cnn.com", "a target must be a string (str), not bytes: decode it first"),
    (123, "a target must be a string (str), not int: pass the domain or URL as text"),
    (None, "a target must be a string (str), not NoneType: pass the domain or URL as text"),
    ("", "the target is empty: give a domain like 'example.com' or a page like 'https://example.com/path'"),
    (
        "   ",
        "the target is empty: give a domain like 'example.com' or a page like 'https://example.com/path'",
    ),
    (
        "x" * 2049,
        "the target is 2049 characters long, over the limit of 2048: shorten it (for a page, drop tracking parameters or the fragment)",
    ),
    (
        "a b.com",
        "contains a space at position 2: remove it (a target has no whitespace, control or invisible characters inside; write a space in a URL as %20)",
    ),
    (
        "a\tb.com",
        "contains U+0009 (tab) at position 2: remove it (a target has no whitespace, control or invisible characters inside; write a space in a URL as %20)",
    ),
    (
        "a\x00b.com",
        "contains U+0000 (null) at position 2: remove it (a target has no whitespace, control or invisible characters inside; write a space in a URL as %20)",
    ),
    (
        "a\u200bb.com",
        "contains U+200B (zero width space) at position 2: remove it (a target has no whitespace, control or invisible characters inside; write a space in a URL as %20)",
    ),
    (
        "a\ud800b.com",
        "contains U+D800 (lone surrogate) at position 2: remove it (a target has no whitespace, control or invisible characters inside; write a space in a URL as %20)",
    ),
    (
        "a\U0010fffeb.com",
        "contains U+10FFFE (unassigned code point) at position 2: remove it (a target has no whitespace, control or invisible characters inside; write a space in a URL as %20)",
    ),
    (
        "a\x85b.com",
        "contains U+0085 (control character) at position 2: remove it (a target has no whitespace, control or invisible characters inside; write a space in a URL as %20)",
    ),
    (
        "a\u2028b.com",
        "contains U+2028 (line separator) at position 2: remove it (a target has no whitespace, control or invisible characters inside; write a space in a URL as %20)",
    ),
    ("https://a\\b.com/", "the URL has a backslash '\\' in its host part: write '/' to start the path"),
    (
        "https://user:pw@a.com/",
        "the URL has user info ('user:password@' before the host): remove it, a target never carries credentials",
    ),
    (
        "https://[::1]/",
        "the URL's host is an IPv6 address, which is not supported: give the page under its domain name",
    ),
    ("https:///path", "the URL has no host: give the page as 'https://example.com/path'"),
    ("https://a.com:/", "the URL has ':' after the host but no port: remove the ':' or add a port number"),
    ("https://a.com:x/", "the port 'x' is not valid: a port is a number from 1 to 65535"),
    (
        "https://-a.com/",
        "the URL's host is not valid: the label '-a' starts or ends with '-', which a host name never does",
    ),
    (
        "ftp://a.com",
        "the scheme 'ftp://' is not supported: a page must be an absolute http:// or https:// URL, and a domain has no scheme",
    ),
    (
        "//a.com/x",
        "a scheme-relative URL is not a target: give the page as an absolute URL 'https://a.com/x'",
    ),
    ("\\\\a.com", "a scheme-relative URL is not a target: give the page as an absolute URL 'https://a.com'"),
    ("a.com:8080", "a domain has no port: give 'a.com', or a page as an absolute URL 'https://a.com:8080/'"),
    ("a.com/path", "a domain has no path: give 'a.com', or a page as an absolute URL 'https://a.com/path'"),
    (
        "a.com?q=1",
        "a domain has no query string: give 'a.com', or a page as an absolute URL 'https://a.com?q=1'",
    ),
    ("a.com#f", "a domain has no fragment: give 'a.com', or a page as an absolute URL 'https://a.com#f'"),
    (
        "mailto:x@y.com",
        "the scheme 'mailto:' is not supported: a page must be an absolute http:// or https:// URL, and a domain has no scheme",
    ),
    ("HTTP:a.com", "malformed http URL: write it as 'http://a.com'"),
    ("http:/a.com", "malformed http URL: write it as 'http://a.com'"),
    ("https:a.com/x", "malformed https URL: write it as 'https://a.com/x'"),
    (
        "a..com",
        "not a valid domain: 'a..com' has an empty label (a leading dot or '..'): remove the extra dot",
    ),
    ("-a.com", "not a valid domain: the label '-a' starts or ends with '-', which a host name never does"),
    ("a-.com", "not a valid domain: the label 'a-' starts or ends with '-', which a host name never does"),
    (
        "xn--zz.com",
        "not a valid domain: the label 'xn--zz' is not valid punycode: an 'xn--' label must be the exact encoding of an internationalised label; give the name in Unicode or copy its punycode exactly",
    ),
    (
        "ex_ample.com",
        "not a valid domain: it contains '_'; a host name has only letters, digits, '-' and '.' (an internationalised name may use any letters)",
    ),
    (
        "bücher..de",
        "not a valid domain: 'xn--bcher-kva..de' has an empty label (a leading dot or '..'): remove the extra dot",
    ),
    (
        ".a.com",
        "not a valid domain: '.a.com' has an empty label (a leading dot or '..'): remove the extra dot",
    ),
    (
        "xn--a.com",
        "not a valid domain: the label 'xn--a' is not valid punycode: an 'xn--' label must be the exact encoding of an internationalised label; give the name in Unicode or copy its punycode exactly",
    ),
    (
        "ä" * 70 + ".com",
        "not a valid domain: it is not a valid internationalised domain name (Label too long); if the site really uses this name, give it in punycode ('xn--...')",
    ),
    (
        "https://" + "ä" * 60 + "." + "ö" * 60 + ".com/" + "p" * 1900,
        "the URL's host is not valid: it is not a valid internationalised domain name (Label too long); if the site really uses this name, give it in punycode ('xn--...')",
    ),
    (
        "☃.com",
        "not a valid domain: it is not a valid internationalised domain name (Codepoint U+2603 at position 1 of '☃' not allowed); if the site really uses this name, give it in punycode ('xn--...')",
    ),
    ("a.-b.com", "not a valid domain: the label '-b' starts or ends with '-', which a host name never does"),
    ("a.b-.com", "not a valid domain: the label 'b-' starts or ends with '-', which a host name never does"),
    (
        "1.2.3.4",
        "not a valid domain: '1.2.3.4' is an IP address, and an IP address is not a domain: give the site's domain name, or a page on it as 'http://<address>/path'",
    ),
    (
        "01.2.3.4",
        "not a valid domain: '01.2.3.4' is an IP address, and an IP address is not a domain: give the site's domain name, or a page on it as 'http://<address>/path'",
    ),
    ("a.com:", "a domain has no port: give 'a.com'"),
    ("user@a.com", "looks like an e-mail address, not a domain: give the domain after the '@' ('a.com')"),
    ("a\\b.com", "a domain has no path: give 'a', or a page as an absolute URL 'https://a\\b.com'"),
    ("a.com:0", "a domain has no port: give 'a.com', or a page as an absolute URL 'https://a.com:0/'"),
    ("http//a.com", "malformed http URL (the ':' is missing): write it as 'http://a.com'"),
    (
        "www.a.com/ b",
        "contains a space at position 11: remove it (a target has no whitespace, control or invisible characters inside; write a space in a URL as %20)",
    ),
    (
        "http://192.168.001.1/",
        "the URL's host is not valid: '192.168.001.1' is not a valid IPv4 address: write four numbers from 0 to 255 without leading zeros, like '192.0.2.1'",
    ),
    (
        "http://256.1.1.1/",
        "the URL's host is not valid: '256.1.1.1' is not a valid IPv4 address: write four numbers from 0 to 255 without leading zeros, like '192.0.2.1'",
    ),
    ("a.123", "not a valid domain: its last label '123' is all digits, which a top-level domain never is"),
    ("a.com:80x", "a domain has no port: give 'a.com'"),
    ("x@y", "looks like an e-mail address, not a domain: give the domain after the '@' ('y')"),
    ("me@a@b.com", "looks like an e-mail address, not a domain: give the domain after the '@' ('b.com')"),
    ("http:a.com:8080", "malformed http URL: write it as 'http://a.com:8080'"),
    ("HTTPS://A.COM:65536/", "the port '65536' is not valid: a port is a number from 1 to 65535"),
    (
        "ab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.cab.c",
        "not a valid domain: it is 280 characters long; a host name has at most 253",
    ),
]


@pytest.mark.parametrize(("raw", "reason"), REASONS, ids=[repr(raw)[:40] for raw, _ in REASONS])
def test_each_invalid_target_says_why_in_these_words(raw: object, reason: str) -> None:
    target = normalize_target(raw)  # type: ignore[arg-type]
    assert isinstance(target, InvalidTarget)
    assert target.reason == reason
    assert target.raw == (raw if isinstance(raw, str) else repr(raw))
