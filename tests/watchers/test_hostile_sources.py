"""What a hostile or broken source sends, over real sockets, at the watcher level: every answer fails cleanly with
an error that says what happened, within bounded memory and time, and nothing of it is parsed or posted."""

from __future__ import annotations

import threading
import tracemalloc
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

import watchers.rss as rss_module
from tests.support.feed_server import FeedServer
from veilleur.core.query import parse_query
from veilleur.core.watcher_config import WatcherConfig
from watchers.base import MAX_RESPONSE_BYTES, OFF_LOOP_BYTES, SourceError, Watcher, WatcherContext
from watchers.bluesky import BlueskyWatcher
from watchers.discourse import DiscourseWatcher
from watchers.facebook import FacebookWatcher
from watchers.hackernews import HackerNewsWatcher
from watchers.lemmy import LemmyWatcher
from watchers.mastodon import MastodonWatcher
from watchers.reddit import RedditWatcher
from watchers.rss import RssWatcher
from watchers.x import XWatcher
from watchers.youtube import YouTubeWatcher

GIB = 64 * 1024 * 1024
# A bounded read holds the capped body (a bytearray grows by an eighth over its size) plus a few inflated steps.
MEMORY_BOUND = MAX_RESPONSE_BYTES * 1.5
TOO_LARGE = "answer larger than 10 MB"


def rss_feed(items: int = 2, *, pad: int = 0) -> str:
    entries = "".join(
        f"<item><title>tramway {n}</title><link>https://example.org/{n}</link><guid>https://example.org/{n}</guid>"
        f"<pubDate>{format_datetime(datetime(2026, 1, 1, tzinfo=UTC))}</pubDate>"
        f"<description>{'x' * pad}</description></item>"
        for n in range(items)
    )
    channel = f"<channel><title>c</title>{entries}</channel>"
    return f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'>{channel}</rss>"


def rss_watcher(url: str, http: httpx.AsyncClient, *, deadline: float = 40.0) -> RssWatcher:
    config = WatcherConfig(name="w", source="rss", query=parse_query("tramway"), channel="C1", url=url)
    return RssWatcher(config, WatcherContext(http=http, deadline=deadline))


def _config(source: str, base_url: str, **options: Any) -> WatcherConfig:
    return WatcherConfig(
        name=source, source=source, query=parse_query("tramway"), channel="C1", base_url=base_url, options=options
    )


# Each JSON API source, with the path of the first request its poll makes.
API_SOURCES: dict[str, tuple[str, Callable[[FeedServer, WatcherContext], Watcher]]] = {
    "hackernews": ("/api/v1/search_by_date", lambda f, c: HackerNewsWatcher(_config("hackernews", f.base_url), c)),
    "mastodon": (
        "/api/v1/timelines/tag/tramway",
        lambda f, c: MastodonWatcher(_config("mastodon", f.base_url, tags=["tramway"]), c),
    ),
    "discourse": ("/forum/search.json", lambda f, c: DiscourseWatcher(_config("discourse", f.url("/forum/")), c)),
    "reddit": ("/api/v1/access_token", lambda f, c: RedditWatcher(_config("reddit", f.base_url), c)),
    "bluesky": (
        "/xrpc/com.atproto.server.createSession",
        lambda f, c: BlueskyWatcher(_config("bluesky", f.base_url), c),
    ),
    "lemmy": ("/nodeinfo/2.1", lambda f, c: LemmyWatcher(_config("lemmy", f.base_url), c)),
    "x": ("/2/tweets/search/recent", lambda f, c: XWatcher(_config("x", f.base_url), c)),
    "youtube": ("/search", lambda f, c: YouTubeWatcher(_config("youtube", f.base_url), c)),
    "facebook": ("/v25.0/111/feed", lambda f, c: FacebookWatcher(_config("facebook", f.base_url, page_id="111"), c)),
}
API_ENV = {
    "REDDIT_CLIENT_ID": "hostile-test",
    "REDDIT_CLIENT_SECRET": "secret",
    "BLUESKY_HANDLE": "veilleur.test",
    "BLUESKY_APP_PASSWORD": "app-password",
    "X_BEARER_TOKEN": "bearer",
    "YOUTUBE_API_KEY": "key",
    "FACEBOOK_PAGE_TOKEN": "token",
}


def api_watcher(source: str, feeds: FeedServer, http: httpx.AsyncClient, *, deadline: float = 40.0) -> Watcher:
    return API_SOURCES[source][1](feeds, WatcherContext(http=http, env=API_ENV, deadline=deadline))


@contextmanager
def peak_memory() -> Iterator[list[int]]:
    """The peak of Python allocations above the start, in bytes (test client and server share the process)."""
    peak: list[int] = []
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        yield peak
        peak.append(tracemalloc.get_traced_memory()[1] - start)
    finally:
        tracemalloc.stop()


async def failure(poll: Awaitable[object]) -> str:
    with pytest.raises(SourceError) as raised:
        await poll
    return str(raised.value)


# ---- compression -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate", "gzip, deflate"])
async def test_compressed_feeds_are_read(feeds: FeedServer, http: httpx.AsyncClient, encoding: str) -> None:
    feeds.add_compressed("/feed", rss_feed(3, pad=200_000), encoding=encoding)
    result = await rss_watcher(feeds.url("/feed"), http).poll({})
    assert [m.title for m in result.mentions] == ["tramway 0", "tramway 1", "tramway 2"]
    assert len(result.mentions[0].text) == 200_000
    assert feeds.requests("/feed")[0].headers["Accept-Encoding"] == "gzip, deflate"


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_feed_compression_bomb_stops_at_the_limit_in_bounded_memory(
    feeds: FeedServer, http: httpx.AsyncClient, encoding: str
) -> None:
    feeds.add_bomb("/bomb", GIB, encoding=encoding)
    with peak_memory() as peak:
        message = await failure(rss_watcher(feeds.url("/bomb"), http).poll({}))
    assert TOO_LARGE in message and feeds.url("/bomb") in message
    assert peak[0] < MEMORY_BOUND


@pytest.mark.parametrize("source", API_SOURCES)
async def test_api_gzip_bomb_stops_at_the_limit_in_bounded_memory(
    feeds: FeedServer, http: httpx.AsyncClient, source: str
) -> None:
    path = API_SOURCES[source][0]
    feeds.add_bomb(path, GIB, content_type="application/json")
    with peak_memory() as peak:
        message = await failure(api_watcher(source, feeds, http).poll({}))
    assert TOO_LARGE in message and path in message
    assert peak[0] < MEMORY_BOUND


async def test_unrequested_compression_is_refused(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    feeds.add("/br", b"\x1b\x00\x00", headers={"Content-Encoding": "br"})
    message = await failure(rss_watcher(feeds.url("/br"), http).poll({}))
    assert "compressed as 'br', which was not asked for" in message


async def test_corrupt_compressed_body_is_a_clear_error(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    feeds.add("/broken", b"\x1f\x8b\x08\x00garbage that is not deflate", headers={"Content-Encoding": "gzip"})
    message = await failure(rss_watcher(feeds.url("/broken"), http).poll({}))
    assert "compressed answer that does not decompress" in message


# ---- size and time ---------------------------------------------------------------------------------------------


async def test_feed_of_50_mb_is_cut_at_the_limit(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    feeds.add_huge("/huge", 50 * 1024 * 1024)
    with peak_memory() as peak:
        message = await failure(rss_watcher(feeds.url("/huge"), http).poll({}))
    assert TOO_LARGE in message
    assert peak[0] < MEMORY_BOUND


@pytest.mark.parametrize("source", API_SOURCES)
async def test_api_answer_of_50_mb_is_cut_at_the_limit(feeds: FeedServer, http: httpx.AsyncClient, source: str) -> None:
    feeds.add_huge(API_SOURCES[source][0], 50 * 1024 * 1024, content_type="application/json")
    with peak_memory() as peak:
        message = await failure(api_watcher(source, feeds, http).poll({}))
    assert TOO_LARGE in message
    assert peak[0] < MEMORY_BOUND


async def test_declared_length_over_the_limit_is_not_read(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    feeds.add("/declared", b" " * (MAX_RESPONSE_BYTES + 1))
    message = await failure(rss_watcher(feeds.url("/declared"), http).poll({}))
    assert TOO_LARGE in message


async def test_slow_loris_feed_is_given_up_at_the_deadline(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    # One byte every 0.3 s: the 1 s read timeout of the test client never fires, the whole-answer deadline does.
    feeds.add_slow_body("/slow", rss_feed(), every=0.3)
    message = await failure(rss_watcher(feeds.url("/slow"), http, deadline=1.5).poll({}))
    assert f"{feeds.url('/slow')} was still sending its answer after 2s (too slow; gave up)" in message


async def test_slow_loris_api_is_given_up_at_the_deadline(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    feeds.add_slow_body(API_SOURCES["hackernews"][0], '{"hits": []}' + " " * 100, every=0.3)
    message = await failure(api_watcher("hackernews", feeds, http, deadline=1.5).poll({}))
    assert "was still sending its answer after 2s" in message


async def test_silent_server_still_reports_no_answer(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    feeds.hang("/silent")
    message = await failure(rss_watcher(feeds.url("/silent"), http, deadline=5.0).poll({}))
    assert message == f"{feeds.url('/silent')} did not answer in time"


# ---- payloads ---------------------------------------------------------------------------------------------------

LAUGHS = '<!ENTITY lol0 "lollollollollollollollollollol">' + "".join(
    f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">' for level in range(1, 10)
)
# Within expat's own guard (at most 100 times the input), yet 10 MB of text from 10 kB of gzip.
QUADRATIC = '<!ENTITY a "' + "a" * 290 + '">'
HIDDEN = "<!ENTITY % hidden \"<!ENTITY a 'aaaa'>\"> %hidden;"
XML_BOMBS = {
    "billion-laughs": (LAUGHS, "&lol9;"),
    "billion-laughs-far-down": ("<!-- " + "padding " * 1000 + "-->" + LAUGHS, "&lol9;"),
    "quadratic": (QUADRATIC, "&a;" * 40_000),
    "parameter-entity": (HIDDEN, "&a;"),
}


@pytest.mark.parametrize(("declarations", "references"), XML_BOMBS.values(), ids=XML_BOMBS.keys())
async def test_xml_bomb_feed_is_refused(
    feeds: FeedServer, http: httpx.AsyncClient, declarations: str, references: str
) -> None:
    body = rss_feed(1).replace("<rss ", f"<!DOCTYPE rss [{declarations}]><rss ", 1)
    feeds.add_compressed("/bomb", body.replace("tramway 0", f"tramway {references}"))
    with peak_memory() as peak:
        message = await failure(rss_watcher(feeds.url("/bomb"), http).poll({}))
    assert "is not a readable feed: its entities would expand to more than 1 MB (an XML bomb?), refused" in message
    assert peak[0] < MEMORY_BOUND


async def test_a_feed_declaring_a_few_entities_is_read(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    body = rss_feed(1).replace("<rss ", '<!DOCTYPE rss [<!ENTITY city "Caen">]><rss ', 1)
    feeds.add("/entities", body.replace("tramway 0", "tramway de &city; &city;"))
    (mention,) = (await rss_watcher(feeds.url("/entities"), http).poll({})).mentions
    assert mention.title == "tramway de Caen Caen"


async def test_external_entities_are_never_fetched_nor_read(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    feeds.add("/secret", "TOP SECRET")
    doctype = f'<!DOCTYPE rss [<!ENTITY net SYSTEM "{feeds.url("/secret")}"><!ENTITY file SYSTEM "file:///etc/passwd">]>'
    body = rss_feed(1).replace("<rss ", doctype + "<rss ", 1).replace("<description>", "<description>&net;&file;")
    feeds.add("/xxe", body)
    (mention,) = (await rss_watcher(feeds.url("/xxe"), http).poll({})).mentions
    assert mention.title == "tramway 0"
    assert "SECRET" not in mention.text and "root:" not in mention.text
    assert feeds.requests("/secret") == []


async def test_feed_with_invalid_utf8_is_read_without_crashing(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    # Feeds declared UTF-8 and written in windows-1252 are common: read as such, not refused.
    feeds.add("/latin", rss_feed(1).encode().replace(b"tramway 0", b"tramway caf\xe9 \xff\xfe"))
    (mention,) = (await rss_watcher(feeds.url("/latin"), http).poll({})).mentions
    assert mention.title.startswith("tramway café")
    mention.title.encode("utf-8")  # no lone surrogate reaches Slack


async def test_api_with_invalid_utf8_is_a_clear_error(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    feeds.add(API_SOURCES["hackernews"][0], b'{"hits": ["caf\xe9"]}', content_type="application/json")
    message = await failure(api_watcher("hackernews", feeds, http).poll({}))
    assert "did not send valid JSON: invalid continuation byte at byte 14" in message


@pytest.mark.parametrize("source", API_SOURCES)
async def test_api_answering_an_html_page_says_so(feeds: FeedServer, http: httpx.AsyncClient, source: str) -> None:
    page = "<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>checking your browser</body></html>"
    feeds.add(API_SOURCES[source][0], page, content_type="text/html")
    message = await failure(api_watcher(source, feeds, http).poll({}))
    assert "did not send valid JSON: got an HTML page (text/html)" in message


async def test_api_redirect_loop_is_reported(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    path = API_SOURCES["hackernews"][0]
    feeds.redirect(path, path)
    message = await failure(api_watcher("hackernews", feeds, http).poll({}))
    assert "redirects more than 5 times (a redirect loop?)" in message


# ---- parsing off the event loop ---------------------------------------------------------------------------------


async def test_large_feeds_are_parsed_in_a_worker_thread(
    feeds: FeedServer, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[bool] = []
    real_parse = rss_module.parse_feed

    def spying_parse(data: bytes, **kwargs: Any) -> Any:
        threads.append(threading.current_thread() is threading.main_thread())
        return real_parse(data, **kwargs)

    monkeypatch.setattr(rss_module, "parse_feed", spying_parse)
    feeds.add("/small", rss_feed(2))
    feeds.add("/large", rss_feed(2, pad=OFF_LOOP_BYTES))
    small = await rss_watcher(feeds.url("/small"), http).poll({})
    large = await rss_watcher(feeds.url("/large"), http).poll({})
    assert len(small.mentions) == len(large.mentions) == 2
    assert threads == [True, False]
