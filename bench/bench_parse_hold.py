"""How long fetching and parsing one source's answer holds the event loop: large feeds and JSON, compression bombs.

    .venv/bin/python bench/bench_parse_hold.py [--runs 3]

First the time parse_feed and json.loads take by body size, which sets OFF_LOOP_BYTES (watchers/base.py): below
it a parse holds the loop for a few milliseconds at most, above it the parse goes to a worker thread. Then the
longest loop callback (bench/loop_monitor.py) while one watcher polls a 9.4 MiB feed, a 9 MB JSON answer and a
1 GiB gzip bomb, with parsing in the loop (OFF_LOOP_BYTES = infinity, as before) and with the threshold. The
sources are served from a second process. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_poll_cycle import make_feed
from loop_monitor import LoopMonitor
from playback import playback_server

import watchers.base as base
from tests.support.feed_server import FeedServer
from veilleur.core.query import parse_query
from veilleur.core.watcher_config import WatcherConfig
from watchers.base import SourceError, Watcher, WatcherContext, new_http_client
from watchers.feed_parser import parse_feed
from watchers.hackernews import HackerNewsWatcher
from watchers.rss import RssWatcher

BIG_FEED_ITEMS = 4400  # about 9.4 MiB
SIZES_KB = (32, 64, 128, 256, 512, 1024)


def hits(count: int) -> bytes:
    hit = {
        "objectID": "0", "created_at_i": 1_700_000_000, "created_at": "2023-11-14T22:13:20Z", "author": "someone",
        "title": "Tramway de Caen", "url": "https://example.org/", "story_text": "Le tramway " * 150,
        "_tags": ["story"], "points": 3, "num_comments": 0,
    }
    return json.dumps({"hits": [hit | {"objectID": str(n)} for n in range(count)], "nbPages": 1}).encode()


def serve(server: FeedServer) -> None:
    server.add("/big.xml", make_feed(0, BIG_FEED_ITEMS), content_type="application/rss+xml")
    server.add("/api/v1/search_by_date", hits(5000), content_type="application/json")
    server.add_bomb("/bomb.xml", 1024 * 1024 * 1024)


def parse_times(runs: int) -> None:
    print("parse time by body size (median), in the loop")
    print(f"  {'size':>8}  {'parse_feed':>10}  {'json.loads':>10}")
    for kb in SIZES_KB:
        feed = make_feed(0, max(1, kb * 1024 // 2150)).encode()
        answer = hits(max(1, kb * 1024 // 1900))
        feed_ms = _median_ms(lambda data=feed: parse_feed(data), runs)
        json_ms = _median_ms(lambda data=answer: json.loads(data), runs)
        print(f"  {len(feed) / 1024:6.0f} KB  {feed_ms:8.1f} ms  {json_ms:8.1f} ms")


def _median_ms(work: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


async def longest_hold(base_url: str, make: Callable[[str, WatcherContext], Watcher]) -> tuple[float, str, str]:
    http = new_http_client()
    watcher = make(base_url, WatcherContext(http=http))
    with LoopMonitor() as monitor:
        try:
            result = await watcher.poll({})
            outcome = f"{len(result.mentions)} items"
        except SourceError as error:
            outcome = str(error).split(" ", 1)[1][:40]
    await http.aclose()
    top = monitor.top(1)
    return monitor.longest, outcome, top[0].what if top else ""


def rss(path: str, base_url: str, context: WatcherContext) -> Watcher:
    config = WatcherConfig(name="w", source="rss", query=parse_query("tramway"), channel="C1", url=base_url + path)
    return RssWatcher(config, context)


def hackernews(base_url: str, context: WatcherContext) -> Watcher:
    config = WatcherConfig(
        name="hn", source="hackernews", query=parse_query("tramway"), channel="C1", base_url=base_url
    )
    return HackerNewsWatcher(config, context)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    parse_times(args.runs)
    cases = {
        "9.4 MiB feed": partial(rss, "/big.xml"),
        "9 MB JSON (Hacker News)": hackernews,
        "1 GiB gzip bomb (feed)": partial(rss, "/bomb.xml"),
    }
    threshold = base.OFF_LOOP_BYTES
    with playback_server(serve) as base_url:
        print(f"\nlongest loop callback while one watcher polls (median of {args.runs})")
        modes = (("parsed in the loop", math.inf), (f"off the loop above {threshold // 1024} KB", threshold))
        for label, make in cases.items():
            for mode, limit in modes:
                base.OFF_LOOP_BYTES = limit
                runs = [asyncio.run(longest_hold(base_url, make)) for _ in range(args.runs)]
                held = statistics.median(run[0] for run in runs)
                print(f"  {label:24} {mode:28} {held * 1000:7.1f} ms   ({runs[0][1]}; longest: {runs[0][2][:60]})")
    base.OFF_LOOP_BYTES = threshold


if __name__ == "__main__":
    main()
