"""TLS: the certificate authorities are loaded once per process, never for plain http, and
verification is never weakened."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator

import anyio
import certifi
import click
import pytest

from marketo_async import MarketoClient
from marketo_async._transport._tls import _verified, tls_context
from marketo_async.cli._connect import check_reachable
from marketo_async.leadgen import LeadGenClient


@pytest.fixture
def ca_loads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """Each load of certificate authorities into any context, from a cold start."""
    loads: list[object] = []
    load = ssl.SSLContext.load_verify_locations

    def counted(self: ssl.SSLContext, *args: object, **kwargs: object) -> None:
        loads.append(args or kwargs)
        load(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counted)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    _verified.cache_clear()
    yield loads
    _verified.cache_clear()


def _closed_port() -> int:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        return int(free.getsockname()[1])


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_the_probe_and_the_clients_of_a_process_load_the_authorities_once(
    ca_loads: list[object], backend: str
) -> None:
    url = f"https://127.0.0.1:{_closed_port()}"
    with pytest.raises(click.ClickException, match=r"cannot reach 127\.0\.0\.1"):
        anyio.run(check_reachable, url, backend=backend)
    MarketoClient(base_url=url, client_id="cid", client_secret="secret")
    MarketoClient(munchkin_id="123-ABC-456", client_id="cid", client_secret="secret")
    LeadGenClient(account_id="account", secret_key="secret")
    assert len(ca_loads) == 1


def test_a_plain_http_emulator_client_loads_no_authorities(ca_loads: list[object]) -> None:
    MarketoClient(base_url="http://127.0.0.1:8080", client_id="cid", client_secret="secret")
    assert ca_loads == []


def test_the_shared_context_verifies_certificates_and_host_names() -> None:
    context = tls_context("https://123-ABC-456.mktorest.com")
    assert context is tls_context("https://other.example.com")
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0


def test_a_plain_http_context_trusts_no_certificate() -> None:
    context = tls_context("http://127.0.0.1:8080")
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] == 0


def test_a_changed_ssl_cert_file_is_honoured(
    ca_loads: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = tls_context("https://123-ABC-456.mktorest.com")
    monkeypatch.setenv("SSL_CERT_FILE", certifi.where())
    after = tls_context("https://123-ABC-456.mktorest.com")
    assert after is not before and len(ca_loads) == 2
