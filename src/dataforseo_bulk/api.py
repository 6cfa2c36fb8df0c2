"""One API call: POST one task, read the whole answer, close it, parse it. No retries here.

Network failures become an :class:`Answer` with ``error`` set rather than an exception, so
the one retry loop in the engine sees every outcome through the same classification.
"""

from __future__ import annotations

import httpx

from .answer import Answer, parse_answer

_HEADERS = {"Content-Type": "application/json"}


async def post_task(http: httpx.AsyncClient, url: str, body: bytes, auth: httpx.Auth) -> Answer:
    try:
        response = await http.post(url, content=body, headers=_HEADERS, auth=auth)
    except httpx.TimeoutException as exc:
        return Answer(None, error=f"no answer within the timeout ({type(exc).__name__})")
    except httpx.TransportError as exc:
        # Connection refused, reset, or cut mid-answer (RemoteProtocolError, ReadError).
        return Answer(None, error=f"network error: {type(exc).__name__}: {exc}")
    # `post` has read the body and released the connection: nothing is held while we back off.
    return parse_answer(response.status_code, response.content)
