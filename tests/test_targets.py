"""Tests for dataforseo_bulk.targets: tables of accepted and rejected targets, plus properties."""

from __future__ import annotations

import reprlib
import signal
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dataforseo_bulk.targets import (
    MAX_TARGET_LENGTH,
    InvalidTarget,
    _normalize,
    _Rejected,
    all_normal_domains,
    is_page,
    normalize_target,
    target_host,
)

# The ten example targets of the vendor's bulk_backlinks/live documentation.
VENDOR_EXAMPLES = [
    "forbes.com",
    "cnn.com",
    "bbc.com",
    "yelp.com",
    "https://www.apple.com/iphone/",
    "https://ahrefs.com/blog/",
    "ibm.com",
    "https://variety.com/",
    "https://stackoverflow.com/",
    "www.trustpilot.com",
]

LABEL_63 = "a" * 63
HOST_253 = ".".join([LABEL_63, LABEL_63, LABEL_63, "b" * 61])  # 63*3 + 61 + 3 dots = 253

VALID = [
    # trimming and case
    pytest.param("  CNN.com  ", "cnn.com", id="trim-and-lowercase"),
    pytest.param("cnn.com\n", "cnn.com", id="trailing-newline"),
    pytest.param("\tcnn.com\r\n", "cnn.com", id="tab-and-crlf"),
    pytest.param("\u3000cnn.com\u00a0", "cnn.com", id="unicode-whitespace-around"),
    pytest.param("WWW.Trustpilot.COM", "www.trustpilot.com", id="keeps-www"),
    pytest.param("www.example.com", "www.example.com", id="www-subdomain-unchanged"),
    pytest.param("blog.shop.example.co.uk", "blog.shop.example.co.uk", id="deep-subdomain"),
    pytest.param("a.b", "a.b", id="shortest"),
    pytest.param("1.com", "1.com", id="digit-label-first"),
    pytest.param("123.example.com", "123.example.com", id="all-digit-label-not-last"),
    pytest.param("example.1com", "example.1com", id="last-label-starts-with-digit"),
    pytest.param("r3---sn-abc.googlevideo.com", "r3---sn-abc.googlevideo.com", id="ascii-hyphens-3-4"),
    pytest.param(f"{LABEL_63}.com", f"{LABEL_63}.com", id="label-63"),
    pytest.param(HOST_253, HOST_253, id="host-253"),
    # trailing dot
    pytest.param("example.com.", "example.com", id="trailing-dot"),
    pytest.param("EXAMPLE.COM.", "example.com", id="trailing-dot-uppercase"),
    pytest.param("https://example.com./a", "https://example.com/a", id="page-trailing-dot"),
    # pages
    pytest.param("HTTPS://Example.COM/Path?Q=1", "https://example.com/Path?Q=1", id="page-case"),
    pytest.param("HtTp://example.com/", "http://example.com/", id="scheme-mixed-case"),
    pytest.param("https://example.com", "https://example.com", id="page-no-path-stays"),
    pytest.param("http://example.com", "http://example.com", id="http-no-path-stays"),
    pytest.param("https://example.com?q=1", "https://example.com?q=1", id="page-query-no-path"),
    pytest.param("https://example.com#Top", "https://example.com#Top", id="page-fragment-no-path"),
    pytest.param("https://Example.com:8080/a", "https://example.com:8080/a", id="port-kept"),
    pytest.param("https://example.com:443", "https://example.com:443", id="default-port-kept"),
    pytest.param("https://example.com:65535/", "https://example.com:65535/", id="port-max"),
    pytest.param(
        "https://example.com/a%20b?x=Y&z=%C3%BC#Frag", "https://example.com/a%20b?x=Y&z=%C3%BC#Frag", id="pct"
    ),
    pytest.param("https://medium.com/@user/Post", "https://medium.com/@user/Post", id="at-sign-in-path"),
    pytest.param("https://example.com/a:b", "https://example.com/a:b", id="colon-in-path"),
    pytest.param("https://example.com/a\\B", "https://example.com/a\\B", id="backslash-in-path-kept"),
    pytest.param("https://example.com/?u=http://x.y", "https://example.com/?u=http://x.y", id="url-in-query"),
    pytest.param("  https://example.com/a  ", "https://example.com/a", id="page-trimmed"),
    pytest.param("https://WWW.Example.com/A", "https://www.example.com/A", id="page-keeps-www"),
    # IPv4 page hosts (canonical dotted quad only)
    pytest.param("http://192.0.2.1/x", "http://192.0.2.1/x", id="ipv4-page"),
    pytest.param("http://0.0.0.0:8080", "http://0.0.0.0:8080", id="ipv4-page-zeros-port"),
    pytest.param("https://255.255.255.255/", "https://255.255.255.255/", id="ipv4-page-max"),
    # internationalised names
    pytest.param("bücher.de", "xn--bcher-kva.de", id="idn"),
    pytest.param("BÜCHER.de", "xn--bcher-kva.de", id="idn-uppercase"),
    pytest.param("Bücher.DE.", "xn--bcher-kva.de", id="idn-trailing-dot"),
    pytest.param("ｂücher。de", "xn--bcher-kva.de", id="idn-fullwidth-and-ideographic-dot"),
    pytest.param("bu\u0308cher.de", "xn--bcher-kva.de", id="idn-nfc"),
    pytest.param("straße.de", "xn--strae-oqa.de", id="idn-2008-eszett-kept"),
    pytest.param("пример.рф", "xn--e1afmkfd.xn--p1ai", id="idn-tld"),
    pytest.param("例え.テスト", "xn--r8jz45g.xn--zckzah", id="idn-cjk"),
    pytest.param("www.bücher.de", "www.xn--bcher-kva.de", id="idn-www"),
    pytest.param("ab--c.bücher.de", "ab--c.xn--bcher-kva.de", id="idn-next-to-ascii-hyphens-3-4"),
    pytest.param("https://bücher.de/ü", "https://xn--bcher-kva.de/ü", id="idn-page-path-as-typed"),
    pytest.param(
        "https://BÜCHER.de:8443/Ü?ä=1#ö", "https://xn--bcher-kva.de:8443/Ü?ä=1#ö", id="idn-page-port"
    ),
    pytest.param("xn--bcher-kva.de", "xn--bcher-kva.de", id="alabel-unchanged"),
    pytest.param("XN--BCHER-KVA.DE", "xn--bcher-kva.de", id="alabel-uppercase"),
    pytest.param("xn--i-7iq.ws", "xn--i-7iq.ws", id="alabel-idna2003-emoji-kept"),
    pytest.param("xn--ls8h.la", "xn--ls8h.la", id="alabel-emoji-kept"),
    pytest.param("نامه\u200cای.ir", "xn--mgba3gch31f060k.ir", id="idn-zwnj-in-context"),
    pytest.param(
        "https://example.com/\U0001f469\u200d\U0001f4bb",
        "https://example.com/\U0001f469\u200d\U0001f4bb",
        id="zwj-in-path",
    ),
    pytest.param("example.xn--p1ai", "example.xn--p1ai", id="alabel-tld"),
]

INVALID = [
    # emptiness, length, characters
    pytest.param("", "empty", id="empty"),
    pytest.param("   \t\n", "empty", id="only-whitespace"),
    pytest.param("a" * (MAX_TARGET_LENGTH - 4) + ".com" + "x", "over the limit of 2048", id="too-long"),
    pytest.param("https://example.com/" + "a" * 2029, "over the limit of 2048", id="page-too-long"),
    pytest.param("exa mple.com", "a space at position 4", id="space-inside"),
    pytest.param("https://example.com/a b", "%20", id="space-in-path"),
    pytest.param("a\tb.com", "U+0009 (tab)", id="tab-inside"),
    pytest.param("example.com/\n/x", "line feed", id="newline-inside"),
    pytest.param("example.com\x00", "U+0000", id="nul-at-end"),
    pytest.param("\u200bexample.com", "U+200B (zero width space)", id="zero-width-space"),
    pytest.param("\ufeffexample.com", "U+FEFF", id="bom"),
    pytest.param("https://example.com/\u00ad", "U+00AD", id="soft-hyphen-in-path"),
    pytest.param("https://example.com/a\u00a0b", "U+00A0", id="nbsp-in-path"),
    pytest.param("\ud800.com", "U+D800 (lone surrogate)", id="lone-surrogate"),
    pytest.param("https://example.com/\x7f", "U+007F", id="del-in-path"),
    # domain with URL parts
    pytest.param("example.com/", "a domain has no path", id="domain-trailing-slash"),
    pytest.param("example.com?x=1", "a domain has no query string", id="domain-query"),
    pytest.param("example.com#top", "a domain has no fragment", id="domain-fragment"),
    pytest.param("example.com\\path", "a domain has no path", id="domain-backslash-path"),
    pytest.param("bücher.de/x", "a domain has no path", id="idn-domain-path"),
    pytest.param("example.com:8080", "a domain has no port: give 'example.com'", id="domain-port"),
    pytest.param("localhost:8080", "a domain has no port", id="localhost-port"),
    pytest.param("example.com:", "a domain has no port", id="domain-empty-port"),
    pytest.param("user@example.com", "e-mail address", id="email"),
    # schemes
    pytest.param("ftp://example.com/file", "the scheme 'ftp://' is not supported", id="ftp"),
    pytest.param("file:///etc/passwd", "'file://'", id="file"),
    pytest.param("ws://example.com/", "'ws://'", id="ws"),
    pytest.param("mailto:me@example.com", "the scheme 'mailto:' is not supported", id="mailto"),
    pytest.param("javascript:alert(1)", "'javascript:'", id="javascript"),
    pytest.param("data:text/html,hi", "'data:'", id="data"),
    pytest.param("tel:+123", "'tel:'", id="tel"),
    pytest.param(
        "http:example.com", "malformed http URL: write it as 'http://example.com'", id="http-no-slashes"
    ),
    pytest.param("https:/example.com", "malformed https URL", id="https-one-slash"),
    pytest.param("https:\\\\example.com", "malformed https URL", id="https-backslashes"),
    pytest.param("http//example.com", "malformed http URL (the ':' is missing)", id="http-no-colon"),
    pytest.param("https//example.com/a", "write it as 'https://example.com/a'", id="https-no-colon"),
    pytest.param("//example.com/a", "scheme-relative", id="scheme-relative"),
    # page authority
    pytest.param("https://", "has no host", id="page-empty"),
    pytest.param("https:///path", "has no host", id="page-three-slashes"),
    pytest.param("https://?q=1", "has no host", id="page-query-no-host"),
    pytest.param("https://:80/", "has no host", id="page-port-no-host"),
    pytest.param("https://user:secret@example.com/", "user info", id="userinfo"),
    pytest.param("https://user@example.com/", "user info", id="user-only"),
    pytest.param("https://[::1]/", "IPv6", id="ipv6"),
    pytest.param("https://[2001:db8::1]:8080/x", "IPv6", id="ipv6-port"),
    pytest.param("https://example.com\\path", "backslash", id="backslash-after-host"),
    pytest.param("https://example.com:/", "no port", id="empty-port"),
    pytest.param("https://example.com:0/", "port '0' is not valid", id="port-zero"),
    pytest.param("https://example.com:65536/", "port '65536'", id="port-too-big"),
    pytest.param("https://example.com:0080000/", "port '0080000'", id="port-too-many-digits"),
    pytest.param("https://example.com:http/", "port 'http'", id="port-word"),
    pytest.param("https://example.com:-1/", "port '-1'", id="port-negative"),
    pytest.param("https://example.com:٨٠/", "port '٨٠'", id="port-arabic-digits"),
    pytest.param("https://example.com:80:80/", "port '80:80'", id="port-twice"),
    pytest.param("https://localhost/", "single label", id="page-single-label"),
    pytest.param("https://exa_mple.com/", "contains '_'", id="page-underscore"),
    pytest.param("https://exa%6dple.com/", "contains '%'", id="page-percent-host"),
    pytest.param("https://010.0.0.1/", "not a valid IPv4 address", id="ipv4-leading-zero"),
    pytest.param("https://1.2.3/", "not a valid IPv4 address", id="ipv4-three-parts"),
    pytest.param("https://256.1.1.1/", "not a valid IPv4 address", id="ipv4-octet-256"),
    pytest.param("https://example.123/", "all digits", id="page-numeric-tld"),
    pytest.param("https://i❤.ws/", "not a valid internationalised domain name", id="page-idna-disallowed"),
    # host rules
    pytest.param("192.0.2.1", "an IP address is not a domain", id="ipv4-domain"),
    pytest.param("example.123", "last label '123' is all digits", id="numeric-tld"),
    pytest.param("localhost", "single label", id="single-label"),
    pytest.param("com", "single label", id="tld-only"),
    pytest.param(".example.com", "empty label", id="leading-dot"),
    pytest.param("a..b.com", "empty label", id="double-dot"),
    pytest.param("example.com..", "empty label", id="two-trailing-dots"),
    pytest.param(".", "empty", id="only-dot"),
    pytest.param("-example.com", "starts or ends with '-'", id="leading-hyphen"),
    pytest.param("example-.com", "starts or ends with '-'", id="trailing-hyphen"),
    pytest.param("example.com-", "starts or ends with '-'", id="tld-trailing-hyphen"),
    pytest.param("a" * 64 + ".com", "at most 63", id="label-64"),
    pytest.param("a" + HOST_253, "at most 253", id="host-254"),
    pytest.param("exa_mple.com", "contains '_'", id="underscore"),
    pytest.param("exa!mple.com", "contains '!'", id="bang"),
    pytest.param("xn--zzzz.com", "not valid punycode", id="alabel-garbage"),
    pytest.param("xn--abc.com", "not valid punycode", id="alabel-ascii-only"),
    pytest.param("xn---bcher-kva.de", "not valid punycode", id="alabel-non-canonical"),
    pytest.param("i❤.ws", "give it in punycode", id="idna-2008-disallowed"),
    pytest.param("a\u200db.de", "internationalised", id="idna-joiner-out-of-context"),
    pytest.param("xn--wca.de", "not valid punycode", id="alabel-of-uppercase"),
    pytest.param("xn--u-ccb.de", "not valid punycode", id="alabel-not-nfc"),
    pytest.param("ab--ü.de", "internationalised", id="idna-hyphens-3-4-in-unicode-label"),
    pytest.param("ü" * 254 + ".de", "at most 253", id="idn-host-too-long"),
    pytest.param("ü" * 60 + ".de", "internationalised", id="idn-label-too-long"),
    pytest.param("ｅｘａｍｐｌｅ．ｃｏｍ／ｐａｔｈ", "contains '/'", id="fullwidth-slash-maps-to-slash"),
]


@pytest.mark.parametrize("target", VENDOR_EXAMPLES)
def test_vendor_examples_are_unchanged(target: str) -> None:
    assert normalize_target(target) == target


@pytest.mark.parametrize(("raw", "expected"), VALID)
def test_valid(raw: str, expected: str) -> None:
    assert normalize_target(raw) == expected
    assert normalize_target(expected) == expected


@pytest.mark.parametrize(("raw", "reason"), INVALID)
def test_invalid(raw: str, reason: str) -> None:
    result = normalize_target(raw)
    assert isinstance(result, InvalidTarget)
    assert result.raw == raw
    assert reason in result.reason
    assert result.reason[0].islower()  # a sentence fragment, first word lowercase, no code or repr


def test_domain_with_path_reason_in_full() -> None:
    result = normalize_target("example.com/path")
    assert result == InvalidTarget(
        "example.com/path",
        "a domain has no path: give 'example.com', or a page as an absolute URL 'https://example.com/path'",
    )


def test_userinfo_is_never_quoted() -> None:
    result = normalize_target("https://alice:hunter2@example.com/")
    assert isinstance(result, InvalidTarget)
    assert "hunter2" not in result.reason
    assert "alice" not in result.reason


def test_long_input_is_quoted_truncated() -> None:
    result = normalize_target("example.com/" + "p" * 1000)
    assert isinstance(result, InvalidTarget)
    assert len(result.reason) < 300


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        pytest.param(b"example.com", "not bytes: decode it first", id="bytes"),
        pytest.param(None, "not NoneType", id="none"),
        pytest.param(123, "not int", id="int"),
        pytest.param(["example.com"], "not list", id="list"),
        pytest.param(list(range(10_000)), "not list", id="long-list"),
    ],
)
def test_non_str_is_invalid(value: object, kind: str) -> None:
    result = normalize_target(cast(Any, value))
    assert isinstance(result, InvalidTarget)
    assert result.raw == reprlib.repr(value)
    assert len(result.raw) < 100
    assert "must be a string" in result.reason
    assert kind in result.reason


def test_non_str_with_a_raising_repr_is_invalid() -> None:
    class Weird:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    result = normalize_target(cast(Any, Weird()))
    assert isinstance(result, InvalidTarget)
    assert "not Weird" in result.reason


def test_str_subclass_gives_plain_str() -> None:
    class Tagged(str):
        pass

    for raw in (Tagged("example.com"), Tagged("CNN.com"), Tagged("https://Example.com/a")):
        result = normalize_target(raw)
        assert type(result) is str
        assert result == raw.lower()


@pytest.mark.parametrize(
    "char", [pytest.param(c, id=f"U+{ord(c):04X}") for c in map(chr, range(0x110000)) if c.isspace()]
)
def test_every_whitespace_inside_is_rejected(char: str) -> None:
    for raw in (f"exa{char}mple.com", f"https://example.com/a{char}b", f"https://exa{char}mple.com/"):
        result = normalize_target(raw)
        assert isinstance(result, InvalidTarget), raw
        assert f"U+{ord(char):04X}" in result.reason or "a space" in result.reason


def test_invalid_target_is_frozen_and_hashable() -> None:
    invalid = InvalidTarget("x", "y")
    with pytest.raises(AttributeError):
        invalid.reason = "z"  # type: ignore[misc]
    assert hash(invalid) == hash(InvalidTarget("x", "y"))
    assert not hasattr(invalid, "__dict__")


# --- is_page / target_host ---------------------------------------------------------------

HOSTS = [
    pytest.param("example.com", False, "example.com", id="domain"),
    pytest.param("www.xn--bcher-kva.de", False, "www.xn--bcher-kva.de", id="idn-subdomain"),
    pytest.param("https://example.com", True, "example.com", id="page-no-path"),
    pytest.param("http://example.com/", True, "example.com", id="http-page"),
    pytest.param("https://example.com:8080/a?b#c", True, "example.com", id="page-port"),
    pytest.param("https://example.com?x=a:b", True, "example.com", id="colon-in-query"),
    pytest.param("https://example.com#a:b/c", True, "example.com", id="colon-in-fragment"),
    pytest.param("https://example.com/a:b", True, "example.com", id="colon-in-path"),
    pytest.param("http://192.0.2.1:81/x", True, "192.0.2.1", id="ipv4"),
    pytest.param("https://xn--bcher-kva.de/ü", True, "xn--bcher-kva.de", id="idn-page"),
]


@pytest.mark.parametrize(("target", "page", "host"), HOSTS)
def test_is_page_and_target_host(target: str, page: bool, host: str) -> None:
    assert normalize_target(target) == target
    assert is_page(target) is page
    assert target_host(target) == host


# --- properties --------------------------------------------------------------------------


def _slow(raw: str) -> str | InvalidTarget:
    """normalize_target without its fast paths."""
    try:
        return _normalize(raw)
    except _Rejected as rejected:
        return InvalidTarget(raw, rejected.reason)


def _check(raw: str) -> str | InvalidTarget:
    """Every property that must hold for any input; returns the result."""
    result = normalize_target(raw)
    assert result == _slow(raw)  # the fast paths agree with the full rules
    if isinstance(result, InvalidTarget):
        assert result.raw == raw and type(result.raw) is str
        assert result.reason
        return result
    assert type(result) is str
    assert normalize_target(result) == result  # idempotent
    assert 0 < len(result) <= MAX_TARGET_LENGTH
    assert all(char.isprintable() or char in "\u200c\u200d" for char in result)
    assert " " not in result
    host = target_host(result)
    assert host.isascii()
    assert host == host.lower()
    assert 3 <= len(host) <= 253
    if is_page(result):
        assert result.startswith(("http://", "https://"))
        host_alone = normalize_target(host)
        assert host_alone == host or host.replace(".", "").isdigit()  # an IPv4 host is no domain
    else:
        assert host == result
    return result


_PIECES = st.sampled_from(
    [
        "a", "Z", "0", "9", "-", "_", ".", ".", ".", ":", "/", "?", "#", "@", "[", "]", "%", "\\", " ",
        "\t", "\n", "\x00", "ü", "Ü", "ß", "例", "❤", "\u200d", "\u200b", "\u3002", "\uff0e", "\u0308",
        "xn--", "xn--bcher-kva", "www", "com", "http", "https", "://", "255", "256", "0", "01", "80",
    ]
)  # fmt: skip
_HOSTISH = st.lists(_PIECES, max_size=12).map("".join)
_SCHEMES = st.sampled_from(
    [
        "",
        "http://",
        "https://",
        "HTTP://",
        "Https://",
        "ftp://",
        "mailto:",
        "//",
        "http:",
        "https:/",
        "http//",
    ]
)
_PORTS = st.one_of(
    st.sampled_from(["", "", ":", ":80", ":0", ":65535", ":65536", ":x", ":080"]),
    st.integers(min_value=-5, max_value=100_000).map(lambda port: f":{port}"),
)
_TAILS = st.one_of(st.just(""), st.text(max_size=20).map(lambda path: "/" + path), st.text(max_size=20))
_SPACE = st.sampled_from(["", "", " ", "\n", "\t ", "\u3000"])
_URLISH = st.builds(
    lambda lead, scheme, host, port, tail, trail: f"{lead}{scheme}{host}{port}{tail}{trail}",
    _SPACE, _SCHEMES, _HOSTISH, _PORTS, _TAILS, _SPACE,
)  # fmt: skip

_LDH_LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True).filter(
    lambda label: not label.startswith("xn--")
)
_TLD = st.from_regex(r"[a-z][a-z0-9]{1,5}", fullmatch=True).filter(lambda tld: not tld.startswith("xn"))
_DOMAIN = st.builds(
    lambda labels, tld: ".".join([*labels, tld]), st.lists(_LDH_LABEL, min_size=1, max_size=4), _TLD
)
_PATH = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"))
)


@given(st.text())
@example("")
@example("\ud800")
@example("xn--")
@example("https://")
@example("a." * 127 + "a")
def test_never_raises_on_any_text(raw: str) -> None:
    _check(raw)


@given(st.text(st.characters(codec="utf-8"), max_size=30))
def test_never_raises_on_printable_unicode(raw: str) -> None:
    _check(raw)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(_URLISH)
def test_never_raises_on_urlish(raw: str) -> None:
    _check(raw)


@given(_HOSTISH)
def test_never_raises_on_hostish(raw: str) -> None:
    _check(raw)
    _check(f"https://{raw}/")


@given(_DOMAIN, _SPACE, _SPACE)
def test_valid_domains_are_accepted_lowercased(domain: str, lead: str, trail: str) -> None:
    assert _check(domain) == domain
    assert _check(f"{lead}{domain.upper()}{trail}") == domain
    assert _check(f"{domain}.") == domain


@given(_DOMAIN, st.sampled_from(["http", "https", "HTTPS"]), st.sampled_from(["", ":8080"]), _PATH)
def test_valid_pages_keep_everything_after_the_host(domain: str, scheme: str, port: str, path: str) -> None:
    tail = f"{port}/{path}"
    assert _check(f"{scheme}://{domain.upper()}{tail}") == f"{scheme.lower()}://{domain}{tail}"


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("a" * 2048, id="one-long-label"),
        pytest.param("a." * 1023 + "a", id="many-labels"),
        pytest.param("-" * 2048, id="hyphens"),
        pytest.param("xn--" + "a" * 2044, id="long-alabel"),
        pytest.param(("xn--" + "9" * 59 + ".") * 4 + "com", id="alabels"),
        pytest.param("ü" * 2048, id="long-ulabel"),
        pytest.param("ü." * 1023 + "ü", id="many-ulabels"),
        pytest.param("\ufdfa" * 200, id="expanding-mapping"),
        pytest.param("\u0300" * 2048, id="combining-marks"),
        pytest.param("https://" + "a." * 1019 + "a", id="page-many-labels"),
        pytest.param("https://" + ("a" * 62 + ".") * 32 + "/", id="page-long-host"),
        pytest.param("https://" + "a" * 2040, id="page-one-long-label"),
        pytest.param("https://" + "ü" * 2040, id="page-long-ulabel"),
        pytest.param(":" * 2048, id="colons"),
        pytest.param("/" * 2048, id="slashes"),
        pytest.param("a:" * 1024, id="schemes"),
        pytest.param(" " * 1_000_000 + "cnn.com", id="huge-padding"),
        pytest.param("x" * 1_000_000, id="huge"),
    ],
)
def test_adversarial_input_gets_its_answer_without_backtracking_for_ever(raw: str) -> None:
    """Every property holds on inputs built to make a regex backtrack. No time is asserted (no
    test depends on the machine's speed; each takes milliseconds): the alarm only turns a
    catastrophic case (minutes, or never) into a failure instead of a hung suite."""
    previous = signal.signal(signal.SIGALRM, _took_for_ever)
    signal.alarm(60)
    try:
        _check(raw)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _took_for_ever(signum: int, frame: Any) -> None:
    raise AssertionError("normalize_target ran for a minute: catastrophic backtracking?")


# --- all_normal_domains: the engine's check of a whole batch -------------------------------


class _Text(str):
    """A str subclass: the slow path copies it to a plain str, so the batch check must refuse it."""


@pytest.mark.parametrize(
    ("batch", "expected"),
    [
        (["example.com"], True),
        (["a.com", "b.org", "r3---sn-abc.googlevideo.com", "a" * 63 + ".com"], True),
        (["a.com", "a.com"], True),  # repeats are the engine's business, not this check's
        ([], False),
        ([""], False),
        (["a.com", ""], False),
        (["a.com\nb.com"], False),  # one string holding a line feed would pass as two hosts
        (["a.com\n", "b.com"], False),
        (["a.com", "\nb.com"], False),
        (["a.com", "Example.com"], False),
        (["a.com", "example.com."], False),
        (["a.com", " example.com"], False),
        (["a.com", "https://example.com/"], False),
        (["a.com", "localhost"], False),
        (["a.com", "1.2.3.4"], False),
        (["a.com", "a.123"], False),
        (["xn--bcher-kva.de"], False),  # normal, but the slow path checks the punycode
        (["a.com", "-a.com"], False),
        (["a.com", "a" * 64 + ".com"], False),
        ([".".join(["a" * 63] * 4)], False),  # 255 characters: over the 253 of a host
        ([".".join(["a" * 63] * 3 + ["a" * 61])], True),  # exactly 253
        (["a.com", 5], False),
        (["a.com", None], False),
        (["a.com", b"b.com"], False),
        (["a.com", _Text("b.com")], False),
    ],
)
def test_all_normal_domains_table(batch: list[Any], expected: bool) -> None:
    assert all_normal_domains(batch) is expected


_BATCH_STRINGS = st.one_of(
    _DOMAIN,
    _HOSTISH,
    st.tuples(_DOMAIN, st.sampled_from(["\n", "\r\n", "\n\n", "", "\u2028"]), _DOMAIN).map("".join),
    st.text(alphabet="abc.-\n", max_size=12),
)


@given(st.lists(_BATCH_STRINGS, max_size=6))
@example(["a.com\nb.com"])
@example(["a.com", "b.com\n", "c.com"])
def test_all_normal_domains_never_vouches_for_a_string_the_slow_path_would_change(batch: list[str]) -> None:
    if all_normal_domains(batch):
        for raw in batch:
            assert _slow(raw) == raw and not is_page(raw)


@given(st.lists(_DOMAIN, min_size=1, max_size=6))
def test_all_normal_domains_takes_every_batch_of_plain_domains(batch: list[str]) -> None:
    assert all_normal_domains(batch)
