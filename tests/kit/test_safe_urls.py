"""The outbound URL policy: schemes, credentials, and every resolved address checked."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest

from retentio.kit import safe_urls
from retentio.kit.safe_urls import UnsafeTarget, check_outbound, guarded_client, is_public


def _resolving_to(*addresses: str) -> Any:
    def getaddrinfo(host: str, port: int, **_: Any) -> list[Any]:
        # An address literal resolves to itself, as with the real resolver.
        found = [host] if host[0].isdigit() else addresses
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in found]

    return getaddrinfo


@pytest.fixture
def public_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(safe_urls.socket, "getaddrinfo", _resolving_to("93.184.216.34"))


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104 - an address judged, not bound
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "ff02::1",
    ],
)
def test_addresses_that_are_not_public(address: str) -> None:
    # given an address of the server's own networks, when judged, then it is not public
    assert is_public(address) is False


def test_a_public_address_is_public() -> None:
    assert is_public("93.184.216.34") is True
    assert is_public("2606:2800:220:1:248:1893:25c8:1946") is True


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8000/hook", "http://localhost/x", "http://[::1]/x", "http://2130706433/"],
)
def test_loopback_targets_are_refused(url: str) -> None:
    # given a URL that lands on this machine, when checked with private targets off
    with pytest.raises(UnsafeTarget) as caught:
        check_outbound(url, allow_private=False)
    # then it is refused with the setting that would allow it
    assert "RETENTIO_ALLOW_PRIVATE_TARGETS" in caught.value.message


def test_one_private_address_among_public_ones_is_enough_to_refuse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a name that resolves to a public and a private address
    monkeypatch.setattr(safe_urls.socket, "getaddrinfo", _resolving_to("93.184.216.34", "10.0.0.5"))
    # when checked, then it is refused
    with pytest.raises(UnsafeTarget):
        check_outbound("https://mixed.example/hook", allow_private=False)


@pytest.mark.usefixtures("public_dns")
def test_a_public_https_target_passes() -> None:
    check_outbound("https://hooks.example.com/in?x=1", allow_private=False)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://files.example.com/a.csv", "Only http:// and https://"),
        ("file:///etc/passwd", "Only http:// and https://"),
        ("https://user:secret@hooks.example.com/", "credentials"),
    ],
)
def test_schemes_and_credentials_are_refused_even_when_private_targets_are_allowed(
    url: str, reason: str
) -> None:
    with pytest.raises(UnsafeTarget) as caught:
        check_outbound(url, allow_private=True)
    assert reason in caught.value.message


def test_a_name_that_does_not_resolve_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def fails(*_: Any, **__: Any) -> list[Any]:
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(safe_urls.socket, "getaddrinfo", fails)
    with pytest.raises(UnsafeTarget) as caught:
        check_outbound("https://nowhere.invalid/", allow_private=False)
    assert caught.value.message == "nowhere.invalid cannot be resolved."


def test_private_targets_pass_when_allowed() -> None:
    check_outbound("http://127.0.0.1:9/hook", allow_private=True)


@pytest.mark.usefixtures("public_dns")
def test_the_guarded_client_checks_each_redirect_hop() -> None:
    # given a public server that redirects to the cloud metadata address
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "files.example.com":
            return httpx.Response(302, headers={"Location": "http://169.254.169.254/latest"})
        return httpx.Response(200, text="secret")

    client = guarded_client(allow_private=False, transport=httpx.MockTransport(handler))
    # when the client follows the redirect, then the second hop is refused before it is sent
    with client, pytest.raises(UnsafeTarget):
        client.get("https://files.example.com/a.csv", follow_redirects=True)
