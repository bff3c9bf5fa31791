"""Redirects against a plain, strict HTTP/1.1 server (Python's http.server), as small self-hosted sites run."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from veilleur.core.query import parse_query
from veilleur.core.watcher_config import WatcherConfig
from watchers.base import SourceError, WatcherContext
from watchers.hackernews import HackerNewsWatcher
from watchers.rss import RssWatcher

FEED = (
    b"<?xml version='1.0'?><rss version='2.0'><channel><title>c</title>"
    b"<item><title>tramway</title><link>https://example.org/1</link><guid>https://example.org/1</guid></item>"
    b"</channel></rss>"
)
SEARCH = b'{"hits": [], "nbHits": 0, "page": 0, "nbPages": 0, "hitsPerPage": 50}'
ROUTES: dict[str, tuple[int, str, bytes]] = {
    "/old-feed": (301, "/feed", b""),
    "/moved-feed": (302, "/old-feed", b""),
    "/feed": (200, "application/rss+xml", FEED),
    "/loop": (302, "/loop", b""),
    "/api/v1/search_by_date": (307, "/v2/api/v1/search_by_date", b""),
    "/v2/api/v1/search_by_date": (200, "application/json", SEARCH),
}


class StrictHandler(BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1 that refuses a GET carrying a body, as strict servers and proxies do."""

    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, dict[str, str]]]

    def do_GET(self) -> None:
        self.seen.append((self.path.partition("?")[0], dict(self.headers)))
        if "Transfer-Encoding" in self.headers or int(self.headers.get("Content-Length", "0")) > 0:
            self._send(400, "text/plain", b"a GET has no body")
            return
        status, detail, body = ROUTES.get(self.path.partition("?")[0], (404, "text/plain", b"not found"))
        if 300 <= status < 400:
            self.send_response(status)
            self.send_header("Location", detail)
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._send(status, detail, body)

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads `seen`."""


@pytest.fixture
def strict_server() -> Iterator[tuple[str, list[tuple[str, dict[str, str]]]]]:
    seen: list[tuple[str, dict[str, str]]] = []
    handler = type("Handler", (StrictHandler,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()
    thread.join()


def rss(url: str, http: httpx.AsyncClient) -> RssWatcher:
    config = WatcherConfig(name="w", source="rss", query=parse_query("tramway"), channel="C1", url=url)
    return RssWatcher(config, WatcherContext(http=http))


async def test_redirected_feed_is_fetched_with_a_plain_get(strict_server, http: httpx.AsyncClient) -> None:
    base, seen = strict_server
    result = await rss(f"{base}/moved-feed", http).poll({})
    assert [m.title for m in result.mentions] == ["tramway"]
    assert [path for path, _ in seen] == ["/moved-feed", "/old-feed", "/feed"]
    for _, headers in seen:
        assert "Transfer-Encoding" not in headers and headers.get("Content-Length", "0") == "0"


async def test_redirected_api_call_is_fetched_with_a_plain_get(strict_server, http: httpx.AsyncClient) -> None:
    base, seen = strict_server
    config = WatcherConfig(name="hn", source="hackernews", query=parse_query("tramway"), channel="C1", base_url=base)
    result = await HackerNewsWatcher(config, WatcherContext(http=http)).poll({})
    assert result.mentions == []
    assert [path for path, _ in seen] == ["/api/v1/search_by_date", "/v2/api/v1/search_by_date"]
    assert all("Transfer-Encoding" not in headers for _, headers in seen)


async def test_redirect_loop_is_reported_clearly(strict_server, http: httpx.AsyncClient) -> None:
    base, seen = strict_server
    with pytest.raises(SourceError) as raised:
        await rss(f"{base}/loop", http).poll({})
    assert str(raised.value) == f"{base}/loop redirects more than 5 times (a redirect loop?)"
    assert len(seen) == 6
