"""The reliability suite's world: the environment, feeds, watcher files and Slack readings its tests share, and a
case played in the background. The bot process itself is `tests.support.cli.BotProcess`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import json
import threading
import zlib
from collections import Counter
from collections.abc import Callable, Collection, Coroutine, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.cli import env_for
from tests.support.slack_api import FakeSlack, Message
from tests.support.world import PUBLISHED, RECENTLY

RSS_LIMIT_MB = 250  # the bound on the bot's peak resident memory, whatever a source sends
HEALTH_CHANNEL = "C0HEALTH"
SPIKE_CHANNEL = "C0SPIKES"
HN_CREATED_AT = int(RECENTLY.timestamp()) - 7 * 86400  # a week ago, seconds since the epoch
HN_ITEM_URL = "https://news.ycombinator.com/item?id={}"
HN_SEARCH = "/api/v1/search_by_date"  # under a Hacker News watcher's base_url


def bot_env(workdir: Path, slack: FakeSlack, **extra: str) -> dict[str, str]:
    """The environment of a bot posting to the fake Slack, its database and watchers file in `workdir`. Health
    alerts and spike alerts have their own channels, so that the watchers' channels hold only cards."""
    return env_for(workdir, slack, **{"HEALTH_CHANNEL": HEALTH_CHANNEL, "SPIKE_CHANNEL": SPIKE_CHANNEL} | extra)


# ---- watchers and what they read -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Watcher:
    name: str
    channel: str
    url: str | None = None  # rss
    source: str = "rss"
    base_url: str | None = None  # API sources
    query: str = "tram"
    backfill: int = 0

    def toml(self) -> str:
        fields = {"name": self.name, "source": self.source, "query": self.query, "channel": self.channel,
                  "interval": "30s"}
        fields |= {"url": self.url} if self.url else {}
        fields |= {"base_url": self.base_url} if self.base_url else {}
        lines = [f"{key} = {json.dumps(value)}" for key, value in fields.items()]
        lines += [f"backfill = {self.backfill}"] if self.backfill else []
        return "[[watcher]]\n" + "\n".join(lines) + "\n"


def write_watchers(workdir: Path, watchers: Iterable[Watcher]) -> None:
    (workdir / "watchers.toml").write_text("\n".join(watcher.toml() for watcher in watchers))


def item_link(key: str) -> str:
    return f"https://news.example/{key}"


def rss_feed(keys: Iterable[str], *, off_topic: Collection[str] = ()) -> str:
    """An RSS feed with one item per key, linked to `item_link(key)` and titled "tram <key>", which the watchers'
    query matches, or "bus <key>" for the keys in `off_topic`."""
    items = "".join(
        f"<item><guid>{item_link(key)}</guid><title>{'bus' if key in off_topic else 'tram'} {key}</title>"
        f"<link>{item_link(key)}</link><pubDate>{PUBLISHED}</pubDate></item>"
        for key in keys
    )
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>News</title>{items}</channel></rss>"


def hn_answer(ids: Iterable[int]) -> str:
    """An Algolia HN search answer (at HN_SEARCH) with one story per id, titled "tram story <id>"; each card links
    to `HN_ITEM_URL`."""
    hits = [
        {"objectID": str(object_id), "title": f"tram story {object_id}", "url": f"https://example.org/{object_id}",
         "author": "someone", "created_at_i": HN_CREATED_AT + object_id, "points": 1, "num_comments": 0,
         "_tags": ["story", f"story_{object_id}"]}
        for object_id in ids
    ]
    return json.dumps({"hits": hits, "nbPages": 1, "page": 0, "hitsPerPage": 100})


# ---- what reached Slack ------------------------------------------------------------------------------------


def card_link(message: Message) -> str | None:
    """The link a mention card opens (its Open button), or None for any other message."""
    actions = [block for block in message.get("blocks") or [] if block.get("type") == "actions"]
    for element in (element for block in actions for element in block.get("elements") or []):
        if element.get("action_id") == "mention_open":
            return str(element.get("url"))
    return None


def cards(slack: FakeSlack) -> Counter[tuple[str, str]]:
    """How many cards each (channel, link) got, over every channel and thread."""
    found: Counter[tuple[str, str]] = Counter()
    for channel, messages in slack.messages.items():
        found.update((channel, link) for message in messages if (link := card_link(message)) is not None)
    return found


def lost_and_doubled(slack: FakeSlack, expected: dict[str, str]) -> tuple[list[str], list[str], list[str]]:
    """Against `expected` (link -> channel): links with no card in their channel, links with more than one card
    (anywhere), and cards nobody expected."""
    found = cards(slack)
    per_link = Counter({link: 0 for link in expected})
    for (_, link), count in found.items():
        per_link[link] += count
    lost = sorted(link for link, channel in expected.items() if found[channel, link] == 0)
    doubled = sorted(link for link, count in per_link.items() if count > 1)
    unexpected = sorted(f"{channel} {link}" for (channel, link) in found if expected.get(link) != channel)
    return lost, doubled, unexpected


@dataclass(frozen=True)
class HealthNotices:
    alerts: list[str]
    recoveries: list[str]


def health_notices(slack: FakeSlack, watcher: str) -> HealthNotices:
    """The health alerts and recovery notices about `watcher` in HEALTH_CHANNEL, as texts."""
    alerts, recoveries = [], []
    for message in slack.messages.get(HEALTH_CHANNEL, []):
        text = next((b["text"]["text"] for b in message.get("blocks") or [] if b.get("block_id") == "health"), "")
        if watcher not in text:
            continue
        if text.startswith(":warning:"):
            alerts.append(text)
        elif text.startswith(":white_check_mark:"):
            recoveries.append(text)
    return HealthNotices(alerts, recoveries)


# ---- hostile bodies ----------------------------------------------------------------------------------------


@functools.cache
def gzip_bomb(opening: bytes, megabytes: int, closing: bytes) -> bytes:
    """`opening`, `megabytes` MiB of spaces and `closing`, gzip-compressed: about 1 KB on the wire per MiB."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    spaces = b" " * (1 << 20)
    parts = [packer.compress(opening), *(packer.compress(spaces) for _ in range(megabytes)), packer.compress(closing)]
    return b"".join([*parts, packer.flush()])


def xml_bomb(key: str) -> str:
    """An RSS feed whose item title references a billion-laughs entity (10^9 "lol"s if expanded) and a quadratic
    blow-up (one 100 KB entity used 1,000 times)."""
    levels = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10)
    ]
    big = '<!ENTITY big "' + "x" * 100_000 + '">'
    doctype = "<!DOCTYPE rss [" + "".join(levels) + big + "]>"
    item = (f"<item><guid>{item_link(key)}</guid><title>tram {key} &lol9;</title><link>{item_link(key)}</link>"
            f"<description>{'&big;' * 1000}</description><pubDate>{PUBLISHED}</pubDate></item>")
    return f"<?xml version='1.0'?>{doctype}<rss version='2.0'><channel><title>&lol9;</title>{item}</channel></rss>"


# ---- a case played in the background -------------------------------------------------------------------------


class Background:
    """A coroutine played to its end in a thread with its own event loop, while the other tests go on: for a case
    that mostly waits (the slow-loris source waits out the bot's poll timeout)."""

    def __init__(self, make: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self._make = make
        self._done: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._play()), daemon=True)

    def start(self) -> None:
        self._thread.start()

    async def result(self, within: float) -> None:
        """Wait for the end; raise what the coroutine raised."""
        await asyncio.wait_for(asyncio.wrap_future(self._done), within)

    def stop(self) -> None:
        """Cancel the coroutine if it is still playing (its bot processes are killed) and wait for its thread."""
        if self._loop is not None and self._task is not None and not self._done.done():
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join()

    async def _play(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        try:
            await self._make()
        except asyncio.CancelledError:  # stop(): nobody waits for the outcome any more
            self._done.cancel()
        except Exception as error:
            self._done.set_exception(error)
        else:
            self._done.set_result(None)
