"""The reliability suite's harness: the real `bot.py` as a child process, watched and killable, plus the feeds,
watcher files and Slack readings its tests share.

A watchdog thread reads the bot process's peak resident memory (`VmHWM`, a high-water mark, so a peak between two
readings still counts) every VALVE_EVERY seconds, and kills it past `MEMORY_VALVE`, so a memory bomb that gets
through fails the test instead of exhausting the machine. Not `ru_maxrss` from `wait4`: Linux carries the
parent's peak into a child across fork and exec, so it would report the test process's own size.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Collection, Coroutine, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.fakes.slack_api import FakeSlack, Message

BOT = Path(__file__).resolve().parents[2] / "bot.py"
RSS_LIMIT_MB = 250  # the bound on the bot's peak resident memory, whatever a source sends
MEMORY_VALVE = 1024 * 1024 * 1024
VALVE_EVERY = 0.02
HEALTH_CHANNEL = "C0HEALTH"
SPIKE_CHANNEL = "C0SPIKES"
PUBLISHED = "Tue, 24 Nov 2026 08:00:00 +0100"
HN_CREATED_AT = 1_795_000_000  # 2026-11-17, seconds since the epoch
HN_ITEM_URL = "https://news.ycombinator.com/item?id={}"
HN_SEARCH = "/api/v1/search_by_date"  # under a Hacker News watcher's base_url


# ---- the bot process ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finished:
    """How a bot process ended: its exit code (-9 when killed), output, peak resident memory and duration."""

    code: int
    out: str
    err: str
    peak_rss_mb: float
    seconds: float
    timed_out: bool
    valve_tripped: bool

    @property
    def output(self) -> str:
        return self.out + self.err

    def describe(self) -> str:
        return (
            f"exit {self.code} after {self.seconds:.1f}s, peak RSS {self.peak_rss_mb:.0f} MB"
            + (", killed: over the time allowed" if self.timed_out else "")
            + (f", killed: over {MEMORY_VALVE >> 20} MB" if self.valve_tripped else "")
            + f"\n--- stdout\n{self.out[-3000:]}\n--- stderr\n{self.err[-3000:]}"
        )


class BotProcess:
    """`python bot.py <args>` in `workdir`: start it, kill it with SIGKILL at any moment, or wait for its end."""

    def __init__(self, workdir: Path, env: dict[str, str], *args: str) -> None:
        self.workdir, self.env, self.args = workdir, env, args
        self.pid = 0
        self.valve_tripped = False
        self._out = _scratch_file()
        self._err = _scratch_file()
        self._exited = threading.Event()
        self._ended: asyncio.Future[tuple[int, float]] | None = None
        self._started_at = 0.0
        self._popen: subprocess.Popen[bytes] | None = None
        self._peak_kb = 0

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._ended = loop.create_future()
        self._started_at = time.monotonic()
        self._popen = subprocess.Popen(
            [sys.executable, str(BOT), *self.args], cwd=self.workdir, env=self.env, stdout=self._out,
            stderr=self._err, stdin=subprocess.DEVNULL,
        )
        self.pid = self._popen.pid
        threading.Thread(target=self._reap, args=(loop, self._ended), daemon=True).start()
        threading.Thread(target=self._watch_memory, daemon=True).start()

    @property
    def running(self) -> bool:
        return self.pid != 0 and not self._exited.is_set()

    def kill(self) -> bool:
        """SIGKILL now; True if the process was still running (a real kill, not a process already done)."""
        if not self.running:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        return True

    async def ended(self) -> None:
        """Return once the process has ended, whatever ended it."""
        assert self._ended is not None, "start() first"
        await asyncio.shield(self._ended)

    async def finished(self, within: float) -> Finished:
        """Wait for the end (killing the process after `within` seconds) and read what it printed."""
        assert self._ended is not None, "start() first"
        timed_out = False
        try:
            code, seconds = await asyncio.wait_for(asyncio.shield(self._ended), within)
        except TimeoutError:
            timed_out = self.kill()
            code, seconds = await self._ended
        return Finished(code, _read_and_close(self._out), _read_and_close(self._err), self._peak_kb / 1024, seconds,
                        timed_out, self.valve_tripped)

    def _reap(self, loop: asyncio.AbstractEventLoop, ended: asyncio.Future[tuple[int, float]]) -> None:
        _, status = os.waitpid(self.pid, 0)
        self._exited.set()
        result = (os.waitstatus_to_exitcode(status), time.monotonic() - self._started_at)
        if self._popen is not None:
            self._popen.returncode = result[0]  # reaped here, not by Popen
        with contextlib.suppress(RuntimeError):  # the test's loop is gone: nobody is waiting any more
            loop.call_soon_threadsafe(lambda: ended.done() or ended.set_result(result))

    def _watch_memory(self) -> None:
        status = Path(f"/proc/{self.pid}/status")
        while not self._exited.is_set():
            try:
                fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
            except OSError:  # gone, or a zombie about to be reaped
                return
            if "VmHWM" in fields:  # absent once the process is a zombie
                self._peak_kb = max(self._peak_kb, int(fields["VmHWM"].split()[0]))
            if int(fields.get("VmRSS", "0 kB").split()[0]) * 1024 > MEMORY_VALVE and self.kill():
                self.valve_tripped = True
                return
            self._exited.wait(VALVE_EVERY)


def _scratch_file() -> int:
    """A file descriptor on a nameless temporary file, for a child's output."""
    descriptor, path = tempfile.mkstemp(prefix="veilleur-bot-")
    os.unlink(path)
    return descriptor


def _read_and_close(descriptor: int) -> str:
    os.lseek(descriptor, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(descriptor, 1 << 20):
        chunks.append(chunk)
    os.close(descriptor)
    return b"".join(chunks).decode(errors="replace")


async def run_bot(workdir: Path, env: dict[str, str], *args: str, within: float = 60) -> Finished:
    """Run `bot.py <args>` to its end (at most `within` seconds; killed if the caller is cancelled first)."""
    process = BotProcess(workdir, env, *args)
    process.start()
    try:
        return await process.finished(within)
    finally:
        process.kill()


def bot_env(workdir: Path, slack: FakeSlack, **extra: str) -> dict[str, str]:
    """The environment of a bot posting to the fake Slack, its database and watchers file in `workdir`. Health
    alerts and spike alerts have their own channels, so that the watchers' channels hold only cards."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_"))}
    env.update(
        DATABASE_PATH=str(workdir / "veilleur.db"),
        WATCHERS_FILE=str(workdir / "watchers.toml"),
        LOG_LEVEL="WARNING",
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_API_URL=slack.api_url,
        HEALTH_CHANNEL=HEALTH_CHANNEL,
        SPIKE_CHANNEL=SPIKE_CHANNEL,
    )
    env.update(extra)
    return env


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
