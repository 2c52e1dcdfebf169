"""DKIM signatures (RFC 6376): rsa-sha256 with relaxed/relaxed canonicalisation.

Signed with `cryptography` (OpenSSL), ~20× faster than dkimpy's pure-Python RSA, which would
cap sending near 130 messages/s (DESIGN §8). dkimpy stays in the tests as the verifier.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from retentio.errors import InvalidInput

# What mailbox providers expect signed; a header listed but absent is signed as empty, which is
# harmless, so the list is fixed rather than built per message.
SIGNED_HEADERS = (
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "list-unsubscribe",
    "list-unsubscribe-post",
)
# Runs worth replacing: a lone space is already canonical, and most bodies are full of them.
_WSP_RUN = re.compile(rb"[ \t][ \t]+|\t")


class InvalidDkimKey(InvalidInput):
    code = "invalid_dkim_key"


@dataclass(frozen=True)
class DkimKey:
    domain: str
    selector: str
    key: rsa.RSAPrivateKey


@lru_cache(maxsize=32)
def load_key(domain: str, selector: str, private_key_pem: str) -> DkimKey:
    """Parse once per account: loading a PEM costs more than signing with it."""
    try:
        key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    except (ValueError, TypeError) as error:
        raise InvalidDkimKey(f"The DKIM private key is not a PEM RSA key ({error}).") from error
    if not isinstance(key, rsa.RSAPrivateKey):
        raise InvalidDkimKey("The DKIM private key must be an RSA key.")
    return DkimKey(domain=domain, selector=selector, key=key)


def relaxed_header(name: str, value: bytes) -> bytes:
    """RFC 6376 §3.4.2: lower-case name, unfolded value, runs of whitespace as one space."""
    unfolded = value.replace(b"\r\n", b"")
    return name.lower().encode() + b":" + _WSP_RUN.sub(b" ", unfolded).strip(b" \t")


def relaxed_body_hash(body: bytes) -> bytes:
    """RFC 6376 §3.4.4, then SHA-256, base64. Substring tests first: the regular expressions run
    only when the body has something to change, which for our bodies is rare."""
    canonical = body
    if b"\t" in canonical or b"  " in canonical:
        canonical = _WSP_RUN.sub(b" ", canonical)
    if b" \r\n" in canonical:
        canonical = canonical.replace(b" \r\n", b"\r\n")
    end = len(canonical)
    while canonical.endswith(b"\r\n", 0, end):
        end -= 2
    canonical = canonical[:end]
    if canonical:
        canonical += b"\r\n"
    return base64.b64encode(hashlib.sha256(canonical).digest())


def signature_header(
    key: DkimKey, headers: list[tuple[str, bytes]], body: bytes, *, timestamp: int
) -> bytes:
    """The `DKIM-Signature: …` line (folded, CRLF-terminated) for a message whose headers are
    `headers` (name, raw value without the trailing CRLF) and whose body is `body`."""
    present = {name.lower(): value for name, value in headers}
    names = [n for n in SIGNED_HEADERS if n in present]
    tags = (
        f"v=1; a=rsa-sha256; c=relaxed/relaxed; d={key.domain}; s={key.selector};\r\n"
        f"\tt={timestamp}; h={':'.join(names)};\r\n"
        f"\tbh={relaxed_body_hash(body).decode()};\r\n\tb="
    ).encode()
    signed = b"".join(relaxed_header(n, present[n]) + b"\r\n" for n in names)
    signed += relaxed_header("dkim-signature", b" " + tags)
    signature = key.key.sign(signed, padding.PKCS1v15(), hashes.SHA256())
    encoded = base64.b64encode(signature)
    # Folded at 72 columns; folding whitespace inside b= is ignored by verifiers.
    folded = b"\r\n\t".join(encoded[i : i + 72] for i in range(0, len(encoded), 72))
    return b"DKIM-Signature: " + tags + folded + b"\r\n"
