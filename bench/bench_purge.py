"""Retention and erasure at scale: the figures of issue 14.

    .venv/bin/python bench/bench_purge.py [--mentions 1000000] [--kept 100000] [--author-mentions 10000]

1. A database file of `--mentions` posted mentions collected 91 to 180 days ago and `--kept` collected in the last
   30 days, each with what a posted card brings (its card, a story of its own with three lookup keys, its spike
   time), seeded in bulk SQL (tests/support/seed.py). The daily purge (RETENTION_DAYS=90) runs on a running loop
   beside bench/loop_monitor.py and a ticker that stands for Slack's acks: the time, the longest loop hold (target
   <= 50 ms) and the top holds, the database size before and after (the file, and the pages in use: freed pages
   stay in the file, zeroed, for later writes) and the bytes per retained mention, with the removal rows waiting
   for the outbox and once they are gone.
2. `forget` of an author with `--author-mentions` posted mentions among them: the time, the removal rows queued for
   the outbox and how long the outbox needs to send them at its pace (1 per 1.02 s per channel).

Prints figures; asserts nothing. Linux or macOS; a few minutes at the defaults on the 2-core reference machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loop_monitor import LoopMonitor

from tests.support.seed import seed_mentions
from tests.support.sql import sql
from veilleur.core.settings import parse_settings
from veilleur.privacy.service import PrivacyService
from veilleur.slack.outbox import PACE_SECONDS
from veilleur.storage.store import Store

TOP_HOLDS = 5
AUTHOR = "ann@mastodon.example"
CHANNELS = 4  # the kept mentions' cards, and the author's, spread over this many channels


def size_of(store: Store) -> tuple[int, int]:
    """The database file's size, and the bytes of its pages in use."""
    db = sql(store)
    page_size, pages, free = (db.execute(f"PRAGMA {name}").fetchone()[0]
                              for name in ("page_size", "page_count", "freelist_count"))
    return page_size * pages, page_size * (pages - free)


def megabytes(size: int) -> str:
    return f"{size / 1e6:,.0f} MB"


def seed(store: Store, purged: int, kept: int, author_mentions: int) -> None:
    now = datetime.now(UTC)
    started = time.perf_counter()
    old_span = timedelta(days=89) / max(purged, 1)
    seed_mentions(store, purged, first_seen=now - timedelta(days=180), every=old_span)
    recent_span = timedelta(days=30) / max(kept, 1)
    for channel in range(CHANNELS):
        seed_mentions(store, kept // CHANNELS, first_seen=now - timedelta(days=30) + recent_span * channel,
                      every=recent_span * CHANNELS, channel=f"C0KEPT{channel}")
    every = timedelta(days=30) / max(author_mentions, 1)
    seed_mentions(store, author_mentions, first_seen=now - timedelta(days=30), every=every, author=lambda n: AUTHOR,
                  channel="C0AUTHOR")
    print(f"seeded {purged:,} mentions to purge, {kept + author_mentions:,} to keep in "
          f"{time.perf_counter() - started:.1f} s")


async def beside_the_loop(work: asyncio.Future[object] | asyncio.Task[object]) -> tuple[object, LoopMonitor, float]:
    """Run `work` with the loop monitored and a ticker (Slack's acks) waking every 10 ms."""
    done = asyncio.Event()
    late = 0.0

    async def ticker() -> None:
        nonlocal late
        while not done.is_set():
            asked = time.perf_counter()
            await asyncio.sleep(0.01)
            late = max(late, time.perf_counter() - asked - 0.01)

    with LoopMonitor() as monitor:
        ticking = asyncio.create_task(ticker())
        result = await work
        done.set()
        await ticking
    return result, monitor, late


def print_holds(monitor: LoopMonitor, late: float) -> None:
    # Other processes on the machine preempt a step now and then: the load average says how busy it was.
    print(f"  longest loop hold {monitor.longest * 1000:.1f} ms, {monitor.count_over(0.05)} over 50 ms"
          f" (a 10 ms ticker was at most {late * 1000:.0f} ms late; load average {os.getloadavg()[0]:.1f}"
          f" on {os.cpu_count()} cores); top:")
    for hold in monitor.top(TOP_HOLDS):
        print(f"    {hold.seconds * 1000:7.1f} ms  {hold.what}")


async def bench(folder: Path, purged: int, kept: int, author_mentions: int) -> None:
    path = folder / "bench.db"
    store = Store.open(path)
    try:
        seed(store, purged, kept, author_mentions)
        settings = parse_settings({"DATABASE_PATH": str(path)})
        privacy = PrivacyService(store, settings)
        sql(store).execute("PRAGMA wal_checkpoint(TRUNCATE)")
        file_before, used_before = size_of(store)

        started = time.perf_counter()
        report, monitor, late = await beside_the_loop(asyncio.create_task(privacy.purge()))
        took = time.perf_counter() - started
        retained = store.count_mentions()
        file_after, used_after = size_of(store)
        print(f"purge: {report.mentions:,} mentions erased in {took:.1f} s ({report.mentions / took:,.0f}/s),"
              f" {report.slack_messages:,} Slack messages queued for removal; {retained:,} kept")
        print_holds(monitor, late)
        print(f"  database: file {megabytes(file_before)} -> {megabytes(file_after)}, pages in use"
              f" {megabytes(used_before)} -> {megabytes(used_after)}; {used_after / retained:,.0f} bytes per retained"
              f" mention in use ({file_after / retained:,.0f} counting the free pages)")
        (hashes,) = sql(store).execute("select count(*) from erased_items").fetchone()
        print(f"  erased items remembered: {hashes:,} (posts a feed could bring back)")
        # Once the outbox has sent the removals, the next purge deletes their rows: the size that then remains.
        sql(store).execute("update deliveries set state = 'posted' where kind = 'removal'")
        await privacy.purge()
        _, used_later = size_of(store)
        print(f"  once the removals are sent and the next purge deleted their rows: {megabytes(used_later)} in use,"
              f" {used_later / retained:,.0f} bytes per retained mention")

        started = time.perf_counter()
        erased, monitor, late = await beside_the_loop(
            asyncio.create_task(privacy.forget(AUTHOR, requested_by="bench")))
        took = time.perf_counter() - started
        removals = Counter(channel for (channel,) in sql(store).execute(
            "select channel from deliveries where kind = 'removal' and message like '%author_request%'"))
        busiest = max(removals.values(), default=0)
        print(f"forget of an author with {author_mentions:,} mentions: {erased.mentions:,} erased in {took:.1f} s;"
              f" {sum(removals.values()):,} removal rows queued in {len(removals)} channel(s)")
        print(f"  the outbox sends them at {PACE_SECONDS} s per message per channel: about"
              f" {busiest * PACE_SECONDS / 3600:.1f} h for the busiest channel ({busiest:,} rows)")
        print_holds(monitor, late)
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=1_000_000, help="mentions past the retention period")
    parser.add_argument("--kept", type=int, default=100_000, help="mentions within the retention period")
    parser.add_argument("--author-mentions", type=int, default=10_000, help="the forgotten author's mentions")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(bench(Path(folder), args.mentions, args.kept, args.author_mentions))


if __name__ == "__main__":
    main()
