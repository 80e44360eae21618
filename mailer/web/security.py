"""Web safety: security headers on every response, CSRF tokens, and shared rate limits.

CSRF is session-less: a random cookie (``HttpOnly``, ``SameSite=Strict``) and,
in each form, a fresh nonce with the HMAC of cookie and nonce. The nonce
changes on every page, so compression cannot leak the secret (BREACH). The
one-click unsubscribe POST carries no token: RFC 8058 clients send none, and
the signed unsubscribe token in its URL is the authority.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from datetime import datetime

from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from store.ratelimits import count_request, forget_old_counts

SIGNUP = "signup"  # sign-up requests of one client
BAD_TOKEN = "bad-token"  # confirmation and unsubscribe links that name nothing
BAD_TOKENS_PER_HOUR = 30
LIMIT_SECONDS = 3600

CSP = (
    # connect-src lets a page's auditors fetch /robots.txt from it (Lighthouse
    # does); with no script allowed, nothing else can use it.
    "default-src 'none'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)
CSRF_COOKIE = "ediscuss_csrf"
CSRF_FIELD = "csrf"


class SecurityHeaders:
    """ASGI middleware: adds the security headers to every HTTP response."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        extra = [(b"strict-transport-security", b"max-age=31536000")] if https else []
        self.headers = list(SECURITY_HEADERS) + extra

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (name, value) for name, value in self.headers if name not in names
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def new_csrf_cookie() -> str:
    """A fresh random value for the CSRF cookie."""
    return secrets.token_urlsafe(24)


def _csrf_mac(key: bytes, cookie: str, nonce: str) -> str:
    msg = f"csrf\x00{cookie}\x00{nonce}".encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()[:32]


def csrf_form_token(key: bytes, cookie: str) -> str:
    """The hidden form value bound to *cookie*: ``nonce.mac``, new on each call."""
    nonce = secrets.token_urlsafe(9)
    return f"{nonce}.{_csrf_mac(key, cookie, nonce)}"


def csrf_valid(key: bytes, cookie: str | None, form_token: str | None) -> bool:
    """True when *form_token* was made for *cookie* with *key*."""
    if not cookie or not form_token or len(form_token) > 200:
        return False
    nonce, sep, mac = form_token.partition(".")
    if not sep:
        return False
    return hmac.compare_digest(mac, _csrf_mac(key, cookie, nonce))


def client_key(host: str | None) -> str:
    """Who a rate limit counts: the IPv4 address, or the /64 of an IPv6 address."""
    if not host:
        return "unknown"
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return host[:64]
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return str(addr.ipv4_mapped)
        return str(ipaddress.IPv6Network((addr, 64), strict=False))
    return str(addr)


def allow_request(
    session: Session,
    limit_name: str,
    client: str,
    limit: int,
    now: datetime,
    seconds: int = LIMIT_SECONDS,
) -> bool:
    """Count one request of *client* against *limit_name*; False when over *limit*.

    The counts live in the database (:mod:`store.ratelimits`), so a client that
    goes from node to node meets the same limit. The caller commits.
    """
    forget_old_counts(session, now, seconds)
    return count_request(session, f"{limit_name}:{client}", now, seconds) <= limit
