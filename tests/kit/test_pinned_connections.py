"""DNS rebinding: the guarded client connects only to an address it has just checked."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpcore
import httpx
import pytest

from retentio import worker
from retentio.db import utcnow
from retentio.journeys import webhooks
from retentio.journeys.models import WebhookCall
from retentio.kit import safe_urls
from retentio.kit.safe_urls import UnsafeTarget, guarded_client
from retentio.messaging.channels import WebhookTransport
from retentio.messaging.transports import TransientFailure
from retentio.settings import Settings

PUBLIC = "93.184.216.34"


class _Counting(ThreadingHTTPServer):
    """A local server that counts the connections it accepts and the Host headers it sees."""

    def __init__(self) -> None:
        self.connections = 0
        self.hosts: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def setup(self) -> None:
                outer.connections += 1
                super().setup()

            def do_GET(self) -> None:
                outer.hosts.append(self.headers["Host"])
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)


@pytest.fixture
def server() -> Iterator[_Counting]:
    counting = _Counting()
    thread = threading.Thread(target=counting.serve_forever, daemon=True)
    thread.start()
    yield counting
    counting.shutdown()
    counting.server_close()


def _answers(monkeypatch: pytest.MonkeyPatch, *answers: str) -> list[str]:
    """Names resolve to `answers` in turn (the last one repeats); address literals to
    themselves. Returns the names looked up."""
    asked: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        if host[0].isdigit():
            return real(host, port, *args, **kwargs)
        address = answers[min(len(asked), len(answers) - 1)]
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(safe_urls.socket, "getaddrinfo", getaddrinfo)
    return asked


def test_a_name_that_rebinds_to_loopback_is_refused_without_a_connection(
    server: _Counting, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a name that resolves to a public address first, and to this machine afterwards
    asked = _answers(monkeypatch, PUBLIC, "127.0.0.1")
    port = server.server_address[1]
    # when the guarded client calls it, private targets being refused
    with guarded_client(allow_private=False) as client, pytest.raises(UnsafeTarget) as caught:
        client.get(f"http://rebind.example:{port}/")
    # then the check passed on the first answer, the connection was refused on the second,
    # and the local server never saw a connection
    assert asked == ["rebind.example", "rebind.example"]
    assert caught.value.message.startswith("rebind.example is a private")
    assert server.connections == 0


def test_the_connection_goes_to_the_checked_address_and_keeps_the_name(
    server: _Counting, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a name resolving to a public address, and a network that leads that address
    # to the local server (standing in for the internet)
    _answers(monkeypatch, PUBLIC)
    port = server.server_address[1]
    dialled: list[tuple[str, int]] = []
    connect = httpcore.SyncBackend.connect_tcp

    def to_local(
        backend: httpcore.SyncBackend, host: str, port: int, *args: Any, **kwargs: Any
    ) -> httpcore.NetworkStream:
        dialled.append((host, port))
        return connect(backend, "127.0.0.1", port, *args, **kwargs)

    monkeypatch.setattr(httpcore.SyncBackend, "connect_tcp", to_local)
    # when the guarded client calls the name
    with guarded_client(allow_private=False) as client:
        response = client.get(f"http://shop.example:{port}/feed")
    # then it dialled the checked address, and the request still names the host
    assert (response.status_code, response.text) == (200, "ok")
    assert dialled == [(PUBLIC, port)]
    assert server.hosts == [f"shop.example:{port}"]


def test_the_next_checked_address_is_tried_when_one_does_not_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a name with two public addresses, neither of which answers
    def getaddrinfo(host: str, port: int, *_: Any, **__: Any) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in (PUBLIC, "1.1.1.1")]

    monkeypatch.setattr(safe_urls.socket, "getaddrinfo", getaddrinfo)
    dialled: list[str] = []

    def refuse(_: httpcore.SyncBackend, host: str, *__: Any, **___: Any) -> Any:
        dialled.append(host)
        raise httpcore.ConnectError("refused")

    monkeypatch.setattr(httpcore.SyncBackend, "connect_tcp", refuse)
    # when the guarded client calls it
    with guarded_client(allow_private=False) as client, pytest.raises(httpx.ConnectError):
        client.get("https://two.example/")
    # then both checked addresses were tried, in the resolver's order
    assert dialled == [PUBLIC, "1.1.1.1"]


def test_private_targets_are_reached_when_allowed(
    server: _Counting, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a name resolving to this machine, and private targets allowed (development)
    _answers(monkeypatch, "127.0.0.1")
    port = server.server_address[1]
    # when the guarded client calls it by name and by address
    with guarded_client(allow_private=True) as client:
        statuses = [
            client.get(f"http://dev.example:{port}/").status_code,
            client.get(f"http://127.0.0.1:{port}/").status_code,
        ]
    # then both arrive
    assert statuses == [200, 200]
    assert server.hosts == [f"dev.example:{port}", f"127.0.0.1:{port}"]


@pytest.fixture
def private_targets_refused(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    # The test suite allows private targets everywhere (tests/conftest.py); production does not.
    monkeypatch.setattr(
        worker, "_bound", settings.model_copy(update={"allow_private_targets": False})
    )


@pytest.mark.usefixtures("private_targets_refused")
def test_a_journey_webhook_whose_name_rebinds_fails_without_being_sent(
    server: _Counting, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a stored webhook call to a name that passes both checks before the request, then
    # resolves inward when the connection is made
    _answers(monkeypatch, PUBLIC, PUBLIC, "127.0.0.1")
    port = server.server_address[1]
    call = WebhookCall(
        url=f"http://rebind.example:{port}/hook", payload={}, attempts=1, state="sending"
    )
    # when the sender posts it with its own client
    with guarded_client(allow_private=False, timeout=webhooks.TIMEOUT) as client:
        delivered = webhooks._post(client, call, utcnow())
    # then nothing reached the local server and the call failed for good with the reason
    assert (delivered, call.state, server.connections) == (0, "failed", 0)
    assert str(call.error).startswith("rebind.example is a private")


@pytest.mark.usefixtures("private_targets_refused")
def test_a_sending_account_whose_name_rebinds_stops_with_a_transient_failure(
    server: _Counting, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a webhook account whose URL passed the check when it was built
    _answers(monkeypatch, PUBLIC, "127.0.0.1")
    port = server.server_address[1]
    transport = WebhookTransport(url=f"http://rebind.example:{port}/in", secret="s")
    # when a message is sent after the name rebinds to this machine
    with pytest.raises(TransientFailure) as caught:
        transport.http.post(transport.url, content=b"{}", headers={})
    transport.close()
    # then the account's batch stops with the reason and the local server saw nothing
    assert "rebind.example is a private" in str(caught.value)
    assert server.connections == 0
