"""One poll cycle through the real watcher, store and outbox, against local servers."""

from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.support.database_lock import locked_database
from tests.support.feed_server import FeedServer
from tests.support.slack_api import FakeSlack
from veilleur.core.query import parse_query
from veilleur.core.watcher_config import WatcherConfig
from veilleur.slack.outbox import Outbox, new_slack_client
from veilleur.storage.store import PollOutcome, Store
from veilleur.watching.health import SourceHealth
from veilleur.watching.polling import Poller
from watchers.base import WatcherContext, new_http_client
from watchers.rss import RssWatcher


def rss(items: list[tuple[str, str, str]]) -> str:
    """A feed of (guid, title, pubDate) items."""
    body = "".join(
        f"<item><guid>https://news.example/{guid}</guid><title>{title}</title><link>https://news.example/{guid}</link>"
        f"<pubDate>{date}</pubDate><description>{title}</description></item>"
        for guid, title, date in items
    )
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>News</title>{body}</channel></rss>"


MON = "Mon, 23 Nov 2026 08:00:00 +0100"
TUE = "Tue, 24 Nov 2026 08:00:00 +0100"


class Rig:
    def __init__(self, slack: FakeSlack, feeds: FeedServer, http: httpx.AsyncClient) -> None:
        self.slack, self.feeds, self.http = slack, feeds, http
        self.store = Store.open(":memory:")
        self.watchers: dict[str, RssWatcher] = {}
        self.outbox = Outbox(self.store, new_slack_client("xoxb-t", slack.api_url), self.render, pace=0.0)
        self.poller = Poller(self.store, self.watchers, burst_threshold=3)

    def render(self, delivery) -> dict:
        if delivery.kind == "rollup":
            return {"text": f"{delivery.rollup_count} new for {delivery.watcher}"}
        return {"text": self.store.mention(delivery.mention_id).title}

    def add(self, name: str, path: str, query: str = "tram", channel: str = "C1", backfill: int = 0) -> None:
        config = WatcherConfig(name=name, source="rss", query=parse_query(query), channel=channel,
                               url=self.feeds.url(path), backfill=backfill)
        self.watchers[name] = RssWatcher(config, WatcherContext(http=self.http))

    async def cycle(self) -> dict:
        reports = {report.watcher: report for report in await self.poller.poll_all()}
        await self.outbox.drain(within=10)
        return reports

    def posted(self, channel: str | None = None) -> list[str]:
        return [m["text"] for m in self.slack.posted_messages(channel)]


@pytest.fixture
async def rig(slack: FakeSlack, feeds: FeedServer) -> AsyncIterator[Rig]:
    http = new_http_client(httpx.Timeout(1.0))
    yield Rig(slack, feeds, http)
    await http.aclose()


async def test_first_run_is_quiet_then_a_new_item_is_posted_once(rig: Rig) -> None:
    rig.feeds.add("/f", rss([("1", "tram late", MON), ("2", "bus late", MON)]))
    rig.add("w", "/f")
    await rig.cycle()
    assert rig.posted() == []
    rig.feeds.add("/f", rss([("3", "tram strike", TUE), ("1", "tram late", MON), ("2", "bus late", MON)]))
    await rig.cycle()
    await rig.cycle()
    assert rig.posted("C1") == ["tram strike"]


async def test_backfill_posts_the_newest_matching_items(rig: Rig) -> None:
    rig.feeds.add("/f", rss([("1", "tram one", TUE), ("2", "tram two", MON), ("3", "tram three", MON)]))
    rig.add("w", "/f", backfill=1)
    await rig.cycle()
    assert rig.posted() == ["tram one"]


async def test_backfill_larger_than_the_matching_items_posts_them_all(rig: Rig) -> None:
    rig.feeds.add("/f", rss([("1", "tram one", TUE), ("2", "tram two", MON), ("3", "bus", MON)]))
    rig.add("w", "/f", backfill=3)
    await rig.cycle()
    assert rig.posted("C1") == ["tram two", "tram one"]


async def test_past_max_cards_the_best_get_cards_and_the_rollup_counts_the_rest(rig: Rig) -> None:
    rig.feeds.add("/f", rss([("0", "tram zero", MON)]))
    rig.add("w", "/f")
    rig.poller.max_cards = 2
    await rig.cycle()
    items = [(str(n), f"tram {n}", f"Tue, 24 Nov 2026 08:{n:02d}:00 +0100") for n in range(1, 41)]
    rig.feeds.add("/f", rss([*reversed(items), ("0", "tram zero", MON)]))
    reports = await rig.cycle()
    assert (reports["w"].outcome.queued, reports["w"].outcome.overflow) == (2, 38)
    assert rig.posted("C1") == ["2 new for w", "tram 39", "tram 40"]
    assert rig.store.delivery_counts("w") == {"quiet": 1, "posted": 2, "overflow": 38}
    await rig.cycle()  # nothing left over to post later: the rest are stored, not queued
    assert len(rig.posted("C1")) == 3


async def test_unchanged_feed_answers_304_and_posts_nothing(rig: Rig) -> None:
    rig.feeds.add("/f", rss([("1", "tram", MON)]))
    rig.add("w", "/f")
    await rig.cycle()
    reports = await rig.cycle()
    assert reports["w"].not_modified
    assert rig.feeds.requests("/f")[-1].headers.get("If-None-Match")
    assert rig.slack.calls_to("chat.postMessage") == []


async def test_redated_or_reordered_items_are_not_reposted(rig: Rig) -> None:
    rig.feeds.add("/f", rss([("1", "tram a", MON), ("2", "tram b", MON)]))
    rig.add("w", "/f")
    await rig.cycle()
    rig.feeds.add("/f", rss([("2", "tram b", TUE), ("1", "tram a", TUE), ("3", "tram c", TUE)]))
    await rig.cycle()
    assert rig.posted() == ["tram c"]


async def test_broken_feeds_are_reported_and_the_others_keep_running(rig: Rig) -> None:
    good = [("1", "tram", MON)]
    rig.feeds.add("/good", rss(good))
    rig.feeds.add("/malformed", "<rss><channel><item><title>tram")
    rig.feeds.add("/html", "<!doctype html><html><body>Maintenance</body></html>", content_type="text/html")
    rig.feeds.add_huge("/huge", 20 * 1024 * 1024)
    rig.feeds.hang("/dead")
    for name in ("good", "malformed", "html", "huge", "dead"):
        rig.add(name, f"/{name}")
    first = await rig.cycle()
    # a truncated feed yields what can be recovered from it
    assert first["malformed"].ok and first["malformed"].fetched == 1
    rig.feeds.add("/good", rss([("2", "tram news", TUE), *good]))
    reports = await rig.cycle()
    assert rig.posted() == ["tram news"]
    assert reports["good"].ok
    for name in ("html", "huge", "dead"):
        assert not first[name].ok
        status = rig.store.watcher_status(name)
        assert status.consecutive_failures >= 1 and status.last_error


async def test_query_filters_and_each_watcher_posts_to_its_channel(rig: Rig) -> None:
    rig.feeds.add("/f", rss([]))
    rig.add("trams", "/f", query="tram", channel="C1")
    rig.add("buses", "/f", query="bus -football", channel="C2")
    await rig.cycle()
    rig.feeds.add("/f", rss([("1", "tram late", TUE), ("2", "bus late", TUE), ("3", "bus football", TUE)]))
    await rig.cycle()
    assert rig.posted("C1") == ["tram late"]
    assert rig.posted("C2") == ["bus late"]


async def test_burst_becomes_one_rollup_with_the_mentions_in_its_thread(rig: Rig) -> None:
    rig.feeds.add("/f", rss([]))
    rig.add("caen-tram", "/f")
    await rig.cycle()
    rig.feeds.add("/f", rss([(str(n), f"tram {n}", TUE) for n in range(5)]))
    await rig.cycle()
    rollup, *replies = rig.slack.posted_messages("C1")
    assert rollup["text"] == "5 new for caen-tram"
    assert sorted(reply["text"] for reply in replies) == [f"tram {n}" for n in range(5)]
    assert {reply["thread_ts"] for reply in replies} == {rollup["ts"]}


async def test_failing_source_is_backed_off_then_recovers(rig: Rig) -> None:
    rig.feeds.set_status("/f", 500)
    rig.add("w", "/f")
    for _ in range(3):
        await rig.poller.poll("w")
    requests_while_failing = len(rig.feeds.requests("/f"))
    assert requests_while_failing == 2  # the third poll fell inside the back-off window
    assert rig.store.watcher_status("w").consecutive_failures == 2
    rig.poller.forget_backoff("w")  # as when the window has passed, or the watcher is resumed or changed
    rig.feeds.add("/f", rss([("1", "tram", MON)]))
    report = await rig.poller.poll("w")
    assert report.ok and rig.store.watcher_status("w").consecutive_failures == 0


async def test_retry_after_from_a_source_is_honoured(rig: Rig) -> None:
    rig.feeds.set_status("/f", 429, headers={"Retry-After": "3600"})
    rig.add("w", "/f")
    await rig.poller.poll("w")
    skipped = await rig.poller.poll("w")
    assert skipped.skipped
    assert len(rig.feeds.requests("/f")) == 1
    rig.poller.forget_backoff("w")
    assert not (await rig.poller.poll("w")).skipped
    assert len(rig.feeds.requests("/f")) == 2


async def test_hostile_feed_text_is_stored_as_is_and_posted_inert(rig: Rig, tmp_path: Path) -> None:
    from veilleur.core.settings import parse_settings
    from veilleur.storage.audit import AuditLog
    from veilleur.watching.claims import ClaimService
    from veilleur.watching.outbox_messages import outbox_message
    from veilleur.watching.stories import StoryService

    hostile = "&lt;!channel&gt; tram &lt;https://evil.example|https://bank.example&gt; &lt;@U123&gt;"
    rig.feeds.add("/f", rss([]))
    rig.add("w", "/f")
    await rig.cycle()
    rig.feeds.add("/f", rss([("1", hostile + " " + "x" * 10_000, TUE)]))
    settings = parse_settings({})
    stories = StoryService(rig.store, window=settings.story_window, campaign_min_posts=settings.campaign_min_posts,
                           campaign_window=settings.campaign_window, lang=settings.bot_language,
                           tz=settings.bot_timezone)
    claims = ClaimService(rig.store, lang=settings.bot_language, tz=settings.bot_timezone, audit=AuditLog(rig.store))
    rig.outbox.render = partial(outbox_message, store=rig.store, stories=stories, claims=claims,
                                lang=settings.bot_language)
    await rig.cycle()
    (message,) = rig.slack.posted_messages("C1")
    dumped = str(message["blocks"]) + message["text"]
    for dangerous in ("<!channel>", "<@U123>", "<https://evil.example|"):
        assert dangerous not in dumped
    assert "&lt;@U123&gt;" in dumped  # kept as text, escaped
    assert len(message["text"]) < 4000


async def test_after_record_hooks_see_the_queued_cards_and_a_failing_hook_does_not_fail_the_poll(rig: Rig) -> None:
    rig.feeds.add("/f", rss([("1", "tram late", MON)]))
    rig.add("w", "/f")
    await rig.cycle()
    seen: list[tuple[str, tuple[tuple[int, int], ...]]] = []

    async def broken(config: WatcherConfig, outcome: object) -> None:
        raise RuntimeError("boom")

    async def record(config: WatcherConfig, outcome: PollOutcome) -> None:
        seen.append((config.name, outcome.cards))

    rig.poller.after_record += [broken, record]
    rig.feeds.add("/f", rss([("3", "tram strike", TUE), ("2", "tram works", TUE), ("1", "tram late", MON)]))
    reports = await rig.cycle()
    assert reports["w"].ok
    [(name, cards)] = seen
    assert name == "w"
    assert [rig.store.mention(mention_id).title for _, mention_id in cards] == ["tram works", "tram strike"]
    assert [rig.store.delivery(delivery_id).mention_id for delivery_id, _ in cards] == [m for _, m in cards]
    assert rig.posted() == ["tram works", "tram strike"]


async def test_a_busy_database_fails_the_one_poll_and_loses_nothing(rig: Rig, tmp_path: Path) -> None:
    rig.store = rig.poller.store = rig.outbox.store = Store.open(tmp_path / "v.db")
    rig.add("w", "/f", backfill=5)
    rig.feeds.add("/f", rss([("1", "tram strike", MON)]))
    with locked_database(tmp_path / "v.db"):
        report = await rig.poller.poll("w")
    assert not report.ok and report.error is not None and report.error.startswith("database is busy")
    assert rig.store.count_mentions() == 0
    rig.poller.forget_backoff("w")
    await rig.cycle()
    assert rig.posted("C1") == ["tram strike"]  # the item is fetched again and posted once
    rig.store.close()


async def test_a_poll_the_database_cannot_record_still_counts_as_the_watchers_failure(
    rig: Rig, tmp_path: Path
) -> None:
    rig.store = rig.poller.store = Store.open(tmp_path / "v.db")
    rig.feeds.set_status("/f", 500)
    rig.add("w", "/f")
    with locked_database(tmp_path / "v.db"):
        first = await rig.poller.poll("w")
        rig.poller.forget_backoff("w")
        second = await rig.poller.poll("w")
        assert (await rig.poller.poll("w")).skipped  # two failures in a row: backed off, as with a database
    assert not first.ok and not second.ok and "HTTP 500" in (second.error or "")
    rig.poller.forget_backoff("w")
    await rig.poller.poll("w")
    assert rig.store.watcher_status("w").consecutive_failures == 3  # the two it could not record count too
    rig.store.close()


async def test_the_team_is_told_once_when_the_database_fails_and_once_when_it_works_again(
    rig: Rig, tmp_path: Path
) -> None:
    rig.store = rig.poller.store = rig.outbox.store = Store.open(tmp_path / "v.db")
    rig.poller.health = SourceHealth(rig.store, lang="en", tz=ZoneInfo("UTC"), channel="CHEALTH",
                                     slack=new_slack_client("xoxb-t", rig.slack.api_url))
    for name in ("a", "b"):
        rig.add(name, f"/{name}")
        rig.feeds.add(f"/{name}", rss([("1", "tram", MON)]))
    with locked_database(tmp_path / "v.db"):
        await rig.poller.poll_all()
        for name in ("a", "b"):
            rig.poller.forget_backoff(name)
        await rig.poller.poll_all()
    (alert,) = rig.posted("CHEALTH")
    assert "cannot write to its database" in alert and "database is busy" in alert
    for name in ("a", "b"):
        rig.poller.forget_backoff(name)
    await rig.poller.poll_all()
    await rig.poller.poll_all()
    assert rig.posted("CHEALTH")[1:] == ["Veilleur can write to its database again; the watchers are catching up."]
    rig.store.close()
