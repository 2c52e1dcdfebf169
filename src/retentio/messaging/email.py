"""Building an e-mail as bytes, ready for SMTP `DATA`: multipart/alternative (plain text and
HTML, quoted-printable UTF-8), RFC 2047 headers, List-Unsubscribe with one-click, and a DKIM
signature when the account has a key.

Written out directly rather than through `email.message.EmailMessage`: building that object per
message costs more than the SMTP exchange itself (DESIGN §8). Not a general MIME library: it
writes exactly the shape Retentio sends.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from retentio.messaging.dkim import DkimKey, signature_header

# RFC 2047 §2: an encoded word is at most 75 characters; 45 bytes of UTF-8 in base64 is 60, plus
# the 12 of "=?utf-8?b??=".
_WORD_BYTES = 45
# RFC 5322 "specials" that force a display name into quotes.
_SPECIALS = frozenset('()<>[]:;@\\,."')


@dataclass(frozen=True)
class Address:
    email: str
    name: str = ""


@dataclass(frozen=True)
class Email:
    sender: Address
    recipient: Address
    subject: str
    text: str
    html: str
    message_id: str  # with the angle brackets
    date: datetime
    # https URL (the unsubscribe page, which also takes the one-click POST) and an optional
    # address for the mailto: half.
    unsubscribe_url: str = ""
    unsubscribe_mailto: str = ""


def new_message_id(domain: str, local: str = "") -> str:
    return f"<{local or secrets.token_hex(8)}.{secrets.token_hex(6)}@{domain}>"


def domain_of(address: str) -> str:
    return address.rpartition("@")[2] or "localhost"


def encode_header_text(value: str) -> str:
    """ASCII as is; anything else as base64 encoded words, split on character boundaries."""
    value = " ".join(value.split())  # no CR/LF may reach a header (header injection)
    if value.isascii():
        return value
    raw = value.encode()
    words, start = [], 0
    while start < len(raw):
        end = min(start + _WORD_BYTES, len(raw))
        while end < len(raw) and raw[end] & 0xC0 == 0x80:  # inside a UTF-8 sequence: back off
            end -= 1
        words.append(f"=?utf-8?b?{base64.b64encode(raw[start:end]).decode()}?=")
        start = end
    return "\r\n ".join(words)


def format_address(address: Address) -> str:
    email = "".join(address.email.split())
    name = " ".join(address.name.split())
    if not name:
        return email
    if not name.isascii():
        return f"{encode_header_text(name)} <{email}>"
    if any(c in _SPECIALS for c in name):
        escaped = name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}" <{email}>'
    return f"{name} <{email}>"


def _quoted_printable(text: str) -> bytes:
    """UTF-8, quoted-printable, CRLF line ends, lines of at most 76 characters."""
    normalized = text.replace("\r\n", "\n").replace("\r", "\n")
    encoded = binascii.b2a_qp(normalized.encode(), istext=True, header=False)
    return encoded.replace(b"\n", b"\r\n")


def _part(content_type: str, body: str) -> bytes:
    return (
        f"Content-Type: {content_type}; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    ).encode() + _quoted_printable(body)


def _headers(email: Email, boundary: str) -> list[tuple[str, bytes]]:
    headers = [
        ("From", format_address(email.sender)),
        ("To", format_address(email.recipient)),
        ("Subject", encode_header_text(email.subject)),
        ("Date", format_datetime(email.date)),
        ("Message-ID", email.message_id),
        ("MIME-Version", "1.0"),
        ("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
    ]
    targets = [f"<{email.unsubscribe_url}>"] if email.unsubscribe_url else []
    if email.unsubscribe_mailto:
        mailto = email.unsubscribe_mailto.removeprefix("mailto:")
        targets.append(f"<mailto:{mailto}?subject=unsubscribe>")
    if targets:
        headers.append(("List-Unsubscribe", ", ".join(targets)))
    if email.unsubscribe_url:
        # RFC 8058: mailbox providers POST "List-Unsubscribe=One-Click" to the https URL.
        headers.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
    return [(name, b" " + value.encode()) for name, value in headers]


def render_bytes(email: Email, *, dkim: DkimKey | None = None) -> bytes:
    """The whole message, CRLF line ends, DKIM-Signature first when a key is given."""
    boundary = f"=_r{secrets.token_hex(12)}"
    delimiter = f"\r\n--{boundary}\r\n".encode()
    body = (
        b"--"
        + boundary.encode()
        + b"\r\n"
        + _part("text/plain", email.text)
        + delimiter
        + _part("text/html", email.html)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = _headers(email, boundary)
    head = b"".join(name.encode() + b":" + value + b"\r\n" for name, value in headers)
    if dkim is not None:
        head = signature_header(dkim, headers, body, timestamp=int(email.date.timestamp())) + head
    return head + b"\r\n" + body
