"""Throughput of parse + match + store, without the network: entries per second.

    .venv/bin/python bench/bench_pipeline.py [--feeds 500] [--items 10]

Feeds are the same shape as bench_poll_cycle's (about 17 KB, 10 items). Each feed is parsed, its entries
normalised and matched against a query, and stored as one poll batch (one transaction), as the poller does.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_poll_cycle import make_feed

from query import parse_query
from store import Store
from watchers.feed_parser import parse_feed
from watchers.rss import entry_to_mention


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--items", type=int, default=10)
    args = parser.parse_args()
    documents = [make_feed(n, args.items).encode() for n in range(args.feeds)]
    query = parse_query('(tramway OR tram) -football "Caen la mer" lang:fr')
    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(Path(folder) / "bench.db")
        timings = {"parse": 0.0, "match": 0.0, "store": 0.0}
        entries = matched = 0
        started = time.perf_counter()
        for n, document in enumerate(documents):
            url = f"https://actu.example.fr/feed/{n}"
            t0 = time.perf_counter()
            mentions = [entry_to_mention(entry, url) for entry in parse_feed(document, url=url).entries]
            t1 = time.perf_counter()
            kept = [mention for mention in mentions if query.matches(mention)]
            t2 = time.perf_counter()
            store.record_poll(f"feed-{n}", "C0BENCH", kept, {})
            t3 = time.perf_counter()
            timings["parse"] += t1 - t0
            timings["match"] += t2 - t1
            timings["store"] += t3 - t2
            entries += len(mentions)
            matched += len(kept)
        total = time.perf_counter() - started
        store.close()
    print(f"{entries} entries ({matched} matched and stored) in {total:.3f} s: {entries / total:,.0f} entries/s")
    for stage, seconds in timings.items():
        print(f"  {stage:6} {seconds:.3f} s  ({entries / seconds:,.0f} entries/s)")


if __name__ == "__main__":
    main()
