"""What every source watcher implements, and the HTTP plumbing they share.

A watcher knows its API and nothing of Slack or of the database: `poll()` takes the cursor it returned last
time and gives back normalised mentions with the next cursor; the poller matches, stores and posts them.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
from aiohttp import ClientSession
from httpx_aiohttp import AiohttpTransport

from mentions import Mention
from watcher_config import WatcherConfig, WatcherFieldError

USER_AGENT = "Veilleur/0.1 (self-hosted community listening bot for Slack; +https://github.com/veilleur/veilleur)"
MAX_RESPONSE_BYTES = 10 * 1024 * 1024
MAX_REDIRECTS = 5
TIMEOUT = httpx.Timeout(20.0, connect=10.0)


@dataclass(frozen=True)
class PollResult:
    mentions: list[Mention]
    cursor: dict[str, Any]
    not_modified: bool = False


class SourceError(Exception):
    """A poll failed in a way worth telling the team about (HTTP error, bad payload, auth).

    `retry_after` (seconds) is set when the source asked us to slow down; `status` is the HTTP status when the
    source answered with an error (so a watcher can name the env var to check on a 401/403); `code` is the error
    name of a JSON error body, `{"error": "ExpiredToken"}` (to tell an expired session from a bad request).
    """

    def __init__(
        self, message: str, *, retry_after: float | None = None, status: int | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status
        self.code = code


class RateLimits:
    """Per-host request budgets learned from rate-limit headers, so we slow down before a source says 429.

    Understands `X-RateLimit-Remaining`/`-Reset` (Mastodon, Reddit, GitHub style) and the IETF
    `RateLimit-Remaining`/`-Reset` (Bluesky). A reset is either seconds from now or an epoch/ISO time.
    """

    def __init__(self, reserve: int = 2, max_wait: float = 60.0) -> None:
        self.reserve = reserve
        self.max_wait = max_wait
        self._resume_at: dict[str, float] = {}

    def note(self, url: str, headers: Mapping[str, str]) -> None:
        remaining = _header_number(headers, "x-ratelimit-remaining", "ratelimit-remaining")
        seconds = _reset_seconds(headers.get("x-ratelimit-reset") or headers.get("ratelimit-reset"))
        if remaining is None or seconds is None or remaining > self.reserve:
            return
        self._resume_at[host_of(url)] = time.monotonic() + max(0.0, seconds)

    def delay(self, url: str) -> float:
        return max(0.0, self._resume_at.get(host_of(url), 0.0) - time.monotonic())

    async def wait(self, url: str) -> None:
        """Sleep until the host's budget resets; past `max_wait` give up this poll rather than block it."""
        delay = self.delay(url)
        if delay > self.max_wait:
            raise SourceError(f"{host_of(url)} rate limit nearly spent; waiting {delay:.0f}s", retry_after=delay)
        if delay:
            await asyncio.sleep(delay)


def host_of(url: str) -> str:
    return urlsplit(url).netloc.lower()


def _header_number(headers: Mapping[str, str], *names: str) -> float | None:
    for name in names:
        value = headers.get(name)
        if value is None:
            continue
        try:
            return float(value)
        except ValueError:
            continue
    return None


def _reset_seconds(value: str | None) -> float | None:
    """Seconds until a rate-limit window resets, from delta seconds, epoch seconds or an ISO time (Mastodon)."""
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp() - time.time()
    return number - time.time() if number > 1e9 else number


@dataclass(frozen=True)
class WatcherContext:
    """What a watcher may use: the shared HTTP client, rate-limit budgets, and the environment (credentials)."""

    http: httpx.AsyncClient
    env: Mapping[str, str] = field(default_factory=dict)
    limits: RateLimits = field(default_factory=RateLimits)


class Watcher(Protocol):
    config: WatcherConfig

    async def poll(self, cursor: dict[str, Any]) -> PollResult:
        """New items since `cursor` (the dict this watcher returned last time, `{}` at first)."""
        ...

    async def thread(self, mention: Mention) -> list[Mention]:
        """The conversation around `mention`: its ancestors, itself and its replies, oldest first."""
        ...


POOL_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=50)


def new_http_client(
    timeout: httpx.Timeout = TIMEOUT, *, session: Callable[[], ClientSession] | None = None
) -> httpx.AsyncClient:
    """One client for every watcher: aiohttp's pool is much faster than httpcore's under concurrency.

    `session` builds the aiohttp session inside the running loop, for a custom connector (url_safety.py).
    """
    return httpx.AsyncClient(
        transport=AiohttpTransport(limits=POOL_LIMITS, client=session),
        timeout=timeout,
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        headers={"User-Agent": USER_AGENT},
    )


async def fetch(
    http: httpx.AsyncClient, url: str, *, headers: Mapping[str, str] | None = None, max_bytes: int = MAX_RESPONSE_BYTES
) -> tuple[httpx.Response, bytes]:
    """GET `url` and read at most `max_bytes` of body, turning transport failures into `SourceError`."""
    try:
        async with http.stream("GET", url, headers=headers) as response:
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise SourceError(f"{url} is {int(declared):,} bytes, over the {max_bytes:,}-byte limit")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise SourceError(f"{url} sent more than the {max_bytes:,}-byte limit")
                chunks.append(chunk)
            return response, b"".join(chunks)
    except httpx.TooManyRedirects:
        raise SourceError(f"{url} redirects more than {MAX_REDIRECTS} times") from None
    except httpx.ConnectTimeout as error:
        raise _connect_failure(url, error) from None
    except httpx.TimeoutException:
        raise SourceError(f"{url} did not answer in time") from None
    except httpx.HTTPError as error:
        raise SourceError(f"could not reach {url}: {error.__class__.__name__} {error}".strip()) from None


def _connect_failure(url: str, error: httpx.ConnectTimeout) -> SourceError:
    """What really stopped the connection. httpx-aiohttp reports every failed connection as a ConnectTimeout, but an
    operator fixes a misspelt host, a stopped server or a bad certificate differently from a slow server."""
    cause = error.__cause__
    while cause is not None and cause.__cause__ is not None:
        cause = cause.__cause__
    host = urlsplit(url).hostname or url
    if isinstance(cause, PermissionError):
        # url_safety refuses a forbidden address this way, naming it.
        return SourceError(f"not allowed to connect for {url}: {cause.strerror or cause}")
    if isinstance(cause, socket.gaierror):
        return SourceError(
            f"cannot find the host {host} for {url}"
            " (the name does not resolve: check the address and this machine's DNS)"
        )
    if isinstance(cause, ConnectionRefusedError):
        return SourceError(f"{host} refused the connection for {url} (is the server down, or the port wrong?)")
    if isinstance(cause, ssl.SSLError):
        return SourceError(f"no secure connection to {host} for {url}: {cause.reason or cause}")
    if isinstance(cause, OSError) and not isinstance(cause, TimeoutError):
        return SourceError(f"could not connect to {host} for {url}: {cause.strerror or cause}")
    return SourceError(f"{url} did not answer in time")


def raise_for_status(response: httpx.Response, url: str, *, code: str | None = None) -> None:
    """Turn an HTTP error status into a `SourceError` that says what to do about it."""
    if response.status_code < 400:
        return
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    hint = {
        401: "check the credentials",
        403: "access denied; check the credentials or whether the resource is private",
        404: "check the URL",
        410: "the resource is gone; remove or fix this watcher",
        429: "rate limited; slowing down",
    }.get(response.status_code, "the server had a problem" if response.status_code >= 500 else "")
    reason = f"HTTP {response.status_code} {response.reason_phrase}".strip()
    raise SourceError(
        f"{reason} from {url}" + (f" ({hint})" if hint else ""),
        retry_after=retry_after,
        status=response.status_code,
        code=code,
    )


def parse_retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


async def fetch_json(
    context: WatcherContext,
    url: str,
    *,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    method: str = "GET",
    json_body: Any = None,
    data: Mapping[str, str] | None = None,
) -> tuple[httpx.Response, Any]:
    """Call a JSON API politely: wait if its rate limit is nearly spent, check the status, decode the body.

    Errors come back as `SourceError` naming the URL (never the credentials). `data` is sent form-encoded.
    """
    await context.limits.wait(url)
    try:
        response = await context.http.request(method, url, params=params, headers=headers, json=json_body, data=data)
    except httpx.ConnectTimeout as error:
        raise _connect_failure(url, error) from None
    except httpx.TimeoutException:
        raise SourceError(f"{url} did not answer in time") from None
    except httpx.HTTPError as error:
        raise SourceError(f"could not reach {url}: {error.__class__.__name__} {error}".strip()) from None
    context.limits.note(url, response.headers)
    if response.status_code >= 400:
        raise_for_status(response, url, code=_error_code(response.content))
    if len(response.content) > MAX_RESPONSE_BYTES:
        raise SourceError(f"{url} sent more than the {MAX_RESPONSE_BYTES:,}-byte limit")
    try:
        return response, json.loads(response.content)
    except ValueError:
        raise SourceError(f"{url} did not send valid JSON (truncated or an error page?)") from None


def _error_code(body: bytes) -> str | None:
    """The short error name of a JSON error body such as XRPC's `{"error": "ExpiredToken", "message": ...}`."""
    if len(body) > 65536:  # an error page, not an API error
        return None
    try:
        error = json.loads(body).get("error")
    except (ValueError, AttributeError):
        return None
    return error if isinstance(error, str) and len(error) <= 100 else None


MAX_SEARCHES = 5  # keyword APIs without OR get one request per word or phrase: keep a poll polite


def check_options(config: WatcherConfig, allowed: Collection[str]) -> None:
    unknown = sorted(set(config.options) - set(allowed))
    if unknown:
        raise WatcherFieldError("options", f"unknown option {unknown[0]!r}; {config.source} takes {sorted(allowed)}")


def bounded_searches(config: WatcherConfig, *, why: str = "one per word or phrase", hint: str = "") -> list[str]:
    """`keyword_searches`, refusing at start-up a query that would cost more than MAX_SEARCHES requests a poll."""
    searches = keyword_searches(config)
    if len(searches) > MAX_SEARCHES:
        raise WatcherFieldError(
            "options",
            f"the query makes {len(searches)} searches per poll ({why}), at most {MAX_SEARCHES}: "
            f"set options.q to a shorter list{hint}",
        )
    return searches


def require_searches(config: WatcherConfig, *, why: str = "one per word or phrase") -> list[str]:
    searches = bounded_searches(config, why=why)
    if not searches:
        raise WatcherFieldError("options", "the query has no word to search for; set options.q")
    return searches


def as_text(value: object) -> str:
    """A text field of an API payload, or "" when it is missing or not text."""
    return value.strip() if isinstance(value, str) else ""


def as_count(value: object) -> int | None:
    """A count (followers, likes...) of an API payload, or None when missing or not a whole number."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def as_utc(value: object) -> datetime | None:
    """An ISO 8601 time of an API payload as an aware UTC datetime (naive taken as UTC), or None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def keyword_searches(config: WatcherConfig) -> list[str]:
    """What a keyword-search API should be asked for this watcher, one search per item.

    `options.q` (a text, or a list of texts) is taken as written, in the API's own syntax. Otherwise each word or
    phrase the query looks for becomes one search: phrases quoted, "*" and "#" dropped since search APIs do not
    take them (the query itself still filters what comes back).
    """
    raw = config.options.get("q")
    if raw is None:
        terms = (term.strip("#*").strip() for term in config.query.terms())
        return list(dict.fromkeys(f'"{term}"' if " " in term else term for term in terms if term))
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not items or not all(isinstance(item, str) and item.strip() for item in items):
        raise WatcherFieldError("options", f"q must be a search text or a list of search texts, got {raw!r}")
    return [item.strip() for item in items]
