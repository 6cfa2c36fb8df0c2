"""Certificates and international host names are httpx's, as the README says: a CA named by
``SSL_CERT_FILE`` or ``SSL_CERT_DIR`` is trusted (a TLS server on loopback with a certificate of
a test CA, made by trustme), a certificate nobody vouches for stops the job at once with nothing
sent or billed, and a host name in another script goes out in punycode."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
from pathlib import Path

import anyio
import pytest
import respx
import trustme
from anyio.streams.tls import TLSStream

from cli.conftest import run_cli_process
from dataforseo_bulk import APIUnreachable, BulkClient

from .servers import Conn, answer_ok, raw_server, read_head

TARGETS = ["a.com", "b.com"]
VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR")
IDN_API = "https://bücher.example"  # "xn--bcher-kva.example" in ASCII


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    return context


@pytest.fixture
def no_ca_settings(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


async def test_a_ca_named_by_ssl_cert_file_is_trusted(
    ca: trustme.CA, server_tls: ssl.SSLContext, no_ca_settings: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    no_ca_settings.setenv("SSL_CERT_FILE", str(bundle))
    async with (
        raw_server(answer_ok, tls=server_tls) as api,
        BulkClient("login", "password", base_url=api.url, check_balance=False) as c,
    ):
        result = await c.bulk_backlinks(TARGETS)
    assert dict(result) == {"a.com": 7, "b.com": 7}
    assert api.requests == 1


def _hashed_ca_directory(ca: trustme.CA, directory: Path) -> Path:
    """``directory`` as OpenSSL's ``capath`` wants it: the CA under ``<subject hash>.0``."""
    openssl = shutil.which("openssl")
    assert openssl, "the openssl command is needed to name a CA directory's file (.ci/run installs it)"
    pem = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    subject_hash = subprocess.run(
        [openssl, "x509", "-hash", "-noout", "-in", str(pem)], capture_output=True, text=True, check=True
    ).stdout.strip()
    pem.rename(directory / f"{subject_hash}.0")
    return directory


async def test_a_ca_directory_named_by_ssl_cert_dir_is_trusted(
    ca: trustme.CA, server_tls: ssl.SSLContext, no_ca_settings: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    no_ca_settings.setenv("SSL_CERT_DIR", str(_hashed_ca_directory(ca, tmp_path)))
    async with (
        raw_server(answer_ok, tls=server_tls) as api,
        BulkClient("login", "password", base_url=api.url, check_balance=False) as c,
    ):
        result = await c.bulk_backlinks(TARGETS)
    assert dict(result) == {"a.com": 7, "b.com": 7}


async def test_an_untrusted_certificate_stops_the_job_at_once_and_nothing_is_billed(
    server_tls: ssl.SSLContext, no_ca_settings: pytest.MonkeyPatch
) -> None:
    # No CA setting: the system's bundle, which does not know the test CA.
    async with (
        raw_server(answer_ok, tls=server_tls) as api,
        BulkClient("login", "password", base_url=api.url, check_balance=False) as c,
    ):
        with pytest.raises(APIUnreachable, match="CERTIFICATE_VERIFY_FAILED") as caught:
            await c.bulk_backlinks(TARGETS)
    assert f"localhost:{api.url.rsplit(':', 1)[1]}" in caught.value.error
    message = str(caught.value)
    assert "nothing was sent or billed" in message
    assert message.endswith("in SSL_CERT_FILE (or a directory of CA files in SSL_CERT_DIR)")
    stats = caught.value.result.stats
    assert (stats.calls, stats.unknown_cost_calls, stats.cost_usd) == (0, 0, 0.0)
    assert set(caught.value.result.failed) == set(TARGETS)
    assert api.requests == 0 and api.refused_handshakes >= 1  # no request ever left the client


async def test_each_ca_setting_gets_its_own_trust(
    ca: trustme.CA, server_tls: ssl.SSLContext, no_ca_settings: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A client made after the setting changed follows the new one (one context per setting)."""
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    async with raw_server(answer_ok, tls=server_tls) as api:
        no_ca_settings.setenv("SSL_CERT_FILE", str(bundle))
        async with BulkClient("login", "password", base_url=api.url, check_balance=False) as c:
            assert dict(await c.bulk_backlinks(TARGETS)) == {"a.com": 7, "b.com": 7}
        no_ca_settings.delenv("SSL_CERT_FILE")
        async with BulkClient("login", "password", base_url=api.url, check_balance=False) as c:
            with pytest.raises(APIUnreachable, match="CERTIFICATE_VERIFY_FAILED"):
                await c.bulk_backlinks(TARGETS)


async def test_the_command_line_trusts_ssl_cert_file(
    ca: trustme.CA, server_tls: ssl.SSLContext, no_ca_settings: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    source = tmp_path / "in.txt"
    source.write_text("a.com\nb.com\n")
    out = tmp_path / "out.jsonl"
    async with raw_server(answer_ok, tls=server_tls) as api:
        args = ("backlinks", str(source), "-o", str(out), "--base-url", api.url, "--no-balance-check")
        # The real command in a process of its own (its environment is this one's), run from a
        # worker thread while the server answers on this loop.
        untrusted = await anyio.to_thread.run_sync(lambda: run_cli_process(*args))
        no_ca_settings.setenv("SSL_CERT_FILE", str(bundle))
        trusted = await anyio.to_thread.run_sync(lambda: run_cli_process(*args))
    assert untrusted.returncode == 2
    assert "Traceback" not in untrusted.stderr
    (line,) = [line for line in untrusted.stderr.splitlines() if line.startswith("aborted: ")]
    assert "no call reached the API, nothing was sent or billed" in line
    assert "CERTIFICATE_VERIFY_FAILED" in line
    assert line.endswith("name its CA bundle in SSL_CERT_FILE (or a directory of CA files in SSL_CERT_DIR)")
    assert trusted.returncode == 0, trusted.stderr
    rows = [json.loads(row) for row in out.read_text().splitlines()]
    assert {row["target"]: row["backlinks"] for row in rows} == {"a.com": 7, "b.com": 7}


async def test_an_international_host_name_goes_out_in_punycode(
    ca: trustme.CA, no_ca_settings: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Through an HTTPS proxy on loopback (no DNS here knows the name): the tunnel is asked for
    the host in its ASCII form, and the certificate of that name (SNI) is verified."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        no_ca_settings.delenv(name, raising=False)
        no_ca_settings.delenv(name.lower(), raising=False)
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    no_ca_settings.setenv("SSL_CERT_FILE", str(bundle))
    site = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("xn--bcher-kva.example").configure_cert(site)
    tunnels: list[bytes] = []
    names: list[str | None] = []  # the server name each TLS client asked for (SNI)
    site.sni_callback = lambda _socket, name, _context: names.append(name)  # type: ignore[assignment,func-returns-value]

    async def https_proxy(conn: Conn) -> None:
        request = await read_head(conn)
        assert request is not None
        tunnels.append(request[0])
        await conn.stream.send(b"HTTP/1.1 200 Connection established\r\n\r\n")
        inner = await TLSStream.wrap(
            conn.stream, server_side=True, ssl_context=site, standard_compatible=False
        )
        await answer_ok(Conn(inner))

    async with raw_server(https_proxy) as proxy:
        no_ca_settings.setenv("HTTPS_PROXY", proxy.url)
        async with BulkClient("login", "password", base_url=IDN_API, check_balance=False) as c:
            result = await c.bulk_backlinks(TARGETS)
    assert dict(result) == {"a.com": 7, "b.com": 7}
    assert tunnels[0].startswith(b"CONNECT xn--bcher-kva.example:443 HTTP/1.1\r\n")
    assert names == ["xn--bcher-kva.example"]


async def test_an_international_host_name_is_what_respx_sees_in_punycode() -> None:
    url = "https://xn--bcher-kva.example/v3/backlinks/bulk_backlinks/live"
    body = {
        "status_code": 20000,
        "status_message": "Ok.",
        "cost": 0.02006,
        "tasks": [
            {
                "status_code": 20000,
                "status_message": "Ok.",
                "cost": 0.02006,
                "result": [{"items_count": 2, "items": [{"target": t, "backlinks": 3} for t in TARGETS]}],
            }
        ],
    }
    with respx.mock() as router:
        route = router.post(url).respond(json=body)
        async with BulkClient("login", "password", base_url=IDN_API, check_balance=False) as c:
            result = await c.bulk_backlinks(TARGETS)
    assert dict(result) == {"a.com": 3, "b.com": 3}
    assert route.call_count == 1
