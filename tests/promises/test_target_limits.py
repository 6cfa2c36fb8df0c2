"""The limits of a valid target, at their exact edges (docs/errors.md: an invalid target is never
sent and its reason says how to fix it). Written for mutants of targets.py that survived: each
row sits on a boundary (one character, one port number) where ``<`` and ``<=`` differ, and goes
through the careful path (upper case or Unicode in the input), not only the fast one.
"""

from __future__ import annotations

import pytest

from dataforseo_bulk.targets import InvalidTarget, normalize_target

LABEL_63 = "a" * 63
HOST_253 = ".".join([LABEL_63] * 3 + ["b" * 61])  # 63 + 1 + 63 + 1 + 63 + 1 + 61
PATH_TO_2048 = "/" + "p" * (2048 - len("https://example.com/"))

VALID = [
    # (input, what is sent)
    (HOST_253.upper(), HOST_253),
    ("ａ" + HOST_253[1:], HOST_253),  # a full-width letter: Unicode in, 253 ASCII characters out
    (f"{LABEL_63.upper()}.com", f"{LABEL_63}.com"),
    (f"https://{LABEL_63.upper()}.com/", f"https://{LABEL_63}.com/"),
    ("HTTPS://EXAMPLE.COM" + PATH_TO_2048, "https://example.com" + PATH_TO_2048),  # 2048 exactly
    ("HTTP://EXAMPLE.COM:1/", "http://example.com:1/"),
    ("HTTP://EXAMPLE.COM:65535/", "http://example.com:65535/"),
    ("HTTP://EXAMPLE.COM:00080/", "http://example.com:00080/"),  # five digits: a port
    ("HTTP://EXAMPLE.COM:8080/a:b", "http://example.com:8080/a:b"),  # a colon in the path stays
]


@pytest.mark.parametrize(("raw", "sent"), VALID, ids=range(len(VALID)))
def test_a_target_at_a_limit_is_valid(raw: str, sent: str) -> None:
    assert normalize_target(raw) == sent


INVALID = [
    # (input, what the reason says)
    (HOST_253.upper() + "C", "it is 254 characters long; a host name has at most 253"),
    ("ａ" + HOST_253, "254"),
    (f"{LABEL_63}a.com".upper(), "64"),
    ("HTTPS://EXAMPLE.COM" + PATH_TO_2048 + "p", "2049 characters long"),
    ("HTTP://EXAMPLE.COM:0/", "the port '0' is not valid: a port is a number from 1 to 65535"),
    ("HTTP://EXAMPLE.COM:65536/", "a port is a number from 1 to 65535"),
    ("HTTP://EXAMPLE.COM:000080/", "the port '000080' is not valid"),  # six digits: no port
    ("HTTP://EXAMPLE.COM:/", "the URL has ':' after the host but no port: remove the ':' or add a port"),
    ("https://user:pw@example.com/", "the URL has user info"),
    ("https://user:pw@example.com/", "a target never carries credentials"),
    # A quoted piece of the input is cut at 60 characters, with "..." (never the whole of it).
    ("http://example.com:" + "x" * 60 + "/", f"the port '{'x' * 60}' is not valid"),
    ("http://example.com:" + "x" * 61 + "/", f"the port '{'x' * 57}...' is not valid"),
]


@pytest.mark.parametrize(("raw", "says"), INVALID, ids=range(len(INVALID)))
def test_a_target_past_a_limit_is_invalid_and_says_why(raw: str, says: str) -> None:
    target = normalize_target(raw)
    assert isinstance(target, InvalidTarget), target
    assert says in target.reason
    assert target.raw == raw
