"""Ways a rendered message leaves: SMTP (connection reused across messages) and the file sink
for development. Both answer `deliver(sender, recipient, data)` and report failures as
`PermanentFailure` (do not retry; a refused recipient is a hard bounce) or `TransientFailure`
(retry later with backoff)."""

from __future__ import annotations

import re
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

_LEADING_DOT = re.compile(rb"^\.", re.MULTILINE)
# Long enough for a slow server's greeting, short enough that a dead one does not hold a batch.
SMTP_TIMEOUT = 30.0


class DeliveryFailure(Exception):
    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class PermanentFailure(DeliveryFailure):
    """5xx: sending the same message again will fail again."""

    def __init__(self, message: str, *, code: int | None = None, bounce: bool) -> None:
        super().__init__(message, code=code)
        # True when the server refused the recipient address itself (RCPT TO), i.e. a hard
        # bounce that suppresses the address; False for a refusal of this message's content.
        self.bounce = bounce


class TransientFailure(DeliveryFailure):
    """4xx, lost connections, timeouts, and problems of the account (auth, sender refused)."""


class UncertainDelivery(DeliveryFailure):
    """The connection broke after the whole message went out and before the server answered:
    it may have been accepted. Never retried (ADR 0012: a second copy is worse than none)."""


class Transport(Protocol):
    def deliver(self, *, sender: str, recipient: str, data: bytes) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class SmtpOptions:
    host: str
    port: int = 25
    tls: Literal["none", "starttls", "tls"] = "none"
    user: str = ""
    password: str = ""

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> SmtpOptions:
        return cls(
            host=str(settings.get("host", "localhost")),
            port=int(settings.get("port", 25)),
            tls=settings.get("tls", "none"),
            user=str(settings.get("user", "")),
            password=str(settings.get("password", "")),
        )


class SmtpTransport:
    """One SMTP connection, opened on first use and kept for the messages that follow."""

    def __init__(self, options: SmtpOptions, *, context: ssl.SSLContext | None = None) -> None:
        self.options = options
        self.context = context or ssl.create_default_context()
        self._client: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        o = self.options
        try:
            client: smtplib.SMTP
            if o.tls == "tls":
                client = smtplib.SMTP_SSL(
                    o.host, o.port, timeout=SMTP_TIMEOUT, context=self.context
                )
            else:
                client = smtplib.SMTP(o.host, o.port, timeout=SMTP_TIMEOUT)
            client.ehlo()
            if o.tls == "starttls":
                client.starttls(context=self.context)
                client.ehlo()
            if o.user:
                client.login(o.user, o.password)
        except smtplib.SMTPAuthenticationError as error:
            # No code on purpose: like a refused connection, it stops the account's batch.
            message = f"SMTP login refused: {error.smtp_code} {_text(error)}"
            raise TransientFailure(message) from error
        except (smtplib.SMTPException, OSError) as error:
            raise TransientFailure(f"Cannot connect to {o.host}:{o.port}: {error}") from error
        return client

    def deliver(self, *, sender: str, recipient: str, data: bytes) -> None:
        reused = self._client is not None
        try:
            self._attempt(sender, recipient, data)
        except smtplib.SMTPServerDisconnected as error:
            self._client = None
            if not reused:
                raise TransientFailure(f"Connection lost: {error}") from error
            # A kept connection the server closed while idle: one more try on a fresh one.
            try:
                self._attempt(sender, recipient, data)
            except smtplib.SMTPServerDisconnected as again:
                self._client = None
                raise TransientFailure(f"Connection lost: {again}") from again

    def _attempt(self, sender: str, recipient: str, data: bytes) -> None:
        if self._client is None:
            self._client = self._connect()
        try:
            _send(self._client, sender, recipient, data)
        except UncertainDelivery:
            self.close()
            raise
        except smtplib.SMTPServerDisconnected:
            raise
        except smtplib.SMTPException as error:
            self._raise_classified(error)
        except OSError as error:
            self.close()
            raise TransientFailure(f"Connection lost: {error}") from error

    def _raise_classified(self, error: smtplib.SMTPException) -> None:
        if isinstance(error, smtplib.SMTPRecipientsRefused):
            code, message = next(iter(error.recipients.values()))
            raise classify(code, message.decode(errors="replace"), bounce=True) from error
        if isinstance(error, smtplib.SMTPSenderRefused):
            # The account's own address was refused: not the recipient's fault.
            raise TransientFailure(f"Sender refused: {_text(error)}", code=error.smtp_code)
        if isinstance(error, smtplib.SMTPResponseException):
            # After a failed DATA the session is still usable; reset it for the next message.
            self._reset()
            raise classify(error.smtp_code, _text(error), bounce=False) from error
        self.close()
        raise TransientFailure(str(error)) from error

    def _reset(self) -> None:
        try:
            if self._client is not None:
                self._client.rset()
        except (smtplib.SMTPException, OSError):
            self.close()

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()


def _send(client: smtplib.SMTP, sender: str, recipient: str, data: bytes) -> None:
    """One message. With PIPELINING, MAIL, RCPT and DATA go in one write (RFC 2920), then the
    body: two round trips instead of four, which is most of the time a message spends on a
    fast local relay. Without it, one command at a time.

    Failures raise smtplib's exceptions, except a connection lost while waiting for the answer
    to the body: `UncertainDelivery`, as the server may already have taken the message (a
    lost connection before that point is safe to retry). `data` has CRLF line ends already
    (`email.render_bytes`).
    """
    sender, recipient = "".join(sender.split()), "".join(recipient.split())
    if client.has_extn("pipelining"):
        client.send(f"MAIL FROM:<{sender}>\r\nRCPT TO:<{recipient}>\r\nDATA\r\n".encode())
        mail, rcpt, start = client.getreply(), client.getreply(), client.getreply()
    else:
        mail = client.mail(sender)
        rcpt = client.rcpt(recipient) if mail[0] == 250 else (503, b"no sender")
        start = client.docmd("DATA") if rcpt[0] in (250, 251) else (503, b"no recipient")
    accepted = mail[0] == 250 and rcpt[0] in (250, 251)
    if start[0] == 354 and not accepted:
        # A server that opened DATA although the envelope failed: end it with an empty body.
        client.send(b".\r\n")
        client.getreply()
    if mail[0] != 250:
        client.rset()
        raise smtplib.SMTPSenderRefused(mail[0], mail[1], sender)
    if rcpt[0] not in (250, 251):
        client.rset()
        raise smtplib.SMTPRecipientsRefused({recipient: rcpt})
    if start[0] != 354:
        raise smtplib.SMTPDataError(start[0], start[1])
    body = _LEADING_DOT.sub(b"..", data)  # RFC 5321 §4.5.2 dot-stuffing
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    client.send(body + b".\r\n")
    try:
        done = client.getreply()
    except smtplib.SMTPServerDisconnected as error:
        raise UncertainDelivery(f"Connection lost after the message was sent: {error}") from error
    if done[0] != 250:
        raise smtplib.SMTPDataError(done[0], done[1])


def classify(code: int, message: str, *, bounce: bool) -> DeliveryFailure:
    if 500 <= code < 600:
        return PermanentFailure(f"{code} {message}", code=code, bounce=bounce)
    return TransientFailure(f"{code} {message}", code=code)


def _text(error: smtplib.SMTPResponseException) -> str:
    message = error.smtp_error
    return message.decode(errors="replace") if isinstance(message, bytes) else str(message)


class FileSink:
    """Development channel: each message saved as `<directory>/<uuid>.eml`, nothing sent."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def deliver(self, *, sender: str, recipient: str, data: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / f"{uuid.uuid4().hex}.eml").write_bytes(data)

    def close(self) -> None:
        return None
