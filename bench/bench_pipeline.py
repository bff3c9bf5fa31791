"""Throughput of parse + match + store, without the network: entries per second.

    .venv/bin/python bench/bench_pipeline.py [--feeds N --items M] [--runs 3]

By default, two workloads of 5,000 entries: 500 feeds of 10 items (the shape of bench_poll_cycle's feeds, about
17 KB each) and 100 feeds of 50 items. Each feed is parsed (watchers/feed_parser.py), its entries normalised and
matched against a query (Query.matches), and stored as one poll batch, one transaction, in a file-backed WAL
database (Store.record_poll), as the poller does. Each workload runs `--runs` times in a fresh database; the run
with the median total is printed, with the time of each stage.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_poll_cycle import make_feed

from query import Query, parse_query
from store import Store
from watchers.feed_parser import parse_feed
from watchers.rss import entry_to_mention

STAGES = ("parse", "match", "store")
DEFAULT_WORKLOADS = ((500, 10), (100, 50))


def run_pipeline(documents: list[bytes], query: Query) -> tuple[int, int, dict[str, float]]:
    """Entries seen, entries stored, and the seconds spent in each stage."""
    timings = dict.fromkeys(STAGES, 0.0)
    entries = matched = 0
    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(Path(folder) / "bench.db")
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
        store.close()
    return entries, matched, timings


def report(feeds: int, items: int, runs: int, query: Query) -> None:
    documents = [make_feed(n, items).encode() for n in range(feeds)]
    results = [run_pipeline(documents, query) for _ in range(runs)]
    median_total = statistics.median_low(sum(timings.values()) for _, _, timings in results)
    entries, matched, timings = next(result for result in results if sum(result[2].values()) == median_total)
    print(
        f"{feeds} feeds x {items} items: {entries} entries ({matched} matched and stored) in {median_total:.3f} s: "
        f"{entries / median_total:,.0f} entries/s (median of {runs} runs)"
    )
    for stage in STAGES:
        print(f"  {stage:6} {timings[stage]:.3f} s  ({entries / timings[stage]:,.0f} entries/s)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--feeds", type=int, help="with --items: one workload instead of the two default ones")
    parser.add_argument("--items", type=int)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    query = parse_query('(tramway OR tram) -football "Caen la mer" lang:fr')
    workloads = (
        DEFAULT_WORKLOADS if args.feeds is None and args.items is None else ((args.feeds or 500, args.items or 10),)
    )
    for feeds, items in workloads:
        report(feeds, items, args.runs, query)


if __name__ == "__main__":
    main()
