"""normalize_batch: the one-scan fast paths for a batch of plain domains (or pages), and the fallback.

Whatever the batch, ``normalize_batch(batch)`` must equal ``[normalize_target(x) for x in batch]``;
when it returns ``batch`` itself, every element must already be in normal form.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dataforseo_bulk.targets import InvalidTarget, is_page, normalize_batch, normalize_target

LDH = "abcdefghijklmnopqrstuvwxyz0123456789-"
DOMAIN_CHARS = LDH + "."


def is_normal_domain(value: object) -> bool:
    """A str that normalize_target leaves exactly as it is, and that is a domain (not a page)."""
    return type(value) is str and normalize_target(value) == value and not is_page(value)


def check(batch: list[Any]) -> list[Any]:
    """Assert the contract of normalize_batch on ``batch``; return the result."""
    before = list(batch)
    expected = [normalize_target(x) for x in batch]
    result = normalize_batch(batch)
    assert result == expected
    assert batch == before  # the input is never modified
    if result is batch:
        assert all(type(x) is str and normalize_target(x) == x for x in batch), batch
    else:
        assert all(type(x) is str or isinstance(x, InvalidTarget) for x in result)
    return result


def host_of_length(length: int, labels: int, fill: str = "a") -> str:
    """A host of exactly ``length`` characters made of ``labels`` labels of near-equal size."""
    letters = length - (labels - 1)
    base, extra = divmod(letters, labels)
    return ".".join(fill * (base + (i < extra)) for i in range(labels))


# --- strategies ------------------------------------------------------------------------------
# (Few draws per string: hypothesis's cost here is per draw, and these tests run on every change.)


def _plain(text: str) -> str:
    """Turn any string of ``[a-z0-9.-]`` into a plain normal domain, keeping as much as possible.

    Plain: lowercase LDH labels of 1-63 characters that neither start nor end with '-', at least
    two labels, no 'xn--' label, a last label starting with a letter, at most 253 characters.
    """
    labels = []
    for piece in text.split("."):
        label = piece[:63].strip("-") or "a"
        labels.append("y" + label[1:] if label.startswith("xn--") else label)
    if len(labels) < 2:
        labels.append("com")
    if not labels[-1][0].isalpha():
        labels[-1] = ("z" + labels[-1])[:63].rstrip("-")
    while len(".".join(labels)) > 253:
        del labels[0]
    return ".".join(labels)


# One string draw each: dots, '-', digits and long runs all occur, then get repaired.
plain_domains = st.one_of(
    st.text(alphabet=DOMAIN_CHARS, max_size=70).map(_plain),
    st.tuples(st.sampled_from(LDH), st.integers(1, 300)).map(lambda p: _plain(p[0] * p[1])),
    st.integers(1, 63).map(lambda n: _plain(f"{'b' * n}.{'c' * (64 - n)}")),
    st.integers(247, 253).map(lambda n: host_of_length(n, 4)),
)

# Labels that sit on the edges of the rules.
_edge_labels = st.sampled_from(
    [
        "",
        "a",
        "-",
        "-a",
        "a-",
        "a--b",
        "r3---sn-abc",
        "xn--",
        "xn--a",
        "xn--bcher-kva",  # bücher: valid punycode
        "xn--abc",
        "xn---",
        "xn--i-7iq",  # an IDNA 2003 emoji label
        "XN--bcher-kva",
        "0",
        "123",
        "1a",
        "a1",
        "com",
        "a" * 62,
        "a" * 63,
        "a" * 64,
        "0" * 63,
        "-" * 63,
        "www",
    ]
)
_affixes = st.sampled_from(["", "", "", ".", "-", "..", "\n", "\r\n", " ", "\t", "A", "xn--"])


@st.composite
def _domain_like_host(draw: st.DrawFn) -> str:
    labels = draw(st.lists(_edge_labels | st.text(alphabet=LDH, max_size=8), min_size=1, max_size=4))
    return draw(_affixes) + ".".join(labels) + draw(_affixes)


@st.composite
def _long_host(draw: st.DrawFn) -> str:
    host = host_of_length(draw(st.integers(248, 258)), draw(st.integers(4, 6)), draw(st.sampled_from("ab0-")))
    return host + draw(st.sampled_from(["", ".", ".com", "\n"]))


_line_breaks = st.sampled_from(["\n", "\r\n", "\n\n", "\r", "\x0b", "\x85", "\u2028"])

domain_like = st.one_of(
    _domain_like_host(),
    st.text(alphabet=DOMAIN_CHARS, max_size=40),
    st.text(alphabet=DOMAIN_CHARS + "\n", max_size=40),
    _long_host(),
    st.tuples(plain_domains, _line_breaks, plain_domains).map("".join),
    plain_domains,
    st.just(""),
)

# Anything that is not a plain normal domain (some still normalise to a valid target).
_not_plain = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "\n",
            "Example.com",
            "example.com.",
            "example.com\n",
            " example.com",
            "a.com\nb.com",
            "a.com\n",
            "\na.com",
            "-a.com",
            "a-.com",
            "a..com",
            ".a.com",
            "a.com-",
            "a.1b",
            "a.123",
            "1.2.3.4",
            "localhost",
            "xn--bcher-kva.de",
            "xn--abc.de",
            "bücher.de",
            "https://example.com/",
            "http://a.com",
            "example.com/",
            "example.com:80",
            "user@example.com",
            "a" * 64 + ".com",
            host_of_length(254, 5),
        ]
    ),
    domain_like.filter(lambda text: not is_normal_domain(text)),
    st.text(max_size=30).filter(lambda text: not is_normal_domain(text)),
)


# --- properties ------------------------------------------------------------------------------


@given(st.lists(st.text(max_size=40), max_size=8))
@settings(max_examples=200)
def test_any_text_batch_matches_normalize_target(batch: list[str]) -> None:
    check(batch)


@given(st.lists(domain_like, max_size=6))
@settings(max_examples=200)
@example(["a.com", ""])
@example(["", "a.com"])
@example(["a.com\nb.com"])
@example(["a.com\nb.com", "c.com"])
@example(["a.com", "b.com\n"])
@example(["a.com\n", "b.com"])
@example(["a.com\n"])
@example(["\n"])
@example(["", ""])
@example([host_of_length(253, 4), host_of_length(254, 4)])
@example([host_of_length(254, 4) + "\n"])
def test_domain_like_batch_matches_normalize_target(batch: list[str]) -> None:
    check(batch)


@given(st.lists(plain_domains, min_size=1, max_size=8))
@settings(max_examples=150)
def test_batch_of_plain_domains_is_returned_itself(batch: list[str]) -> None:
    assert all(is_normal_domain(x) for x in batch)
    assert normalize_batch(batch) is batch


@given(st.data())
@settings(max_examples=150)
def test_one_bad_element_anywhere_is_caught(data: st.DataObject) -> None:
    good = data.draw(st.lists(plain_domains, max_size=6), label="good")
    bad = data.draw(_not_plain, label="bad")
    position = data.draw(st.integers(0, len(good)), label="position")
    batch = [*good[:position], bad, *good[position:]]
    result = check(batch)
    if normalize_target(bad) != bad:  # (a normal page may share the one-scan path: check() holds it)
        assert result is not batch
    assert result[position] == normalize_target(bad)
    assert result[:position] == good[:position] and result[position + 1 :] == good[position:]


# --- a table of cases ------------------------------------------------------------------------

INVALID = object()  # the element must come back as an InvalidTarget for this raw string
SAME = object()  # normalize_batch must return the batch itself

H253 = host_of_length(253, 4)
H254 = host_of_length(254, 4)
L63 = "a" * 63

CASES: list[tuple[list[Any], object]] = [
    ([], []),
    (["example.com"], SAME),
    (["example.com", "www.example.com", "a-b.co.uk", "0.example.com", "a.b.c.d.e.f"], SAME),
    (["a--b.com", "r3---sn-abc.googlevideo.com", "123.example.com", "a.c0m"], SAME),
    ([f"{L63}.com", H253], SAME),
    (["example.com"] * 3, SAME),
    (["Example.com"], ["example.com"]),
    (["example.com."], ["example.com"]),
    (["example.com", "example.com\n"], ["example.com", "example.com"]),
    (["example.com", " example.com\t"], ["example.com", "example.com"]),
    (["a.com\nb.com"], [INVALID]),
    (["a.com\nb.com", "c.com"], [INVALID, "c.com"]),
    (["a.com", "b.com\n", "c.com"], ["a.com", "b.com", "c.com"]),
    (["a.com", ""], ["a.com", INVALID]),
    (["", "a.com"], [INVALID, "a.com"]),
    (["a.com", "", "b.com"], ["a.com", INVALID, "b.com"]),
    ([""], [INVALID]),
    (["-a.com"], [INVALID]),
    (["a-.com"], [INVALID]),
    (["a.com-"], [INVALID]),
    (["a..com"], [INVALID]),
    ([".a.com"], [INVALID]),
    (["a.com.."], [INVALID]),
    (["com"], [INVALID]),
    (["1.2.3.4"], [INVALID]),
    (["a.123"], [INVALID]),
    (["a.1b"], ["a.1b"]),  # normal, though outside the fast path (a last label starting with a digit)
    ([f"a{L63}.com"], [INVALID]),
    ([H254], [INVALID]),
    ([H253 + "."], [H253]),
    (["xn--bcher-kva.de"], ["xn--bcher-kva.de"]),  # normal, but 'xn--' labels take the slow path
    (["a.com", "xn--bcher-kva.de"], ["a.com", "xn--bcher-kva.de"]),
    (["xn--abc.de"], [INVALID]),
    (["bücher.de", "a.com"], ["xn--bcher-kva.de", "a.com"]),
    (["https://example.com/", "a.com"], SAME),  # pages and domains, all normal: one scan
    (["https://example.com", "http://a.b.com/x?y=1#z", "https://www.a.com/ä/€"], SAME),
    (["https://example.com:8080/"], ["https://example.com:8080/"]),  # normal, outside the scan
    (["https://Example.com/"], ["https://example.com/"]),
    (["https://example.com/a b"], [INVALID]),
    (["HTTPS://example.com/"], ["https://example.com/"]),
    (["https://example.com/", "https://-a.com/"], ["https://example.com/", INVALID]),
    (["https://example.com/", "ftp://a.com/"], ["https://example.com/", INVALID]),
    (["https://a.com/\x85x"], [INVALID]),
    ([f"https://{H253}/"], [f"https://{H253}/"]),  # a line over 253 characters: per target
    (["example.com/"], [INVALID]),
    (["a.com", b"b.com"], ["a.com", INVALID]),
    ([None], [INVALID]),
]


@pytest.mark.parametrize(("batch", "expected"), CASES)
def test_table(batch: list[Any], expected: object) -> None:
    result = check(batch)
    if expected is SAME:
        assert result is batch
        return
    assert result is not batch
    assert isinstance(expected, list)
    assert len(result) == len(expected)
    for raw, got, want in zip(batch, result, expected, strict=True):
        if want is INVALID:
            assert isinstance(got, InvalidTarget)
            assert got.raw == (raw if isinstance(raw, str) else got.raw)
        else:
            assert got == want and type(got) is str


_paths = st.text(alphabet="abc/?#=&%.-_~ä€ \t\n:", max_size=12)
page_like = st.one_of(
    st.builds(
        lambda scheme, host, sep, path: f"{scheme}{host}{sep}{path}",
        st.sampled_from(["https://", "http://", "HTTPS://", "ftp://", "https:/", "https://www."]),
        plain_domains | _domain_like_host(),
        st.sampled_from(["", "/", "?", "#", ":8080/", " "]),
        _paths,
    ),
    plain_domains,
)


@given(st.lists(page_like, max_size=6))
@settings(max_examples=200)
@example(["https://a.com/", "b.com"])
@example(["https://a.com/x y"])
@example(["https://a.com:1/"])
def test_page_like_batch_matches_normalize_target(batch: list[str]) -> None:
    check(batch)


@given(st.lists(st.builds(lambda h, p: f"https://{h}/{p}", plain_domains, st.text("abc/?#=", max_size=9))))
@settings(max_examples=100)
def test_batch_of_normal_short_pages_is_returned_itself(batch: list[str]) -> None:
    batch = [page for page in batch if len(page) <= 253]
    if batch:
        assert normalize_batch(batch) is batch


def test_str_subclass_takes_the_slow_path_and_gives_plain_str() -> None:
    class Domain(str):
        pass

    batch = ["a.com", Domain("b.com")]
    result = check(batch)
    assert result is not batch
    assert result == ["a.com", "b.com"]
    assert all(type(x) is str for x in result)


def test_large_batch_of_plain_domains_is_returned_itself() -> None:
    batch = [f"site{i}.example{i % 7}.com" for i in range(10_000)]
    assert normalize_batch(batch) is batch
    batch[-1] = "Site.com"
    assert normalize_batch(batch)[-1] == "site.com"
