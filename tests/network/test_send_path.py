"""The client's own calls go straight to the transport httpx chose: what ``AsyncClient.send``
would have honoured still holds (proxies from the environment, a caller's ``proxy=``, the
client's headers and timeouts), and a closed client sends nothing."""

from __future__ import annotations

import httpx
import pytest
import respx

from dataforseo_bulk import BulkClient, RetryPolicy
from dataforseo_bulk import api as api_module

from .servers import answer_ok, free_port, ok_body, raw_server

TARGETS = ["a.com", "b.com"]


def _clear_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "all_proxy"])
async def test_a_proxy_named_by_the_environment_carries_every_call(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    _clear_proxy_env(monkeypatch)
    api = f"http://localhost:{free_port()}"  # nothing listens there: only the proxy can answer
    async with raw_server(answer_ok) as proxy:
        monkeypatch.setenv(variable, proxy.url)
        async with BulkClient("login", "password", base_url=api, check_balance=False) as c:
            result = await c.bulk_backlinks(TARGETS)
    assert dict(result) == {"a.com": 7, "b.com": 7}
    # An HTTP proxy is asked for the absolute URL.
    assert proxy.connections[0].received.startswith(f"POST {api}/v3/backlinks/bulk_backlinks/live ".encode())


async def test_no_proxy_sends_the_call_direct(monkeypatch: pytest.MonkeyPatch) -> None:
    _clear_proxy_env(monkeypatch)
    async with raw_server(answer_ok) as api, raw_server(answer_ok) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        async with BulkClient("login", "password", base_url=api.url, check_balance=False) as c:
            result = await c.bulk_backlinks(TARGETS)
    assert dict(result) == {"a.com": 7, "b.com": 7}
    assert (api.requests, proxy.connections) == (1, [])


async def test_a_callers_client_with_a_proxy_carries_every_call(monkeypatch: pytest.MonkeyPatch) -> None:
    _clear_proxy_env(monkeypatch)
    api = f"http://localhost:{free_port()}"
    async with (
        raw_server(answer_ok) as proxy,
        httpx.AsyncClient(proxy=proxy.url) as http,
        BulkClient("login", "password", base_url=api, http_client=http, check_balance=False) as c,
    ):
        result = await c.bulk_backlinks(TARGETS)
    assert dict(result) == {"a.com": 7, "b.com": 7}
    assert proxy.connections[0].received.startswith(f"POST {api}/".encode())


async def test_each_call_carries_the_clients_headers_and_the_credentials() -> None:
    async with (
        raw_server(answer_ok) as api,
        BulkClient("login", "password", base_url=api.url, check_balance=False) as c,
    ):
        await c.bulk_backlinks(TARGETS)
    head = bytes(api.connections[0].received).split(b"\r\n\r\n", 1)[0].lower()
    assert b"\r\nauthorization: basic bg9naw46cgfzc3dvcmq=" in head  # login:password
    assert b"\r\ncontent-type: application/json" in head
    assert b"\r\nuser-agent: dataforseo-bulk\r\n" in head
    assert b"\r\naccept-encoding: gzip" in head  # httpx decodes what it asked for
    assert b"\r\nhost: 127.0.0.1:" in head


async def test_a_closed_client_sends_nothing() -> None:
    async with raw_server(answer_ok) as api:
        c = BulkClient(
            "login", "password", base_url=api.url, check_balance=False, retry_policy=RetryPolicy.testing()
        )
        await c.aclose()
        result = await c.bulk_backlinks(TARGETS)
    assert api.connections == []
    assert set(result.failed) == set(TARGETS)
    assert "the client has been closed" in result.failed["a.com"].reason


async def test_respx_mocks_the_default_client_at_httpx_level_too() -> None:
    # respx's "httpx" mocker replaces the client's choice of transport, which each call asks for.
    with respx.mock(using="httpx", assert_all_called=True) as router:
        route = router.post("https://api.dataforseo.com/v3/backlinks/bulk_backlinks/live").mock(
            side_effect=lambda request: httpx.Response(200, content=ok_body(request.content))
        )
        async with BulkClient("login", "password", check_balance=False) as c:
            result = await c.bulk_backlinks(TARGETS)
    assert dict(result) == {"a.com": 7, "b.com": 7}
    assert route.call_count == 1


async def test_without_httpxs_private_transport_lookup_calls_go_through_send(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A future httpx without AsyncClient._transport_for_url: the job still answers, through send.
    _clear_proxy_env(monkeypatch)
    monkeypatch.setattr(api_module, "TRANSPORT_FOR_URL", "_a_method_httpx_no_longer_has")
    async with (
        raw_server(answer_ok) as api,
        BulkClient("login", "password", base_url=api.url, check_balance=False) as c,
    ):
        result = await c.bulk_backlinks(TARGETS)
    assert dict(result) == {"a.com": 7, "b.com": 7}
    assert len(api.connections) == 1
