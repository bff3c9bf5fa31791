"""Throughput of parse + match + store, without the network: entries per second.

    .venv/bin/python bench/bench_pipeline.py [--feeds N --items M] [--runs 3]

By default, two workloads of 5,000 entries: 500 feeds of 10 items (the shape of bench_poll_cycle's feeds, about
17 KB each) and 100 feeds of 50 items. Each feed is parsed (watchers/feed_parser.py), its entries normalised and
matched against a query (Query.matches), and stored as one poll batch, one transaction, in a file-backed WAL
database (Store.record_poll), as the poller does. Each workload runs `--runs` times in a fresh database; the run
with the median total is printed, with the time of each stage and the percentiles of one poll's store time (what
the asyncio loop waits for). `--in-commit-checkpoints` lets SQLite checkpoint inside commits, as it does by default,
instead of the store's checkpoint thread: the comparison for wal_checkpoint.py.

`--floors` prints what the same work costs done by its building blocks alone, with nothing of ours around them:
fastfeedparser without our normalisation, html_to_text of each summary (the one normalisation every entry needs),
the query, and a bare transaction per poll (one multi-row insert of its mentions, one of its deliveries, the cursor,
the commit: no dedupe lookup, no first-poll rule, no ordering). Their sum is an upper bound on the pipeline's
throughput on this machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import fastfeedparser
from bench_poll_cycle import make_feed

from veilleur.core.query import Query, parse_query
from veilleur.core.text import html_to_text
from veilleur.storage.store import MENTION_FIELDS, Store, _mention_values
from watchers.feed_parser import parse_feed
from watchers.rss import entry_to_mention

STAGES = ("parse", "match", "store")
DEFAULT_WORKLOADS = ((500, 10), (100, 50))


@dataclass
class Run:
    entries: int
    matched: int
    timings: dict[str, float]
    # Seconds each poll's record_poll took.
    store_latencies: list[float]

    @property
    def total(self) -> float:
        return sum(self.timings.values())


def run_pipeline(documents: list[bytes], query: Query, *, in_commit_checkpoints: bool = False) -> Run:
    timings = dict.fromkeys(STAGES, 0.0)
    store_latencies = []
    entries = matched = 0
    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(Path(folder) / "bench.db")
        if in_commit_checkpoints and store.checkpointer is not None:
            store.checkpointer.stop()
            store._db.execute("PRAGMA wal_autocheckpoint=1000")
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
            store_latencies.append(t3 - t2)
            entries += len(mentions)
            matched += len(kept)
        store.close()
    return Run(entries, matched, timings, store_latencies)


def floors(documents: list[bytes], query: Query) -> dict[str, float]:
    """Seconds each building block takes alone on the workload (see the module docstring)."""
    url = "https://actu.example.fr/feed/0"
    parsed = [fastfeedparser.parse(document) for document in documents]
    mentions = [
        [entry_to_mention(entry, url) for entry in parse_feed(document, url=url).entries] for document in documents
    ]
    stamp = "2026-11-24T09:00:00+00:00"
    rows = [[_mention_values(mention, stamp) for mention in batch] for batch in mentions]
    row = f"({', '.join('?' * len(rows[0][0]))})"
    card = "('card', ?, 'C0BENCH', ?, 'pending', ?)"
    t0 = time.perf_counter()
    for document in documents:
        fastfeedparser.parse(document)
    t1 = time.perf_counter()
    for feed in parsed:
        for entry in feed["entries"]:
            html_to_text(entry.get("description", ""))
    t2 = time.perf_counter()
    for batch in mentions:
        for mention in batch:
            query.matches(mention)
    t3 = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(Path(folder) / "floor.db")
        connection = store._db.conn
        t4 = time.perf_counter()
        for n, batch in enumerate(rows):
            connection.execute("begin")
            inserted = connection.execute(
                f"insert into mentions ({', '.join((*MENTION_FIELDS, 'first_seen_at'))})"
                f" values {', '.join([row] * len(batch))} returning id",
                list(chain.from_iterable(batch)),
            ).fetchall()
            connection.execute(
                "insert into deliveries (kind, watcher, channel, mention_id, state, created_at) values"
                f" {', '.join([card] * len(inserted))}",
                list(chain.from_iterable((f"feed-{n}", mention_id, stamp) for (mention_id,) in inserted)),
            )
            connection.execute(
                "insert into watcher_state (name, cursor) values (?, '{}')"
                " on conflict (name) do update set cursor = excluded.cursor",
                [f"feed-{n}"],
            )
            connection.execute("commit")
        t5 = time.perf_counter()
        store.close()
    return {"fastfeedparser": t1 - t0, "html_to_text": t2 - t1, "match": t3 - t2, "bare store": t5 - t4}


def report_floors(feeds: int, items: int, runs: int, query: Query) -> None:
    documents = [make_feed(n, items).encode() for n in range(feeds)]
    results = [floors(documents, query) for _ in range(runs)]
    best = {part: min(result[part] for result in results) for part in results[0]}
    entries = feeds * items
    print(f"{feeds} feeds x {items} items, building blocks alone (best of {runs} runs):")
    for part, seconds in best.items():
        print(f"  {part:14} {seconds:.3f} s  ({entries / seconds:,.0f} entries/s)")
    total = sum(best.values())
    print(f"  sum            {total:.3f} s  ({entries / total:,.0f} entries/s): the most this pipeline can reach here")


def report(feeds: int, items: int, runs: int, query: Query, *, in_commit_checkpoints: bool) -> None:
    documents = [make_feed(n, items).encode() for n in range(feeds)]
    results = [run_pipeline(documents, query, in_commit_checkpoints=in_commit_checkpoints) for _ in range(runs)]
    run = sorted(results, key=lambda result: result.total)[(runs - 1) // 2]
    print(
        f"{feeds} feeds x {items} items: {run.entries} entries ({run.matched} matched and stored) in {run.total:.3f} s:"
        f" {run.entries / run.total:,.0f} entries/s (median of {runs} runs)"
    )
    for stage in STAGES:
        print(f"  {stage:6} {run.timings[stage]:.3f} s  ({run.entries / run.timings[stage]:,.0f} entries/s)")
    centiles = statistics.quantiles(run.store_latencies, n=100, method="inclusive")
    print(
        f"  one poll's store: p50 {centiles[49] * 1000:.2f} ms, p99 {centiles[98] * 1000:.2f} ms,"
        f" max {max(run.store_latencies) * 1000:.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--feeds", type=int, help="with --items: one workload instead of the two default ones")
    parser.add_argument("--items", type=int)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--in-commit-checkpoints", action="store_true", help="SQLite's default checkpoints, to compare")
    parser.add_argument("--floors", action="store_true", help="the building blocks alone: an upper bound")
    args = parser.parse_args()
    query = parse_query('(tramway OR tram) -football "Caen la mer" lang:fr')
    workloads = (
        DEFAULT_WORKLOADS if args.feeds is None and args.items is None else ((args.feeds or 500, args.items or 10),)
    )
    for feeds, items in workloads:
        if args.floors:
            report_floors(feeds, items, args.runs, query)
        else:
            report(feeds, items, args.runs, query, in_commit_checkpoints=args.in_commit_checkpoints)


if __name__ == "__main__":
    main()
