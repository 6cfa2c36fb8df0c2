"""Small raw-socket HTTP servers on loopback, each misbehaving in one way, for the network tests.

A server is a handler of one connection (an anyio byte stream: a socket, or TLS over one) served
on a free port of 127.0.0.1 for the length of an ``async with``; it runs on whatever event loop
the test runs on (asyncio or trio). Nothing here parses HTTP beyond finding the end of one request.
"""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
from anyio.abc import ByteStream, SocketAttribute
from anyio.streams.tls import TLSStream


@dataclass
class Conn:
    """One accepted connection and every byte received on it."""

    stream: ByteStream  # a socket, or TLS over one
    received: bytearray = field(default_factory=bytearray)
    hung_up: anyio.Event = field(default_factory=anyio.Event)  # set when the client closed it


Handler = Callable[[Conn], Awaitable[None]]


@dataclass
class Server:
    """A running server: its base URL and the connections it accepted, in order."""

    url: str
    connections: list[Conn] = field(default_factory=list)
    listening: anyio.CancelScope = field(default_factory=anyio.CancelScope)  # the listening task's
    closed: anyio.Event = field(default_factory=anyio.Event)  # set once the port is closed
    refused_handshakes: int = 0  # TLS connections the client gave up before any request

    @property
    def requests(self) -> int:
        return sum(conn.received.count(b"POST /") for conn in self.connections)

    async def stop_listening(self) -> None:
        """Close the port: once this returns, every new connection is refused (the connections
        already accepted go on)."""
        self.listening.cancel()
        await self.closed.wait()


@asynccontextmanager
async def raw_server(handler: Handler, *, tls: ssl.SSLContext | None = None) -> AsyncIterator[Server]:
    """Serve ``handler`` on a free loopback port until the block ends; with ``tls`` (a server
    context), over TLS, as ``https://localhost:PORT``."""
    (tcp,) = (await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)).listeners
    port = tcp.extra(SocketAttribute.local_port)
    server = Server(f"https://localhost:{port}" if tls is not None else f"http://127.0.0.1:{port}")

    async def serve_one(stream: ByteStream) -> None:
        if tls is not None:
            try:
                # standard_compatible=False: a client may close without TLS's close_notify.
                stream = await TLSStream.wrap(
                    stream, server_side=True, ssl_context=tls, standard_compatible=False
                )
            except (ssl.SSLError, anyio.BrokenResourceError, anyio.EndOfStream, OSError):
                server.refused_handshakes += 1  # the client did not trust us: it sent nothing
                await stream.aclose()
                return
        conn = Conn(stream)
        server.connections.append(conn)
        async with stream:
            try:
                await handler(conn)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError, anyio.EndOfStream, OSError):
                conn.hung_up.set()  # what most of these tests expect the client to do

    async with anyio.create_task_group() as tg:
        tg.start_soon(_listen, tcp, serve_one, server, tg)
        yield server
        tg.cancel_scope.cancel()


async def _listen(
    listener: anyio.abc.SocketListener,
    serve_one: Callable[[ByteStream], Awaitable[None]],
    server: Server,
    tg: anyio.abc.TaskGroup,
) -> None:
    """Accept until stopped; each connection is served in ``tg``, so stopping leaves them be."""
    try:
        async with listener:
            with server.listening:
                while True:
                    tg.start_soon(serve_one, await listener.accept())
    finally:
        server.closed.set()


async def read_head(conn: Conn) -> tuple[bytes, bytes] | None:
    """The head of the next request on ``conn`` and what came after it (None: the client closed)."""
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            more = await conn.stream.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            return None
        data += more
        conn.received += more
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


async def read_request(conn: Conn) -> bytes | None:
    """The body of the next request on ``conn`` (None: the client closed it first)."""
    request = await read_head(conn)
    if request is None:
        return None
    head, body = request
    lines = head.lower().split(b"\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in lines if line.startswith(b"content-length:"))
    while len(body) < length:
        more = await conn.stream.receive()
        body += more
        conn.received += more
    return body


def ok_body(request_body: bytes) -> bytes:
    """A complete "Ok." answer for the targets of ``request_body``, each given 7 backlinks."""
    targets = json.loads(request_body)[0]["targets"]
    items = [{"target": t, "backlinks": 7} for t in targets]
    cost = 0.02 + 0.00003 * len(targets)
    task = {
        "status_code": 20000,
        "status_message": "Ok.",
        "cost": cost,
        "result": [{"items_count": len(items), "items": items}],
    }
    envelope = {"status_code": 20000, "status_message": "Ok.", "cost": cost, "tasks": [task]}
    return json.dumps(envelope).encode()


def response(body: bytes, *, head: bytes | None = None, eol: bytes = b"\r\n") -> bytes:
    """An HTTP/1.1 answer carrying ``body``: a correct one unless ``head`` (the status line and
    framing headers, each line ended) replaces its own."""
    if head is None:
        head = b"HTTP/1.1 200 OK%sContent-Length: %d%s" % (eol, len(body), eol)
    return head + b"Content-Type: application/json" + eol + eol + body


async def answer_ok(conn: Conn) -> None:
    """A well-behaved server: every request on the connection answered "Ok.", kept alive."""
    while (body := await read_request(conn)) is not None:
        await conn.stream.send(response(ok_body(body)))


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
