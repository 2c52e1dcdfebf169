"""The HTTP hardening of every response and of the public endpoints (docs/security.md).

`SecureHeaders` adds the Content-Security-Policy (with a per-request nonce that the few inline
scripts of the pages carry: `nonce="{{ request.state.csp_nonce }}"`), framing, referrer, sniffing
and HSTS headers. `PublicRateLimit` limits each client IP per public endpoint (form submit,
survey answer, unsubscribe and preferences, tracking collect). With `RETENTIO_REDIS_URL` the
count is kept in Redis, shared by every web process; without it (one process) a token bucket in
memory does. Login failures are limited separately, in the database, by
`auth.service.authenticate`.
"""

from __future__ import annotations

import logging
import math
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from ipaddress import ip_address

import redis
from anyio import to_thread
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from retentio.settings import Settings

# Pages open to anyone holding a link from a message: the token in the URL must not leak to
# the sites those pages link to.
TOKEN_PAGES = re.compile(r"^/(u|p|s|c)/")
# The survey answer page is framed by the embeddable widget on customers' sites.
FRAMEABLE = re.compile(r"^/s/[^/]+$")
# The Swagger page loads its script and styles from a CDN and starts them inline.
NO_CSP = ("/api/docs",)
# (method, path) of the public endpoints that take a rate limit: anything that writes.
LIMITED = re.compile(r"^/(collect|f/[^/]+/(submit|view)|s/[^/]+|u/[^/]+|p/[^/]+)$")
# After Redis fails, the limit stays in memory this long before Redis is tried again, so an
# outage costs one warning and one timeout per pause rather than one per request.
REDIS_PAUSE_SECONDS = 10.0

logger = logging.getLogger(__name__)


def content_security_policy(nonce: str, *, frameable: bool) -> str:
    """Scripts only from this origin or inline with the nonce (never eval); styles may be inline
    because Plotly writes its own; images may come from anywhere over https (e-mail previews)."""
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: https:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors " + ("*" if frameable else "'none'"),
        ]
    )


def security_headers(path: str, nonce: str, *, https: bool) -> dict[str, str]:
    """The headers for a response to `path`."""
    frameable = bool(FRAMEABLE.match(path))
    headers = {
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer"
        if TOKEN_PAGES.match(path)
        else "strict-origin-when-cross-origin",
    }
    if path.startswith(NO_CSP):
        headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    else:
        headers["Content-Security-Policy"] = content_security_policy(nonce, frameable=frameable)
    if not frameable:
        headers["X-Frame-Options"] = "DENY"
    if https:
        headers["Strict-Transport-Security"] = "max-age=31536000"
    return headers


def _settings(scope: Scope) -> Settings:
    settings: Settings = scope["app"].state.settings
    return settings


class SecureHeaders:
    """Adds `security_headers` to every HTTP response the app makes; a header the route set
    itself wins."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        extra = security_headers(scope["path"], nonce, https=_settings(scope).is_https)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def client_address(scope: Scope, trusted_proxies: list[str]) -> str:
    """The client's IP: the peer's, or, when the peer is a trusted proxy, the nearest address
    in X-Forwarded-For that is not a trusted proxy (the ones further left are the client's
    word and can be forged)."""
    peer = scope["client"][0] if scope.get("client") else "unknown"
    if peer not in trusted_proxies:
        return peer
    forwarded = Headers(scope=scope).get("x-forwarded-for", "")
    for hop in reversed([part.strip() for part in forwarded.split(",") if part.strip()]):
        if hop not in trusted_proxies:
            return hop if _is_ip(hop) else peer
    return peer


def _is_ip(text: str) -> bool:
    try:
        ip_address(text)
    except ValueError:
        return False
    return True


@dataclass
class _Bucket:
    tokens: float
    at: float


class TokenBuckets:
    """One bucket per key holding up to `rate` tokens, refilled at `rate` per minute."""

    MAX_KEYS = 100_000

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.buckets: dict[str, _Bucket] = {}

    def take(self, key: str, *, rate_per_minute: int) -> float:
        """0 when a token was taken; otherwise the seconds until the next one."""
        now = self.clock()
        bucket = self.buckets.get(key)
        if bucket is None:
            if len(self.buckets) >= self.MAX_KEYS:
                self._forget_full(now)
            bucket = self.buckets[key] = _Bucket(tokens=rate_per_minute, at=now)
        per_second = rate_per_minute / 60
        bucket.tokens = min(rate_per_minute, bucket.tokens + (now - bucket.at) * per_second)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / per_second

    def _forget_full(self, now: float) -> None:
        # A bucket untouched for a minute has refilled, the same as no bucket: forgetting it
        # bounds the memory a flood of addresses can take.
        self.buckets = {k: b for k, b in self.buckets.items() if now - b.at < 60}
        if len(self.buckets) >= self.MAX_KEYS:
            self.buckets.clear()


class RedisWindows:
    """Requests per key counted in one-minute windows in Redis, shared by every web process:
    up to `rate` a window (a burst at a window's edge may reach twice that)."""

    PREFIX = "retentio:rate:"

    def __init__(self, url: str, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)

    def take(self, key: str, *, rate_per_minute: int) -> float:
        """0 when the request fits the window; otherwise the seconds until the next window.
        Raises redis.RedisError when Redis does not answer."""
        now = self.clock()
        window = int(now // 60)
        name = f"{self.PREFIX}{key}:{window}"
        # One MULTI/EXEC: the count and its expiry land together, whatever other processes do.
        pipe = self.client.pipeline(transaction=True)
        pipe.incr(name)
        pipe.expire(name, 120)
        count, _ = pipe.execute()
        if int(count) <= rate_per_minute:
            return 0.0
        return (window + 1) * 60 - now


class PublicRateLimit:
    """429 with Retry-After when one client IP writes to a public endpoint faster than
    `settings.public_rate_per_minute` a minute. Counted in Redis when `settings.redis_url` is
    set; when Redis fails, the limit falls back to this process's memory (open, not closed: a
    broken Redis must not turn every visitor away) and a warning is logged."""

    def __init__(
        self,
        app: ASGIApp,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.app = app
        self.clock = clock
        self.wall_clock = wall_clock
        self.buckets = TokenBuckets(clock)
        self.shared: dict[str, RedisWindows] = {}
        self.redis_paused_until = -math.inf

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not LIMITED.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        settings = _settings(scope)
        endpoint = scope["path"].split("/")[1]
        ip = client_address(scope, settings.trusted_proxies)
        wait = await self._take(f"{endpoint}:{ip}", settings)
        if wait:
            response = JSONResponse(
                {"error": {"code": "too_many_requests", "message": "Slow down.", "details": None}},
                status_code=429,
                headers={"Retry-After": str(math.ceil(wait))},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _take(self, key: str, settings: Settings) -> float:
        rate = settings.public_rate_per_minute
        if settings.redis_url and self.clock() >= self.redis_paused_until:
            windows = self.shared.get(settings.redis_url)
            if windows is None:
                windows = self.shared[settings.redis_url] = RedisWindows(
                    settings.redis_url, self.wall_clock
                )
            try:
                # redis-py is synchronous: off the event loop, like the sync route handlers.
                return await to_thread.run_sync(partial(windows.take, key, rate_per_minute=rate))
            except redis.RedisError as error:
                self.redis_paused_until = self.clock() + REDIS_PAUSE_SECONDS
                logger.warning(
                    "Public rate limits fall back to this process's memory: Redis failed (%s)",
                    error,
                )
        return self.buckets.take(key, rate_per_minute=rate)
