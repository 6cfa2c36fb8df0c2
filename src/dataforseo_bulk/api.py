"""One API call: POST one task, read the whole answer, close it, parse it. No retries here.

Network failures become an :class:`Answer` with ``error`` set rather than an exception, so
the one retry loop in the engine sees every outcome through the same classification. The
answer also says whether the request can have reached the API at all (``Answer.sent``): a
call that never connected cannot have been billed.

Every call goes through an ``httpx.AsyncClient`` — the client's own (httpx's transport: httpcore
and h11, proxies, certificates and IDNA exactly as httpx does them) or a caller's — with the
headers of every call built once. The call as a whole (connect, send, wait, read) has a
deadline, so a server that trickles its answer cannot hold a slot for longer than that.

A caller's client is used through ``AsyncClient.send``, so its auth, cookies and event hooks
apply. The client's own has none of those, and for it each call is handed straight to the
transport httpx chose for the URL (its pool, or the proxy's from the environment), with the
client's headers and timeouts merged into ours once per job: ``send`` would merge them again,
run an auth flow, a redirect loop and a cookie jar for every call (~0.12 ms of CPU a call,
docs/performance.md), and log each request at INFO on the ``httpx`` logger.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable

import anyio
import httpx

from .answer import Answer, parse_answer

#: Sends one POST body and returns what came back.
Poster = Callable[[bytes], Awaitable[Answer]]

#: Failures that happen before a byte of the request is written: no connection (refused, DNS,
#: connect timeout, TLS handshake, proxy tunnel refused), no free connection in the pool, or a
#: request h11 refuses to write (e.g. CR/LF in a header value). Such a call cannot be billed.
#: Every other failure may come after the request went out, so it may have been billed.
NOT_SENT_ERRORS: tuple[type[httpx.HTTPError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
)


def poster(
    http: httpx.AsyncClient,
    url: str,
    *,
    login: str,
    password: str,
    deadline: float | None,
    own_client: bool = False,
) -> Poster:
    """Post to ``url`` through ``http``; ``deadline``: seconds for the whole call (None: none).

    ``own_client``: ``http`` is the library's own client (no auth, cookies or event hooks of a
    caller's), so each call may go straight to its transport (see the module docstring)."""
    token = base64.b64encode(f"{login}:{password}".encode()).decode()
    # Built once. httpx.Headers hides Authorization in its repr; nothing here is ever logged.
    headers = httpx.Headers({"Authorization": f"Basic {token}", "Content-Type": "application/json"})
    target = httpx.URL(url)
    where = host_of(target)
    # The direct path needs a method private to httpx; should a release drop it, calls go
    # through ``send`` as a caller's client's do (slower by ~0.1 ms, the same answers).
    direct = own_client and hasattr(http, TRANSPORT_FOR_URL)
    send = _to_transport(http, target, headers) if direct else _through_client(http, target, headers)

    async def post(body: bytes) -> Answer:
        with anyio.move_on_after(deadline) as scope:
            # The body is read whole and the connection released before this returns, so nothing
            # is held while the engine backs off.
            try:
                response = await send(body)
            except Exception as exc:  # whatever a transport raises is a failed call, never a crash
                return failed_call(exc, where)
            # A proxy's 429/503 may say how long to wait.
            retry_after = response.headers.get("retry-after")
            return parse_answer(response.status_code, response.content, retry_after=retry_after)
        # Cut at the deadline. httpcore closes a connection left mid-exchange rather than pool it.
        assert scope.cancelled_caught
        return Answer(None, error=f"no complete answer from {where} within the {deadline:g} s deadline")

    return post


_Send = Callable[[bytes], Awaitable[httpx.Response]]

# httpx's own choice of transport for a URL (AsyncClient's, private to httpx, there since 0.18).
TRANSPORT_FOR_URL = "_transport_for_url"


def _through_client(http: httpx.AsyncClient, url: httpx.URL, headers: httpx.Headers) -> _Send:
    """Each call through ``http.send``: a caller's client, with its hooks, cookies and proxies."""

    async def send(body: bytes) -> httpx.Response:
        request = http.build_request("POST", url, content=body, headers=headers)
        # auth=None: the Authorization header is the only one (a caller's client auth must not
        # replace it).
        return await http.send(request, auth=None)

    return send


def _to_transport(http: httpx.AsyncClient, url: httpx.URL, headers: httpx.Headers) -> _Send:
    """Each call handed to the transport ``http`` would use for ``url``, as ``http.send`` does
    it for a client with no auth, cookies, redirects to follow or event hooks: the request
    carries the client's headers (User-Agent, Accept-Encoding, ...) and its timeouts, merged
    once; the answer is read (and decoded) whole, or closed on any failure."""
    merged = http.headers.copy()
    merged.update(headers)
    extensions = {"timeout": http.timeout.as_dict()}

    async def send(body: bytes) -> httpx.Response:
        if http.is_closed:  # what http.send says
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        request = httpx.Request("POST", url, content=body, headers=merged, extensions=extensions)
        # httpx's own choice of transport for the URL: its pool, or the proxy the environment
        # names (HTTPS_PROXY, ALL_PROXY, NO_PROXY). Asked each call, as http.send asks it (a
        # method private to httpx, there since 0.18: tests/network/test_send_path.py fails if
        # it goes or stops honouring the environment).
        transport: httpx.AsyncBaseTransport = getattr(http, TRANSPORT_FOR_URL)(url)
        response = await transport.handle_async_request(request)
        response.request = request
        try:
            await response.aread()
        except BaseException:
            await response.aclose()
            raise
        return response

    return send


def host_of(url: httpx.URL) -> str:
    """``host:port`` of ``url``, as messages name the API."""
    return f"{url.host}:{url.port or (443 if url.scheme == 'https' else 80)}"


def failed_call(exc: Exception, where: str) -> Answer:
    """What a call that raised ``exc`` (talking to ``where``) comes to: ``sent`` is False only
    when the request certainly never left."""
    name = type(exc).__name__
    detail = f"{name}: {exc}" if str(exc) else name
    if _never_sent(exc):
        return Answer(None, error=f"could not send to {where}: {detail}", sent=False)
    if isinstance(exc, httpx.TimeoutException):
        return Answer(None, error=f"no answer from {where} within the timeout ({detail})")
    if isinstance(exc, httpx.DecodingError):  # e.g. a gzip body cut short: an answer we cannot read
        return Answer(None, error=f"undecodable answer from {where}: {detail}")
    # Reset, cut mid-answer, or an answer h11 refuses to read (RemoteProtocolError: bad status
    # line, conflicting Content-Length, unknown Transfer-Encoding, oversized head); or anything
    # else a caller's transport raised.
    return Answer(None, error=f"network error talking to {where}: {detail}")


#: Libraries whose exceptions an httpx "never sent" error may be raised from and still be
#: believed: httpcore (httpx's own transport raises each where it says) and respx (a mock raises
#: exactly what the test told it to).
_TRUSTED_SOURCES = ("httpcore", "respx")


def _never_sent(exc: Exception) -> bool:
    """Whether ``exc`` proves the request never left. Another library's mapping of its own
    errors onto httpx's is not believed: httpx-aiohttp reports a connection dropped after the
    request went out as ``ConnectTimeout``."""
    if not isinstance(exc, NOT_SENT_ERRORS):
        return False
    cause = exc.__cause__
    return cause is None or type(cause).__module__.split(".")[0] in _TRUSTED_SOURCES
