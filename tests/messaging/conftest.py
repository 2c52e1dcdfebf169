"""Fixtures of the messaging tests: a real SMTP server (aiosmtpd) in the test process, a real
HTTP server standing in for SMS providers, Telegram and webhook receivers, a DKIM key pair with
its DNS record, and factories for contacts, accounts and contents."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from retentio.consent.models import Channel, Purpose
from retentio.consent.service import record_consent
from retentio.contacts.models import Contact
from retentio.db import session_scope
from retentio.messaging import service
from retentio.messaging.models import AccountKind
from retentio.messaging.tracking import Links, Signer
from retentio.settings import Settings
from tests.processes import free_port

DKIM_DOMAIN = "shop.example"
DKIM_SELECTOR = "rt1"
BASE_URL = "https://crm.shop.example"


@dataclass
class Inbox:
    """What the SMTP server received; addresses starting with `bounce` or `later` are refused
    at RCPT with 550 or 451."""

    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    connections: int = 0
    # Per message: did it arrive over TLS?
    encrypted: list[bool] = field(default_factory=list)
    # Advertised by default, so the sender's pipelined path is what the tests exercise.
    pipelining: bool = True

    async def handle_EHLO(  # noqa: N802 - the names aiosmtpd calls
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        self.connections += 1
        session.host_name = hostname
        if self.pipelining:
            # aiosmtpd reads one command line at a time, so pipelined commands just work.
            return [*responses[:-1], "250-PIPELINING", responses[-1]]
        return responses

    async def handle_RCPT(  # noqa: N802 - the names aiosmtpd calls
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.startswith("bounce"):
            return "550 5.1.1 No such user"
        if address.startswith("later"):
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - the names aiosmtpd calls
        content = envelope.original_content or b""
        # STARTTLS fills session.ssl; implicit TLS shows only on the transport.
        ssl_object = server.transport.get_extra_info("ssl_object") if server.transport else None
        self.encrypted.append(bool(session.ssl) or ssl_object is not None)
        self.messages.append((str(envelope.mail_from), list(envelope.rcpt_tos), content))
        return "250 Message accepted"


InboxT = TypeVar("InboxT", bound=Inbox)


@contextmanager
def serving_inbox(handler: InboxT) -> Iterator[tuple[InboxT, int]]:
    """`handler` answering SMTP on a free loopback port."""
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture(params=[True, False], ids=["pipelining", "no-pipelining"])
def inbox(request: pytest.FixtureRequest) -> Iterator[tuple[Inbox, int]]:
    with serving_inbox(Inbox(pipelining=request.param)) as served:
        yield served


@dataclass(frozen=True)
class DkimPair:
    private_pem: str
    dns_record: bytes

    def dnsfunc(self, name: bytes, timeout: int = 5) -> bytes:
        assert name == f"{DKIM_SELECTOR}._domainkey.{DKIM_DOMAIN}.".encode(), name
        return self.dns_record


@pytest.fixture(scope="session")
def dkim_pair() -> DkimPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return DkimPair(pem, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public))


@pytest.fixture
def links(settings: Settings) -> Links:
    return Links(Signer(settings.resolved_secret_key()), BASE_URL)


class World:
    """Rows written through the real services, each call in its own committed transaction."""

    def __init__(self, url: str) -> None:
        self.url = url

    def contact(
        self, *, consent: bool | None = True, channel: Channel = Channel.EMAIL, **fields: Any
    ) -> int:
        fields.setdefault("first_name", "Анна")
        fields.setdefault("email", "anna@example.org")
        with session_scope(self.url) as session:
            contact = Contact(**fields)
            session.add(contact)
            session.flush()
            if consent is not None:
                record_consent(
                    session,
                    contact.id,
                    channel=channel,
                    purpose=Purpose.MARKETING,
                    granted=consent,
                    source="test",
                    occurred_at=datetime(2026, 1, 1, tzinfo=contact.created_at.tzinfo),
                )
            return contact.id

    def smtp_account(self, port: int, *, dkim: DkimPair | None = None, **options: Any) -> int:
        with session_scope(self.url) as session:
            return service.create_account(
                session,
                name=options.pop("name", f"smtp-{port}"),
                kind=AccountKind.SMTP,
                from_address="news@shop.example",
                from_name="Чайная лавка",
                settings={"host": "127.0.0.1", "port": port, "tls": "none"},
                unsubscribe_mailto="unsubscribe@shop.example",
                dkim_domain=DKIM_DOMAIN if dkim else "",
                dkim_selector=DKIM_SELECTOR if dkim else "",
                dkim_private_key=dkim.private_pem if dkim else "",
                **options,
            ).id

    def text_account(
        self, kind: AccountKind, settings: dict[str, Any], *, channel: Channel, **options: Any
    ) -> int:
        with session_scope(self.url) as session:
            return service.create_account(
                session,
                name=options.pop("name", f"{kind.value}-{channel.value}"),
                kind=kind,
                channel=channel,
                # The service still asks every account for an e-mail sender.
                from_address="sms@shop.example",
                from_name="TeaShop",
                settings=settings,
                **options,
            ).id

    def content(self, **parts: Any) -> int:
        parts.setdefault("subject", "{{ contact.first_name }}, скидка на чай")
        parts.setdefault(
            "html",
            "<html><body><p>Здравствуйте, {{ contact.first_name }}!</p>"
            '<a href="https://shop.example/tea?utm_source=crm">Чай</a>'
            '<a href="{{ links.unsubscribe }}">Отписаться</a></body></html>',
        )
        parts.setdefault("text", "Здравствуйте, {{ contact.first_name }}! {{ links.unsubscribe }}")
        with session_scope(self.url) as session:
            return service.create_content(session, **parts).id


@pytest.fixture
def world(settings: Settings) -> World:
    return World(settings.database_url)


@dataclass
class Hit:
    """One request the provider received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Answer = Callable[[Hit], tuple[int, Any]]


@dataclass
class Provider:
    """A real HTTP server on loopback: records every request and answers with `answer(hit)`,
    a status and a JSON-able body (a `str` body is sent as is)."""

    url: str = ""
    hits: list[Hit] = field(default_factory=list)
    answer: Answer = lambda _hit: (200, {"ok": True})


def _handler(provider: Provider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            hit = Hit(self.command, self.path, dict(self.headers.items()), body)
            provider.hits.append(hit)
            status, reply = provider.answer(hit)
            data = reply.encode() if isinstance(reply, str) else json.dumps(reply).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                return  # the client gave up waiting (the timeout tests)

        do_POST = do_PUT = _serve  # noqa: N815 - the names http.server calls

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler


@pytest.fixture
def provider() -> Iterator[Provider]:
    found = Provider()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(found))
    found.url = f"http://127.0.0.1:{server.server_address[1]}"
    # A short poll: shutdown() waits up to one interval, at every test's teardown.
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield found
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
