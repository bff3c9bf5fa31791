"""Erasure and suppression through the bot's own services: feeds on the playback server, cards in the fake Slack.

An author who was forgotten is dropped at the next poll (never stored, never posted); an erased post that comes
back in a feed is not posted again; `forget` queues the removal of the author's posted cards and shows the story
cards that listed them again without them.
"""

import json
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.feed_server import FeedServer
from tests.support.slack_api import FakeSlack, Message
from tests.support.sql import sql
from tests.support.world import PUBLISHED
from veilleur.core.settings import parse_settings
from veilleur.runtime import open_services
from veilleur.services import Services
from veilleur.slack.outbox import new_slack_client
from veilleur.storage.store import iso, utcnow

CHANNEL = "C0NEWS"
ARTICLE = "https://news.example/2026/tram-strike"  # two watchers' posts linking to it tell one story


def rss(items: list[tuple[str, str, str]], link: str | None = None) -> str:
    """A feed of (key, title, author) items, each at https://news.example/<key> unless all link to `link`."""
    body = "".join(
        f"<item><guid>https://news.example/{key}</guid><title>{title}</title><dc:creator>{author}</dc:creator>"
        f"<link>{link or 'https://news.example/' + key}</link><pubDate>{PUBLISHED}</pubDate></item>"
        for key, title, author in items
    )
    return ("<?xml version='1.0'?><rss version='2.0' xmlns:dc='http://purl.org/dc/elements/1.1/'><channel>"
            f"<title>News</title>{body}</channel></rss>")


ServicesFactory = Callable[..., Any]


@pytest.fixture
async def start(tmp_path: Path, slack: FakeSlack, feeds: FeedServer) -> AsyncIterator[ServicesFactory]:
    """`await start(*watchers, **env)`: the bot's services with one RSS watcher per name (all in CHANNEL), whose
    feeds start empty and whose first poll is done."""
    opened: list[Services] = []

    async def make(*names: str, **env: str) -> Services:
        (tmp_path / "watchers.toml").write_text("".join(
            f'[[watcher]]\nname = "{name}"\nsource = "rss"\nurl = "{feeds.url("/" + name)}"\nquery = "tram"\n'
            f'channel = "{CHANNEL}"\n' for name in names))
        settings = parse_settings({"WATCHERS_FILE": str(tmp_path / "watchers.toml"),
                                   "DATABASE_PATH": str(tmp_path / "veilleur.db"), "SLACK_BOT_TOKEN": "xoxb-test",
                                   "SLACK_API_URL": slack.api_url, **env})
        services = open_services(settings, new_slack_client("xoxb-test", slack.api_url))
        opened.append(services)
        for name in names:
            feeds.add(f"/{name}", rss([]))
        await services.poller.poll_all()
        return services

    yield make
    for services in opened:
        await services.aclose()


async def poll_and_post(services: Services, *names: str) -> None:
    for name in names:
        await services.poller.poll(name)
    await services.outbox.drain(within=10)


def card_titles(slack: FakeSlack) -> list[str]:
    return [message["text"] for message in slack.posted_messages(CHANNEL)]


def stored_authors(services: Services) -> list[str]:
    return [name for (name,) in sql(services.store).execute("select author_name from mentions order by id")]


async def test_a_forgotten_author_is_dropped_at_collection_never_stored_never_posted(
    start: ServicesFactory, slack: FakeSlack, feeds: FeedServer
) -> None:
    services = await start("news", SLACK_CARD_RETENTION="keep")
    feeds.add("/news", rss([("1", "Tram: Jeanne says no", "Jeanne Canard"), ("2", "Tram: Paul says yes", "Paul")]))
    await poll_and_post(services, "news")
    assert len(card_titles(slack)) == 2

    report = await services.privacy.forget("jeanne canard", requested_by="cli")
    assert report.mentions == 1 and report.suppressed

    feeds.add("/news", rss([("3", "Tram again: Jeanne", "JEANNE CANARD"), ("4", "Tram again: Paul", "Paul"),
                            ("1", "Tram: Jeanne says no", "Jeanne Canard"), ("2", "Tram: Paul says yes", "Paul")]))
    await poll_and_post(services, "news")
    titles = card_titles(slack)
    assert len(titles) == 3 and "Tram again: Paul" in titles[-1]
    assert stored_authors(services) == ["Paul", "Paul"]


async def test_an_erased_post_coming_back_in_its_feed_is_not_posted_again(
    start: ServicesFactory, slack: FakeSlack, feeds: FeedServer
) -> None:
    services = await start("news", SLACK_CARD_RETENTION="keep")
    feeds.add("/news", rss([("1", "Tram: the first post", "Paul")]))
    await poll_and_post(services, "news")
    sql(services.store).execute("update mentions set first_seen_at = ?", [iso(utcnow() - timedelta(days=5))])

    purged = await services.privacy.purge(older_than_days=3)
    assert purged.mentions == 1

    feeds.add("/news", rss([("2", "Tram: a new post", "Paul"), ("1", "Tram: the first post", "Paul")]))
    await poll_and_post(services, "news")
    titles = card_titles(slack)
    assert len(titles) == 2 and "a new post" in titles[-1]
    assert sql(services.store).execute("select title from mentions").fetchall() == [("Tram: a new post",)]


async def test_forget_queues_the_removal_of_posted_cards_and_redraws_the_story_cards_that_listed_them(
    start: ServicesFactory, slack: FakeSlack, feeds: FeedServer
) -> None:
    services = await start("news", "alerts", "blog")
    feeds.add("/news", rss([("paul", "Tram strike on Thursday", "Paul Durand")], link=ARTICLE))
    await poll_and_post(services, "news")
    feeds.add("/alerts", rss([("jeanne", "Tram strike", "Jeanne Canard")], link=ARTICLE + "?utm_source=x"))
    feeds.add("/blog", rss([("own", "Tram: my own view", "Jeanne Canard")]))
    await poll_and_post(services, "alerts", "blog")
    await services.stories.settled()
    first_card, own_card = slack.posted_messages(CHANNEL)
    assert "Jeanne Canard" in also_seen(slack, first_card)

    report = await services.privacy.forget("Jeanne Canard", requested_by="U0ADMIN")
    await services.stories.settled()

    assert (report.mentions, report.story_entries, report.slack_messages) == (2, 2, 1)  # her own card began a story
    removals = sql(services.store).execute(
        "select channel, target_ts, message, state from deliveries where kind = 'removal'").fetchall()
    assert [(channel, ts, json.loads(message), state) for channel, ts, message, state in removals] == [
        (CHANNEL, own_card["ts"], {"action": "redact", "reason": "author_request"}, "pending")]
    assert "Jeanne" not in also_seen(slack, first_card)


def also_seen(slack: FakeSlack, card: Message) -> str:
    """The card's "also seen" line as its latest chat.update drew it ("" without one)."""
    updates = [call.args for call in slack.calls_to("chat.update") if call.args.get("ts") == card["ts"]]
    blocks = updates[-1]["blocks"] if updates else card.get("blocks") or []
    return " ".join(json.dumps(block) for block in blocks if block.get("block_id") == "also_seen")
