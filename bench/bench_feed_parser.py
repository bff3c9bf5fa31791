"""Entries per second of parse_feed, fastfeedparser and feedparser on the workloads of
/work/shared/reference/performance.md: one 50-entry RSS feed (~80 KB) and 500 feeds of 10 items (~16.8 KB each).

    .venv/bin/python bench/bench_feed_parser.py

Prints medians; compare ratios within one run, not absolute times across machines.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import fastfeedparser
import feedparser

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from veilleur.core.text import html_to_text
from watchers.feed_parser import parse_feed

WORDS = [
    "veille",
    "communauté",
    "tramway",
    "Caen",
    "mer",
    "réunion",
    "budget",
    "participatif",
    "slack",
    "équipe",
    "annonce",
    "publique",
    "projet",
    "quartier",
]
RUNS = 7
SNIPPET = (
    "<p>Le conseil municipal a voté lundi soir, à l’unanimité, une <b>enveloppe</b> de 150&nbsp;000 €. Réactions "
    "d’élus et <a href='https://example.fr/x?a=1&amp;b=2'>d’habitants</a>.</p><p>Second paragraph with more text "
    "&amp; entities &#8217; here.<br>Line two of it, and a bit more text to reach four hundred characters.</p>"
)


def words(seed: int, count: int) -> str:
    return " ".join(WORDS[(seed * 7 + k) % len(WORDS)] for k in range(count))


def rss_item(number: int, start: datetime) -> str:
    date = (start - timedelta(minutes=17 * number)).strftime("%a, %d %b %Y %H:%M:%S +0100")
    body = "".join(
        f'<p>{words(number + j, 24)} <a href="https://example.org/tag/{j}?utm_source=rss&amp;x={number}">lien {j}</a>'
        f" &amp; <b>{words(j, 3)}</b>.</p>"
        for j in range(4)
    )
    return (
        f"<item><title>{escape(words(number, 9))} n°{number}</title>"
        f"<link>https://example.org/articles/{number}?utm_source=rss</link>"
        f'<guid isPermaLink="false">urn:example:article:{number}</guid>'
        f"<pubDate>{date}</pubDate><dc:creator>Auteur {number % 7}</dc:creator><category>actualité</category>"
        f"<description><![CDATA[{body}]]></description></item>"
    )


def rss_feed(items: int, seed: int = 0) -> bytes:
    start = datetime(2025, 11, 18, 9, 0, tzinfo=UTC)
    body = "".join(rss_item(seed * 1000 + number, start) for number in range(items))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<channel><title>Exemple {seed}</title><link>https://example.org/</link><language>fr</language>"
        f"<description>Flux</description>{body}</channel></rss>"
    ).encode()


def median_seconds(work: Callable[[], object], runs: int = RUNS) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def parse_all(parse: Callable[[bytes], object], documents: Sequence[bytes]) -> Callable[[], None]:
    def work() -> None:
        for document in documents:
            parse(document)

    return work


def report(label: str, entries: int, seconds: float) -> None:
    print(f"{label:<58} {seconds * 1000:9.2f} ms  {entries / seconds:>10,.0f} entries/s")


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    feed_50 = rss_feed(50)
    feeds_10 = [rss_feed(10, seed) for seed in range(500)]
    print(f"50-entry feed: {len(feed_50) / 1024:.1f} KiB; 500 x 10-item feeds: {len(feeds_10[0]) / 1024:.1f} KiB each")

    def feedparser_fast_options(data: bytes) -> object:
        return feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)

    report("parse_feed, 50-entry feed", 50, median_seconds(lambda: parse_feed(feed_50)))
    report("fastfeedparser.parse alone, 50-entry feed", 50, median_seconds(lambda: fastfeedparser.parse(feed_50)))
    report("feedparser.parse, 50-entry feed", 50, median_seconds(lambda: feedparser.parse(feed_50), runs=3))
    report(
        "feedparser.parse without sanitising/resolving, 50-entry feed",
        50,
        median_seconds(lambda: feedparser_fast_options(feed_50), runs=3),
    )
    report("parse_feed, 500 x 10-item feeds", 5000, median_seconds(parse_all(parse_feed, feeds_10), runs=3))
    report(
        "fastfeedparser.parse alone, 500 x 10-item feeds",
        5000,
        median_seconds(parse_all(fastfeedparser.parse, feeds_10), runs=3),
    )
    calls = 20_000
    seconds = median_seconds(parse_all(html_to_text, [SNIPPET] * calls), runs=3)
    print(f"html_to_text, {len(SNIPPET)}-char snippet: {seconds / calls * 1e6:.1f} µs per call")


if __name__ == "__main__":
    main()
