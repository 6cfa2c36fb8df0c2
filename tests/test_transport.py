"""FastTransport against small asyncio servers that answer with exactly the bytes each case needs.

Every server here listens on 127.0.0.1 port 0, parses each request strictly (a malformed request
is recorded and fails the test), counts the connections it accepts and the peak number open, and
hands each request to a per-test handler that writes the answer bytes.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gzip
import hashlib
import json
import random
import re
import socket
import struct
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import httpx
import pytest

from dataforseo_bulk import transport as transport_module
from dataforseo_bulk.transport import FastTransport

# --- a scripted HTTP/1.1 server ------------------------------------------------------------

_REQUEST_LINE = re.compile(rb"([A-Z]+) (/[!-~]*) HTTP/1\.1")
_HEADER_LINE = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+): ?([\t -~]*?) ?")
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]+)(;[^\r\n]*)?")


class BadRequest(AssertionError):
    """The client sent bytes that are not a correct HTTP/1.1 request."""


@dataclass
class Received:
    """One request as the server read it off the wire."""

    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes
    raw: bytes  # every byte of the request, head and body framing included
    connection: int  # index of the accepted connection it arrived on (0 = first)

    def values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]


async def _read_chunked(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    body, raw = bytearray(), bytearray()
    while True:
        line = await reader.readuntil(b"\r\n")
        raw += line
        match = _CHUNK_SIZE.fullmatch(line[:-2])
        if match is None:
            raise BadRequest(f"bad chunk size line {line!r}")
        size = int(match[1], 16)
        if size == 0:
            while (trailer := await reader.readuntil(b"\r\n")) != b"\r\n":
                raw += trailer
            raw += b"\r\n"
            return bytes(body), bytes(raw)
        data = await reader.readexactly(size + 2)
        raw += data
        if not data.endswith(b"\r\n"):
            raise BadRequest("a chunk is not followed by CRLF")
        body += data[:-2]


async def read_request(reader: asyncio.StreamReader, connection: int) -> Received | None:
    """The next request on the connection, or None at a clean end of stream."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise BadRequest(f"the request head was cut off: {exc.partial!r}") from None
        return None
    lines = head[:-4].split(b"\r\n")
    request_line = _REQUEST_LINE.fullmatch(lines[0])
    if request_line is None:
        raise BadRequest(f"bad request line {lines[0]!r}")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        header = _HEADER_LINE.fullmatch(line)
        if header is None:
            raise BadRequest(f"bad header line {line!r}")
        headers.append((header[1].decode(), header[2].decode()))
    lengths = [value for name, value in headers if name.lower() == "content-length"]
    codings = [value for name, value in headers if name.lower() == "transfer-encoding"]
    raw_body = b""
    if codings:
        if lengths or codings != ["chunked"]:
            raise BadRequest(f"bad framing headers: {headers}")
        body, raw_body = await _read_chunked(reader)
    elif lengths:
        if len(lengths) != 1 or not lengths[0].isdecimal():
            raise BadRequest(f"bad Content-Length: {lengths}")
        body = raw_body = await reader.readexactly(int(lengths[0]))
    else:
        body = b""
    return Received(
        method=request_line[1].decode(),
        target=request_line[2].decode(),
        headers=headers,
        body=body,
        raw=head + raw_body,
        connection=connection,
    )


@dataclass
class Exchange:
    """What a handler gets: the request, the connection's streams, and a way to close it."""

    request: Received
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    server: ScriptedServer
    close: bool = False  # set by the handler: close the connection once it returns

    async def send(self, *parts: bytes) -> None:
        """Write each part separately, draining after each."""
        for part in parts:
            self.writer.write(part)
            await self.writer.drain()

    async def trickle(self, data: bytes, step: int = 1) -> None:
        """Write ``data`` ``step`` bytes at a time, letting the loop run between writes."""
        for start in range(0, len(data), step):
            self.writer.write(data[start : start + step])
            await self.writer.drain()
            await asyncio.sleep(0)
            await asyncio.sleep(0)


Handler = Callable[[Exchange], Awaitable[None]]


@dataclass
class ScriptedServer:
    """An HTTP/1.1 server on 127.0.0.1:0; ``handler`` writes each answer."""

    handler: Handler
    requests: list[Received] = field(default_factory=list)
    accepted: int = 0
    open: int = 0
    peak_open: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0
    errors: list[BaseException] = field(default_factory=list)
    url: str = ""
    port: int = 0
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)
    _server: asyncio.Server | None = None
    _none_open: asyncio.Event = field(default_factory=asyncio.Event)

    async def __aenter__(self) -> ScriptedServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._none_open.set()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()
        if kind is None and self.errors:
            raise AssertionError(f"the server saw errors: {self.errors!r}")

    async def wait_until_all_closed(self) -> None:
        """Wait (at most 0.5 s) until every accepted connection has been closed."""
        async with asyncio.timeout(0.5):
            await self._none_open.wait()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        index = self.accepted
        self.accepted += 1
        self.open += 1
        self.peak_open = max(self.peak_open, self.open)
        self._none_open.clear()
        try:
            while (request := await read_request(reader, index)) is not None:
                self.requests.append(request)
                exchange = Exchange(request, reader, writer, self)
                self.in_flight += 1
                self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
                try:
                    await self.handler(exchange)
                finally:
                    self.in_flight -= 1
                if exchange.close:
                    break
        except asyncio.CancelledError:
            pass  # the test is over (our own task: nothing else waits on it)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away mid-request: the test decides whether that is right
        except BaseException as exc:
            self.errors.append(exc)
        finally:
            self.open -= 1
            if not self.open:
                self._none_open.set()
            self._writers.discard(writer)
            writer.close()
            self._tasks.discard(task)


# --- answers ---------------------------------------------------------------------------------


def answer(
    body: bytes = b"",
    *,
    status: bytes = b"200 OK",
    headers: tuple[bytes, ...] = (),
    version: bytes = b"HTTP/1.1",
    length: bool = True,
) -> bytes:
    """An answer with a Content-Length (unless ``length=False``) and the given header lines."""
    lines = [version + b" " + status, *headers]
    if length:
        lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def chunked(
    chunks: list[bytes],
    *,
    headers: tuple[bytes, ...] = (),
    extensions: bool = False,
    trailers: tuple[bytes, ...] = (),
) -> bytes:
    """A chunked answer, optionally with chunk extensions and trailer lines."""
    head = b"\r\n".join([b"HTTP/1.1 200 OK", *headers, b"Transfer-Encoding: chunked"]) + b"\r\n\r\n"
    parts = [head]
    for number, chunk in enumerate(chunks):
        extension = b';ext=%d;name="q"' % number if extensions else b""
        parts.append(b"%X%s\r\n%s\r\n" % (len(chunk), extension, chunk))
    parts.append(b"0" + (b";last=1" if extensions else b"") + b"\r\n")
    parts.extend(trailer + b"\r\n" for trailer in trailers)
    parts.append(b"\r\n")
    return b"".join(parts)


def replying(data: bytes, *, close: bool = False) -> Handler:
    """A handler that writes ``data`` in one go (then closes the connection if ``close``)."""

    async def handle(exchange: Exchange) -> None:
        await exchange.send(data)
        exchange.close = close

    return handle


async def echo_target(exchange: Exchange) -> None:
    await exchange.send(answer(exchange.request.target.encode()))


def client(max_connections: int = 30, **timeouts: float) -> httpx.AsyncClient:
    timeout = httpx.Timeout(timeouts.pop("timeout", 2.0), **timeouts)
    return httpx.AsyncClient(transport=FastTransport(max_connections=max_connections), timeout=timeout)


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def stream_body(parts: list[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


# --- framing ---------------------------------------------------------------------------------


async def test_content_length_answer() -> None:
    document = {"status_code": 20000, "tasks": [{"id": 1}]}
    body = json.dumps(document).encode()
    data = answer(
        body,
        status=b"201 Created",
        headers=(b"Content-Type: application/json", b"Set-Cookie: a=1", b"Set-Cookie: b=2", b"X-Pad:   v  "),
    )
    async with ScriptedServer(replying(data)) as server, client() as http:
        response = await http.get(server.url + "/doc")
    assert response.status_code == 201
    assert response.reason_phrase == "Created"
    assert response.json() == document
    assert response.content == body
    assert response.headers["content-type"] == "application/json"
    assert response.headers.get_list("set-cookie") == ["a=1", "b=2"]
    assert response.headers["x-pad"] == "v"
    assert response.http_version == "HTTP/1.1"


@pytest.mark.parametrize("status", [b"200 OK", b"204 No Content", b"404 Not Found"])
async def test_empty_content_length_answer(status: bytes) -> None:
    async with ScriptedServer(replying(answer(b"", status=status))) as server, client() as http:
        first = await http.get(server.url + "/")
        second = await http.get(server.url + "/")
    assert first.status_code == second.status_code == int(status[:3])
    assert first.content == second.content == b""
    assert server.accepted == 1


async def test_chunked_answer_with_extensions_and_trailers() -> None:
    chunks = [b"hello", b", ", b"w" * 26, b"x" * 300, b"!"]
    data = chunked(
        chunks,
        headers=(b"Content-Type: text/plain",),
        extensions=True,
        trailers=(b"X-Checksum: abc", b"X-Other: 2"),
    )
    async with ScriptedServer(replying(data)) as server, client() as http:
        first = await http.get(server.url + "/one")
        second = await http.get(server.url + "/two")  # the parser is back at a clean state
    assert first.status_code == second.status_code == 200
    assert first.content == second.content == b"".join(chunks)
    assert first.headers["content-type"] == "text/plain"
    assert server.accepted == 1


@pytest.mark.parametrize(
    "size_line",
    [b"1a", b"1A", b"01A", b"1A;name=value", b'1A;a=1;b="x;y"', b"1A ;ws"],
    ids=["lower", "upper", "leading-zero", "extension", "quoted-extension", "space-before-ext"],
)
async def test_chunk_size_forms(size_line: bytes) -> None:
    data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + size_line + b"\r\n" + b"z" * 26
    data += b"\r\n0\r\n\r\n"
    async with ScriptedServer(replying(data)) as server, client() as http:
        response = await http.get(server.url + "/")
    assert response.content == b"z" * 26


async def test_chunked_answer_with_empty_body() -> None:
    data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    async with ScriptedServer(replying(data)) as server, client() as http:
        responses = [await http.get(server.url + "/") for _ in range(3)]
    assert [r.content for r in responses] == [b""] * 3
    assert server.accepted == 1


async def test_transfer_encoding_chunked_wins_over_content_length() -> None:
    data = (
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n0\r\n\r\n"
    )
    async with ScriptedServer(replying(data)) as server, client() as http:
        response = await http.get(server.url + "/")
    assert response.content == b"abcde"


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
@pytest.mark.parametrize("framing", ["length", "chunked"])
async def test_compressed_answer_is_decoded_by_httpx(encoding: str, framing: str) -> None:
    document = {"status_code": 20000, "items": [{"target": f"site{i}.com"} for i in range(200)]}
    raw = json.dumps(document).encode()
    compressed = gzip.compress(raw) if encoding == "gzip" else zlib.compress(raw)
    headers = (b"Content-Type: application/json", b"Content-Encoding: " + encoding.encode())
    if framing == "length":
        data = answer(compressed, headers=headers)
    else:
        pieces = [compressed[i : i + 100] for i in range(0, len(compressed), 100)]
        data = chunked(pieces, headers=headers)
    async with ScriptedServer(replying(data)) as server, client() as http:
        response = await http.get(server.url + "/")
    assert response.json() == document
    assert response.headers["content-encoding"] == encoding
    assert response.num_bytes_downloaded == len(compressed)


async def test_answer_without_framing_is_read_until_close() -> None:
    body = b"no length, no chunks: everything until the server closes\n" * 50
    data = answer(body, headers=(b"Content-Type: text/plain",), length=False)
    async with ScriptedServer(replying(data, close=True)) as server, client() as http:
        first = await http.get(server.url + "/")
        second = await http.get(server.url + "/")
    assert first.content == second.content == body
    assert server.accepted == 2
    assert [r.connection for r in server.requests] == [0, 1]


async def test_http_1_0_answer_closes_the_connection() -> None:
    data = answer(b"ok", version=b"HTTP/1.0")  # no keep-alive in HTTP/1.0 unless negotiated
    async with ScriptedServer(replying(data)) as server, client() as http:
        responses = [await http.get(server.url + "/") for _ in range(2)]
    assert [r.content for r in responses] == [b"ok", b"ok"]
    assert server.accepted == 2


# --- connections -----------------------------------------------------------------------------


async def test_keep_alive_reuses_one_connection_for_sequential_requests() -> None:
    async with ScriptedServer(echo_target) as server, client() as http:
        for number in range(50):
            response = await http.get(server.url + f"/n/{number}")
            assert response.text == f"/n/{number}"
    assert server.accepted == 1
    assert len(server.requests) == 50
    assert {r.connection for r in server.requests} == {0}
    for request in server.requests:
        assert request.values("connection") in ([], ["keep-alive"])


@pytest.mark.parametrize("server_closes", [True, False], ids=["server-closes", "server-keeps-open"])
@pytest.mark.parametrize("token", [b"close", b"Close", b"keep-alive, close"])
async def test_connection_close_answer_is_not_reused(server_closes: bool, token: bytes) -> None:
    # Even when the server leaves the socket open, "Connection: close" means: do not reuse it.
    data = answer(b"bye", headers=(b"Connection: " + token,))
    async with ScriptedServer(replying(data, close=server_closes)) as server, client() as http:
        responses = [await http.get(server.url + f"/{i}") for i in range(3)]
        await server.wait_until_all_closed()  # the client closed its side of each one too
    assert [r.content for r in responses] == [b"bye"] * 3
    assert server.accepted == 3
    assert [r.connection for r in server.requests] == [0, 1, 2]


async def test_idle_connection_closed_by_the_server_is_not_reused() -> None:
    # The server drops the connection after answering without saying so (an idle timeout).
    async with ScriptedServer(replying(answer(b"ok"), close=True)) as server, client() as http:
        first = await http.get(server.url + "/")
        await server.wait_until_all_closed()
        await asyncio.sleep(0.05)  # let the client's loop see the FIN
        second = await http.get(server.url + "/")
    assert first.content == second.content == b"ok"
    assert server.accepted == 2


async def test_unsolicited_bytes_on_an_idle_connection_retire_it() -> None:
    sent = asyncio.Event()

    async def handle(exchange: Exchange) -> None:
        await exchange.send(answer(b"real"))
        if exchange.request.connection == 0:
            await asyncio.sleep(0.02)
            await exchange.send(answer(b"stray"))  # nobody asked for this
            sent.set()

    async with ScriptedServer(handle) as server, client() as http:
        first = await http.get(server.url + "/")
        await sent.wait()
        await server.wait_until_all_closed()  # the client dropped the connection on the stray bytes
        second = await http.get(server.url + "/")
    assert first.content == second.content == b"real"
    assert server.accepted == 2


@pytest.mark.parametrize("max_connections", [1, 4, 30])
async def test_concurrent_requests_never_exceed_max_connections(max_connections: int) -> None:
    full = asyncio.Event()  # set once max_connections requests are being served at once

    async def handle(exchange: Exchange) -> None:
        if exchange.server.in_flight >= max_connections:
            full.set()
        with contextlib.suppress(TimeoutError):  # hold answers until the pool is full (or 0.5 s)
            async with asyncio.timeout(0.5):
                await full.wait()
        await asyncio.sleep(0.002)
        await exchange.send(answer(exchange.request.target.encode()))

    async with ScriptedServer(handle) as server, client(max_connections=max_connections) as http:
        responses = await asyncio.gather(*(http.get(server.url + f"/r/{i}") for i in range(30)))
        # A second wave reuses the pool instead of opening more connections.
        again = await asyncio.gather(*(http.get(server.url + f"/s/{i}") for i in range(30)))
    assert [r.text for r in responses] == [f"/r/{i}" for i in range(30)]  # no answer crossed over
    assert [r.text for r in again] == [f"/s/{i}" for i in range(30)]
    assert server.peak_open <= max_connections
    assert server.accepted <= max_connections
    assert server.peak_in_flight == max_connections  # the limit is actually used


async def test_pool_timeout_when_every_connection_is_busy() -> None:
    arrived, release = asyncio.Event(), asyncio.Event()

    async def handle(exchange: Exchange) -> None:
        arrived.set()
        await release.wait()
        await exchange.send(answer(b"late"))

    async with ScriptedServer(handle) as server, client(max_connections=1, pool=0.05) as http:
        busy = asyncio.create_task(http.get(server.url + "/busy"))
        await arrived.wait()
        with pytest.raises(httpx.PoolTimeout):
            await http.get(server.url + "/waiting")
        release.set()
        assert (await busy).content == b"late"
    assert server.accepted == 1


async def test_cancelled_request_closes_its_connection_and_frees_its_slot() -> None:
    half_sent = asyncio.Event()

    async def handle(exchange: Exchange) -> None:
        if exchange.request.target == "/stuck":
            await exchange.send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
            half_sent.set()
            return  # the rest never comes
        await exchange.send(answer(b"fine"))

    async with ScriptedServer(handle) as server, client(max_connections=1, pool=0.5) as http:
        stuck = asyncio.create_task(http.get(server.url + "/stuck"))
        await half_sent.wait()
        await asyncio.sleep(0.01)  # the client is now mid-body
        stuck.cancel()
        with pytest.raises(asyncio.CancelledError):
            await stuck
        response = await http.get(server.url + "/next")  # a leaked slot would time out here
    assert response.content == b"fine"
    assert server.accepted == 2
    assert server.requests[1].connection == 1


# --- interim answers -------------------------------------------------------------------------


@pytest.mark.parametrize("delivery", ["together", "separate", "trickle"])
async def test_interim_100_continue_is_skipped(delivery: str) -> None:
    interim = b"HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n"
    final = answer(b"the real answer", headers=(b"X-Final: yes",))

    async def handle(exchange: Exchange) -> None:
        if delivery == "together":
            await exchange.send(interim + final)
        elif delivery == "separate":
            await exchange.send(interim)
            await asyncio.sleep(0.01)
            await exchange.send(final)
        else:
            await exchange.trickle(interim + final, step=3)

    async with ScriptedServer(handle) as server, client() as http:
        response = await http.post(server.url + "/", content=b"payload")
        again = await http.post(server.url + "/", content=b"payload")
    assert response.status_code == again.status_code == 200
    assert response.content == again.content == b"the real answer"
    assert "x-interim" not in response.headers
    assert response.headers["x-final"] == "yes"
    assert server.accepted == 1


async def test_several_interim_answers_before_the_final_one() -> None:
    data = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        + b"HTTP/1.1 102 Processing\r\n\r\n"
        + b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
        + answer(b"done")
    )
    async with ScriptedServer(replying(data)) as server, client() as http:
        response = await http.get(server.url + "/")
    assert (response.status_code, response.content) == (200, b"done")
    assert "link" not in response.headers


# --- failures --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "partial",
    [
        b"",
        b"HTTP/1.1 200 OK\r\nContent-",
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 99,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nonly part",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Trailer: 1\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\n",
    ],
    ids=[
        "nothing",
        "mid-head",
        "head-only",
        "one-byte-short",
        "mid-chunk",
        "before-last-chunk",
        "before-final-crlf",
        "mid-trailers",
        "interim-only",
    ],
)
async def test_server_closing_before_the_answer_ends_is_a_protocol_error(partial: bytes) -> None:
    async def handle(exchange: Exchange) -> None:
        if exchange.request.target == "/cut":
            await exchange.send(partial)
            exchange.close = True
        else:
            await exchange.send(answer(b"whole"))

    async with ScriptedServer(handle) as server, client() as http:
        with pytest.raises(httpx.RemoteProtocolError) as caught:
            await http.get(server.url + "/cut")
        assert caught.value.request.url == server.url + "/cut"
        response = await http.get(server.url + "/after")  # the transport is still usable
    assert response.content == b"whole"
    assert server.accepted == 2


@pytest.mark.parametrize(
    "garbage",
    [
        b"garbage\r\n\r\n",
        b"\r\n\r\n",
        b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
        b"HTTP/1.1 abc OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1.5\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
    ],
    ids=[
        "garbage",
        "empty-status-line",
        "ssh-banner",
        "non-numeric-status",
        "missing-status",
        "non-numeric-length",
        "fractional-length",
        "non-hex-chunk-size",
        "empty-chunk-size",
    ],
)
async def test_garbage_answer_is_a_protocol_error(garbage: bytes) -> None:
    async def handle(exchange: Exchange) -> None:
        # The server keeps the connection open: the error must come from parsing alone.
        await exchange.send(garbage if exchange.request.target == "/bad" else answer(b"good"))

    async with ScriptedServer(handle) as server, client(read=0.5) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get(server.url + "/bad")
        response = await http.get(server.url + "/good")
    assert response.content == b"good"
    assert server.accepted == 2  # the broken connection was dropped, not reused


@pytest.mark.parametrize(
    "malformed",
    [
        pytest.param(
            b"ICY 200 OK\r\nContent-Length: 3\r\n\r\nabc",
            id="not-http-version",
        ),
        pytest.param(
            b"HTTP/1.1 99999 OK\r\nContent-Length: 3\r\n\r\nabc",
            id="five-digit-status",
        ),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nabc",
            id="negative-length",
        ),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nContent-Length: 1_0\r\n\r\n0123456789",
            id="underscore-length",
        ),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-2\r\n0\r\n\r\n",
            id="negative-chunk-size",
        ),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY0\r\n\r\n",
            id="chunk-without-crlf",
        ),
    ],
)
async def test_malformed_framing_is_a_protocol_error(malformed: bytes) -> None:
    async with ScriptedServer(replying(malformed, close=True)) as server, client(read=0.3) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get(server.url + "/")


async def test_read_timeout_and_the_connection_is_not_reused() -> None:
    async def handle(exchange: Exchange) -> None:
        if exchange.request.target == "/silent":
            return  # read the request, never answer
        await exchange.send(answer(b"prompt"))

    async with ScriptedServer(handle) as server:
        async with httpx.AsyncClient(transport=FastTransport(), timeout=httpx.Timeout(5, read=0.2)) as http:
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(httpx.ReadTimeout) as caught:
                await http.get(server.url + "/silent")
            assert 0.15 <= loop.time() - started < 0.6
            assert caught.value.request.url.path == "/silent"
            response = await http.get(server.url + "/prompt")
        await server.wait_until_all_closed()
    assert response.content == b"prompt"
    assert server.accepted == 2
    assert [r.connection for r in server.requests] == [0, 1]


async def test_read_timeout_mid_body() -> None:
    async def handle(exchange: Exchange) -> None:
        if exchange.request.target == "/stall":
            await exchange.send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345")
            return
        await exchange.send(answer(b"0123456789"))

    async with ScriptedServer(handle) as server, client(read=0.2) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.get(server.url + "/stall")
        response = await http.get(server.url + "/whole")
    assert response.content == b"0123456789"
    assert server.accepted == 2


async def test_connection_refused_is_a_connect_error() -> None:
    url = f"http://127.0.0.1:{unused_port()}/x"
    async with client() as http:
        with pytest.raises(httpx.ConnectError) as caught:
            await http.get(url)
    assert caught.value.request.url == url


# --- byte-level delivery and size ------------------------------------------------------------


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every read the transport's protocol gets (``data_received``), in order."""
    sizes: list[int] = []
    original = transport_module._Connection.data_received

    def counting(self: transport_module._Connection, data: bytes) -> None:
        sizes.append(len(data))
        original(self, data)

    monkeypatch.setattr(transport_module._Connection, "data_received", counting)
    return sizes


@pytest.mark.parametrize(
    "framing",
    [
        "length",
        pytest.param("chunked"),
        "eof",
    ],
)
async def test_answer_written_one_byte_at_a_time(framing: str, reads: list[int]) -> None:
    body = bytes(range(256)) + b"\r\n\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n" + b"tail"
    if framing == "length":
        data = answer(body, headers=(b"X-A: 1", b"X-B: 2"))
    elif framing == "chunked":
        data = chunked([body[:100], body[100:101], body[101:]], extensions=True, trailers=(b"X-T: 1",))
    else:
        data = answer(body, headers=(b"X-A: 1",), length=False)

    async def handle(exchange: Exchange) -> None:
        await exchange.trickle(data)
        exchange.close = framing == "eof"

    async with ScriptedServer(handle) as server, client() as http:
        first = await http.get(server.url + "/")
        second = await http.get(server.url + "/")
    assert first.content == second.content == body
    assert server.accepted == (2 if framing == "eof" else 1)
    assert len(reads) > len(data)  # the answers really did arrive in many tiny reads


_SPLIT_CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n3\r\nabc\r\n"
_SPLIT_CHUNKED_END = b"0\r\nX-T: 1\r\n\r\n"
_SPLIT_ANSWERS = {
    "length": (answer(b"hello, world", headers=(b"X-A: 1",)), b"hello, world"),
    "interim": (b"HTTP/1.1 100 Continue\r\n\r\n" + answer(b"hello, world"), b"hello, world"),
    "eof": (answer(b"hello, world", length=False), b"hello, world"),
    "chunked": (_SPLIT_CHUNKED + _SPLIT_CHUNKED_END, b"helloabc"),
}


async def _split_in_two(name: str, cuts: range, reads: list[int]) -> list[int]:
    """Send answer ``name`` in two writes at each of ``cuts``; return the cuts that went wrong."""
    data, body = _SPLIT_ANSWERS[name]
    eof = name == "eof"

    async def handle(exchange: Exchange) -> None:
        cut = int(exchange.request.target.strip("/"))
        await exchange.send(data[:cut])
        await asyncio.sleep(0.001)
        await exchange.send(data[cut:])
        exchange.close = eof

    failed = []
    async with ScriptedServer(handle) as server, client(read=0.3) as http:
        for cut in cuts:
            before = len(reads)
            try:
                response = await http.get(f"{server.url}/{cut}")
            except httpx.HTTPError:
                failed.append(cut)
                continue
            if response.content != body:
                failed.append(cut)
            assert len(reads) - before >= 2  # the two halves really did arrive apart
    return failed


@pytest.mark.parametrize("name", ["length", "interim", "eof"])
async def test_answer_split_in_two_anywhere(name: str, reads: list[int]) -> None:
    assert await _split_in_two(name, range(1, len(_SPLIT_ANSWERS[name][0])), reads) == []


async def test_chunked_answer_split_in_two_before_the_last_chunk_line_ends(reads: list[int]) -> None:
    # Up to a cut that leaves "0\r" in the first half: every split parses.
    cuts = range(1, len(_SPLIT_CHUNKED) + 2)
    assert await _split_in_two("chunked", cuts, reads) == []


async def test_chunked_answer_split_in_two_after_the_last_chunk_line(reads: list[int]) -> None:
    # A cut anywhere after "0\r\n" (in the trailers or their final CRLF): every one fails today.
    start = len(_SPLIT_CHUNKED) + 3
    cuts = range(start, len(_SPLIT_ANSWERS["chunked"][0]))
    assert await _split_in_two("chunked", cuts, reads) == []


@pytest.mark.parametrize("framing", ["length", "chunked", "eof"])
async def test_large_answer(framing: str) -> None:
    body = random.Random(framing).randbytes(4 * 1024 * 1024 + 7)
    if framing == "length":
        data = answer(body)
    elif framing == "chunked":
        step = 65_536 + 13
        data = chunked([body[i : i + step] for i in range(0, len(body), step)], extensions=True)
    else:
        data = answer(body, length=False)
    async with ScriptedServer(replying(data, close=framing == "eof")) as server, client() as http:
        response = await http.get(server.url + "/big")
    assert len(response.content) == len(body)
    assert hashlib.sha256(response.content).digest() == hashlib.sha256(body).digest()


async def test_large_request_body() -> None:
    payload = random.Random(1).randbytes(4 * 1024 * 1024 + 3)

    async def handle(exchange: Exchange) -> None:
        await exchange.send(answer(hashlib.sha256(exchange.request.body).hexdigest().encode()))

    async with ScriptedServer(handle) as server, client() as http:
        response = await http.post(server.url + "/upload", content=payload)
    assert response.text == hashlib.sha256(payload).hexdigest()
    assert server.requests[0].values("content-length") == [str(len(payload))]


# --- the request on the wire -----------------------------------------------------------------


async def test_request_bytes_are_a_correct_http_1_1_request() -> None:
    body = json.dumps([{"targets": ["a.com", "b.com"]}]).encode()
    async with ScriptedServer(replying(answer(b"{}"))) as server, client() as http:
        response = await http.post(
            server.url + "/v3/backlinks/bulk_backlinks/live?a=1&b=x%20y&c=%C3%A9",
            content=body,
            headers=[
                ("X-Custom", "yes"),
                ("X-Dup", "1"),
                ("X-Dup", "2"),
                ("Content-Type", "application/json"),
            ],
            auth=("login", "pass:word"),
        )
    assert response.status_code == 200
    (received,) = server.requests
    head, _, rest = received.raw.partition(b"\r\n\r\n")
    assert rest == body == received.body
    assert head.split(b"\r\n")[0] == b"POST /v3/backlinks/bulk_backlinks/live?a=1&b=x%20y&c=%C3%A9 HTTP/1.1"
    assert received.values("host") == [f"127.0.0.1:{server.port}"]
    assert received.values("content-length") == [str(len(body))]
    assert received.values("transfer-encoding") == []
    assert received.values("x-custom") == ["yes"]
    assert received.values("x-dup") == ["1", "2"]
    assert received.values("content-type") == ["application/json"]
    basic = base64.b64encode(b"login:pass:word").decode()
    assert received.values("authorization") == [f"Basic {basic}"]
    # Exactly the headers httpx put on the request, in its order, nothing added or dropped.
    assert [(k.encode(), v.encode()) for k, v in received.headers] == list(response.request.headers.raw)


async def test_request_without_body_and_with_json_body() -> None:
    async with ScriptedServer(replying(answer(b"ok"))) as server, client() as http:
        await http.get(server.url + "/plain")
        await http.post(server.url + "/json", json={"k": "é"})
        await http.delete(server.url + "/")
    get, post, delete = server.requests
    assert (get.method, get.target, get.body) == ("GET", "/plain", b"")
    assert get.values("content-length") == [] and get.raw.endswith(b"\r\n\r\n")
    assert (post.method, post.target) == ("POST", "/json")
    assert json.loads(post.body) == {"k": "é"}
    assert post.values("content-length") == [str(len(post.body))]
    assert (delete.method, delete.target) == ("DELETE", "/")
    assert {r.connection for r in server.requests} == {0}


async def test_streamed_request_body_is_framed() -> None:
    async with ScriptedServer(echo_target) as server, client(read=0.3) as http:
        await http.post(server.url + "/stream", content=stream_body([b"hello", b"world"]))
    assert server.requests[0].body == b"helloworld"


# --- answers without a body (RFC 9112 §6.3) --------------------------------------------------


async def test_head_answer_has_no_body_despite_content_length() -> None:
    data = b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"
    async with ScriptedServer(replying(data)) as server, client(read=0.2) as http:
        response = await http.head(server.url + "/")
    assert (response.status_code, response.content) == (200, b"")


@pytest.mark.parametrize("status", [b"204 No Content", b"304 Not Modified"])
async def test_204_and_304_have_no_body_without_framing(status: bytes) -> None:
    data = b"HTTP/1.1 " + status + b"\r\n\r\n"  # keep-alive, no Content-Length: nothing follows
    async with ScriptedServer(replying(data)) as server, client(read=0.2) as http:
        response = await http.get(server.url + "/")
    assert (response.status_code, response.content) == (int(status[:3]), b"")


# --- timeout semantics and truncation --------------------------------------------------------


async def test_read_timeout_is_per_read_like_httpx() -> None:
    async def handle(exchange: Exchange) -> None:
        await exchange.send(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
        for byte in b"abcde":  # 0.4 s in all, never more than 0.08 s between two reads
            await asyncio.sleep(0.08)
            await exchange.send(bytes([byte]))

    async with ScriptedServer(handle) as server, client(read=0.25) as http:
        response = await http.get(server.url + "/")
    assert response.content == b"abcde"


async def test_connection_reset_during_unframed_body_is_an_error() -> None:
    async def handle(exchange: Exchange) -> None:
        await exchange.send(b"HTTP/1.1 200 OK\r\n\r\npartial")
        await asyncio.sleep(0.1)  # the client has read the head and the start of the body
        sock = exchange.writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        exchange.writer.transport.abort()  # RST, not FIN: the body did not end here
        exchange.close = True

    async with ScriptedServer(handle) as server, client() as http:
        with pytest.raises(httpx.TransportError):
            await http.get(server.url + "/")


# --- handle_async_request directly -----------------------------------------------------------


async def test_handle_async_request_directly() -> None:
    transport = FastTransport(max_connections=2)
    async with ScriptedServer(echo_target) as server:
        timeouts = {"connect": 1.0, "read": 1.0, "write": 1.0, "pool": 1.0}
        request = httpx.Request(
            "POST", server.url + "/direct?x=1", content=b"body", extensions={"timeout": timeouts}
        )
        response = await transport.handle_async_request(request)
        assert response.status_code == 200
        assert await response.aread() == b"/direct?x=1"
        assert response.request is request
        assert response.extensions["http_version"] == b"HTTP/1.1"
        # No timeout extension at all: no deadlines, still works (and reuses the connection).
        bare = await transport.handle_async_request(httpx.Request("GET", server.url + "/bare"))
        assert await bare.aread() == b"/bare"
        assert server.accepted == 1
        assert server.requests[0].body == b"body"

        await transport.aclose()
        await server.wait_until_all_closed()  # aclose closed the idle connection
        with pytest.raises(RuntimeError):
            await transport.handle_async_request(httpx.Request("GET", server.url + "/"))


async def test_direct_request_errors_carry_the_request() -> None:
    transport = FastTransport()
    request = httpx.Request(
        "GET", f"http://127.0.0.1:{unused_port()}/", extensions={"timeout": {"connect": 1.0}}
    )
    with pytest.raises(httpx.ConnectError) as caught:
        await transport.handle_async_request(request)
    assert caught.value.request is request
    async with ScriptedServer(replying(b"nonsense\r\n\r\n")) as server:
        bad = httpx.Request("GET", server.url + "/", extensions={"timeout": {"read": 1.0}})
        with pytest.raises(httpx.RemoteProtocolError) as caught_protocol:
            await transport.handle_async_request(bad)
        assert caught_protocol.value.request is bad
        await transport.aclose()


# --- the project's emulator ------------------------------------------------------------------


@pytest.mark.loopback
async def test_post_to_the_emulator() -> None:
    from dataforseo_bulk.emulator import EmulatorConfig, serve

    async with (
        serve(EmulatorConfig()) as url,
        httpx.AsyncClient(
            base_url=url, transport=FastTransport(), auth=("emulator", "emulator-password"), timeout=5
        ) as http,
    ):
        responses = [
            await http.post("/v3/backlinks/bulk_backlinks/live", json=[{"targets": ["a.com", "b.com"]}])
            for _ in range(2)
        ]
    for response in responses:
        assert response.status_code == 200
        envelope = response.json()
        assert envelope["status_code"] == 20000
        (task,) = envelope["tasks"]
        assert task["status_code"] == 20000
        (result,) = task["result"]
        assert result["items_count"] == 2
        assert sorted(item["target"] for item in result["items"]) == ["a.com", "b.com"]
