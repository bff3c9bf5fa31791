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
import zlib
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

import httpx
from aiohttp import ClientSession
from httpx_aiohttp import AiohttpTransport

from veilleur.core.i18n import Phrase, technical
from veilleur.core.mentions import Mention
from veilleur.core.query import Clause
from veilleur.core.watcher_config import WatcherConfig, WatcherFieldError

USER_AGENT = "Veilleur/0.1 (self-hosted community listening bot for Slack; +https://github.com/veilleur/veilleur)"
MAX_RESPONSE_BYTES = 10 * 1024 * 1024
MAX_REDIRECTS = 5
# HTTP errors with a sentence saying what to do (error.http.<status>); any 5xx has one too.
EXPLAINED_STATUSES = frozenset({401, 403, 404, 410, 429})
TIMEOUT = httpx.Timeout(20.0, connect=10.0)
# The read timeout restarts at every chunk, so a source sending a byte every few seconds would never time out: the
# whole answer, from the request to its last byte, must come within this. Above connect + read, below a poll's 60 s.
RESPONSE_DEADLINE = 40.0
# Only what the bounded inflater below undoes; brotli or zstd installed later must not widen it silently.
ACCEPT_ENCODING = "gzip, deflate"
INFLATE_STEP = 64 * 1024  # the most one step of decompression may produce
MAX_ENCODINGS = 2  # "gzip, deflate" stacked is already unusual; more is an attack on the decoder
ERROR_BODY_BYTES = 64 * 1024  # enough for an API's JSON error; a larger error page is not read
DESCRIBED_BYTES = 60  # how much of an unexpected body an error quotes
# Bodies above this are parsed in a worker thread so the event loop keeps answering Slack (bench/bench_parse_hold.py).
OFF_LOOP_BYTES = 64 * 1024


@dataclass(frozen=True)
class PollResult:
    mentions: list[Mention]
    cursor: dict[str, Any]
    not_modified: bool = False


class SourceError(Exception):
    """A poll failed in a way worth telling the team about (HTTP error, bad payload, auth).

    `phrase` says it in any language (`str(error)` is its English); a plain message, for a rare error, becomes a
    `technical` phrase. `retry_after` (seconds) is set when the source asked us to slow down; `status` is the HTTP
    status when the source answered with an error (so a watcher can name the env var to check on a 401/403); `code`
    is the error name of a JSON error body, `{"error": "ExpiredToken"}` (to tell an expired session from a bad
    request); `body` is the start of an error answer, for APIs whose error names sit deeper (Google's, Meta's
    Graph API).
    """

    def __init__(
        self,
        message: str | Phrase,
        *,
        retry_after: float | None = None,
        status: int | None = None,
        code: str | None = None,
        body: bytes = b"",
    ) -> None:
        self.phrase = message if isinstance(message, Phrase) else technical(message)
        super().__init__(str(self.phrase))
        self.retry_after = retry_after
        self.status = status
        self.code = code
        self.body = body


class RateLimits:
    """Per-host request budgets learned from rate-limit headers, so we slow down before a source says 429.

    Understands `X-RateLimit-Remaining`/`-Reset` (Mastodon, Reddit, GitHub style), the IETF
    `RateLimit-Remaining`/`-Reset` (Bluesky) and X's `x-rate-limit-remaining`/`-reset`. A reset is either seconds
    from now or an epoch/ISO time.
    """

    def __init__(self, reserve: int = 2, max_wait: float = 60.0) -> None:
        self.reserve = reserve
        self.max_wait = max_wait
        self._resume_at: dict[str, float] = {}

    def note(self, url: str, headers: Mapping[str, str]) -> None:
        remaining = _header_number(headers, "x-ratelimit-remaining", "ratelimit-remaining", "x-rate-limit-remaining")
        reset = headers.get("x-ratelimit-reset") or headers.get("ratelimit-reset") or headers.get("x-rate-limit-reset")
        seconds = _reset_seconds(reset)
        if remaining is None or seconds is None or remaining > self.reserve:
            return
        self._resume_at[host_of(url)] = time.monotonic() + max(0.0, seconds)

    def delay(self, url: str) -> float:
        return max(0.0, self._resume_at.get(host_of(url), 0.0) - time.monotonic())

    async def wait(self, url: str) -> None:
        """Sleep until the host's budget resets; past `max_wait` give up this poll rather than block it."""
        delay = self.delay(url)
        if delay > self.max_wait:
            raise SourceError(Phrase.of("error.rate_limit", host=host_of(url), count=round(delay)), retry_after=delay)
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
    """What a watcher may use: the shared HTTP client, rate-limit budgets, the environment (credentials), and how
    long one answer may take to arrive whole."""

    http: httpx.AsyncClient
    env: Mapping[str, str] = field(default_factory=dict)
    limits: RateLimits = field(default_factory=RateLimits)
    deadline: float = RESPONSE_DEADLINE


class Watcher(Protocol):
    config: WatcherConfig

    async def poll(self, cursor: dict[str, Any]) -> PollResult:
        """New items since `cursor` (the dict this watcher returned last time, `{}` at first)."""
        ...

    async def thread(self, mention: Mention) -> list[Mention]:
        """The conversation around `mention`: its ancestors, itself and its replies, oldest first."""
        ...


POOL_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=50)


class BodyReadingTransport(AiohttpTransport):
    """httpx-aiohttp, sending a request body only when there is one.

    httpx builds a redirected request from the original's body stream without reading it, so the transport hands
    aiohttp an unread stream and aiohttp sends the GET with `Transfer-Encoding: chunked` and an empty chunked body,
    which strict HTTP/1.1 servers (Python's http.server) answer with 400. Reading the in-memory body first lets
    the transport see it is empty and send a plain GET.
    """

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if isinstance(request.stream, httpx.ByteStream):
            await request.aread()
        return await super().handle_async_request(request)


def new_http_client(
    timeout: httpx.Timeout = TIMEOUT, *, session: Callable[[], ClientSession] | None = None
) -> httpx.AsyncClient:
    """One client for every watcher: aiohttp's pool is much faster than httpcore's under concurrency.

    `session` builds the aiohttp session inside the running loop, for a custom connector (url_safety.py).
    """
    return httpx.AsyncClient(
        transport=BodyReadingTransport(limits=POOL_LIMITS, client=session),
        timeout=timeout,
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": ACCEPT_ENCODING},
    )


async def fetch(
    http: httpx.AsyncClient,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    max_bytes: int = MAX_RESPONSE_BYTES,
    deadline: float = RESPONSE_DEADLINE,
) -> tuple[httpx.Response, bytes]:
    """GET `url` and its body, at most `max_bytes` once decompressed, turning transport failures into `SourceError`.

    An error status comes with at most ERROR_BODY_BYTES of its body (b"" when larger), a 304 with none.
    """
    return await _request(http, "GET", url, max_bytes=max_bytes, deadline=deadline, headers=headers)


async def _request(
    http: httpx.AsyncClient, method: str, url: str, *, max_bytes: int, deadline: float, **options: Any
) -> tuple[httpx.Response, bytes]:
    whole_answer = asyncio.timeout(deadline)
    try:
        async with whole_answer, http.stream(method, url, **options) as response:
            if response.status_code == 304:
                return response, b""
            if response.status_code >= 400:
                return response, await _error_body(response, url)
            return response, await _read_bounded(response, url, max_bytes)
    except TimeoutError:
        if not whole_answer.expired():
            raise SourceError(Phrase.of("error.timeout", url=url)) from None
        raise SourceError(Phrase.of("error.too_slow", url=url, count=round(deadline))) from None
    except httpx.TooManyRedirects:
        raise SourceError(Phrase.of("error.redirects", url=url, count=MAX_REDIRECTS)) from None
    except httpx.ConnectTimeout as error:
        raise _connect_failure(url, error) from None
    except httpx.TimeoutException:
        raise SourceError(Phrase.of("error.timeout", url=url)) from None
    except httpx.HTTPError as error:
        detail = f"{error.__class__.__name__} {error}".strip()
        raise SourceError(Phrase.of("error.unreachable", url=url, detail=detail)) from None


async def _error_body(response: httpx.Response, url: str) -> bytes:
    """The start of an error answer, for its error code; b"" when it is larger than an API error would be."""
    try:
        return await _read_bounded(response, url, ERROR_BODY_BYTES)
    except SourceError:
        return b""


async def _read_bounded(response: httpx.Response, url: str, max_bytes: int) -> bytes:
    """The body, decompressed here a bounded step at a time and counted as it streams: past `max_bytes` (on the
    wire or decompressed) the read stops and nothing of it is returned.

    httpx-aiohttp asks aiohttp for the raw bytes (auto_decompress=False) and leaves decoding to httpx, whose
    decoders inflate each network chunk whole: one 16 KiB chunk of a gzip bomb becomes 16 MiB at once. Reading
    raw and inflating at most INFLATE_STEP bytes per step keeps a bomb to the limit plus one step.
    """
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(url, max_bytes)
    inflaters = _inflaters(response.headers.get("content-encoding", ""), url)
    body = bytearray()
    received = 0
    async for chunk in response.aiter_raw():
        received += len(chunk)
        if received > max_bytes:
            raise _too_large(url, max_bytes)
        try:
            for piece in _inflated(chunk, inflaters):
                if len(body) + len(piece) > max_bytes:
                    raise _too_large(url, max_bytes)
                body += piece
        except zlib.error as error:
            raise SourceError(Phrase.of("error.bad_compression", url=url, detail=str(error))) from None
    return bytes(body)


def _too_large(url: str, max_bytes: int) -> SourceError:
    return SourceError(Phrase.of("error.too_large", url=url, count=round(max_bytes / 1024 / 1024)))


class _Inflater:
    """One content coding (gzip or deflate) undone at most INFLATE_STEP bytes at a time."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16 if coding == "gzip" else zlib.MAX_WBITS)
        self._produced = False
        self._raw_deflate = False

    def inflate(self, data: bytes) -> Iterator[bytes]:
        try:
            yield from self._steps(data)
        except zlib.error:
            # "deflate" should be zlib-wrapped (RFC 9110) but some servers send it raw; as browsers do, take either.
            if self.coding != "deflate" or self._produced or self._raw_deflate:
                raise
            self._raw_deflate = True
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            yield from self._steps(data)

    def _steps(self, data: bytes) -> Iterator[bytes]:
        while True:
            piece = self._zlib.decompress(data, INFLATE_STEP)
            data = self._zlib.unconsumed_tail
            if piece:
                self._produced = True
                yield piece
            # A full step may leave output inside zlib even when all input is consumed: ask again until it is short.
            if self._zlib.eof or (not data and len(piece) < INFLATE_STEP):
                return


def _inflaters(content_encoding: str, url: str) -> list[_Inflater]:
    """Decoders for a Content-Encoding header, in the order to apply them (the last coding applied comes first)."""
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip().lower() not in ("", "identity")]
    if len(codings) > MAX_ENCODINGS:
        raise SourceError(Phrase.of("error.compressed_too_often", url=url, count=len(codings)))
    unknown = [coding for coding in codings if coding not in ("gzip", "x-gzip", "deflate")]
    if unknown:
        raise SourceError(Phrase.of("error.unknown_encoding", url=url, encoding=repr(unknown[0][:40])))
    return [_Inflater("deflate" if coding == "deflate" else "gzip") for coding in reversed(codings)]


def _inflated(chunk: bytes, inflaters: list[_Inflater]) -> Iterator[bytes]:
    if not inflaters:
        yield chunk
        return
    for piece in inflaters[0].inflate(chunk):
        yield from _inflated(piece, inflaters[1:])


Parsed = TypeVar("Parsed")


async def parse_off_loop(parse: Callable[[bytes], Parsed], body: bytes) -> Parsed:
    """`parse(body)`, in a worker thread when the body is large enough to hold the event loop noticeably."""
    if len(body) > OFF_LOOP_BYTES:
        return await asyncio.to_thread(parse, body)
    return parse(body)


def _connect_failure(url: str, error: httpx.ConnectTimeout) -> SourceError:
    """What really stopped the connection. httpx-aiohttp reports every failed connection as a ConnectTimeout, but an
    operator fixes a misspelt host, a stopped server or a bad certificate differently from a slow server."""
    cause = error.__cause__
    while cause is not None and cause.__cause__ is not None:
        cause = cause.__cause__
    host = urlsplit(url).hostname or url
    if isinstance(cause, PermissionError):
        # url_safety refuses a forbidden address this way, naming it (as a phrase of its own when it has one).
        reason = getattr(cause, "phrase", None)
        reason = reason if isinstance(reason, Phrase) else technical(str(cause.strerror or cause))
        return SourceError(Phrase.of("error.not_allowed", url=url, reason=reason))
    if isinstance(cause, socket.gaierror):
        return SourceError(Phrase.of("error.dns", host=host, url=url))
    if isinstance(cause, ConnectionRefusedError):
        return SourceError(Phrase.of("error.refused", host=host, url=url))
    if isinstance(cause, ssl.SSLError):
        return SourceError(Phrase.of("error.tls", host=host, url=url, detail=str(cause.reason or cause)))
    if isinstance(cause, OSError) and not isinstance(cause, TimeoutError):
        return SourceError(Phrase.of("error.connect", host=host, url=url, detail=str(cause.strerror or cause)))
    return SourceError(Phrase.of("error.timeout", url=url))


def raise_for_status(response: httpx.Response, url: str, *, code: str | None = None, body: bytes = b"") -> None:
    """Turn an HTTP error status into a `SourceError` that says what to do about it."""
    if response.status_code < 400:
        return
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    number = response.status_code
    key = "error.http.5xx" if number >= 500 else "error.http"
    if number in EXPLAINED_STATUSES:
        key = f"error.http.{number}"
    status = f"HTTP {number} {response.reason_phrase}".strip()
    raise SourceError(
        Phrase.of(key, status=status, url=url),
        retry_after=retry_after,
        status=response.status_code,
        code=code,
        body=body,
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

    The body is bounded like `fetch`'s. Errors come back as `SourceError` naming the URL (never the credentials).
    `data` is sent form-encoded.
    """
    await context.limits.wait(url)
    response, body = await _request(
        context.http,
        method,
        url,
        max_bytes=MAX_RESPONSE_BYTES,
        deadline=context.deadline,
        params=params,
        headers=headers,
        json=json_body,
        data=data,
    )
    context.limits.note(url, response.headers)
    if response.status_code >= 400:
        raise_for_status(response, url, code=_error_code(body), body=body)
    decode = partial(_json, url=url, content_type=response.headers.get("content-type"))
    return response, await parse_off_loop(decode, body)


def _json(body: bytes, *, url: str, content_type: str | None) -> Any:
    try:
        return json.loads(body)
    except UnicodeDecodeError as error:
        raise SourceError(Phrase.of("error.bad_json", url=url, detail=error.reason, position=error.start)) from None
    except ValueError:
        raise SourceError(Phrase.of("error.not_json", url=url, body=describe_body(body, content_type))) from None


def describe_body(data: bytes, content_type: str | None) -> Phrase:
    """A short account of a body that is not what was expected, for the error shown to the team."""
    head = data.lstrip()[:512].lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<body" in head or b"<head" in head:
        what = Phrase.of("error.body.html")
    elif not head:
        what = Phrase.of("error.body.empty")
    else:
        snippet = data.lstrip()[:DESCRIBED_BYTES].decode("utf-8", errors="replace")
        what = Phrase.of("error.body.content", start=repr(snippet))
    return Phrase.of("error.body.typed", body=what, content_type=content_type) if content_type else what


def _error_code(body: bytes) -> str | None:
    """The short error name of a JSON error body such as XRPC's `{"error": "ExpiredToken", "message": ...}`."""
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


def bounded_searches(
    config: WatcherConfig, *, why: str = "one per word or phrase", hint: str = "", as_typed: bool = False
) -> list[str]:
    """`keyword_searches`, refusing at start-up a query that would cost more than MAX_SEARCHES requests a poll."""
    searches = keyword_searches(config, as_typed=as_typed)
    if len(searches) > MAX_SEARCHES:
        raise WatcherFieldError(
            "options",
            f"the query makes {len(searches)} searches per poll ({why}), at most {MAX_SEARCHES}: "
            f"set options.q to a shorter list{hint}",
        )
    return searches


def require_searches(
    config: WatcherConfig, *, why: str = "one per word or phrase", as_typed: bool = False
) -> list[str]:
    searches = bounded_searches(config, why=why, as_typed=as_typed)
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


def keyword_searches(config: WatcherConfig, *, as_typed: bool = False) -> list[str]:
    """What a keyword-search API should be asked for this watcher, one search per item.

    `options.q` (a text, or a list of texts) is taken as written, in the API's own syntax. Otherwise each word or
    phrase the query looks for becomes one search: phrases quoted, "*" and "#" dropped since search APIs do not
    take them (the query itself still filters what comes back). `as_typed`, for a substring search that tells "é"
    from "e" (Lemmy): the words as the person typed them, phrases unquoted.
    """
    raw = config.options.get("q")
    if raw is None and as_typed:
        typed = (term.lstrip("#").strip() for term in typed_terms(config.query.outline()))
        return list(dict.fromkeys(term for term in typed if term))
    if raw is None:
        terms = (term.strip("#*").strip() for term in config.query.terms())
        return list(dict.fromkeys(f'"{term}"' if " " in term else term for term in terms if term))
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not items or not all(isinstance(item, str) and item.strip() for item in items):
        raise WatcherFieldError("options", f"q must be a search text or a list of search texts, got {raw!r}")
    return [item.strip() for item in items]


def typed_terms(clause: Clause, negated: bool = False) -> list[str]:
    """The words, prefixes (without "*") and phrases a query looks for, as the person typed them (accents kept),
    once each: for a search that, unlike the query, tells "é" from "e"."""
    if clause.kind in ("word", "prefix", "phrase"):
        return [] if negated else [clause.value]
    terms = (typed_terms(child, negated ^ (clause.kind == "not")) for child in clause.children)
    return list(dict.fromkeys(term for found in terms for term in found))
