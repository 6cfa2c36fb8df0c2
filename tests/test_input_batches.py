"""Any input through a job: every caller string accounted for, each target bought once.

Whatever the strings (plain domains, other spellings, pages, line breaks hidden inside a
string, edge-case labels, anything), a bulk job answers each valid string under its own
spelling with the value of ``normalize_target(string)``, reports each invalid one with the
reason ``normalize_target`` gives, and sends each normal form exactly once, however the
strings fall into batches. The API is mocked with respx; batches of three strings, so that
repeats and other spellings meet across batches and chunks as well as inside one.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest
import respx
from hypothesis import example, given, settings
from hypothesis import strategies as st

from conftest import LOGIN, PASSWORD, URL, FakeAPI, backlinks_of
from dataforseo_bulk import BulkClient, FailureKind, RetryPolicy
from dataforseo_bulk.result import BulkResult
from dataforseo_bulk.targets import InvalidTarget, is_page, normalize_target

LDH = "abcdefghijklmnopqrstuvwxyz0123456789-"
DOMAIN_CHARS = LDH + "."


def is_normal_domain(value: object) -> bool:
    """A str that normalize_target leaves exactly as it is, and that is a domain (not a page)."""
    return type(value) is str and normalize_target(value) == value and not is_page(value)


def run_job(batch: list[Any], *, chunk_size: int = 3) -> tuple[BulkResult[int], FakeAPI]:
    """``bulk_backlinks(batch)`` against the mocked API: the result, and what was sent."""
    api = FakeAPI()

    async def job() -> BulkResult[int]:
        with respx.mock(assert_all_called=False) as router:
            router.post(URL).mock(side_effect=api)
            async with BulkClient(
                LOGIN,
                PASSWORD,
                chunk_size=chunk_size,
                rate_limit=1_000_000,  # pacing is not the subject: no real-clock spacing of the calls
                retry_policy=RetryPolicy.testing(),
                check_balance=False,
            ) as client:
                return await client.bulk_backlinks(batch)

    return anyio.run(job), api


def check(batch: list[Any], *, chunk_size: int = 3) -> BulkResult[int]:
    """Run ``batch`` through a job and assert that every string is accounted for."""
    before = list(batch)
    result, api = run_job(batch, chunk_size=chunk_size)
    assert batch == before  # the input is never modified
    normal = {raw: normalize_target(raw) for raw in batch}
    valid = {raw: target for raw, target in normal.items() if isinstance(target, str)}
    invalid = {target.raw: target for target in normal.values() if isinstance(target, InvalidTarget)}
    # Each normal form bought exactly once, nothing else sent.
    assert sorted(api.sent_targets) == sorted(set(valid.values()))
    # Each valid string answered under its own spelling, with its normal form's value.
    assert dict(result) == {raw: backlinks_of(target) for raw, target in valid.items()}
    # Each invalid string reported with normalize_target's reason, and nothing more failed.
    assert {raw: (f.kind, f.reason) for raw, f in result.failed.items()} == {
        raw: (FailureKind.INVALID, target.reason) for raw, target in invalid.items()
    }
    assert result.stats.targets == len(normal)  # distinct caller strings
    assert result.stats.invalid == len(invalid)
    assert result.stats.ok == len(valid)
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
@settings(max_examples=60, deadline=None)
def test_any_text_is_accounted_for(batch: list[str]) -> None:
    check(batch)


@given(st.lists(domain_like, max_size=6))
@settings(max_examples=60, deadline=None)
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
def test_domain_like_strings_are_accounted_for(batch: list[str]) -> None:
    check(batch)


@given(st.lists(plain_domains, min_size=1, max_size=8))
@settings(max_examples=40, deadline=None)
def test_plain_domains_are_sent_as_given_and_once(batch: list[str]) -> None:
    assert all(is_normal_domain(x) for x in batch)
    result = check(batch)
    assert result.stats.duplicate == len(batch) - len(set(batch))


@given(st.data())
@settings(max_examples=40, deadline=None)
def test_one_bad_string_anywhere_is_caught(data: st.DataObject) -> None:
    good = data.draw(st.lists(plain_domains, max_size=6), label="good")
    bad = data.draw(_not_plain, label="bad")
    position = data.draw(st.integers(0, len(good)), label="position")
    result = check([*good[:position], bad, *good[position:]])
    target = normalize_target(bad)
    if isinstance(target, InvalidTarget):
        assert result.failed[bad].kind is FailureKind.INVALID
    else:
        assert result[bad] == backlinks_of(target)
    assert all(result[g] == backlinks_of(g) for g in good)


# --- a table of cases ------------------------------------------------------------------------

INVALID = object()  # the string must be reported invalid
SAME = object()  # every string is sent as it is

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
    (["a.1b"], SAME),  # a last label starting with a digit is still a domain
    ([f"a{L63}.com"], [INVALID]),
    ([H254], [INVALID]),
    ([H253 + "."], [H253]),
    (["xn--bcher-kva.de"], SAME),
    (["a.com", "xn--bcher-kva.de"], SAME),
    (["xn--abc.de"], [INVALID]),
    (["bücher.de", "a.com"], ["xn--bcher-kva.de", "a.com"]),
    (["bücher.de", "xn--bcher-kva.de", "BÜCHER.de"], ["xn--bcher-kva.de"] * 3),
    (["https://example.com/", "a.com"], SAME),
    (["https://example.com", "http://a.b.com/x?y=1#z", "https://www.a.com/ä/€"], SAME),
    (["https://example.com:8080/"], SAME),
    (["https://Example.com/"], ["https://example.com/"]),
    (["https://example.com/a b"], [INVALID]),
    (["HTTPS://example.com/"], ["https://example.com/"]),
    (["https://example.com/", "https://-a.com/"], ["https://example.com/", INVALID]),
    (["https://example.com/", "ftp://a.com/"], ["https://example.com/", INVALID]),
    (["https://a.com/\x85x"], [INVALID]),
    ([f"https://{H253}/"], SAME),
    (["example.com/"], [INVALID]),
    (["a.com", b"b.com"], ["a.com", INVALID]),
    ([None], [INVALID]),
]


@pytest.mark.parametrize(("batch", "expected"), CASES)
def test_table(batch: list[Any], expected: object) -> None:
    result = check(batch)
    wanted = batch if expected is SAME else expected
    assert isinstance(wanted, list) and len(wanted) == len(batch)
    for raw, want in zip(batch, wanted, strict=True):
        if want is INVALID:
            key = raw if isinstance(raw, str) else repr(raw)  # a non-str input: under its repr
            assert result.failed[key].kind is FailureKind.INVALID
        else:
            assert result[raw] == backlinks_of(want)


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
@settings(max_examples=60, deadline=None)
@example(["https://a.com/", "b.com"])
@example(["https://a.com/x y"])
@example(["https://a.com:1/"])
def test_page_like_strings_are_accounted_for(batch: list[str]) -> None:
    check(batch)


def test_str_subclass_is_answered_under_a_plain_str() -> None:
    class Domain(str):
        pass

    result = check(["a.com", Domain("b.com"), Domain("C.com")])
    assert set(result) == {"a.com", "b.com", "C.com"}
    assert all(type(key) is str for key in result)


def test_a_large_input_of_plain_domains_with_one_other_spelling_at_the_end() -> None:
    batch = [f"site{i}.example{i % 7}.com" for i in range(10_000)]
    batch[-1] = "Site1.example1.com"  # another spelling of the second string
    result = check(batch, chunk_size=1000)
    assert result["Site1.example1.com"] == result["site1.example1.com"]
    assert result.stats.duplicate == 1
