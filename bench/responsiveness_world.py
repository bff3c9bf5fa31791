"""What surrounds the bot in bench_responsiveness.py: the feeds and a paced fake Slack in one process, the sender of
signed slash commands in another, and the history of mentions the bot's database starts with.

The feeds change only when told (`advance`), so each poll the benchmark triggers brings a known number of new
items. Every helper process is driven over a pipe by `Remote`, whose answers are awaited in a thread: the bot's loop
never waits on them.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

from tests.support.feed_server import FeedServer
from tests.support.slack_api import FakeSlack
from tests.support.slack_requests import SlackRequests, send
from veilleur.core.mentions import Mention
from veilleur.storage.store import Store, utcnow
from watchers.feed_parser import parse_feed
from watchers.rss import entry_to_mention

SECRET = "bench-signing-secret"
COMMAND_CHANNEL = "C0COMMANDS"
QUERY = "tram"
HISTORY_DAYS = 30
# A record_poll of at most this many mentions: under MAX_CARDS_PER_POLL and BURST_THRESHOLD-sized rollups alike.
BATCH = 20
VOCABULARY = tuple(f"mot{n}" for n in range(5000))
WORDS_PER_ITEM = 150
HN_FIXTURE = Path(__file__).resolve().parent.parent / "tests/fixtures/hackernews/search_by_date_story_apple.json"
HN_BASE = "/hostile/json"
HN_PATH = f"{HN_BASE}/api/v1/search_by_date"
HUGE_FEED_PATH = "/hostile/feed"


@dataclass(frozen=True, slots=True)
class Feed:
    """One watcher of the benchmark and what it reads. `step` is how many new items each `advance` brings."""

    name: str
    channel: str
    path: str
    items: int
    step: int = 0
    source: str = "rss"


@dataclass(frozen=True)
class Workload:
    mentions: int = 100_000
    feeds: int = 300
    items: int = 10
    new_per_feed: int = 1
    feed_channels: int = 10
    burst_feeds: int = 2
    burst_items: int = 1000
    backlog: int = 2000
    once_feeds: int = 500
    bomb_bytes: int = 1 << 30
    huge_feed_bytes: int = 50 * 1024 * 1024
    slack_latency: float = 0.005

    def bot_feeds(self) -> list[Feed]:
        """The running bot's watchers: the ordinary feeds, the bursting ones, a busy and a quiet channel's, and the
        two that turn hostile (a JSON API and a feed)."""
        regular = [
            Feed(f"feed-{n}", f"C0FEED{n % self.feed_channels}", f"/feed/{n}", self.items, self.new_per_feed)
            for n in range(self.feeds)
        ]
        bursts = [
            Feed(f"burst-{n}", f"C0BURST{n}", f"/burst/{n}", self.burst_items, self.burst_items)
            for n in range(self.burst_feeds)
        ]
        return [
            *regular,
            *bursts,
            Feed("busy", "C0BUSY", "/busy", self.items),
            Feed("quiet", "C0QUIET", "/quiet", self.items),
            Feed("hostile-feed", "C0HOSTILE", HUGE_FEED_PATH, self.items),
            Feed("hostile-json", "C0HOSTILE", HN_BASE, 0, source="hackernews"),
        ]

    def once_feeds_list(self) -> list[Feed]:
        return [
            Feed(f"once-{n}", f"C0ONCE{n % self.feed_channels}", f"/once/{n}", self.items)
            for n in range(self.once_feeds)
        ]


def watchers_toml(feeds: Sequence[Feed], base_url: str) -> str:
    """The watchers file. A long interval: the benchmark triggers the polls itself."""
    tables = []
    for feed in feeds:
        where = f'{"base_url" if feed.source == "hackernews" else "url"} = "{base_url}{feed.path}"'
        tables.append(
            f'[[watcher]]\nname = "{feed.name}"\nsource = "{feed.source}"\n{where}\nquery = "{QUERY}"\n'
            f'channel = "{feed.channel}"\ninterval = "1h"\n'
        )
    return "\n".join(tables)


# ---- feeds ---------------------------------------------------------------------------------------------------------


def item_text(feed: str, number: int) -> str:
    """A distinct text per item, so that story grouping sees ordinary news and not one campaign."""
    rng = random.Random(f"{feed}/{number}")
    return f"{QUERY} " + " ".join(rng.choices(VOCABULARY, k=WORDS_PER_ITEM))


def feed_document(feed: Feed, first: int, now: datetime) -> bytes:
    """The feed holding items first .. first + feed.items - 1, newest first."""
    entries = "".join(
        f"<item><title>Tram {feed.name} n°{n}</title><link>https://news.example/{feed.name}/{n}</link>"
        f"<guid>https://news.example/{feed.name}/{n}</guid>"
        f"<pubDate>{format_datetime(now - timedelta(seconds=first + feed.items - n))}</pubDate>"
        f"<dc:creator>user{n % 500}</dc:creator><description>{item_text(feed.name, n)}</description></item>"
        for n in reversed(range(first, first + feed.items))
    )
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0' xmlns:dc='http://purl.org/dc/elements/1.1/'>"
        f"<channel><title>{feed.name}</title><link>https://news.example/{feed.name}</link><language>fr</language>"
        f"{entries}</channel></rss>"
    ).encode()


def gzip_bomb(size: int) -> bytes:
    """A JSON body of `size` bytes once decompressed, about a thousandth of that on the wire."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"a" * (1 << 20)
    parts = [packer.compress(b'{"hits": [], "nbPages": 1, "padding": "')]
    parts += [packer.compress(block) for _ in range(size // len(block))]
    parts += [packer.compress(b'"}'), packer.flush()]
    return b"".join(parts)


class PacedSlack(FakeSlack):
    """The fake Slack Web API taking `latency` seconds over every call, as Slack's servers do."""

    def __init__(self, latency: float) -> None:
        super().__init__()
        self.latency = latency

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(self.latency)
        return await super()._handle_api(request)


class World:
    """The feed server's content: which items each feed holds now, and whether the hostile routes are hostile."""

    def __init__(self, workload: Workload, server: FeedServer) -> None:
        self.workload = workload
        self.server = server
        self.feeds = {feed.name: feed for feed in workload.bot_feeds() if feed.source == "rss"}
        self.first = dict.fromkeys(self.feeds, 0)
        self.bomb = gzip_bomb(workload.bomb_bytes)

    def publish_all(self) -> None:
        self.publish(self.documents(list(self.feeds)))
        now = datetime.now(UTC)
        for feed in self.workload.once_feeds_list():
            self.server.add(feed.path, feed_document(feed, 0, now), content_type="application/rss+xml")
        self.set_hostile(False)

    def documents(self, names: list[str]) -> dict[str, bytes]:
        now = datetime.now(UTC)
        return {self.feeds[name].path: feed_document(self.feeds[name], self.first[name], now) for name in names}

    def publish(self, documents: dict[str, bytes]) -> None:
        for path, document in documents.items():
            self.server.add(path, document, content_type="application/rss+xml")

    def advance(self, names: list[str]) -> dict[str, bytes]:
        """Move the named feeds on by their step (the quiet one by one item); return their new documents."""
        for name in names:
            self.first[name] += self.feeds[name].step or 1
        return self.documents(names)

    def moving(self) -> list[str]:
        return [name for name, feed in self.feeds.items() if feed.step]

    def set_hostile(self, hostile: bool) -> None:
        if hostile:
            self.server.add(HN_PATH, self.bomb, content_type="application/json",
                            headers={"Content-Encoding": "gzip"}, conditional=False)
            self.server.add_huge(HUGE_FEED_PATH, self.workload.huge_feed_bytes, content_type="application/rss+xml")
        else:
            self.server.add(HN_PATH, HN_FIXTURE.read_bytes(), content_type="application/json")
            self.publish(self.documents(["hostile-feed"]))


def serve_world(workload: Workload, conn: Connection) -> None:
    """The second process: the feeds and the fake Slack. Answers `ready` with their ports, then commands:
    ("advance",) moves every ordinary and bursting feed on; ("quiet",) adds one item to the quiet feed;
    ("hostile", bool) turns the hostile routes on or off; ("stop",)."""

    async def main() -> None:
        feeds, slack = FeedServer(), PacedSlack(workload.slack_latency)
        world = World(workload, feeds)
        world.publish_all()
        await feeds.start()
        await slack.start()
        conn.send((feeds.port, slack.port))
        while (command := await asyncio.to_thread(conn.recv))[0] != "stop":
            if command[0] == "advance":
                # Built in a thread so the fake Slack keeps answering meanwhile.
                world.publish(await asyncio.to_thread(world.advance, world.moving()))
            elif command[0] == "quiet":
                world.publish(world.advance(["quiet"]))
            elif command[0] == "hostile":
                world.set_hostile(command[1])
            conn.send(command[0])
        await slack.stop()
        await feeds.stop()

    asyncio.run(main())


# ---- slash commands --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ack:
    command: str
    sent_at: float  # time.monotonic(), the same clock in every process of this machine
    seconds: float | None  # None: no 200 answer
    error: str = ""


async def storm(
    client: httpx.AsyncClient,
    url: str,
    response_base: str,
    seconds: float,
    per_tick: int,
    period: float,
    commands: Sequence[str],
) -> list[Ack]:
    """`per_tick` signed commands at once every `period` seconds for `seconds`, each timed to its HTTP answer.
    Ticks keep their times whatever the answers do, as Slack's users would."""
    requests = SlackRequests(SECRET, channel_id=COMMAND_CHANNEL)
    numbers = iter(range(10**9))

    async def one(line: str) -> Ack:
        command, _, text = line.partition(" ")
        request = requests.slash_command(command, text, response_url=f"{response_base}/{next(numbers)}")
        started = time.monotonic()
        try:
            response = await send(url, request, client)
        except httpx.HTTPError as error:
            return Ack(line, started, None, error.__class__.__name__)
        if response.status_code != 200:
            return Ack(line, started, None, f"HTTP {response.status_code}")
        return Ack(line, started, time.monotonic() - started)

    start = time.monotonic()
    tasks = []
    for tick in range(round(seconds / period)):
        await asyncio.sleep(max(0.0, start + tick * period - time.monotonic()))
        tasks += [asyncio.create_task(one(commands[n % len(commands)])) for n in range(per_tick)]
    return list(await asyncio.gather(*tasks))


def serve_client(conn: Connection) -> None:
    """The third process: sends slash commands when told ("storm", url, response_base, seconds, per_tick, period,
    commands) and answers with their `Ack`s; ("stop",) ends it."""

    async def main() -> None:
        limits = httpx.Limits(max_connections=400, max_keepalive_connections=100)
        async with httpx.AsyncClient(limits=limits, timeout=10) as client:
            conn.send("ready")
            while (command := await asyncio.to_thread(conn.recv))[0] != "stop":
                conn.send(await storm(client, *command[1:]))

    asyncio.run(main())


class Remote:
    """A helper process driven over a pipe. An answer that does not come in time breaks it for good (a late one
    would answer the next command)."""

    def __init__(self, target: Callable[..., None], *args: Any) -> None:
        self._conn, theirs = multiprocessing.Pipe()
        self.process = multiprocessing.Process(target=target, args=(*args, theirs), daemon=True)
        self.process.start()
        self.broken = False

    def first_answer(self, within: float) -> Any:
        return self._receive(within, "start")

    async def ask(self, *command: Any, within: float) -> Any:
        return await asyncio.to_thread(self.call, *command, within=within)

    def call(self, *command: Any, within: float) -> Any:
        if self.broken:
            raise TimeoutError(f"{command[0]}: the helper process no longer answers")
        self._conn.send(command)
        return self._receive(within, command[0])

    def _receive(self, within: float, what: str) -> Any:
        if not self._conn.poll(within):
            self.broken = True
            raise TimeoutError(f"{what}: no answer within {within:.0f} s")
        return self._conn.recv()

    def close(self) -> None:
        if not self.broken and self.process.is_alive():
            self._conn.send(("stop",))
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=5)


# ---- the database ----------------------------------------------------------------------------------------------------


def current_mentions(feed: Feed) -> list[Mention]:
    """The items a feed holds before any `advance`, as its watcher will read them."""
    url = f"https://news.example/{feed.name}"
    parsed = parse_feed(feed_document(feed, 0, datetime.now(UTC)), url=url)
    return [entry_to_mention(entry, url) for entry in parsed.entries]


def older_mentions(feed: Feed, count: int, now: datetime, rng: random.Random) -> list[Mention]:
    """`count` mentions spread over the last HISTORY_DAYS days, oldest first."""
    span = timedelta(days=HISTORY_DAYS)
    moments = sorted(now - span + span * rng.random() for _ in range(count))
    return [
        Mention(
            source="rss",
            external_id=f"https://news.example/{feed.name}/old/{k}",
            url=f"https://news.example/{feed.name}/old/{k}",
            title=f"Tram {feed.name} archive {k}",
            text=item_text(f"{feed.name}/old", k),
            author_name=f"user{rng.randrange(5000)}",
            created_at=moment,
            lang="fr",
        )
        for k, moment in enumerate(moments)
    ]


def chunks(items: list[Mention], size: int) -> Iterator[list[Mention]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def build_history(path: Path, workload: Workload, seed: int = 11) -> None:
    """`workload.mentions` mentions, all posted, spread over the bot's feed watchers and the last 30 days; the feeds'
    current items are among them, so the first poll finds nothing new. Through Store.record_poll, as polls would
    have stored them, then marked posted in bulk."""
    rng = random.Random(seed)
    store = Store.open(path)
    now = utcnow()
    feeds = [feed for feed in workload.bot_feeds() if feed.source == "rss"]
    current = {feed.name: current_mentions(feed) for feed in feeds}
    older = workload.mentions - sum(len(mentions) for mentions in current.values())
    for index, feed in enumerate(feeds):
        store.record_poll(feed.name, feed.channel, [], {}, now=now - timedelta(days=HISTORY_DAYS + 1))
        share = older // len(feeds) + (1 if index < older % len(feeds) else 0)
        for batch in chunks(older_mentions(feed, share, now, rng), BATCH):
            store.record_poll(feed.name, feed.channel, batch, {}, burst_threshold=BATCH, now=batch[-1].created_at)
        for batch in chunks(current[feed.name], BATCH):
            store.record_poll(feed.name, feed.channel, batch, {}, burst_threshold=BATCH, now=now - timedelta(hours=3))
    with store._db.atomic():
        store._db.execute(
            "update deliveries set state = 'posted', sent_at = created_at, posted_at = created_at,"
            " slack_ts = printf('1700000000.%06d', id) where state = 'pending'"
        )
    store.close()


def busy_backlog(count: int) -> Iterator[list[Mention]]:
    """`count` new mentions for the busy channel, in polls of BATCH."""
    now = utcnow()
    mentions = [
        Mention(source="rss", external_id=f"https://news.example/busy/backlog/{n}",
                url=f"https://news.example/busy/backlog/{n}", title=f"Tram backlog n°{n}",
                text=item_text("busy/backlog", n), author_name=f"user{n % 500}", created_at=now, lang="fr")
        for n in range(count)
    ]
    return chunks(mentions, BATCH)
