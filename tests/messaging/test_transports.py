"""SMTP delivery against a real server in the test process: the message arrives as sent, the
connection is reused, refusals are classified (5xx permanent, 4xx and dead servers transient),
AUTH works; and the file sink for development."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from retentio.messaging.transports import (
    FileSink,
    PermanentFailure,
    SmtpOptions,
    SmtpTransport,
    TransientFailure,
)
from tests.messaging.conftest import Inbox, free_port

DATA = b"Subject: hi\r\n\r\nbody\r\n"


def test_messages_arrive_over_one_reused_connection(inbox: tuple[Inbox, int]) -> None:
    # given
    server, port = inbox
    transport = SmtpTransport(SmtpOptions(host="127.0.0.1", port=port))
    # when
    transport.deliver(sender="news@shop.example", recipient="a@example.org", data=DATA)
    transport.deliver(sender="news@shop.example", recipient="b@example.org", data=DATA)
    transport.close()
    # then
    assert [(m[0], m[1]) for m in server.messages] == [
        ("news@shop.example", ["a@example.org"]),
        ("news@shop.example", ["b@example.org"]),
    ]
    assert server.messages[0][2] == DATA
    assert server.connections == 1
    assert server.encrypted == [False, False]


def test_a_refused_recipient_is_a_permanent_bounce_and_the_session_goes_on(
    inbox: tuple[Inbox, int],
) -> None:
    server, port = inbox
    transport = SmtpTransport(SmtpOptions(host="127.0.0.1", port=port))
    with pytest.raises(PermanentFailure) as caught:
        transport.deliver(sender="news@shop.example", recipient="bounce@example.org", data=DATA)
    assert (caught.value.code, caught.value.bounce) == (550, True)
    transport.deliver(sender="news@shop.example", recipient="ok@example.org", data=DATA)
    assert [m[1] for m in server.messages] == [["ok@example.org"]]
    assert server.connections == 1


def test_a_4xx_is_transient(inbox: tuple[Inbox, int]) -> None:
    _server, port = inbox
    transport = SmtpTransport(SmtpOptions(host="127.0.0.1", port=port))
    with pytest.raises(TransientFailure) as caught:
        transport.deliver(sender="news@shop.example", recipient="later@example.org", data=DATA)
    assert caught.value.code == 451


def test_no_server_is_transient_without_a_code() -> None:
    transport = SmtpTransport(SmtpOptions(host="127.0.0.1", port=free_port()))
    with pytest.raises(TransientFailure) as caught:
        transport.deliver(sender="news@shop.example", recipient="a@example.org", data=DATA)
    assert caught.value.code is None


def test_a_connection_the_server_dropped_is_reopened_once(inbox: tuple[Inbox, int]) -> None:
    server, port = inbox
    transport = SmtpTransport(SmtpOptions(host="127.0.0.1", port=port))
    transport.deliver(sender="news@shop.example", recipient="a@example.org", data=DATA)
    assert transport._client is not None
    transport._client.sock.shutdown(socket.SHUT_RDWR)  # type: ignore[union-attr]  # as if idle-closed
    transport.deliver(sender="news@shop.example", recipient="b@example.org", data=DATA)
    assert [m[1] for m in server.messages] == [["a@example.org"], ["b@example.org"]]
    assert server.connections == 2


class _Authenticator:
    def __call__(
        self, server: object, session: object, envelope: object, mechanism: str, data: object
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"crm", b"s3cret")
        return AuthResult(success=ok, handled=False)


@pytest.mark.parametrize(("password", "arrives"), [("s3cret", True), ("wrong", False)])
def test_auth(password: str, arrives: bool) -> None:
    server = Inbox()
    port = free_port()
    controller = Controller(
        server,
        hostname="127.0.0.1",
        port=port,
        authenticator=_Authenticator(),
        auth_require_tls=False,
    )
    controller.start()
    try:
        options = SmtpOptions(host="127.0.0.1", port=port, user="crm", password=password)
        transport = SmtpTransport(options)
        if arrives:
            transport.deliver(sender="news@shop.example", recipient="a@example.org", data=DATA)
            transport.close()
        else:
            with pytest.raises(TransientFailure, match="login refused") as caught:
                transport.deliver(sender="news@shop.example", recipient="a@example.org", data=DATA)
            # No code: the whole account is down for the batch, not one recipient.
            assert caught.value.code is None
    finally:
        controller.stop()
    assert len(server.messages) == (1 if arrives else 0)


def test_file_sink_writes_one_eml_per_message(tmp_path: Path) -> None:
    sink = FileSink(tmp_path / "outbox")
    sink.deliver(sender="news@shop.example", recipient="a@example.org", data=DATA)
    sink.deliver(sender="news@shop.example", recipient="b@example.org", data=DATA)
    files = sorted((tmp_path / "outbox").glob("*.eml"))
    assert [f.read_bytes() for f in files] == [DATA, DATA]
