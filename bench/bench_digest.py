"""The digest's computation over a month of mentions, and the size of the narrative's prompt.

    .venv/bin/python bench/bench_digest.py [--mentions 100000] [--days 30] [--runs 5] [--holds-only]

Generates `--mentions` mentions over `--days` days into a file-backed database through Store.record_poll (4
watchers, 6 sources, texts drawn from a dozen topics, random reach and engagement, some failed polls and
escalations), then times compute_digest (median of `--runs`) for the last day, the last week and the whole
span, and prints the narrative prompt's size for periods holding about 1k, 10k and all the mentions.
Then how long the event loop is held (bench/loop_monitor.py) while DigestService builds a digest as `/digest
preview` and the scheduled digest do: the preview at the end of the span (since the latest slot), the last day
and the whole span; the longest hold and the top holds of each.
Target (issue 6): ≤ 1 s for 100,000 mentions in 30 days; the prompt stays under a fixed size.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loop_monitor import LoopMonitor

from veilleur.assist.prompt_book import PromptBook
from veilleur.core.mentions import Mention
from veilleur.core.settings import parse_settings
from veilleur.core.watcher_config import AuthorLabel
from veilleur.digest.compute import compute_digest
from veilleur.digest.delivery import DigestService, DigestTarget
from veilleur.digest.model import DigestPeriod
from veilleur.digest.narrative import FACTS_LIMIT, narrative_prompt
from veilleur.storage.escalations import EscalationStore
from veilleur.storage.store import Store

END = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
WATCHERS = ("tram", "budget", "parks", "schools")
SOURCES = ("mastodon", "bluesky", "reddit", "rss", "hackernews", "discourse")
TOPICS = (
    "tram works avenue late delays detour", "grève transports bus métro perturbations",
    "budget council vote taxes deficit", "parc jardins arbres promenade inauguration",
    "school canteen menus children lunch", "cycle lanes bikes safety crossing",
    "housing rents social flats construction", "festival concert music summer stage",
    "pollution air quality traffic ozone", "piscine municipale horaires fermeture travaux",
    "police night noise security district", "library opening hours books reading",
)
FILLER = ["really", "think", "people", "city", "today", "week", "again", "maybe", "everyone", "news"]
BATCH = 250
TOP_HOLDS = 5


def mention_text(rng: random.Random) -> str:
    topic = rng.choice(TOPICS).split()
    words = rng.sample(topic, 4) + rng.sample(FILLER, 3)
    rng.shuffle(words)
    return " ".join(words) + rng.choice(("", " great", " shame", " ?", " bravo", " honte"))


def build(path: Path, mentions: int, days: int, seed: int = 7) -> Store:
    rng = random.Random(seed)
    store = Store.open(path)
    start = END - timedelta(days=days)
    for watcher in WATCHERS:
        store.record_poll(watcher, "C0BENCH", [], {}, now=start - timedelta(days=1))
    step = timedelta(days=days) / (mentions / BATCH)
    for batch in range(mentions // BATCH):
        moment = start + step * batch
        items = [
            Mention(
                source=rng.choice(SOURCES),
                external_id=f"{batch}-{n}",
                url=f"https://example.org/{batch}/{n}",
                text=mention_text(rng),
                author_handle=f"@user{rng.randrange(5000)}",
                author_name=f"User {rng.randrange(5000)}",
                author_reach=rng.choice((None, rng.randrange(100), rng.randrange(100_000))),
                engagement={"likes": rng.randrange(50), "reposts": rng.randrange(10)},
            )
            for n in range(BATCH)
        ]
        store.record_poll(WATCHERS[batch % len(WATCHERS)], "C0BENCH", items, {}, now=moment)
        if batch % 97 == 0:
            store.record_poll_failure(WATCHERS[batch % len(WATCHERS)], "HTTP 503", now=moment)
    escalations = EscalationStore(store)
    for number in range(60):
        created = END - timedelta(hours=number * 7)
        escalations.create(number + 1, card_id=None, watcher=WATCHERS[number % 4], channel="C0BENCH",
                           thread_ts=None, officials=["U0OFFICIAL"], user="U0USER", via="command", note=None,
                           now=created, next_reminder_at=None)
    return store


def timed(store: Store, period: DigestPeriod, runs: int) -> tuple[float, int]:
    authors = [AuthorLabel(labels=("journalist",), handle=f"@user{n}") for n in range(50)]
    times = []
    total = 0
    for _ in range(runs):
        started = time.perf_counter()
        total = compute_digest(store, period, authors=authors).total
        times.append(time.perf_counter() - started)
    return statistics.median(times), total


async def held_loop(store: Store, label: str, period: DigestPeriod | None) -> None:
    """Build one digest as the bot does (None: `/digest preview` at END) and print how long the loop was held."""
    service = DigestService(store, parse_settings({}), lambda: [])
    with LoopMonitor() as monitor:
        if period is None:
            await asyncio.create_task(service.preview(DigestTarget("C0BENCH", None), now=END))
        else:
            await asyncio.create_task(service.build(period, None, chart=False))
    print(f"{label}: longest loop hold {monitor.longest * 1000:.1f} ms, {monitor.count_over(0.05)} over 50 ms; top:")
    for hold in monitor.top(TOP_HOLDS):
        print(f"    {hold.seconds * 1000:7.1f} ms  {hold.what}")


def print_holds(store: Store, days: int) -> None:
    mentions = store.count_mentions()
    asyncio.run(held_loop(store, f"/digest preview, {mentions} stored mentions", None))
    for label, length in (("the last day", timedelta(days=1)), (f"all {days} days", timedelta(days=days))):
        asyncio.run(held_loop(store, f"digest of {label}, {mentions} stored mentions",
                              DigestPeriod(END - length, END)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--holds-only", action="store_true", help="only the loop holds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        started = time.perf_counter()
        store = build(Path(directory) / "bench.db", args.mentions, args.days)
        print(f"generated {store.count_mentions()} mentions in {time.perf_counter() - started:.1f} s")
        if args.holds_only:
            print_holds(store, args.days)
            store.close()
            return
        for label, length in (("last day", timedelta(days=1)), ("last 7 days", timedelta(days=7)),
                              (f"all {args.days} days", timedelta(days=args.days))):
            seconds, total = timed(store, DigestPeriod(END - length, END), args.runs)
            print(f"compute_digest, {label:>12}: {total:>7} mentions, median {seconds * 1000:.0f} ms")
        per_day = args.mentions / args.days
        prompts = PromptBook()
        for wanted in (1_000, 10_000, args.mentions):
            period = DigestPeriod(END - timedelta(days=args.days) * min(1.0, wanted / args.mentions), END)
            digest = compute_digest(store, period)
            prompt = narrative_prompt(digest, "en", prompts)
            size = len(prompt.system) + len(prompt.user)
            print(f"narrative prompt for {digest.total:>7} mentions: {size} characters"
                  f" (facts cap {FACTS_LIMIT}; about {per_day:.0f} mentions a day)")
        print_holds(store, args.days)
        store.close()


if __name__ == "__main__":
    main()
