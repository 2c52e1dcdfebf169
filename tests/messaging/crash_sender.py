"""The sender as a process of its own, for the crash test to SIGKILL: small batches against the
given database until nothing is due, at a fixed clock, with no quiet hours and no caps (so the
wall clock decides nothing).

Run: python -m tests.messaging.crash_sender DATABASE_URL SECRET_KEY NOW_ISO BATCH
"""

from __future__ import annotations

import sys
from datetime import datetime

from retentio.db import get_sessionmaker
from retentio.messaging.policy import SendPolicy
from retentio.messaging.sending import Sender
from retentio.messaging.tracking import Links, Signer
from tests.messaging.conftest import BASE_URL

NO_LIMITS = SendPolicy(daily_cap=None, weekly_cap=None, quiet_start=None, quiet_end=None)


def main(url: str, secret_key: str, now: datetime, batch: int) -> None:
    # One Sender for every batch, as the worker's task keeps it: the connection is reused.
    sender = Sender(links=Links(Signer(secret_key), BASE_URL), policy=NO_LIMITS)
    try:
        while True:
            with get_sessionmaker(url)() as session:
                if sender.send_due(session, now=now, limit=batch).claimed == 0:
                    return
    finally:
        sender.close()


if __name__ == "__main__":
    url, secret_key, now, batch = sys.argv[1:]
    main(url, secret_key, datetime.fromisoformat(now), int(batch))
