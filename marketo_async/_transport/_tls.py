"""The TLS context a client verifies servers with: one per process, none loaded for plain http.

Loading the certificate authorities (certifi's bundle, or ``SSL_CERT_FILE``/``SSL_CERT_DIR``)
takes tens of milliseconds, and httpx does it for every client it builds: the CLI's reachability
probe and the client itself each paid it. The verified context is built once and shared (an
``ssl.SSLContext`` may serve many connections, clients and threads). A plain ``http://`` base
URL (a local emulator: the only host where http is allowed) never speaks TLS; its clients get a
context that trusts no authority, so a TLS connection it might still make (through a proxy) is
refused rather than trusted unchecked.
"""

from __future__ import annotations

import functools
import os
import ssl

import httpx

__all__ = ["tls_context"]


def tls_context(base_url: str | httpx.URL | None = None) -> ssl.SSLContext:
    """The context for a client of ``base_url``: httpx's verified default, loaded once per
    process (and again only if ``SSL_CERT_FILE``/``SSL_CERT_DIR`` change); for ``http://``, a
    context with nothing loaded that verifies (and so refuses) any certificate."""
    if base_url is not None and httpx.URL(base_url).scheme == "http":
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies, with no authority to trust
    return _verified(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.lru_cache(maxsize=4)
def _verified(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    # httpx reads the two variables itself; they are the cache's key so a change is honoured.
    return httpx.create_ssl_context()
