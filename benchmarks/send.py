"""Sending throughput: N personalised, tracked, DKIM-signed marketing e-mails through the real
outbox and sender to a local SMTP sink.

Run: .venv/bin/python benchmarks/send.py [--messages 100000] [--workers 2] [--batch 500]
     [--database-url URL]   (default: a fresh SQLite file in a temporary folder)

Needs `smtp-sink` from Debian's `postfix` package (aiosmtpd caps near 800 messages/s itself,
DESIGN §8). Contacts, consent and the outbox rows are written in bulk first (not timed); the
timed part is what the worker does: claim batches, check consent and suppression, render the
template, rewrite links, sign, send over one reused connection per worker, record outcomes.
Prints messages/s and the sink's received count, which must equal the audience.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import insert, select

from retentio import migrate
from retentio.consent.models import Channel, ConsentEvent, ConsentState, Purpose
from retentio.contacts.models import Contact
from retentio.db import get_sessionmaker, session_scope
from retentio.messaging import service
from retentio.messaging.models import AccountKind, Message, MessageState
from retentio.messaging.policy import SendPolicy
from retentio.messaging.sending import Sender
from retentio.messaging.service import NewMessage, OutboxKey
from retentio.messaging.tracking import Links, Signer

SECRET = "benchmark-secret-key-0123456789-0123456789"  # noqa: S105 - signs links to nowhere
# No quiet hours or caps: the wall clock must not decide how many go out.
POLICY = SendPolicy(daily_cap=None, weekly_cap=None, quiet_start=None, quiet_end=None)
HTML = """<html><body>
<h1>Здравствуйте, {{ contact.first_name }}!</h1>
<p>Для вас в {{ contact.city }} — скидка {{ discount }}% на весь чай до воскресенья.</p>
<p><a href="https://shop.example/tea?utm_source=crm">Выбрать чай</a> ·
<a href="https://shop.example/account">Личный кабинет</a></p>
<p><a href="{{ links.unsubscribe }}">Отписаться</a></p>
</body></html>"""
TEXT = """Здравствуйте, {{ contact.first_name }}!
Для вас в {{ contact.city }} — скидка {{ discount }}% на весь чай до воскресенья.
https://shop.example/tea
Отписаться: {{ links.unsubscribe }}"""
FIRST_NAMES = ["Анна", "Борис", "Вера", "Глеб", "Дарья", "Егор", "Жанна", "Зоя"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def prepare(url: str, count: int, port: int) -> None:
    """The audience with consent, an account with DKIM, one content, and the outbox rows."""
    now = datetime.now(UTC)
    with session_scope(url) as session:
        session.execute(
            insert(Contact),
            [
                {
                    "first_name": FIRST_NAMES[n % len(FIRST_NAMES)],
                    "last_name": f"Покупатель {n}",
                    "email": f"customer{n}@example.org",
                    "city": "Казань",
                    "timezone": "Europe/Moscow",
                    "custom": {},
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(count)
            ],
        )
        ids = list(session.scalars(select(Contact.id).order_by(Contact.id)))
        consent = {"channel": Channel.EMAIL, "purpose": Purpose.MARKETING, "granted": True}
        session.execute(
            insert(ConsentEvent),
            [{**consent, "contact_id": c, "source": "bench", "occurred_at": now} for c in ids],
        )
        events = session.execute(select(ConsentEvent.id, ConsentEvent.contact_id)).all()
        session.execute(
            insert(ConsentState),
            [{**consent, "contact_id": c, "event_id": e, "updated_at": now} for e, c in events],
        )
        account = service.create_account(
            session,
            name="sink",
            kind=AccountKind.SMTP,
            from_address="news@shop.example",
            from_name="Чайная лавка",
            settings={"host": "127.0.0.1", "port": port, "tls": "none"},
            unsubscribe_mailto="unsubscribe@shop.example",
            dkim_domain="shop.example",
            dkim_selector="rt1",
            dkim_private_key=_pem(),
        )
        content = service.create_content(
            session,
            subject="{{ contact.first_name }}, скидка {{ discount }}% на весь чай",
            preheader="Только до воскресенья",
            html=HTML,
            text=TEXT,
            utm={"utm_medium": "email", "utm_campaign": "bench"},
        )
        service.enqueue_many(
            session,
            [
                NewMessage(
                    OutboxKey("benchmark", 1, "", c),
                    account.id,
                    content.id,
                    Purpose.MARKETING,
                    variables={"discount": 10 + c % 15},
                )
                for c in ids
            ],
            now=now,
        )


def worker(url: str, batch: int) -> tuple[int, float]:
    """One sender process: batches until nothing is due; (messages sent, CPU seconds)."""
    sender = Sender(links=Links(Signer(SECRET), "https://crm.shop.example"), policy=POLICY)
    sent, cpu = 0, time.process_time()
    try:
        while True:
            with get_sessionmaker(url)() as session:
                report = sender.send_due(session, now=datetime.now(UTC), limit=batch)
            sent += report.sent
            if report.claimed == 0:
                return sent, time.process_time() - cpu
    finally:
        sender.close()


def sink_count(output: str) -> int:
    counts = re.findall(r"mesg=(\d+)", output)
    return int(counts[-1]) if counts else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    binary = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
    folder = Path(tempfile.mkdtemp(prefix="retentio-send-"))
    url = args.database_url or f"sqlite:///{folder / 'send.db'}"
    port = _free_port()
    out = (folder / "sink.out").open("w+")
    # As root smtp-sink insists on dropping privileges (-u).
    sink = subprocess.Popen([binary, "-u", "nobody", "-c", f"127.0.0.1:{port}", "1000"], stdout=out)
    try:
        migrate.upgrade(url)
        started = time.perf_counter()
        prepare(url, args.messages, port)
        prepared = time.perf_counter() - started
        print(f"prepared {args.messages:,} contacts and outbox rows in {prepared:.1f} s")
        started = time.perf_counter()
        with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
            results = pool.starmap(worker, [(url, args.batch)] * args.workers)
        elapsed = time.perf_counter() - started
        time.sleep(0.5)  # the sink's counter is written when it reads the final "."
        with session_scope(url, write=False) as session:
            states = dict(
                session.execute(
                    select(Message.state, Message.id).where(Message.state != MessageState.SENT)
                ).all()
            )
    finally:
        sink.terminate()
        sink.wait()
    out.seek(0)
    received = sink_count(out.read())
    sent, cpu = sum(r[0] for r in results), sum(r[1] for r in results)
    rate = sent / elapsed
    print(f"sent {sent:,} in {elapsed:.1f} s with {args.workers} worker(s): {rate:,.0f} msgs/s")
    # The box is shared: CPU per message says more about the code than the wall clock does.
    print(
        f"sender CPU: {cpu / max(sent, 1) * 1e6:,.0f} µs per message; load {os.getloadavg()[0]:.2f}"
    )
    print(f"sink received {received:,} (audience {args.messages:,}); rows not sent: {len(states)}")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
