"""Posts the requests `webhook` steps wrote, at most once each, like the outbox (ADR 0012):
the claim (`sending`) is committed before the request, so a worker that dies mid-request
leaves `unknown`, never a second call. Failures are retried with growing pauses."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from retentio.journeys.models import WebhookCall
from retentio.kit.safe_urls import UnsafeTarget, check_outbound, guarded_client
from retentio.worker import task_settings

TIMEOUT = 10.0
MAX_ATTEMPTS = 5
LEASE = timedelta(minutes=5)
BATCH = 100


def _retry_at(now: datetime, attempts: int) -> datetime:
    return now + timedelta(minutes=2**attempts)


def post_due(session: Session, *, now: datetime, client: httpx.Client | None = None) -> int:
    """One batch; commits the claim, then the outcomes. Returns how many were delivered."""
    session.execute(
        update(WebhookCall)
        .where(WebhookCall.state == "sending", WebhookCall.next_attempt_at < now - LEASE)
        .values(state="unknown")
    )
    calls = list(
        session.scalars(
            select(WebhookCall)
            .where(WebhookCall.state == "queued", WebhookCall.next_attempt_at <= now)
            .order_by(WebhookCall.next_attempt_at, WebhookCall.id)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        )
    )
    for call in calls:
        call.state, call.attempts, call.next_attempt_at = "sending", call.attempts + 1, now
    session.commit()
    delivered = 0
    allow_private = task_settings().allow_private_targets
    own = client or guarded_client(allow_private=allow_private, timeout=TIMEOUT)
    try:
        for call in calls:
            delivered += _post(own, call, now)
    finally:
        if client is None:
            own.close()
    session.commit()
    return delivered


def _post(client: httpx.Client, call: WebhookCall, now: datetime) -> int:
    try:
        check_outbound(call.url, allow_private=task_settings().allow_private_targets)
        response = client.post(
            call.url, json=call.payload, headers={"X-Retentio-Call": str(call.id)}
        )
        call.status_code = response.status_code
        ok = response.is_success
        call.error = None if ok else f"HTTP {response.status_code}"
    except (httpx.ConnectError, httpx.ConnectTimeout) as error:
        ok, call.error = False, str(error)[:500]  # nothing was sent: a retry is safe
    except UnsafeTarget as error:
        call.state, call.error = "failed", error.message  # nothing was sent; no retry helps
        return 0
    except httpx.HTTPError as error:
        # The request may have arrived: retrying could call the endpoint twice.
        call.state, call.error = "unknown", str(error)[:500]
        return 0
    if ok:
        call.state, call.sent_at = "sent", now
        return 1
    if call.attempts >= MAX_ATTEMPTS:
        call.state = "failed"
    else:
        call.state, call.next_attempt_at = "queued", _retry_at(now, call.attempts)
    return 0
