"""Kill -9 loop: the real bot, over 30 feeds in 6 channels, killed again and again while it polls, stores and
posts, then one clean run. Every matching item must end with exactly one card, in its watcher's channel.

The fake Slack answers chat.postMessage slowly (50-200 ms, split at a random point), so kills land before Slack
has the message, and after Slack has it but before the bot heard back: recovery must then find the card by its
metadata. The feeds grow between runs, some by a burst (a roll-up and its thread). Most runs are `bot.py once`;
every sixth is the running bot, in HTTP mode or in Socket Mode. Everything random comes from SEED, printed on
failure with the schedule of kills: the same seed replays the same schedule.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path

from tests.reliability.support import (
    Watcher,
    bot_env,
    item_link,
    lost_and_doubled,
    rss_feed,
    write_watchers,
)
from tests.support import free_port
from tests.support.cli import BotProcess, run_bot
from tests.support.feed_server import FeedServer
from tests.support.slack_api import FakeSlack

SEED = 20261204  # change it to explore other schedules; a failure prints the one to replay
FEEDS = 30
CHANNELS = 6
KILLS = 20
RUNNING_BOT_EVERY = 6
POST_LATENCY = (0.05, 0.2)
BURST = 6  # more than BURST_THRESHOLD (5): a roll-up and its thread
WAIT_FOR_MOMENT = 8.0  # a run that never reaches the chosen moment (nothing left to post) ends by itself


def channel_of(feed: int) -> str:
    return f"C0KILL{feed % CHANNELS}"


@dataclass
class Feeds:
    """What each feed holds (newest first), growing between runs, and the card every matching item must get."""

    server: FeedServer
    rng: random.Random
    items: list[list[str]] = field(default_factory=lambda: [[f"old-f{feed}"] for feed in range(FEEDS)])
    off_topic: set[str] = field(default_factory=set)
    expected: dict[str, str] = field(default_factory=dict)  # link -> channel

    def publish(self) -> None:
        for feed, keys in enumerate(self.items):
            self.server.add(f"/f{feed}", rss_feed(keys, off_topic=self.off_topic))

    def grow(self) -> None:
        """One or two feeds get one to three new items or a burst, and now and then an item off the query."""
        for feed in self.rng.sample(range(FEEDS), self.rng.choice((1, 1, 2))):
            for _ in range(self.rng.choice((1, 1, 2, 2, 3, BURST))):
                key = f"f{feed}-{sum(map(len, self.items))}"
                self.items[feed].insert(0, key)
                self.expected[item_link(key)] = channel_of(feed)
            if self.rng.random() < 0.3:
                key = f"f{feed}-{sum(map(len, self.items))}"
                self.items[feed].insert(0, key)
                self.off_topic.add(key)
        self.publish()


@dataclass
class Killer:
    """Starts the bot and SIGKILLs it at a random moment: after some feed requests, after some posts arrived at
    Slack, or after a while."""

    workdir: Path
    slack: FakeSlack
    feeds: Feeds
    env: dict[str, str]
    rng: random.Random
    log: list[str] = field(default_factory=list)
    kills: int = 0

    async def round(self, number: int) -> None:
        running = number % RUNNING_BOT_EVERY == RUNNING_BOT_EVERY - 1
        mode = ("http", "socket")[number // RUNNING_BOT_EVERY % 2]
        process = BotProcess(self.workdir, self._running_env(mode), "run") if running else \
            BotProcess(self.workdir, self.env, "once")
        posts, polls = self.slack.arrivals["chat.postMessage"], len(self.feeds.server.log)
        process.start()
        moment = asyncio.ensure_future(self._moment())
        await asyncio.wait({moment, asyncio.ensure_future(process.ended())}, return_when=asyncio.FIRST_COMPLETED)
        killed = process.kill()
        moment.cancel()
        ended = await process.finished(within=30)
        self.kills += killed
        self.log.append(
            f"run {number} ({f'running bot, {mode}' if running else 'once'}): "
            + (f"{moment.result()}: killed" if killed else f"ended by itself (exit {ended.code})")
            + f"; {len(self.feeds.server.log) - polls} feed requests and "
            f"{self.slack.arrivals['chat.postMessage'] - posts} posts during the run"
        )

    async def _moment(self) -> str:
        """Wait for the moment to kill, and say what it was."""
        kind = self.rng.choice(("poll", "post", "post", "time"))
        if kind == "time":
            delay = self.rng.uniform(0.5, 2.5)
            await asyncio.sleep(delay)
            return f"{delay:.2f}s after the start"
        if kind == "poll":
            target = len(self.feeds.server.log) + self.rng.randint(1, FEEDS)
            reached = await self._reached(self.feeds.server.wait_for_requests(target, WAIT_FOR_MOMENT))
            event = f"feed request {target}"
        else:
            target = self.slack.arrivals["chat.postMessage"] + self.rng.randint(1, 6)
            reached = await self._reached(self.slack.wait_for_arrivals("chat.postMessage", target, WAIT_FOR_MOMENT))
            event = f"post {target} arrived"
        after = self.rng.uniform(0, POST_LATENCY[1] if kind == "post" else 0.05)
        await asyncio.sleep(after)
        return f"{after * 1000:.0f} ms after {event}" + ("" if reached else " (never reached)")

    @staticmethod
    async def _reached(waiting: Awaitable[None]) -> bool:
        try:
            await waiting
        except TimeoutError:
            return False
        return True

    def _running_env(self, mode: str) -> dict[str, str]:
        if mode == "socket":
            return self.env | {"SLACK_APP_TOKEN": "xapp-1-A0FAKE-1-secret"}
        return self.env | {"SLACK_SIGNING_SECRET": "kill-loop-secret", "PORT": str(free_port())}


async def test_killed_again_and_again_the_bot_loses_no_card_and_posts_none_twice(
    tmp_path: Path, slack: FakeSlack, feeds: FeedServer
) -> None:
    rng = random.Random(SEED)
    state = Feeds(feeds, rng)
    state.publish()
    write_watchers(tmp_path, [Watcher(f"w{feed}", channel_of(feed), url=feeds.url(f"/f{feed}"))
                              for feed in range(FEEDS)])
    env = bot_env(tmp_path, slack)
    first = await run_bot(tmp_path, env, "once")  # the first poll records the old items quietly
    assert first.code == 0, first.describe()

    slack.slow_down("chat.postMessage", *POST_LATENCY, rng=random.Random(SEED + 1))
    killer = Killer(tmp_path, slack, state, env, rng)
    number = 0
    while killer.kills < KILLS:
        state.grow()
        await killer.round(number)
        number += 1
        assert number < 2 * KILLS, f"seed {SEED}: the bot ended by itself too often:\n" + "\n".join(killer.log)

    slack.slow_down("chat.postMessage", 0, 0)
    final = await run_bot(tmp_path, env, "once", within=120)
    replay = f"seed {SEED}, {killer.kills} kills:\n" + "\n".join(killer.log) + "\nthen " + final.describe()
    assert final.code == 0 and "still queued" not in final.out, replay
    lost, doubled, unexpected = lost_and_doubled(slack, state.expected)
    assert (lost, doubled, unexpected) == ([], [], []), f"lost, posted twice, unexpected; {replay}"
