"""One poll cycle over many local feeds: cold (everything new), warm (everything 304), and peak memory.

    .venv/bin/python bench/bench_poll_cycle.py [--feeds 500] [--items 10] [--runs 3] [--ignore-conditional]

`--ignore-conditional`: the server sends validators but ignores If-None-Match/If-Modified-Since, as many do, so
the warm cycle downloads every feed again (and skips parsing those whose body hash is unchanged).

The feeds are served by the test suite's FeedServer in a second process (as a remote site would be), so the
figures measure the bot: fetch (httpx + aiohttp transport), parse, match, store. The same cycle is then run with
feedparser in place of the fast parser, for comparison. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import feedparser
from playback import playback_server

import watchers.rss as rss_module
from tests.support.feed_server import FeedServer
from veilleur.core.query import parse_query
from veilleur.core.text import html_to_text
from veilleur.core.watcher_config import WatcherConfig
from veilleur.storage.store import Store
from veilleur.watching.polling import Poller
from watchers.base import WatcherContext, new_http_client
from watchers.feed_parser import FeedEntry, ParsedFeed
from watchers.rss import RssWatcher

PARAGRAPH = (
    "Le conseil communautaire de Caen la mer a débattu ce soir du prolongement du tramway vers le nord-ouest. "
    "Les riverains s'inquiètent des travaux &amp; des coupures de circulation, tandis que l'opposition dénonce "
    "un calendrier <b>trop serré</b>. "
)


def make_feed(feed: int, items: int) -> str:
    now = datetime.now(UTC)
    entries = "".join(
        f"<item><title>Tramway : point d'étape n°{feed}-{n}</title>"
        f"<link>https://actu.example.fr/{feed}/{n}</link><guid>https://actu.example.fr/{feed}/{n}</guid>"
        f"<pubDate>{format_datetime(now)}</pubDate><dc:creator>Rédaction {feed}</dc:creator>"
        f"<description><![CDATA[<p>{PARAGRAPH * 5}</p>]]></description></item>"
        for n in range(items)
    )
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0' xmlns:dc='http://purl.org/dc/elements/1.1/'>"
        f"<channel><title>Actu {feed}</title><link>https://actu.example.fr/</link><language>fr</language>"
        f"{entries}</channel></rss>"
    )


def add_feeds(feeds: int, items: int, server: FeedServer, *, conditional: bool = True) -> None:
    for feed in range(feeds):
        server.add(f"/feed/{feed}", make_feed(feed, items), content_type="application/rss+xml", conditional=conditional)


def feedparser_parse(data: bytes, *, url: str = "", content_type: str | None = None) -> ParsedFeed:
    """The same normalisation, with feedparser doing the parsing: the slow baseline."""
    parsed = feedparser.parse(data, response_headers={"content-location": url})
    entries = [
        FeedEntry(
            id=entry.get("id") or entry.get("link", ""),
            link=entry.get("link", ""),
            title=html_to_text(entry.get("title", "")),
            summary=html_to_text(entry.get("summary", "")),
            author=entry.get("author", ""),
            published=datetime(*entry.published_parsed[:6], tzinfo=UTC) if entry.get("published_parsed") else None,
            lang=parsed.feed.get("language"),
        )
        for entry in parsed.entries
    ]
    return ParsedFeed(parsed.feed.get("title", ""), parsed.feed.get("link", ""), parsed.feed.get("language"), entries)


async def cycle_pair(base_url: str, feeds: int) -> tuple[float, float, int]:
    """A cold then a warm cycle on a fresh database; returns their durations and the mentions stored."""
    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(Path(folder) / "bench.db")
        http = new_http_client()
        context = WatcherContext(http=http)
        query = parse_query("tramway OR tram")
        watchers = {
            f"feed-{n}": RssWatcher(
                WatcherConfig(name=f"feed-{n}", source="rss", query=query, channel="C0BENCH",
                              url=f"{base_url}/feed/{n}"),
                context,
            )
            for n in range(feeds)
        }
        poller = Poller(store, watchers, burst_threshold=5)
        started = time.perf_counter()
        cold_reports = await poller.poll_all()
        cold = time.perf_counter() - started
        started = time.perf_counter()
        warm_reports = await poller.poll_all()
        warm = time.perf_counter() - started
        stored = store.count_mentions()
        failures = [r.error for r in cold_reports + warm_reports if not r.ok]
        if failures:
            print(f"  {len(failures)} failed polls, e.g. {failures[0]}")
        unchanged = sum(r.not_modified for r in warm_reports)
        if unchanged < feeds:
            print(f"  warm cycle: {feeds - unchanged} of {feeds} feeds parsed again")
        await http.aclose()
        store.close()
        return cold, warm, stored


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--items", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ignore-conditional", action="store_true")
    args = parser.parse_args()

    size = len(make_feed(0, args.items).encode())
    print(f"{args.feeds} feeds x {args.items} items ({size / 1024:.1f} KB each), {args.runs} runs, median shown")
    if args.ignore_conditional:
        print("the server ignores conditional GET: the warm cycle downloads every feed again")
    setup = partial(add_feeds, args.feeds, args.items, conditional=not args.ignore_conditional)
    with playback_server(setup) as base_url:
        parsers = (("fastfeedparser (ours)", rss_module.parse_feed), ("feedparser (baseline)", feedparser_parse))
        for label, parse in parsers:
            rss_module.parse_feed = parse
            runs = [asyncio.run(cycle_pair(base_url, args.feeds)) for _ in range(args.runs if "ours" in label else 1)]
            cold = statistics.median(r[0] for r in runs)
            warm = statistics.median(r[1] for r in runs)
            stored = runs[0][2]
            print(f"{label:24} cold {cold:6.2f} s ({stored} new mentions, {stored / cold:,.0f}/s)   warm {warm:5.2f} s")
            if "ours" in label:
                peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                print(f"{'':24} peak RSS of the bot process after these cycles: {peak:.0f} MB")


if __name__ == "__main__":
    main()
