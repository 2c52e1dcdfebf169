"""The outbound URL policy (SSRF): which addresses Retentio may call on a user's say-so.

Webhook steps, webhook and SMS-HTTP sending accounts and scheduled imports fetch URLs that an
operator typed. Without a policy, those are a way to reach what only the server can reach: the
database's admin port, a cloud metadata service at 169.254.169.254, an internal dashboard. So
`check_outbound` refuses other schemes than http(s), credentials in the URL, and any host of
which at least ONE resolved address is not public (a name with a public and a private address
would otherwise win half the time). `RETENTIO_ALLOW_PRIVATE_TARGETS=1` turns the address check
off for development and tests, where the receiving server runs on loopback.

Checking a name and then letting the connection resolve it again would let a DNS answer that
changes in between (rebinding) through. So `guarded_client` connects through `PinnedBackend`:
it resolves the name once, checks those addresses and connects to one of them, while TLS (SNI,
certificate) and the Host header keep the name.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from retentio.errors import InvalidInput

SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}


class UnsafeTarget(InvalidInput):
    code = "unsafe_target"


def check_outbound(url: str, *, allow_private: bool) -> None:
    """Raises UnsafeTarget unless `url` is one Retentio may call."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as error:
        raise UnsafeTarget("The URL is not valid.") from error
    if parsed.scheme not in SCHEMES:
        raise UnsafeTarget("Only http:// and https:// URLs can be called.")
    if parsed.userinfo:
        raise UnsafeTarget("Put credentials in a header, not in the URL.")
    if not parsed.host:
        raise UnsafeTarget("The URL has no host.")
    if not allow_private:
        public_addresses(parsed.host, parsed.port or DEFAULT_PORTS[parsed.scheme])


def is_public(address: str) -> bool:
    """True for an address on the public internet (not private, loopback, link-local,
    multicast, reserved or unspecified); an IPv4-mapped IPv6 address counts as its IPv4."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # "%" starts an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def public_addresses(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to; UnsafeTarget unless every one of them is public."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        # Refused rather than let through: the check cannot vouch for a name it cannot see.
        raise UnsafeTarget(f"{host} cannot be resolved.") from error
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for address in addresses:
        if not is_public(address):
            raise UnsafeTarget(
                f"{host} is a private, loopback or reserved address; "
                "set RETENTIO_ALLOW_PRIVATE_TARGETS=1 to allow it."
            )
    return addresses


class PinnedBackend(httpcore.NetworkBackend):
    """httpcore's network backend that connects only to addresses it has just checked.

    httpcore hands `connect_tcp` the URL's host and starts TLS on the returned stream with the
    host as `server_hostname`, so connecting to the checked address here keeps SNI, certificate
    checks and the Host header on the name."""

    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private
        self.inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        if self.allow_private:
            return self.inner.connect_tcp(host, port, timeout, local_address, socket_options)
        *others, last = public_addresses(host, port)
        for address in others:
            try:
                return self.inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout):
                continue  # like socket.create_connection: the next address may answer
        return self.inner.connect_tcp(last, port, timeout, local_address, socket_options)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise UnsafeTarget("Outbound calls go over TCP only.")

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


class PinnedTransport(httpx.HTTPTransport):
    """httpx's transport over a `PinnedBackend`. It never goes through a proxy from the
    environment: a proxy would resolve the name itself, out of reach of the check."""

    def __init__(self, *, allow_private: bool, verify: bool = True) -> None:
        super().__init__(verify=verify)
        # httpx offers no parameter for the backend; its pool is httpcore's, which does.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify),
            network_backend=PinnedBackend(allow_private=allow_private),
        )


def guarded_client(*, allow_private: bool, **options: Any) -> httpx.Client:
    """An httpx client that checks every request it makes, each redirect hop included, and
    connects only to the addresses it checked (unless `options` bring their own transport, as
    tests do)."""

    def check(request: httpx.Request) -> None:
        # Refuses early, before a connection is even looked for; the transport checks again
        # on the very answer it connects to.
        check_outbound(str(request.url), allow_private=allow_private)

    options.setdefault("transport", PinnedTransport(allow_private=allow_private))
    return httpx.Client(event_hooks={"request": [check]}, **options)
