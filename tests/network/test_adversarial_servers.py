"""The default transport (httpx's own: httpcore + h11) against servers that misbehave, on loopback.

Each server answers with a complete, valid-looking "Ok." body wrapped in broken HTTP, so a
lenient reader would take it as an answer: the client must refuse it (a transient protocol
error, maybe billed, retried), never hand out its counts. Times are short real seconds: what is
checked is which limit cut a call (the error says), never how long it took.
"""

from __future__ import annotations

import tracemalloc

import anyio
import httpx
import pytest

from dataforseo_bulk import APIUnreachable, BulkClient, FailureKind, RetryDetails, RetryPolicy

from .servers import Conn, answer_ok, free_port, ok_body, raw_server, read_head, read_request, response

TARGETS = ["a.com", "b.com"]


def client(url: str, **knobs: object) -> BulkClient:
    knobs.setdefault("retry_policy", RetryPolicy.testing(max_retries=1))
    knobs.setdefault("check_balance", False)  # these servers speak HTTP badly, not the account API
    return BulkClient("login", "password", base_url=url, **knobs)  # type: ignore[arg-type]


# --- an answer's head that never ends -----------------------------------------------------


async def endless_head(conn: Conn) -> None:
    if await read_request(conn) is None:
        return
    await conn.stream.send(b"HTTP/1.1 200 OK\r\n")
    block = (b"X-Filler: " + b"a" * 1000 + b"\r\n") * 64
    while True:
        await conn.stream.send(block)


async def megabyte_head(conn: Conn) -> None:
    while (body := await read_request(conn)) is not None:
        filler = (b"X-Filler: " + b"a" * 1000 + b"\r\n") * 1024  # 1 MB of headers, then a real answer
        await conn.stream.send(response(ok_body(body), head=b"HTTP/1.1 200 OK\r\n" + filler))


@pytest.mark.parametrize("handler", [endless_head, megabyte_head], ids=["endless", "1 MB"])
async def test_an_oversized_answer_head_fails_that_call_with_memory_flat(handler: object) -> None:
    tracemalloc.start()
    try:
        async with raw_server(handler) as server, client(server.url, timeout=60) as c:  # type: ignore[arg-type]
            result = await c.bulk_backlinks(TARGETS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not result  # no count taken from it
    failure = result.failed["a.com"]
    assert failure.kind is FailureKind.RETRIES_EXHAUSTED
    # h11 refuses a head over its limit: the call failed there, not at the 60 s deadline.
    assert "RemoteProtocolError" in failure.reason and "deadline" not in failure.reason
    assert peak < 16 * 2**20  # the head is not buffered whole (nor rescanned) on the client
    assert result.stats.calls == result.stats.unknown_cost_calls == 2  # sent: maybe billed


# --- an answer that trickles ---------------------------------------------------------------


async def test_a_trickling_answer_is_cut_at_the_deadline_then_retried_on_a_new_connection() -> None:
    async def trickle_first(conn: Conn) -> None:
        first = len(server.connections) == 1
        while (body := await read_request(conn)) is not None:
            answer = response(ok_body(body))
            if not first:
                await conn.stream.send(answer)
                continue
            for i in range(len(answer)):  # one byte every 50 ms: each read is quick, the whole is not
                await conn.stream.send(answer[i : i + 1])
                await anyio.sleep(0.05)

    retries: list[RetryDetails] = []
    async with (
        raw_server(trickle_first) as server,
        client(server.url, timeout=0.5, on_retry=retries.append) as c,
    ):
        result = await c.bulk_backlinks(TARGETS)
        again = await c.bulk_backlinks(["c.com"])  # the pool is sound after the cut
        with anyio.fail_after(10):
            await server.connections[0].hung_up.wait()  # the client closed the cut connection
    assert dict(result) == {"a.com": 7, "b.com": 7} and dict(again) == {"c.com": 7}
    assert "0.5 s deadline" in retries[0].message
    assert result.stats.calls == 2 and result.stats.unknown_cost_calls == 1  # the cut call may be billed
    assert len(server.connections) == 2  # the cut connection was closed, not pooled


# --- an idle keep-alive connection that the server closed ----------------------------------


async def test_a_keep_alive_connection_closed_by_the_server_is_not_reused() -> None:
    closed = anyio.Event()

    async def answer_then_close_when_idle(conn: Conn) -> None:
        body = await read_request(conn)
        if body is not None:
            await conn.stream.send(response(ok_body(body)))  # HTTP/1.1: kept alive, as far as it says
            await conn.stream.aclose()  # then closed while idle
            closed.set()

    async with raw_server(answer_then_close_when_idle) as server, client(server.url) as c:
        first = await c.bulk_backlinks(["a.com"])
        await closed.wait()  # the server has closed the idle connection
        second = await c.bulk_backlinks(["b.com"])
    assert dict(first) == {"a.com": 7} and dict(second) == {"b.com": 7}
    assert second.stats.retries == 0  # no failed attempt on the dead connection
    assert len(server.connections) == 2


# --- broken framing -----------------------------------------------------------------------


def _chunked(body: bytes) -> bytes:
    return b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)


BROKEN = {
    "conflicting Content-Length": lambda body: response(
        body, head=b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Length: 9\r\n" % len(body)
    ),
    "unknown Transfer-Encoding": lambda body: response(
        body, head=b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n"
    ),
    "Transfer-Encoding not exactly chunked": lambda body: response(
        _chunked(body), head=b"HTTP/1.1 200 OK\r\nTransfer-Encoding: xchunked\r\n"
    ),
    "garbage status line": lambda body: response(
        body, head=b"HTTP/1.1 2OO OK\r\nContent-Length: %d\r\n" % len(body)
    ),
    "status 000": lambda body: response(body, head=b"HTTP/1.1 000 OK\r\nContent-Length: %d\r\n" % len(body)),
    "no status line": lambda body: response(body, head=b"Content-Length: %d\r\n" % len(body)),
}


@pytest.mark.parametrize("frame", list(BROKEN.values()), ids=list(BROKEN))
async def test_broken_framing_is_a_transient_protocol_error_never_an_answer(frame: object) -> None:
    async def broken(conn: Conn) -> None:
        while (body := await read_request(conn)) is not None:
            await conn.stream.send(frame(ok_body(body)))  # type: ignore[operator]

    async with raw_server(broken) as server, client(server.url, timeout=30) as c:
        result = await c.bulk_backlinks(TARGETS)
    assert not result
    failure = result.failed["a.com"]
    assert failure.kind is FailureKind.RETRIES_EXHAUSTED  # transient: retried, then given up
    assert "RemoteProtocolError" in failure.reason
    assert result.stats.calls == result.stats.unknown_cost_calls == 2


async def test_an_answer_with_bare_line_feeds_is_read_as_it_is() -> None:
    async def bare_lf(conn: Conn) -> None:
        while (body := await read_request(conn)) is not None:
            await conn.stream.send(response(ok_body(body), eol=b"\n"))

    async with raw_server(bare_lf) as server, client(server.url, timeout=30) as c:
        result = await c.bulk_backlinks(TARGETS)
    assert dict(result) == {"a.com": 7, "b.com": 7}


# --- a header that would split the request ------------------------------------------------


async def test_cr_lf_in_a_header_value_is_refused_before_anything_is_sent() -> None:
    own = httpx.AsyncClient(headers={"X-Team": "seo\r\nX-Injected: yes"})
    async with raw_server(answer_ok) as server, own, client(server.url, http_client=own) as c:
        with pytest.raises(APIUnreachable, match="LocalProtocolError") as caught:
            await c.bulk_backlinks(TARGETS)
    assert all(conn.received == b"" for conn in server.connections)  # not one byte written
    stats = caught.value.result.stats
    assert (stats.calls, stats.unknown_cost_calls) == (0, 0)


# --- nobody there -------------------------------------------------------------------------


async def test_a_refused_connection_stops_the_job_fast_with_nothing_maybe_billed() -> None:
    port = free_port()
    targets = [f"site{i}.com" for i in range(50)]
    async with client(f"http://127.0.0.1:{port}", chunk_size=5) as c:
        with pytest.raises(APIUnreachable) as caught:
            await c.bulk_backlinks(targets)
    message = str(caught.value)
    assert f"127.0.0.1:{port}" in message and "ConnectError" in message
    result = caught.value.result
    assert (result.stats.calls, result.stats.unknown_cost_calls, result.stats.cost_usd) == (0, 0, 0.0)
    assert {f.kind for f in result.failed.values()} == {FailureKind.ABORTED}
    assert set(result.failed) == set(targets)  # every target accounted for


async def test_a_connection_lost_in_the_middle_of_a_job_is_retried_not_a_stop() -> None:
    async def answer_once_then_go_away(conn: Conn) -> None:
        body = await read_request(conn)
        if body is not None:
            await server.stop_listening()  # from now on every connection is refused
            await conn.stream.send(response(ok_body(body)))

    async with (
        raw_server(answer_once_then_go_away) as server,
        client(server.url, chunk_size=1, max_concurrency=1) as c,
    ):
        result = await c.bulk_backlinks(TARGETS)
    assert dict(result) == {"a.com": 7}
    failure = result.failed["b.com"]
    assert failure.kind is FailureKind.RETRIES_EXHAUSTED and "ConnectError" in failure.reason
    assert (result.stats.calls, result.stats.unknown_cost_calls) == (1, 0)  # refused calls: never sent


# --- what httpx does with the environment -------------------------------------------------


@pytest.mark.parametrize(
    ("base_url", "tunnel"),
    [
        ("https://api.dataforseo.com", b"CONNECT api.dataforseo.com:443 "),
        ("https://bücher.example", b"CONNECT xn--bcher-kva.example:443 "),  # IDNA, as httpx encodes it
    ],
    ids=["api", "international host"],
)
async def test_a_proxy_set_in_the_environment_is_used(
    monkeypatch: pytest.MonkeyPatch, base_url: str, tunnel: bytes
) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)

    async def refuse_tunnel(conn: Conn) -> None:
        if await read_head(conn) is not None:
            await conn.stream.send(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")

    async with raw_server(refuse_tunnel) as proxy:
        monkeypatch.setenv("Https_Proxy", proxy.url)  # any case, as httpx (urllib) reads it
        async with BulkClient(
            "login", "password", base_url=base_url, retry_policy=RetryPolicy.testing()
        ) as c:
            with pytest.raises(APIUnreachable, match="ProxyError"):
                await c.bulk_backlinks(TARGETS)
    assert proxy.connections[0].received.startswith(tunnel)


# --- what another transport raises ------------------------------------------------------------


def _raising(error: Exception) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    return httpx.MockTransport(handler)


def _mapped(error: Exception, onto: type[Exception]) -> Exception:
    """``onto`` raised from ``error``, as a library maps its own exceptions onto httpx's."""
    try:
        raise onto("mapped") from error
    except Exception as mapped:
        return mapped


@pytest.mark.parametrize(
    "error",
    [
        ValueError("invalid literal for int() with base 10: b'2OO'"),  # a garbage status line, in aiohttp
        # httpx-aiohttp reports a connection dropped after sending (aiohttp's ServerDisconnectedError,
        # a ClientConnectionError) as httpx.ConnectTimeout: only httpcore's say so is trusted.
        _mapped(ConnectionResetError("Server disconnected"), httpx.ConnectTimeout),
    ],
    ids=["not an httpx error", "ConnectTimeout mapped from a dropped connection"],
)
async def test_what_another_transport_raises_is_a_failed_call_maybe_billed(error: Exception) -> None:
    async with client("http://127.0.0.1:9", transport=_raising(error)) as c:
        result = await c.bulk_backlinks(TARGETS)
    failure = result.failed["a.com"]
    assert failure.kind is FailureKind.RETRIES_EXHAUSTED and type(error).__name__ in failure.reason
    assert result.stats.calls == result.stats.unknown_cost_calls == 2  # never booked as "not sent"
