"""The digest side of the bot over a database file (store, outbox, digest service), without the rest, and the
mentions it digests: what the digest delivery and chart tests share. The clock is frozen by passing `now`."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.support.slack_api import FakeSlack
from veilleur.core.mentions import Mention
from veilleur.core.query import parse_query
from veilleur.core.settings import Settings, parse_settings
from veilleur.core.watcher_config import WatcherConfig
from veilleur.digest.cards import digest_message
from veilleur.digest.compute import compute_digest
from veilleur.digest.delivery import DigestService
from veilleur.digest.model import DigestPeriod
from veilleur.digest.narrative import narrate
from veilleur.slack.outbox import Outbox, new_slack_client
from veilleur.storage.store import Store

PARIS = ZoneInfo("Europe/Paris")
ALL = "C0ALL"


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def watcher(name: str, channel: str, *, digest: bool = False) -> WatcherConfig:
    return WatcherConfig(name=name, source="rss", query=parse_query("tram"), channel=channel,
                         url="https://news.example/feed", digest=digest)


def mention(key: str) -> Mention:
    return Mention(source="rss", external_id=key, url=f"https://news.example/{key}", title=f"Tram {key}",
                   text=f"tram news {key}")


def found(store: Store, name: str, channel: str, keys: list[str], at: datetime) -> None:
    """`name` finds these mentions at `at` (its first, quiet poll having happened long before); their cards are
    taken as posted then, so that the outbox only has digests to post."""
    if store.watcher_status(name).first_polled_at is None:
        store.record_poll(name, channel, [], {}, now=at - timedelta(days=30))
    outcome = store.record_poll(name, channel, [mention(key) for key in keys], {}, now=at, burst_threshold=1000)
    for delivery_id, _ in outcome.cards:
        store.mark_posted(delivery_id, f"{at.timestamp():.6f}", None, at)


class DigestRun:
    """One run of the bot's digest side over a database file: store, outbox, service. `restart()` makes another."""

    def __init__(self, path: Path, slack: FakeSlack, configs: list[WatcherConfig], **env: str) -> None:
        self.path, self.slack, self.configs = path, slack, configs
        self.settings: Settings = parse_settings({"DIGEST_CHANNEL": ALL, **env})
        self.store = Store.open(path)
        self.client = new_slack_client("xoxb-test", slack.api_url)
        self.outbox = Outbox(self.store, self.client, lambda delivery: delivery.message or {}, pace=0)
        self.digests = DigestService(self.store, self.settings, lambda: self.configs, slack=self.client,
                                     on_queued=self.outbox.wake)

    def restart(self) -> DigestRun:
        self.store.close()
        return DigestRun(self.path, self.slack, self.configs, **{"DIGEST_CHANNEL": ALL})

    async def expected(self, period: DigestPeriod, watchers: tuple[str, ...] | None = None) -> dict:
        """The digest message of these watchers (default: every configured one) for `period`."""
        watchers = watchers or tuple(sorted(config.name for config in self.configs))
        digest = compute_digest(self.store, period, watchers=watchers)
        return digest_message(digest, await narrate(digest, None, "en"), lang="en", tz=PARIS)


def posted(slack: FakeSlack, channel: str) -> list[dict]:
    return [m for m in slack.posted_messages(channel) if m.get("metadata")]
