"""A lean HTTP/1.1 transport for httpx, made for one job: many large POSTs to one host.

httpx's own transport (httpcore) spends several milliseconds of CPU per call here: a
pure-Python connection pool scanned on every request and response, an h11 state machine,
many small reads. This one keeps a list of idle keep-alive connections per origin, writes
each request with one ``transport.write``, and parses the answer in an ``asyncio.Protocol``
as bytes arrive (Content-Length or chunked framing; gzip is left to httpx's decoders).

It implements ``httpx.AsyncBaseTransport``, so everything above it — requests, responses,
timeouts, decoding — stays httpx. It needs asyncio; when proxies are configured in the
environment (``HTTPS_PROXY`` …) or the event loop is not asyncio, the client uses httpx's
default transport instead. Any httpx transport can be chosen with ``BulkClient(transport=…)``.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Mapping

import httpx

_DEFAULT_PORTS = {"http": 80, "https": 443}
#: Close a keep-alive connection left idle this long (servers drop theirs after 60–75 s).
KEEPALIVE_EXPIRY = 15.0


_Answer = tuple[int, list[tuple[bytes, bytes]], bytes, bool]
_HEX = frozenset(b"0123456789abcdefABCDEF")


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: one exchange at a time, parsed as the bytes arrive."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._buffer = bytearray()
        self._waiter: asyncio.Future[_Answer] | None = None
        self._deadline: asyncio.Timeout | None = None
        self._read_timeout: float | None = None
        self._no_body = False
        self._reset()

    def _reset(self) -> None:
        self._buffer.clear()
        self._status = 0
        self._headers: list[tuple[bytes, bytes]] = []
        self._mode = ""  # "length", "chunked" or "eof" once the head is read
        self._length = 0
        self._keep_alive = True
        self._body = bytearray()
        # Chunked framing: -1 a size line comes next; -2 the last chunk was read, trailers and
        # an empty line come next; n > 0 bytes left of the current chunk and its CRLF.
        self._chunk_left = -1

    # --- asyncio.Protocol --------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self._waiter is None or self._waiter.done():
            self.close()  # bytes nobody asked for: this connection is no longer in a known state
            return
        if self._deadline is not None and self._read_timeout is not None:
            # httpx's read timeout bounds the wait for each read, not the whole answer.
            self._deadline.reschedule(asyncio.get_running_loop().time() + self._read_timeout)
        self._buffer += data
        try:
            self._parse()
        except (ValueError, IndexError) as exc:
            self._fail(httpx.RemoteProtocolError(f"malformed HTTP answer: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if self._mode == "eof" and exc is None:
            waiter.set_result((self._status, self._headers, bytes(self._buffer), False))
        else:
            waiter.set_exception(
                httpx.RemoteProtocolError("the server closed the connection before the answer ended")
            )

    # --- one exchange --------------------------------------------------------------------
    async def exchange(self, payload: bytes, read_timeout: float | None, *, head: bool = False) -> _Answer:
        assert self.transport is not None
        self._reset()
        self._no_body = head
        self._read_timeout = read_timeout
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(payload)
        try:
            async with asyncio.timeout(read_timeout) as self._deadline:
                return await self._waiter
        finally:
            self._waiter = None
            self._deadline = None

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _fail(self, exc: Exception) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)
        self.close()

    def _parse(self) -> None:
        buffer = self._buffer
        while not self._mode:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = bytes(buffer[:end]).split(b"\r\n")
            del buffer[: end + 4]
            version, status = lines[0].split(b" ", 2)[:2]
            if not version.startswith(b"HTTP/1.") or len(status) != 3 or not status.isdigit():
                raise ValueError(f"not an HTTP/1.x status line: {lines[0][:40]!r}")
            self._status = int(status)
            if self._status < 200:
                continue  # an interim answer (100 Continue): the real one follows
            self._read_head(version, lines[1:])
        if self._mode == "length":
            if len(buffer) >= self._length:
                self._done(bytes(buffer[: self._length]))
        elif self._mode == "chunked":
            self._parse_chunks()

    def _read_head(self, version: bytes, lines: list[bytes]) -> None:
        self._headers = headers = []
        length = -1
        chunked = False
        for line in lines:
            name, _, value = line.partition(b":")
            value = value.strip()
            headers.append((name, value))
            lowered = name.lower()
            if lowered == b"content-length":
                if not value.isdigit():  # int() would take "-1", "1_0", " +1"
                    raise ValueError(f"bad Content-Length {value[:20]!r}")
                length = int(value)
            elif lowered == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif lowered == b"connection":
                self._keep_alive = b"close" not in value.lower()
        if version != b"HTTP/1.1":
            self._keep_alive = False
        if self._no_body or self._status in (204, 304):
            self._mode = "length"  # no body by definition (RFC 9112 6.3), whatever the headers say
        elif chunked:
            self._mode = "chunked"
        elif length >= 0:
            self._mode, self._length = "length", length
        else:
            self._mode, self._keep_alive = "eof", False

    def _parse_chunks(self) -> None:
        buffer = self._buffer
        while True:
            if self._chunk_left == -1:
                end = buffer.find(b"\r\n")
                if end < 0:
                    return
                digits = bytes(buffer[:end]).split(b";", 1)[0].strip()
                if not digits or not set(digits) <= _HEX:
                    raise ValueError(f"bad chunk size {digits[:20]!r}")
                size = int(digits, 16)
                del buffer[: end + 2]
                self._chunk_left = -2 if size == 0 else size + 2
            if self._chunk_left == -2:
                end = buffer.find(b"\r\n")
                while end > 0:  # skip trailer lines
                    del buffer[: end + 2]
                    end = buffer.find(b"\r\n")
                if end == 0:
                    self._done(bytes(self._body))
                return
            if len(buffer) < self._chunk_left:
                return
            if buffer[self._chunk_left - 2 : self._chunk_left] != b"\r\n":
                raise ValueError("chunk data not followed by CRLF")
            self._body += buffer[: self._chunk_left - 2]
            del buffer[: self._chunk_left]
            self._chunk_left = -1

    def _done(self, body: bytes) -> None:
        assert self._waiter is not None
        self._waiter.set_result((self._status, self._headers, body, self._keep_alive))


class FastTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 keep-alive transport for asyncio; see the module docstring."""

    def __init__(self, *, max_connections: int = 30, verify: bool | ssl.SSLContext = True) -> None:
        self._max_connections = max_connections
        self._verify = verify
        self._ssl: ssl.SSLContext | None = verify if isinstance(verify, ssl.SSLContext) else None
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._slots: asyncio.Semaphore | None = None
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise RuntimeError("the transport is closed")
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        url = request.url
        origin = (url.scheme, url.host, url.port or _DEFAULT_PORTS.get(url.scheme, 80))
        payload = await self._encode(request)
        slots = self._slots or self._make_slots()
        try:
            async with asyncio.timeout(timeouts.get("pool")):
                await slots.acquire()
        except TimeoutError:
            raise httpx.PoolTimeout("no free connection within the pool timeout", request=request) from None
        try:
            connection = self._idle_connection(origin) or await self._connect(origin, timeouts, request)
            try:
                status, headers, body, keep_alive = await connection.exchange(
                    payload, timeouts.get("read"), head=request.method == "HEAD"
                )
            except TimeoutError:
                connection.close()
                raise httpx.ReadTimeout("no answer within the read timeout", request=request) from None
            except httpx.TransportError as exc:
                connection.close()
                exc.request = request
                raise
            except BaseException:
                connection.close()  # cancelled mid-answer: the connection's state is unknown
                raise
            if keep_alive and not connection.closed:
                connection.idle_since = time.monotonic()
                self._idle.setdefault(origin, []).append(connection)
            else:
                connection.close()
        finally:
            slots.release()
        return httpx.Response(
            status,
            headers=headers,
            stream=httpx.ByteStream(body),
            request=request,
            extensions={"http_version": b"HTTP/1.1"},
        )

    async def aclose(self) -> None:
        self._closed = True
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()

    def _make_slots(self) -> asyncio.Semaphore:
        self._slots = asyncio.Semaphore(self._max_connections)
        return self._slots

    def _idle_connection(self, origin: tuple[str, str, int]) -> _Connection | None:
        connections = self._idle.get(origin)
        now = time.monotonic()
        while connections:
            connection = connections.pop()
            if not connection.closed and now - connection.idle_since < KEEPALIVE_EXPIRY:
                return connection
            connection.close()
        return None

    async def _connect(
        self, origin: tuple[str, str, int], timeouts: dict[str, float | None], request: httpx.Request
    ) -> _Connection:
        scheme, host, port = origin
        context = self._ssl_context() if scheme == "https" else None
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeouts.get("connect")):
                _, connection = await loop.create_connection(
                    _Connection, host, port, ssl=context, server_hostname=host if context else None
                )
        except TimeoutError:
            raise httpx.ConnectTimeout(
                f"could not connect to {host}:{port} in time", request=request
            ) from None
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(f"could not connect to {host}:{port}: {exc}", request=request) from None
        return connection

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = httpx.create_ssl_context(verify=self._verify)
        return self._ssl

    @staticmethod
    async def _encode(request: httpx.Request) -> bytes:
        body = request.content if isinstance(request.stream, httpx.ByteStream) else await request.aread()
        head = [request.method.encode(), b" ", request.url.raw_path, b" HTTP/1.1\r\n"]
        for name, value in request.headers.raw:
            if name.lower() == b"transfer-encoding":
                continue  # a streamed body is read whole and sent with its length instead
            head += (name, b": ", value, b"\r\n")
        if "Content-Length" not in request.headers and (body or request.method in ("POST", "PUT", "PATCH")):
            head += (b"Content-Length: ", str(len(body)).encode(), b"\r\n")
        head.append(b"\r\n")
        return b"".join(head) + body


def proxies_configured(environ: Mapping[str, str]) -> bool:
    """True when the environment asks httpx to use a proxy (then httpx's transport is used)."""
    return any(
        environ.get(name)
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
    )
