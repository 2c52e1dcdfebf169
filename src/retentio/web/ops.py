"""What operators and their tools read: `/livez`, `/readyz`, Prometheus `/metrics`, and the
middleware that gives each request an id, one access-log line and its request metrics.

`/healthz` (web/health.py) stays for existing monitors. Nothing here writes to the database.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import re
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from functools import cache

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from retentio.db import get_sessionmaker, ping, utcnow
from retentio.journeys.models import Enrollment, EnrollmentState
from retentio.logs import request_id
from retentio.messaging.models import Message as OutboxMessage
from retentio.messaging.models import MessageState
from retentio.migrate import current_revision, head_revision
from retentio.web.deps import SettingsDep, client_ip
from retentio.worker import huey

router = APIRouter(tags=["operations"], include_in_schema=False)
access_log = logging.getLogger("retentio.access")

HTTP_REQUESTS = Counter(
    "retentio_http_requests_total",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "retentio_http_request_duration_seconds",
    "Time from the request's arrival to the end of its response, by method and route template.",
    ["method", "route"],
)
# An incoming id is kept only if it is short and harmless in a log line or a header.
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


@router.get("/livez")
def livez() -> JSONResponse:
    """The process answers: no I/O, so a slow database never gets a healthy process killed."""
    return JSONResponse({"status": "ok"})


@router.get("/readyz")
def readyz(settings: SettingsDep) -> JSONResponse:
    """Ready for traffic: database reachable, schema at the head, Redis answering (if used)."""
    failing = _database_problem(settings.database_url)
    if failing is None and settings.redis_url and not _redis_answers(settings.redis_url):
        failing = "redis"
    if failing is not None:
        return JSONResponse({"status": "error", "failing": failing}, status_code=503)
    return JSONResponse({"status": "ok"})


@router.get("/metrics")
def metrics(request: Request, settings: SettingsDep) -> Response:
    """Prometheus text format: request counters of this process plus gauges read now."""
    if not metrics_allowed(
        client_ip(request), request.headers.get("authorization", ""), token=settings.metrics_token
    ):
        return PlainTextResponse("Forbidden", status_code=403)
    gauges = CollectorRegistry(auto_describe=False)
    gauges.register(_StateCollector(settings.database_url))
    body = generate_latest(_process_registry()) + generate_latest(gauges)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def metrics_allowed(host: str, authorization: str, *, token: str) -> bool:
    """Loopback scrapers need nothing; others need `Authorization: Bearer <token>`."""
    if token and hmac.compare_digest(authorization.encode(), f"Bearer {token}".encode()):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _database_problem(url: str) -> str | None:
    try:
        ping(url)
        current = current_revision(url)
    except SQLAlchemyError:
        return "database"
    return None if current == _head(url) else "schema"


@cache
def _head(url: str) -> str | None:
    # The migration scripts ship with the code: read once per process, not per probe.
    return head_revision(url)


def _redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def _process_registry() -> CollectorRegistry:
    """With `retentio serve --workers N` the counters live in files shared by the processes."""
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # untyped upstream
    return registry


class _StateCollector(Collector):
    """Gauges read at scrape time with cheap, indexed queries."""

    def __init__(self, url: str) -> None:
        self.url = url

    def collect(self) -> Iterator[Metric]:
        queue = GaugeMetricFamily("retentio_queue_depth", "Background jobs waiting in the queue.")
        queue.add_metric([], huey.pending_count())
        yield queue
        with get_sessionmaker(self.url)() as session:
            yield _outbox_gauge(session)
            yield from _journey_gauges(session, now=utcnow())


def _outbox_gauge(session: Session) -> Metric:
    query = select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
    counts: dict[MessageState, int] = dict(session.execute(query).all())
    gauge = GaugeMetricFamily(
        "retentio_outbox_messages", "Outbox messages by state.", labels=["state"]
    )
    for state in MessageState:
        gauge.add_metric([state.value], counts.get(state, 0))
    return gauge


def _journey_gauges(session: Session, *, now: datetime) -> Iterator[Metric]:
    active = Enrollment.state == EnrollmentState.ACTIVE
    count = session.scalar(select(func.count()).select_from(Enrollment).where(active)) or 0
    oldest_due = session.scalar(
        select(func.min(Enrollment.next_run_at)).where(active, Enrollment.next_run_at <= now)
    )
    yield GaugeMetricFamily(
        "retentio_journey_enrollments_active", "Journey enrollments moving or waiting.", count
    )
    lag = (now - oldest_due).total_seconds() if oldest_due is not None else 0.0
    yield GaugeMetricFamily(
        "retentio_journey_lag_seconds",
        "How long the oldest due active enrollment has been waiting for its next step.",
        lag,
    )


class RequestContext:
    """Outermost middleware: the request id (kept from `X-Request-ID` when sane), the access
    log line and the request metrics.

    The access line names the route template (`/c/{token}`), never the raw path or the query
    string: signed tracking and unsubscribe links carry their token there.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = MutableHeaders(scope=scope).get("x-request-id", "")
        rid = incoming if _SANE_ID.fullmatch(incoming) else uuid.uuid4().hex
        token = request_id.set(rid)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            HTTP_REQUESTS.labels(method, template, str(status)).inc()
            HTTP_LATENCY.labels(method, template).observe(elapsed)
            access_log.info(
                "%s %s %s",
                method,
                template,
                status,
                extra={
                    "method": method,
                    "path": template,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 1),
                },
            )
            request_id.reset(token)
