"""SMTP over TLS against a real server with a self-signed certificate: STARTTLS on a plain
port and implicit TLS (SMTPS); a certificate the client does not trust is a transient failure,
never a silent fallback to plain text."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from retentio.messaging.transports import SmtpOptions, SmtpTransport, TransientFailure
from tests.messaging.conftest import Inbox, free_port

DATA = b"Subject: tls\r\n\r\nbody\r\n"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def _server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture(params=["starttls", "tls"])
def tls_server(
    request: pytest.FixtureRequest, certificate: tuple[Path, Path]
) -> Iterator[tuple[str, Inbox, int]]:
    handler, port = Inbox(), free_port()
    context = _server_context(certificate)
    if request.param == "tls":
        controller = Controller(handler, hostname="127.0.0.1", port=port, ssl_context=context)
    else:
        controller = Controller(
            handler, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True
        )
    controller.start()
    try:
        yield request.param, handler, port
    finally:
        controller.stop()


def test_the_message_travels_encrypted(
    tls_server: tuple[str, Inbox, int], certificate: tuple[Path, Path]
) -> None:
    mode, server, port = tls_server
    trusting = ssl.create_default_context(cafile=str(certificate[0]))
    transport = SmtpTransport(SmtpOptions(host="127.0.0.1", port=port, tls=mode), context=trusting)  # type: ignore[arg-type]
    transport.deliver(sender="news@shop.example", recipient="a@example.org", data=DATA)
    transport.deliver(sender="news@shop.example", recipient="b@example.org", data=DATA)
    transport.close()
    assert [m[1] for m in server.messages] == [["a@example.org"], ["b@example.org"]]
    assert server.encrypted == [True, True]
    assert server.messages[0][2] == DATA


def test_an_untrusted_certificate_is_refused(tls_server: tuple[str, Inbox, int]) -> None:
    mode, server, port = tls_server
    transport = SmtpTransport(SmtpOptions(host="127.0.0.1", port=port, tls=mode))  # type: ignore[arg-type]
    with pytest.raises(TransientFailure, match="CERTIFICATE_VERIFY_FAILED"):
        transport.deliver(sender="news@shop.example", recipient="a@example.org", data=DATA)
    assert server.messages == []
