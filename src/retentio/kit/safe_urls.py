"""The outbound URL policy (SSRF): which addresses Retentio may call on a user's say-so.

Webhook steps, webhook and SMS-HTTP sending accounts and scheduled imports fetch URLs that an
operator typed. Without a policy, those are a way to reach what only the server can reach: the
database's admin port, a cloud metadata service at 169.254.169.254, an internal dashboard. So
`check_outbound` refuses other schemes than http(s), credentials in the URL, and any host of
which at least ONE resolved address is not public (a name with a public and a private address
would otherwise win half the time). `RETENTIO_ALLOW_PRIVATE_TARGETS=1` turns the address check
off for development and tests, where the receiving server runs on loopback.

Known gap: the name is resolved again when the request connects, so a DNS answer that changes
in between (rebinding) is not caught here; see docs/security.md.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

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
    if allow_private:
        return
    for address in _addresses(parsed.host, parsed.port or DEFAULT_PORTS[parsed.scheme]):
        if not is_public(address):
            raise UnsafeTarget(
                f"{parsed.host} is a private, loopback or reserved address; "
                "set RETENTIO_ALLOW_PRIVATE_TARGETS=1 to allow it."
            )


def is_public(address: str) -> bool:
    """True for an address on the public internet (not private, loopback, link-local,
    multicast, reserved or unspecified); an IPv4-mapped IPv6 address counts as its IPv4."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # "%" starts an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _addresses(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        # Refused rather than let through: the check cannot vouch for a name it cannot see.
        raise UnsafeTarget(f"{host} cannot be resolved.") from error
    return [str(info[4][0]) for info in infos]


def guarded_client(*, allow_private: bool, **options: Any) -> httpx.Client:
    """An httpx client that checks every request it makes, each redirect hop included."""

    def check(request: httpx.Request) -> None:
        check_outbound(str(request.url), allow_private=allow_private)

    return httpx.Client(event_hooks={"request": [check]}, **options)
