"""An in-process httpx transport that behaves like a socket for the ``drop`` fault."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .app import ConnectionDropped
from .asgi import ASGIApp

if TYPE_CHECKING:
    import httpx


def asgi_transport(app: ASGIApp) -> httpx.AsyncBaseTransport:
    """``httpx.ASGITransport(app=app)``, except that an emulated connection drop surfaces as
    ``httpx.RemoteProtocolError``, as it would over a real connection. Other faults need nothing
    special in-process; note that httpx timeouts do not apply to ASGITransport, so test the
    ``slow`` fault over :func:`~dataforseo_bulk.emulator.serve` or with ``anyio.fail_after``."""
    import httpx  # a dependency of dataforseo-bulk, but not of the emulator's server side

    class DroppingASGITransport(httpx.ASGITransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            try:
                return await super().handle_async_request(request)
            except ConnectionDropped as error:
                raise httpx.RemoteProtocolError(str(error), request=request) from error

    return DroppingASGITransport(app=app)
