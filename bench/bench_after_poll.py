"""Cost of what runs after each poll is stored: story grouping (stories.py) and the spike check (spikes.py).

    .venv/bin/python bench/bench_after_poll.py [--holds-only]

500 watchers whose first poll is done, then one poll each bringing 10 new cards (5,000 cards), in a file-backed
database, as the poller does: Store.record_poll, then each after-poll hook. Two workloads: distinct texts (the
usual case) and 5,000 copies of one text from 500 accounts (a campaign: one story that keeps growing). Prints the
time per new card of each step.

Then how long the event loop is held (bench/loop_monitor.py), through the real Poller with both hooks: one poll
bringing 1,000 new cards (distinct texts, then 1,000 copies from 1,000 accounts), a poll that raises a spike alert
over 1,000 mentions of the last hour, and the first poll after 100,000 cards were stored without spike times (the
spike check's catch-up). Prints the longest hold and the top holds of each.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_poll_cycle import make_feed
from loop_monitor import LoopMonitor

from veilleur.assist.prompt_book import PromptBook
from veilleur.core.mentions import Mention
from veilleur.core.query import parse_query
from veilleur.core.settings import parse_settings
from veilleur.core.watcher_config import WatcherConfig
from veilleur.storage.store import Store
from veilleur.watching.polling import Poller
from veilleur.watching.spikes import SpikeRule, SpikeWatch
from veilleur.watching.stories import StoryService
from watchers.base import PollResult
from watchers.feed_parser import parse_feed
from watchers.rss import entry_to_mention

WATCHERS = 500
ITEMS = 10
BIG_POLL = 1000
STORED_CARDS = 100_000
TOP_HOLDS = 5


def polls(distinct: bool) -> list[list[Mention]]:
    """Each watcher's new mentions: the benchmark feeds' entries, with random texts when `distinct`."""
    words = [f"mot{n}" for n in range(5000)]
    rng = random.Random(3)
    batches = []
    for n in range(WATCHERS):
        url = f"https://actu.example.fr/feed/{n}"
        mentions = [entry_to_mention(entry, url) for entry in parse_feed(make_feed(n, ITEMS).encode(), url=url).entries]
        if distinct:
            mentions = [replace(m, text=" ".join(rng.choices(words, k=180))) for m in mentions]
        batches.append(mentions)
    return batches


async def run(batches: list[list[Mention]]) -> dict[str, float]:
    settings = parse_settings({})
    seconds = {"record": 0.0, "stories": 0.0, "spikes": 0.0}
    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(Path(folder) / "bench.db")
        stories = StoryService(
            store,
            window=settings.story_window,
            campaign_min_posts=settings.campaign_min_posts,
            campaign_window=settings.campaign_window,
            lang="en",
            tz=settings.bot_timezone,
        )
        spikes = SpikeWatch(store, SpikeRule(), llm=None, prompts=PromptBook(), lang="en", tz=settings.bot_timezone)
        for n in range(WATCHERS):
            store.record_poll(f"feed-{n}", "C0BENCH", [], {})
        for n, mentions in enumerate(batches):
            config = WatcherConfig(name=f"feed-{n}", source="rss", query=parse_query("tram"), channel="C0BENCH",
                                   url=f"https://actu.example.fr/feed/{n}")
            t0 = time.perf_counter()
            outcome = store.record_poll(config.name, config.channel, mentions, {}, burst_threshold=100)
            t1 = time.perf_counter()
            await stories.after_record(config, outcome)
            t2 = time.perf_counter()
            await spikes.after_poll(config, outcome)
            t3 = time.perf_counter()
            seconds["record"] += t1 - t0
            seconds["stories"] += t2 - t1
            seconds["spikes"] += t3 - t2
        store.close()
    return seconds


class OneBatch:
    """A watcher whose next poll brings the given mentions: the source is not what is measured here."""

    def __init__(self, config: WatcherConfig, mentions: list[Mention]) -> None:
        self.config = config
        self.mentions = mentions

    async def poll(self, cursor: dict[str, Any]) -> PollResult:
        return PollResult(self.mentions, {})


def big_poll(distinct: bool) -> list[Mention]:
    """1,000 fresh mentions of one feed: random texts, or one text copied by as many accounts."""
    url = "https://actu.example.fr/feed/big"
    entries = parse_feed(make_feed(9999, BIG_POLL).encode(), url=url).entries
    mentions = [entry_to_mention(entry, url) for entry in entries]
    words = [f"mot{n}" for n in range(5000)]
    rng = random.Random(5)
    copied = " ".join(rng.choices(words, k=60))
    return [
        replace(m, text=" ".join(rng.choices(words, k=180)) if distinct else f"{copied} {m.url}",
                author_handle=f"@account{n}")
        for n, m in enumerate(mentions)
    ]


def store_backlog(store: Store, cards: int) -> None:
    """`cards` cards of another watcher, stored as if by a process that kept no spike times (`bot.py once`)."""
    store.record_poll("backlog", "C0OTHER", [], {})
    for batch in range(cards // BIG_POLL):
        mentions = [Mention(source="rss", external_id=f"b{batch}-{n}", url=f"https://b.example/{batch}/{n}",
                            text="tram late again") for n in range(BIG_POLL)]
        store.record_poll("backlog", "C0OTHER", mentions, {}, burst_threshold=BIG_POLL)
    store._db.execute("delete from spike_progress")


async def held_loop(mentions: list[Mention], hooks: str, backlog: int = 0) -> LoopMonitor:
    """One poll through the real Poller with the `hooks` named ("stories", "spikes"), its loop holds recorded."""
    settings = parse_settings({})
    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(Path(folder) / "bench.db")
        config = WatcherConfig(name="big", source="rss", query=parse_query("tramway"), channel="C0BENCH",
                               url="https://actu.example.fr/feed/big")
        poller = Poller(store, {"big": OneBatch(config, mentions)}, burst_threshold=settings.burst_threshold)
        stories = StoryService(store, window=settings.story_window, campaign_min_posts=settings.campaign_min_posts,
                               campaign_window=settings.campaign_window, lang="en", tz=settings.bot_timezone)
        spikes = SpikeWatch(store, SpikeRule(), llm=None, prompts=PromptBook(), lang="en", tz=settings.bot_timezone)
        available: dict[str, Callable[..., Any]] = {"stories": stories.after_record, "spikes": spikes.after_poll}
        poller.after_record += [available[name] for name in hooks.split("+")]
        store.record_poll("big", "C0BENCH", [], {})
        store_backlog(store, backlog)
        with LoopMonitor() as monitor:
            await asyncio.create_task(poller.poll("big"))
            await spikes.wait()
            await stories.settled()
        await asyncio.sleep(0)  # the step that leaves the monitor ends here, before the store is closed
        store.close()
    return monitor


def print_holds(name: str, monitor: LoopMonitor) -> None:
    print(f"{name}: longest loop hold {monitor.longest * 1000:.1f} ms, {monitor.count_over(0.05)} over 50 ms; top:")
    for hold in monitor.top(TOP_HOLDS):
        print(f"    {hold.seconds * 1000:7.1f} ms  {hold.what}")


def measure_holds() -> None:
    cases = (
        ("1,000 new cards, distinct texts (stories + spikes: a spike alert)", big_poll(True), "stories+spikes", 0),
        ("1,000 copies from 1,000 accounts (stories + spikes: a campaign)", big_poll(False), "stories+spikes", 0),
        ("spike alert over 1,000 mentions (spikes only)", big_poll(True), "spikes", 0),
        (f"first poll's spike catch-up over {STORED_CARDS:,} stored cards (spikes only)", big_poll(True)[:1],
         "spikes", STORED_CARDS),
    )
    for name, mentions, hooks, backlog in cases:
        print_holds(name, asyncio.run(held_loop(mentions, hooks, backlog)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--holds-only", action="store_true", help="only the loop holds")
    args = parser.parse_args()
    if not args.holds_only:
        for name, distinct in (("distinct texts", True), ("one text copied by 500 accounts", False)):
            seconds = asyncio.run(run(polls(distinct)))
            cards = WATCHERS * ITEMS
            figures = ", ".join(f"{step} {1000 * total / cards:.2f} ms" for step, total in seconds.items())
            print(f"{name}: per new card: {figures} (every watcher's poll is a spike here)")
    measure_holds()


if __name__ == "__main__":
    main()
