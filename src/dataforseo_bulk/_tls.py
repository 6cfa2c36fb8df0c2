"""One TLS context per process for the clients' own httpx transports.

Building one costs ~40 ms of CPU (OpenSSL 3 and the CA bundle): more than a short job spends,
and a third of the test suite's time when every client built its own. An ``SSLContext`` may
serve any number of connections and clients, so each CA setting of the environment
(``SSL_CERT_FILE``, ``SSL_CERT_DIR``, which httpx honours) gets one, built by httpx on first use.
"""

from __future__ import annotations

import functools
import os
import ssl

import httpx


def tls_context() -> ssl.SSLContext:
    """httpx's default context for the CA setting the environment has now."""
    return _context_for(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.cache
def _context_for(cafile: str | None, capath: str | None) -> ssl.SSLContext:
    return httpx.create_ssl_context()  # reads the same two variables itself
