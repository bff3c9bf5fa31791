"""Cost of what runs after each poll is stored: story grouping (stories.py) and the spike check (spikes.py).

    .venv/bin/python bench/bench_after_poll.py

500 watchers whose first poll is done, then one poll each bringing 10 new cards (5,000 cards), in a file-backed
database, as the poller does: Store.record_poll, then each after-poll hook. Two workloads: distinct texts (the
usual case) and 5,000 copies of one text from 500 accounts (a campaign: one story that keeps growing). Prints the
time per new card of each step. These steps run in the bot's event loop, so they bound how long a burst of new
mentions holds it.
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_poll_cycle import make_feed

from mentions import Mention
from prompt_book import PromptBook
from query import parse_query
from settings import parse_settings
from spikes import SpikeRule, SpikeWatch
from store import Store
from stories import StoryService
from watcher_config import WatcherConfig
from watchers.feed_parser import parse_feed
from watchers.rss import entry_to_mention

WATCHERS = 500
ITEMS = 10


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
            stories.after_record(config, outcome)
            t2 = time.perf_counter()
            spikes.after_poll(config, outcome)
            t3 = time.perf_counter()
            seconds["record"] += t1 - t0
            seconds["stories"] += t2 - t1
            seconds["spikes"] += t3 - t2
        store.close()
    return seconds


def main() -> None:
    for name, distinct in (("distinct texts", True), ("one text copied by 500 accounts", False)):
        seconds = asyncio.run(run(polls(distinct)))
        cards = WATCHERS * ITEMS
        figures = ", ".join(f"{step} {1000 * total / cards:.2f} ms" for step, total in seconds.items())
        print(f"{name}: per new card: {figures} (every watcher's poll is a spike here)")


if __name__ == "__main__":
    main()
