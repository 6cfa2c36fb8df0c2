"""One API call: POST one task, read the whole answer, close it, parse it. No retries here.

Network failures become an :class:`Answer` with ``error`` set rather than an exception, so
the one retry loop in the engine sees every outcome through the same classification.

Two ways to send, same result: through a caller's own ``httpx.AsyncClient`` (their
configuration, event hooks and all), or — when the client owns its connection — straight
to the httpx transport with headers prepared once, which skips the per-request work of
``AsyncClient.send`` (auth flow, cookie jar, redirect loop) that a bulk job does not need.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable

import httpx

from .answer import Answer, parse_answer

#: Sends one POST body and returns what came back.
Poster = Callable[[bytes], Awaitable[Answer]]

_CONTENT_TYPE = {"Content-Type": "application/json"}


async def _read(send: Awaitable[httpx.Response]) -> Answer:
    try:
        response = await send
    except httpx.TimeoutException as exc:
        return Answer(None, error=f"no answer within the timeout ({type(exc).__name__})")
    except httpx.TransportError as exc:
        # Connection refused, reset, or cut mid-answer (RemoteProtocolError, ReadError).
        return Answer(None, error=f"network error: {type(exc).__name__}: {exc}")
    except httpx.DecodingError as exc:  # e.g. a gzip body cut short: an answer we cannot read
        return Answer(None, error=f"undecodable answer: {exc}")
    # The body has been read and the connection released: nothing is held while we back off.
    retry_after = response.headers.get("retry-after")  # a proxy's 429/503 may say how long to wait
    return parse_answer(response.status_code, response.content, retry_after=retry_after)


def client_poster(http: httpx.AsyncClient, url: str, auth: httpx.Auth) -> Poster:
    """Post through an ``httpx.AsyncClient`` (a caller's own, or one honouring proxies)."""

    def post(body: bytes) -> Awaitable[Answer]:
        return _read(http.post(url, content=body, headers=_CONTENT_TYPE, auth=auth))

    return post


def transport_poster(
    transport: httpx.AsyncBaseTransport,
    url: str,
    *,
    login: str,
    password: str,
    timeout: httpx.Timeout,
    user_agent: str,
) -> Poster:
    """Post straight to an httpx transport with the headers of every call built once."""
    token = base64.b64encode(f"{login}:{password}".encode()).decode()
    # httpx.Headers hides Authorization in its repr; nothing here is ever logged.
    headers = httpx.Headers(
        {
            "Authorization": f"Basic {token}",
            "Content-Type": "application/json",
            "Accept-Encoding": "gzip, deflate",
            "User-Agent": user_agent,
        }
    )
    target = httpx.URL(url)
    extensions = {"timeout": timeout.as_dict()}

    async def send(body: bytes) -> httpx.Response:
        request = httpx.Request("POST", target, content=body, headers=headers, extensions=extensions)
        response = await transport.handle_async_request(request)
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response

    def post(body: bytes) -> Awaitable[Answer]:
        return _read(send(body))

    return post
