"""`typedmgr serve --tls-cert ...`: a TLS server from the command line, mutual TLS included."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from shop_proxies import ShopManager
from tests.process import support
from tests.runtime.certs import Authority
from typedmgr._cli import main

pytestmark = pytest.mark.process

AUTHKEY = b"key of the TLS shop"


def test_serve_with_mutual_tls(tmp_path: Path) -> None:
    """`typedmgr serve` with a client CA refuses a client without a certificate and
    serves one the CA signed."""
    ca = Authority(tmp_path, "ca")
    clients_ca = Authority(tmp_path, "clients")
    server = ca.issue("server", server=True)
    member = clients_ca.issue("member", server=False)
    options = ["--tls-cert", str(server.cert), "--tls-key", str(server.key)]
    options += ["--tls-client-ca", str(clients_ca.cert)]
    with support.cli_server(
        "shop.server:ShopManager", "127.0.0.1:0", AUTHKEY, *options
    ) as address:
        stranger = ShopManager(
            address=address, authkey=AUTHKEY, ssl_context=ca.client_context()
        )
        with pytest.raises((ssl.SSLError, ConnectionError, EOFError)):
            stranger.connect()  # no client certificate
        m = ShopManager(
            address=address, authkey=AUTHKEY, ssl_context=ca.client_context(member)
        )
        m.connect()
        assert 1 == m.Shop().counter("tls").increment()


def test_tls_options_need_a_certificate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--tls-key without --tls-cert is a usage error that says so."""
    argv = ["serve", "shop.server:ShopManager", "--address", "127.0.0.1:0"]
    argv += ["--authkey-env", "UNUSED", "--tls-key", str(tmp_path / "key.pem")]
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert 2 == exit_.value.code
    assert "--tls-key and --tls-client-ca need --tls-cert" in capsys.readouterr().err
