"""The fault matrix's scene: two steady watchers beside one faulty watcher, run with `bot.py once`, and the
promises every fault is held to (see test_fault_matrix.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from tests.reliability.support import (
    HN_ITEM_URL,
    HN_SEARCH,
    RSS_LIMIT_MB,
    Watcher,
    bot_env,
    health_notices,
    hn_answer,
    item_link,
    lost_and_doubled,
    rss_feed,
    write_watchers,
)
from tests.support.cli import Finished, run_bot
from tests.support.feed_server import FeedServer
from tests.support.slack_api import FakeSlack
from tests.support.world import channel_of

STEADY = ("steady-a", "steady-b")
FAULTY = "faulty"
FAULTY_CHANNEL = "C0FAULTY"


@dataclass
class Scene:
    """Two steady RSS watchers and one `faulty` watcher (RSS or Hacker News) reading the playback server.

    The steady watchers post their first items at once (backfill) and one more item before every run; the faulty
    one posts its newest item (`faulty_backfill` items) on its first good poll. `expected` maps every link that
    must have a card to its channel.
    """

    workdir: Path
    slack: FakeSlack
    feeds: FeedServer
    source: str = "rss"
    faulty_backfill: int = 1
    env: dict[str, str] = field(init=False)
    expected: dict[str, str] = field(default_factory=dict)
    runs: int = 0

    def __post_init__(self) -> None:
        faulty = Watcher(FAULTY, FAULTY_CHANNEL, backfill=self.faulty_backfill, source=self.source,
                         **({"url": self.feeds.url("/faulty")} if self.source == "rss"
                            else {"base_url": self.feeds.url("/faulty")}))
        steady = [Watcher(name, channel_of(name), url=self.feeds.url(f"/{name}"), backfill=2) for name in STEADY]
        write_watchers(self.workdir, [faulty, *steady])
        self.env = bot_env(self.workdir, self.slack, HEALTH_ALERT_AFTER="1")

    @property
    def fault_path(self) -> str:
        """Where the faulty watcher reads: its feed, or its API's search."""
        return "/faulty" if self.source == "rss" else "/faulty" + HN_SEARCH

    async def run(self, within: float = 60) -> Finished:
        """Grow each steady feed by one item (two at first), then run `bot.py once`."""
        self.runs += 1
        for name in STEADY:
            keys = [f"{name}-{n}" for n in range(self.runs + 1)]
            self.feeds.add(f"/{name}", rss_feed(keys))
            self.expected |= {item_link(key): channel_of(name) for key in keys}
        return await run_bot(self.workdir, self.env, "once", within=within)

    def heal(self) -> None:
        """The faulty source answers properly again, with one item."""
        if self.source == "rss":
            self.feeds.add(self.fault_path, rss_feed(["faulty-1"]))
            self.expected[item_link("faulty-1")] = FAULTY_CHANNEL
        else:
            self.feeds.add(self.fault_path, hn_answer([1]), content_type="application/json")
            self.expected[HN_ITEM_URL.format(1)] = FAULTY_CHANNEL

    def nothing_lost_or_doubled(self) -> None:
        lost, doubled, unexpected = lost_and_doubled(self.slack, self.expected)
        assert (lost, doubled, unexpected) == ([], [], []), "lost, posted twice, unexpected"


def failure_line(run: Finished, watcher: str = FAULTY) -> str:
    return next((line for line in run.out.splitlines() if line.startswith(f"{watcher}: FAILED")), "")


def assert_contained(scene: Scene, run: Finished, error: str | None) -> None:
    """The fault failed its own watcher only, within bounds, and the team was told once."""
    assert not run.timed_out and not run.valve_tripped, run.describe()
    assert "Traceback" not in run.output, run.describe()
    assert run.peak_rss_mb <= RSS_LIMIT_MB, run.describe()
    line = failure_line(run)
    assert line, run.describe()
    if error is not None:
        assert re.search(error, line), line
    assert run.code == 1, run.describe()
    scene.nothing_lost_or_doubled()
    notices = health_notices(scene.slack, FAULTY)
    assert (len(notices.alerts), len(notices.recoveries)) == (1, 0), notices


async def assert_recovers(scene: Scene) -> None:
    """With the fault gone, one run posts the faulty watcher's item and one recovery notice, nothing twice."""
    scene.heal()
    run = await scene.run()
    assert run.code == 0, run.describe()
    scene.nothing_lost_or_doubled()
    notices = health_notices(scene.slack, FAULTY)
    assert (len(notices.alerts), len(notices.recoveries)) == (1, 1), notices
