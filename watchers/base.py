"""What every source watcher implements, and the HTTP plumbing they share.

A watcher knows its API and nothing of Slack or of the database: `poll()` takes the cursor it returned last
time and gives back normalised mentions with the next cursor; the poller matches, stores and posts them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
from httpx_aiohttp import AiohttpTransport

from mentions import Mention
from watcher_config import WatcherConfig

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

    `retry_after` (seconds) is set when the source asked us to slow down.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class WatcherContext:
    """What a watcher may use: the shared HTTP client and the environment (for credentials)."""

    http: httpx.AsyncClient
    env: Mapping[str, str] = field(default_factory=dict)


class Watcher(Protocol):
    config: WatcherConfig

    async def poll(self, cursor: dict[str, Any]) -> PollResult: ...


def new_http_client() -> httpx.AsyncClient:
    """One client for every watcher: aiohttp's pool is much faster than httpcore's under concurrency."""
    return httpx.AsyncClient(
        transport=AiohttpTransport(limits=httpx.Limits(max_connections=100, max_keepalive_connections=50)),
        timeout=TIMEOUT,
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
    except httpx.TimeoutException:
        raise SourceError(f"{url} did not answer in time") from None
    except httpx.HTTPError as error:
        raise SourceError(f"could not reach {url}: {error.__class__.__name__} {error}".strip()) from None


def raise_for_status(response: httpx.Response, url: str) -> None:
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
    raise SourceError(f"{reason} from {url}" + (f" ({hint})" if hint else ""), retry_after=retry_after)


def parse_retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
