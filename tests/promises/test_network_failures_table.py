"""docs/errors.md, "Network failures": each httpx exception's message and whether the call can
have been billed, as the table says (``api.failed_call`` is the pure function behind it)."""

from __future__ import annotations

import httpx
import pytest

from dataforseo_bulk.api import failed_call

WHERE = "api.example:443"
NOT_SENT = f"could not send to {WHERE}: "
TIMED_OUT = f"no answer from {WHERE} within the timeout ("
BROKEN = f"network error talking to {WHERE}: "
UNDECODABLE = f"undecodable answer from {WHERE}: "

# (exception, how its message starts, can it have been billed?)
TABLE: list[tuple[Exception, str, bool]] = [
    (httpx.ConnectError("refused"), NOT_SENT + "ConnectError: refused", False),
    (httpx.ConnectTimeout("no SYN-ACK"), NOT_SENT + "ConnectTimeout: no SYN-ACK", False),
    (httpx.PoolTimeout("pool full"), NOT_SENT + "PoolTimeout", False),
    (httpx.ProxyError("403 tunnel refused"), NOT_SENT + "ProxyError", False),
    (httpx.LocalProtocolError("CR/LF in a header"), NOT_SENT + "LocalProtocolError", False),
    (httpx.ReadTimeout("slow"), TIMED_OUT + "ReadTimeout: slow)", True),
    (httpx.WriteTimeout("slow"), TIMED_OUT + "WriteTimeout", True),
    (httpx.ReadError("reset"), BROKEN + "ReadError: reset", True),
    (httpx.WriteError("broken pipe"), BROKEN + "WriteError", True),
    (httpx.RemoteProtocolError("bad status line"), BROKEN + "RemoteProtocolError", True),
    (httpx.DecodingError("gzip cut short"), UNDECODABLE + "DecodingError", True),
    (RuntimeError("a caller's transport"), BROKEN + "RuntimeError", True),
]
IDS = [type(row[0]).__name__ for row in TABLE]


@pytest.mark.parametrize(("exc", "starts", "maybe_billed"), TABLE, ids=IDS)
def test_each_network_failure_has_its_message_and_billing_as_documented(
    exc: Exception, starts: str, maybe_billed: bool
) -> None:
    answer = failed_call(exc, WHERE)
    assert answer.error is not None and answer.error.startswith(starts)
    assert answer.sent is maybe_billed
    assert answer.http_status is None and answer.items is None and answer.cost is None


def test_an_empty_exception_message_is_named_without_a_dangling_colon() -> None:
    assert failed_call(httpx.ReadError(""), WHERE).error == BROKEN + "ReadError"


class OtherLibraryError(Exception):
    """Stands for an error of another HTTP library (e.g. aiohttp's), mapped onto httpx's."""


OtherLibraryError.__module__ = "aiohttp.client_exceptions"


def test_a_never_sent_error_mapped_by_another_library_counts_as_maybe_billed() -> None:
    """httpx-aiohttp reports a connection dropped after the request went out as ConnectTimeout:
    only httpcore's (httpx's own transport) and respx's are believed."""
    mapped = httpx.ConnectTimeout("timed out")
    mapped.__cause__ = OtherLibraryError("server disconnected")
    assert failed_call(mapped, WHERE).sent is True
    own = httpx.ConnectTimeout("timed out")
    own.__cause__ = type("ConnectTimeout", (Exception,), {"__module__": "httpcore._exceptions"})()
    assert failed_call(own, WHERE).sent is False
