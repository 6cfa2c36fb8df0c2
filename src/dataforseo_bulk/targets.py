"""Target parsing and normalisation: each caller string becomes the exact string sent, or a reason.

A target of the bulk endpoints is either a **domain or subdomain** (``example.com``,
``www.example.com``: no scheme, path, query or port) or a **page** (an absolute ``http://`` or
``https://`` URL). :func:`normalize_target` turns a caller's string into that form, or into an
:class:`InvalidTarget` that says what is wrong and how to fix it; an invalid target is never sent.
Everything here is pure (no I/O) and never raises for any input.

Normal form
    * surrounding whitespace trimmed; no whitespace, control, invisible (format), surrogate,
      private-use or unassigned character anywhere inside (exactly: every character is
      ``str.isprintable()`` or is one of the joiners U+200C/U+200D, and none is a space; spaces
      in a path must be written ``%20``);
    * the host lowercased, an internationalised host converted to punycode, one trailing dot
      removed (for page hosts too, so a page's host and the same domain given alone agree);
    * a page keeps its scheme lowercased and everything after the host (port, path, query,
      fragment) exactly as typed; a URL without a path stays without one;
    * ``www.`` is kept: it names a subdomain, and the API counts ``www.example.com`` apart from
      ``example.com``.

Choices where the brief was silent
    * IPv4 literals: rejected as domains (they are not domain names); accepted as page hosts
      only in canonical dotted-quad form (``http://192.0.2.1/x``), as pages on bare IPs do
      carry backlinks. Forms that browsers would reinterpret (leading zeros, fewer than four
      parts, octal or hex) are rejected rather than rewritten. IPv6 literals (``[::1]``) are
      rejected: the API's handling of bracketed hosts is undocumented.
    * A domain with only a trailing slash (``example.com/``) is rejected like any path: it is
      ambiguous between the domain and its home page, which the API counts differently.
    * A ``user:pass@`` part is rejected, and the reason never echoes it.
    * An ASCII label is checked by the LDH rule alone, so real host names such as
      ``r3---sn-abc.googlevideo.com`` pass; the IDNA 2008 "no ``--`` in positions 3-4" rule is
      applied only to labels typed in Unicode, where IDNA itself applies it.
    * An ``xn--`` label typed by the caller is taken as the wire form it already is: it must be
      the canonical punycode of a non-ASCII label, but is not re-checked against IDNA 2008, so
      names registered under IDNA 2003 (emoji domains like ``xn--i-7iq.ws``) stay reachable.
    * A non-``str`` input gives an :class:`InvalidTarget` whose ``raw`` is the input's
      ``reprlib.repr()`` (bounded in size), so ``raw`` is always a ``str``.
"""

# Why the ``idna`` package and not Python's built-in ``"idna"`` codec: the codec implements
# IDNA 2003 (RFC 3490), which maps ``ß`` to ``ss`` and ``ς`` to ``σ`` and drops joiners, so
# ``straße.de`` would become ``strasse.de`` -- a different registered domain. Registries and
# browsers follow IDNA 2008 (RFC 5891) with the UTS #46 mapping, non-transitional: that is what
# ``idna`` implements, and what makes the punycode we send match the name the web links to.
# UTS #46 (``uts46_remap``) also folds case and width and maps the ideographic full stops, so a
# typed ``BÜCHER.de`` or ``ｂücher。de`` works. ``idna`` is already installed as a dependency of
# httpx and anyio (pin ``idna>=3.7``: earlier releases are quadratic on crafted input).
# Each Unicode label is encoded on its own (``idna.alabel``) rather than the whole host with
# ``idna.encode(host, uts46=True)``, which does the same per label but would also hold the ASCII
# labels next to it to IDNA rules that the same labels escape in an all-ASCII host.

from __future__ import annotations

import functools
import re
import reprlib
import unicodedata
from dataclasses import dataclass
from typing import Final

import idna

__all__ = [
    "MAX_TARGET_LENGTH",
    "InvalidTarget",
    "all_normal_domains",
    "is_page",
    "normalize_target",
    "target_host",
]

MAX_TARGET_LENGTH: Final = 2048  # longest page URL we send; a host is at most 253 characters
_MAX_HOST_LENGTH: Final = 253
_MAX_LABEL_LENGTH: Final = 63
_SHOW_LIMIT: Final = 60  # longest piece of the caller's input quoted in a reason

# A host that is already normal: lowercase LDH labels of 1-63 characters that neither start nor
# end with '-', at least two labels, the last one starting with a letter (so never all digits),
# and no 'xn--' label (those need the punycode check). The total length is checked separately.
# Possessive quantifiers (Python 3.11+): a label can only end at the next '.', so giving
# characters back could never help, and forbidding it makes every match a single linear scan.
# The slow path accepts everything this accepts (a test checks that).
_LABEL: Final = r"(?!xn--)[a-z0-9][a-z0-9-]{0,62}+(?<!-)"
_TLD: Final = r"(?!xn--)[a-z][a-z0-9-]{0,62}+(?<!-)"
_HOST: Final = rf"(?:{_LABEL}\.)++{_TLD}"
_FAST_HOST: Final = re.compile(_HOST)
# The same, for a whole batch joined by line feeds (no host may contain one: see below).
_FAST_HOST_LINES: Final = re.compile(rf"(?:{_HOST}\n)*+{_HOST}")
# A page that is already normal, as far as its scheme and host go (no port, no userinfo).
_FAST_PAGE: Final = re.compile(rf"https?://({_HOST})(?=[/?#]|\Z)")
_SCHEME: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
_PAGE_PREFIXES: Final = ("https://", "http://")
_AUTHORITY_END: Final = "/?#"
# A backslash is not a URL separator, but browsers read one as '/': for a domain it is a path.
_DOMAIN_END: Final = "/?#\\"
_SLASHES: Final = "/\\"
_CONTROL_NAMES: Final = {"\t": "tab", "\n": "line feed", "\r": "carriage return", "\x00": "null"}
# The two format characters that real text needs: IDNA 2008 allows them in context (Persian,
# Indic scripts) and they join emoji sequences in paths. Every other format character (U+200B
# zero width space, U+FEFF byte order mark, bidi controls ...) is an invisible copy-paste accident.
_JOINERS: Final = frozenset("\u200c\u200d")
_LDH: Final = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


@dataclass(frozen=True, slots=True)
class InvalidTarget:
    """A caller's target that will not be sent, and why."""

    raw: str  # the caller's string, exactly as given (a non-str input: its bounded repr)
    reason: str  # human sentence saying what is wrong and how to fix it


class _Rejected(Exception):
    """Internal: carries the reason out of the slow path; never escapes this module."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def normalize_target(raw: str) -> str | InvalidTarget:
    """Return the exact string to send for ``raw``, or an :class:`InvalidTarget` saying why not.

    Idempotent (a returned string normalises to itself) and never raises.
    """
    # Fast path, the common case: a target already in normal form is returned as is.
    if type(raw) is str:
        if len(raw) <= _MAX_HOST_LENGTH and _FAST_HOST.fullmatch(raw) is not None:
            return raw
        if (
            raw.startswith(_PAGE_PREFIXES)
            and len(raw) <= MAX_TARGET_LENGTH
            and raw.isprintable()
            and " " not in raw
        ):
            match = _FAST_PAGE.match(raw)
            if match is not None and match.end(1) - match.start(1) <= _MAX_HOST_LENGTH:
                return raw
        # Next most common: a plain domain with capitals or a line ending ("CNN.com\n").
        text = raw.strip()
        if len(text) <= _MAX_HOST_LENGTH:
            text = text.lower()
            if _FAST_HOST.fullmatch(text) is not None:
                return text
    try:
        return _normalize(raw)
    except _Rejected as rejected:
        return InvalidTarget(raw if isinstance(raw, str) else _safe_repr(raw), rejected.reason)
    except Exception as exc:  # pragma: no cover - a bug here must not take down a whole job
        return InvalidTarget(
            raw if isinstance(raw, str) else _safe_repr(raw),
            f"could not be parsed ({type(exc).__name__}); please report this target as a bug",
        )


def all_normal_domains(batch: list[str]) -> bool:
    """True when ``batch`` is not empty and every string of it is a plain ``str`` already in normal
    form as a domain, so that :func:`normalize_target` would return each one as it is.

    False says nothing about any single string: the caller then normalizes them one by one.
    One regex scan over the joined batch, in C, instead of a call per string: the common input
    (a list of plain lowercase domains) is checked in about 60 % of the time (docs/performance.md).
    A string containing a line feed would pass as two hosts, so the joined text must have
    exactly one line feed between neighbours and no other.
    """
    try:
        joined = "\n".join(batch)
    except TypeError:  # a non-str in the batch
        return False
    # Cheapest first: on mixed input the scan stops at the first string not in normal form.
    return (
        _FAST_HOST_LINES.fullmatch(joined) is not None
        and joined.count("\n") == len(batch) - 1
        and max(map(len, batch)) <= _MAX_HOST_LENGTH
        and set(map(type, batch)) == {str}  # a str subclass is copied to a plain str by the slow path
    )


def is_page(target: str) -> bool:
    """True when the normalized ``target`` is a page (an http or https URL), False for a domain."""
    return target.startswith(_PAGE_PREFIXES)


def target_host(target: str) -> str:
    """The host of a normalized ``target``: the domain itself, or the page URL's host."""
    if target.startswith("https://"):
        start = 8
    elif target.startswith("http://"):
        start = 7
    else:
        return target
    end = _authority_end(target, start)
    colon = target.find(":", start, end)
    return target[start : colon if colon >= 0 else end]


# --- slow path ---------------------------------------------------------------------------


def _normalize(raw: object) -> str:
    if not isinstance(raw, str):
        kind = type(raw).__name__
        hint = "decode it first" if isinstance(raw, (bytes, bytearray)) else "pass the domain or URL as text"
        raise _Rejected(f"a target must be a string (str), not {kind}: {hint}")
    text = str.__str__(raw).strip()  # str.__str__: a plain str even for a str subclass
    if not text:
        raise _Rejected(
            "the target is empty: give a domain like 'example.com' or a page like 'https://example.com/path'"
        )
    if len(text) > MAX_TARGET_LENGTH:
        raise _Rejected(
            f"the target is {len(text)} characters long, over the limit of {MAX_TARGET_LENGTH}: "
            "shorten it (for a page, drop tracking parameters or the fragment)"
        )
    if not text.isprintable() or " " in text:  # a quick sufficient test; the loop below decides
        _reject_bad_character(raw)
    prefix = text[:8].lower()
    if prefix.startswith("https://"):
        return _normalize_page("https", text[8:])
    if prefix.startswith("http://"):
        return _normalize_page("http", text[7:])
    return _normalize_domain(text)


def _reject_bad_character(raw: str) -> None:
    """Reject the first character of the trimmed ``raw`` that a target may not contain, if any."""
    text = raw.strip()
    offset = len(raw) - len(raw.lstrip())
    for index, char in enumerate(text):
        if char == " " or not (char.isprintable() or char in _JOINERS):
            raise _Rejected(
                f"contains {_describe_char(char)} at position {offset + index + 1}: remove it (a target "
                "has no whitespace, control or invisible characters inside; write a space in a URL as %20)"
            )


def _describe_char(char: str) -> str:
    if char == " ":
        return "a space"
    name = _CONTROL_NAMES.get(char) or unicodedata.name(char, "")
    if not name:
        category = unicodedata.category(char)
        name = {"Cc": "control character", "Cs": "lone surrogate", "Cn": "unassigned code point"}.get(
            category, f"character of category {category}"
        )
    return f"U+{ord(char):04X} ({name.lower()})"


def _normalize_page(scheme: str, rest: str) -> str:
    end = _authority_end(rest, 0)
    authority, tail = rest[:end], rest[end:]
    if "\\" in authority:  # browsers read it as '/', RFC 3986 parsers as part of the authority
        raise _Rejected("the URL has a backslash '\\' in its host part: write '/' to start the path")
    if "@" in authority:  # the userinfo may hold a password: never quote it
        raise _Rejected(
            "the URL has user info ('user:password@' before the host): remove it, a target never "
            "carries credentials"
        )
    if authority.startswith("["):
        raise _Rejected(
            "the URL's host is an IPv6 address, which is not supported: give the page under its domain name"
        )
    host, colon, port = authority.partition(":")
    if not host:
        raise _Rejected(f"the URL has no host: give the page as '{scheme}://example.com/path'")
    if colon:
        _check_port(port)
    try:
        host = _normalize_host(host, page=True)
    except _Rejected as rejected:
        raise _Rejected(f"the URL's host is not valid: {rejected.reason}") from None
    result = f"{scheme}://{host}{colon}{port}{tail}"
    if len(result) > MAX_TARGET_LENGTH:
        raise _Rejected(
            f"the URL is {len(result)} characters long once its host is converted to punycode, over the "
            f"limit of {MAX_TARGET_LENGTH}: shorten it"
        )
    return result


def _check_port(port: str) -> None:
    if not port:
        raise _Rejected("the URL has ':' after the host but no port: remove the ':' or add a port number")
    if not (port.isascii() and port.isdecimal() and len(port) <= 5 and 1 <= int(port) <= 65535):
        raise _Rejected(f"the port '{_show(port)}' is not valid: a port is a number from 1 to 65535")


def _normalize_domain(text: str) -> str:
    if "://" in text:
        scheme = text.partition("://")[0]
        if _SCHEME.fullmatch(scheme):
            raise _Rejected(
                f"the scheme '{_show(scheme)}://' is not supported: a page must be an absolute http:// or "
                "https:// URL, and a domain has no scheme"
            )
    if text.startswith(("//", "\\\\")):
        raise _Rejected(
            "a scheme-relative URL is not a target: give the page as an absolute URL "
            f"'https://{_show(text.lstrip(_SLASHES))}'"
        )
    lowered = text[:6].lower()
    if lowered.startswith(("http//", "https/")):  # 'https/' also covers 'https//'
        scheme = "https" if lowered.startswith("https") else "http"
        raise _Rejected(
            f"malformed {scheme} URL (the ':' is missing): write it as "
            f"'{scheme}://{_show(text[len(scheme) :].lstrip(_SLASHES))}'"
        )
    end = _authority_end(text, 0, _DOMAIN_END)
    colon = text.find(":", 0, end)
    if colon >= 0:
        head, after = text[:colon], text[colon + 1 : end]
        if head.lower() in ("http", "https"):
            raise _Rejected(
                f"malformed {head.lower()} URL: write it as "
                f"'{head.lower()}://{_show(text[colon + 1 :].lstrip(_SLASHES))}'"
            )
        if (after.isascii() and after.isdecimal()) or "." in head:
            page = (
                f", or a page as an absolute URL 'https://{_show(text)}/'"
                if after.isascii() and after.isdecimal()
                else ""
            )
            raise _Rejected(f"a domain has no port: give '{_show(head)}'{page}")
        if _SCHEME.fullmatch(head):
            raise _Rejected(
                f"the scheme '{_show(head)}:' is not supported: a page must be an absolute http:// or "
                "https:// URL, and a domain has no scheme"
            )
    if end < len(text):
        what = {"/": "path", "?": "query string", "#": "fragment"}.get(text[end], "path")
        raise _Rejected(
            f"a domain has no {what}: give '{_show(text[:end])}', or a page as an absolute URL "
            f"'https://{_show(text)}'"
        )
    if "@" in text:
        raise _Rejected(
            f"looks like an e-mail address, not a domain: give the domain after the '@' "
            f"('{_show(text.rpartition('@')[2])}')"
        )
    try:
        return _normalize_host(text, page=False)
    except _Rejected as rejected:
        raise _Rejected(f"not a valid domain: {rejected.reason}") from None


def _authority_end(text: str, start: int, enders: str = _AUTHORITY_END) -> int:
    """Index of the first of ``enders`` at or after ``start``, else ``len(text)``."""
    end = len(text)
    for char in enders:
        found = text.find(char, start, end)
        if found >= 0:
            end = found
    return end


def _normalize_host(host: str, *, page: bool) -> str:
    """The normal form of a host (lowercase, punycode, one trailing dot removed), else _Rejected."""
    host = host.lower() if host.isascii() else _to_ascii(host)
    if host.endswith("."):
        host = host[:-1]
    if len(host) <= _MAX_HOST_LENGTH and _FAST_HOST.fullmatch(host) is not None:
        return host
    _check_ascii_host(host, page=page)
    return host


def _to_ascii(host: str) -> str:
    if len(host) > _MAX_HOST_LENGTH:
        raise _Rejected(f"it is {len(host)} characters long; a host name has at most {_MAX_HOST_LENGTH}")
    try:
        mapped = idna.uts46_remap(host, std3_rules=False)
        labels = [
            label if label.isascii() else idna.alabel(label).decode("ascii") for label in mapped.split(".")
        ]
    except (idna.IDNAError, UnicodeError, ValueError) as exc:
        raise _Rejected(
            f"it is not a valid internationalised domain name ({_show(str(exc), 120)}); if the site "
            "really uses this name, give it in punycode ('xn--...')"
        ) from None
    return ".".join(labels)


def _check_ascii_host(host: str, *, page: bool) -> None:
    """Reject a lowercase ASCII host that breaks a rule, with the first rule it breaks."""
    if not host:
        raise _Rejected("it is empty: give a domain like 'example.com'")
    if len(host) > _MAX_HOST_LENGTH:
        raise _Rejected(f"it is {len(host)} characters long; a host name has at most {_MAX_HOST_LENGTH}")
    for char in host:
        if char != "." and char not in _LDH:
            raise _Rejected(
                f"it contains {char!r}; a host name has only letters, digits, '-' and '.' "
                "(an internationalised name may use any letters)"
            )
    labels = host.split(".")
    for label in labels:
        if not label:
            raise _Rejected(
                f"'{_show(host)}' has an empty label (a leading dot or '..'): remove the extra dot"
            )
        if len(label) > _MAX_LABEL_LENGTH:
            raise _Rejected(
                f"the label '{_show(label)}' is {len(label)} characters long; a label has at most "
                f"{_MAX_LABEL_LENGTH}"
            )
        if label.startswith("-") or label.endswith("-"):
            raise _Rejected(f"the label '{label}' starts or ends with '-', which a host name never does")
        if label.startswith("xn--") and not _is_alabel(label):
            raise _Rejected(
                f"the label '{label}' is not valid punycode: an 'xn--' label must be the exact encoding of "
                "an internationalised label; give the name in Unicode or copy its punycode exactly"
            )
    if len(labels) < 2:
        raise _Rejected(f"'{_show(host)}' is a single label; a domain has at least two, like 'example.com'")
    if labels[-1].isdigit():
        if all(label.isdigit() for label in labels):
            if not page:
                raise _Rejected(
                    f"'{_show(host)}' is an IP address, and an IP address is not a domain: give the "
                    "site's domain name, or a page on it as 'http://<address>/path'"
                )
            if len(labels) == 4 and all(_is_ipv4_octet(label) for label in labels):
                return
            raise _Rejected(
                f"'{_show(host)}' is not a valid IPv4 address: write four numbers from 0 to 255 without "
                "leading zeros, like '192.0.2.1'"
            )
        raise _Rejected(f"its last label '{labels[-1]}' is all digits, which a top-level domain never is")


@functools.lru_cache(maxsize=1024)  # the punycode codec is slow pure Python; IDN TLDs repeat
def _is_alabel(label: str) -> bool:
    """True for the canonical punycode of a non-ASCII label that UTS #46 would leave as it is.

    That is the check browsers apply (UTS #46 mapping, not the IDNA 2008 code point table).
    """
    encoded = label[4:]
    try:
        decoded = encoded.encode("ascii").decode("punycode")
        canonical = decoded.encode("punycode").decode("ascii")
        mapped = idna.uts46_remap(decoded, std3_rules=True)
    except (UnicodeError, ValueError, OverflowError):  # idna.IDNAError is a UnicodeError
        return False
    return (
        canonical == encoded
        and mapped == decoded  # lowercase, NFC, no disallowed code point
        and not decoded.isascii()
        and all(char.isprintable() or char in _JOINERS for char in decoded)
        and not decoded.startswith("-")
        and not decoded.endswith("-")
    )


def _is_ipv4_octet(label: str) -> bool:
    return len(label) <= 3 and (label == "0" or not label.startswith("0")) and int(label) <= 255


def _safe_repr(value: object) -> str:
    """A short repr of a non-str input: bounded in size, and never raising."""
    try:
        return reprlib.repr(value)
    except Exception:  # pragma: no cover - reprlib already guards instances' own __repr__
        return f"<{type(value).__name__}>"


def _show(text: str, limit: int = _SHOW_LIMIT) -> str:
    """``text`` cut to ``limit`` characters for quoting in a reason."""
    return text if len(text) <= limit else text[: limit - 3] + "..."
