"""Request guards: same-origin checks for state changes, security headers, login limits."""

from __future__ import annotations

import time
from collections import deque
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.errors import RateLimitedError

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Scripts, styles, fonts and workers only from our own origin: no inline code, no
# style attributes (scripts style elements through the CSSOM). PDF.js draws pages
# from blob: and data: images and fonts.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'", "script-src 'self'", "style-src 'self'",
    "img-src 'self' data: blob:", "font-src 'self' data:", "connect-src 'self'",
    "worker-src 'self' blob:", "object-src 'none'", "base-uri 'self'",
    "form-action 'self'", "frame-ancestors 'none'",
])
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"geolocation=(), microphone=()"),
]
CROSS_SITE_MESSAGE = "This request came from another site and was refused. Open Plenary's own page and try again."


def is_same_origin(headers: Headers, scheme: str) -> bool:
    """True unless the browser says the request comes from another origin."""
    origin = headers.get("origin")
    if origin is None or origin == "null":
        # No Origin: not a browser cross-site request, or a same-origin GET-like
        # navigation; browsers mark cross-site requests with Sec-Fetch-Site.
        return headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")
    host = headers.get("host", "")
    parts = urlsplit(origin)
    return parts.netloc == host


class SecurityMiddleware:
    """Refuses cross-site state changes and cross-site WebSockets; adds headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        unsafe = scope["type"] == "websocket" or scope["method"] in UNSAFE_METHODS
        if unsafe and not is_same_origin(headers, scope.get("scheme", "http")):
            await _refuse(scope, receive, send)
            return
        await self.app(scope, receive, _with_headers(send))


def _with_headers(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message.setdefault("headers", [])
            existing = {name.lower() for name, _ in message["headers"]}
            for name, value in SECURITY_HEADERS:
                if name not in existing:
                    message["headers"].append((name, value))
        await send(message)
    return wrapped


async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 4403})
        return
    body = {"error": {"code": "cross_site", "message": CROSS_SITE_MESSAGE}}
    await JSONResponse(body, status_code=403)(scope, receive, send)


class AttemptLimiter:
    """At most ``limit`` failed attempts per key within ``window`` seconds."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self._failures: dict[str, deque[float]] = {}

    def ensure_allowed(self, *keys: str) -> None:
        now = time.monotonic()
        for key in keys:
            recent = self._recent(key, now)
            if len(recent) >= self.limit:
                wait = int(self.window - (now - recent[0])) + 1
                raise RateLimitedError("Too many wrong access codes. Wait {seconds} seconds, then try again, or ask the secretary for help.", seconds=wait)

    def fail(self, *keys: str) -> None:
        now = time.monotonic()
        for key in keys:
            self._recent(key, now).append(now)

    def _recent(self, key: str, now: float) -> deque[float]:
        recent = self._failures.setdefault(key, deque())
        while recent and now - recent[0] > self.window:
            recent.popleft()
        if len(self._failures) > 100_000:  # bound memory under a spray of keys
            self._failures.clear()
        return recent
