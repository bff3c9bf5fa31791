"""Slack's request signature, checked on the raw request before Bolt reads any of it (HTTP mode).

Bolt's own check (slack_sdk's SignatureVerifier) calls `int()` on the `X-Slack-Request-Timestamp` header and
`hmac.compare_digest` on the signature as received: a timestamp that is not a whole number ("abc", "", "1.5",
5,000 digits) or a signature with non-ASCII characters raises, and the request gets a 500. Bolt also decodes and
parses the body before any middleware runs, so an unsigned body that is not UTF-8 or not JSON is a 500 too. This
aiohttp middleware refuses all of them with a 401 first; Bolt's check still runs after it, on requests it passed.
Its log line says why a request was refused, never what the request held (body, signature, header values).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

log = logging.getLogger(__name__)

# Slack refuses to replay requests older than this, and so do we.
MAX_CLOCK_SKEW = 5 * 60
# A Unix time in whole seconds, ASCII digits only: int() would also take "+1", "1_0", " 1 " and Arabic digits.
_TIMESTAMP = re.compile(r"[0-9]{1,15}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]


def signature_problem(
    signing_secret: str, body: bytes, timestamp: str | None, signature: str | None, now: float
) -> str | None:
    """Why a request with these headers is not from Slack, or None when its v0 signature is valid."""
    if not timestamp:
        return "no X-Slack-Request-Timestamp"
    if not _TIMESTAMP.fullmatch(timestamp):
        return "X-Slack-Request-Timestamp is not a whole number of seconds"
    if abs(now - int(timestamp)) > MAX_CLOCK_SKEW:
        return "X-Slack-Request-Timestamp is more than 5 minutes away from this machine's clock"
    if not signature:
        return "no X-Slack-Signature"
    if not _SIGNATURE.fullmatch(signature):
        return "X-Slack-Signature is not a v0 signature"
    expected = hmac.new(signing_secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    if not hmac.compare_digest("v0=" + expected.hexdigest(), signature):
        return "X-Slack-Signature does not match (check SLACK_SIGNING_SECRET)"
    return None


def slack_signature_middleware(signing_secret: str) -> Middleware:
    """An aiohttp middleware that answers 401 to every POST not signed with `signing_secret`."""

    @web.middleware
    async def verify(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method != "POST" or request.match_info.http_exception is not None:
            return await handler(request)  # not Bolt's endpoint: aiohttp answers 404 or 405
        body = await request.read()  # kept by aiohttp: Bolt reads the same bytes afterwards
        headers = request.headers
        problem = signature_problem(
            signing_secret,
            body,
            headers.get("X-Slack-Request-Timestamp"),
            headers.get("X-Slack-Signature"),
            time.time(),
        )
        if problem is None:
            return await handler(request)
        log.info("refused a request that Slack did not sign: %s", problem)
        return web.json_response({"error": "invalid request"}, status=401)

    return verify
