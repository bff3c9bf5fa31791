"""One story, one message: link and text fingerprints, then grouping and campaign flags through the real poller,
outbox and fake Slack."""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import partial
from itertools import combinations
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.support.block_kit import HOSTILE, assert_outside_text_is_inert, assert_within_block_kit_limits
from tests.support.bot import BotLauncher
from tests.support.feed_server import FeedServer
from tests.support.slack_api import FakeSlack
from tests.support.sql import sql
from tests.support.world import write_hn_watcher
from veilleur.core.mentions import Mention
from veilleur.core.query import parse_query
from veilleur.core.settings import SettingsError, parse_settings
from veilleur.core.watcher_config import WatcherConfig
from veilleur.escalation.service import EscalationService, Resolved
from veilleur.runtime import open_services
from veilleur.slack import cards
from veilleur.slack.outbox import Outbox, new_slack_client
from veilleur.storage.audit import AuditLog
from veilleur.storage.store import Store
from veilleur.watching import stories
from veilleur.watching.claims import ClaimService
from veilleur.watching.outbox_messages import outbox_message
from veilleur.watching.polling import Poller
from veilleur.watching.stories import StoryService
from watchers.base import WatcherContext, new_http_client
from watchers.rss import RssWatcher

FIXTURES = Path(__file__).parents[1] / "fixtures"
ARTICLE = "https://news.example/2026/11/24/tram-strike"
STORY = (
    "Caen tram drivers announce a strike for Thursday morning after talks with the operator broke down "
    "over night shifts"
)


def post(text: str, url: str = "https://social.example/1", **fields: Any) -> Mention:
    return Mention(source="bluesky", external_id=url, url=url, text=text, **fields)


# Links -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "variant",
    [
        "https://news.example/2026/11/24/tram-strike",
        "http://NEWS.example/2026/11/24/tram-strike/",
        "https://www.news.example:443/2026/11/24/tram-strike#comments",
        "https://news.example/2026/11/24/tram-strike?utm_source=rss&utm_medium=feed&fbclid=x1&gclid=y2",
    ],
)
def test_link_variants_of_one_page_have_one_key(variant: str) -> None:
    assert stories.link_key(variant) == "news.example/2026/11/24/tram-strike"


def test_links_keep_what_names_the_page() -> None:
    assert stories.link_key("https://a.example/read?id=2&utm_campaign=z&page=1") == "a.example/read?id=2&page=1"
    assert stories.link_key("https://a.example/read?page=1&id=2") == stories.link_key("https://a.example/read?id=2&page=1")
    assert stories.link_key("https://a.example/read?id=2") != stories.link_key("https://a.example/read?id=3")
    assert stories.link_key("https://a.example/A") != stories.link_key("https://a.example/a")
    assert stories.link_key("https://a.example:8080/x") != stories.link_key("https://a.example/x")


@pytest.mark.parametrize("url", ["https://caen.fr/", "https://www.caen.fr", "mailto:a@b.example", "javascript:x", ""])
def test_a_bare_site_or_a_non_web_link_names_no_story(url: str) -> None:
    assert stories.link_key(url) is None


def test_a_mention_is_keyed_by_its_own_link_and_the_links_in_its_text() -> None:
    mention = post(f"Read this: {ARTICLE}?utm_source=bsky. And www.other.example/page.", url="https://bsky.app/p/1")
    assert stories.link_keys(mention) == ("bsky.app/p/1", "news.example/2026/11/24/tram-strike", "other.example/page")


# Text fingerprints --------------------------------------------------------------------------------------------


def fingerprint(text: str) -> int:
    value = stories.text_fingerprint(post(text))
    assert value is not None
    return value


@pytest.mark.parametrize(
    "copy",
    [
        STORY + " https://t.example/abc?utm_source=x",
        "@transit_caen " + STORY + " via @caen_news",
        "RT @someone: " + STORY,
        STORY + " #Caen #tram #grève",
        STORY.upper(),
        STORY.replace("operator", "opérator") + " 🚋🚋",
        STORY.replace(" after", ", after") + "!!!",
    ],
)
def test_copies_of_a_post_are_near_identical(copy: str) -> None:
    assert stories.distance(fingerprint(STORY), fingerprint(copy)) <= stories.MAX_DISTANCE


def test_different_posts_on_one_topic_are_not_near_identical() -> None:
    """25 real Bluesky posts found by one search ("redistricting"): same topic, different stories."""
    payload = json.loads((FIXTURES / "bluesky" / "searchPosts_redistricting.json").read_text())
    texts = {item["record"]["text"] for item in payload["posts"]}
    prints = [value for text in texts if (value := stories.text_fingerprint(post(text))) is not None]
    assert len(prints) >= 20
    assert min(stories.distance(a, b) for a, b in combinations(prints, 2)) > stories.MAX_DISTANCE


def test_rewritten_sentences_about_one_event_are_not_near_identical() -> None:
    other = "Strike on Thursday: no trams in Caen in the morning, the drivers and the operator could not agree"
    assert stories.distance(fingerprint(STORY), fingerprint(other)) > stories.MAX_DISTANCE


def test_short_texts_are_never_matched_by_text() -> None:
    assert stories.text_fingerprint(post("Le tram est encore en panne https://x.example/1 #caen")) is None
    assert stories.text_fingerprint(post("tram", title="Tram strike on Thursday")) is None


def test_fingerprints_within_the_distance_share_a_band() -> None:
    base = fingerprint(STORY)
    for flips in combinations(range(0, 64, 7), stories.MAX_DISTANCE):
        near = base
        for bit in flips:
            near ^= 1 << bit
        assert set(stories.bands(base)) & set(stories.bands(near))
    assert not set(stories.bands(base)) & set(stories.bands(base ^ 0x0001_0001_0001_0001))


# Through the poller and the outbox --------------------------------------------------------------------------


def rss(items: list[dict[str, str]]) -> str:
    """A feed of items with guid, title, link, date and optionally author and description."""
    body = "".join(
        f"<item><guid>{item['guid']}</guid><title>{xml_escape(item['title'])}</title>"
        f"<link>{xml_escape(item['link'])}</link><pubDate>Tue, 24 Nov 2026 08:00:00 +0100</pubDate>"
        + (f"<author>{xml_escape(item['author'])}</author>" if "author" in item else "")
        + f"<description>{xml_escape(item.get('text', item['title']))}</description></item>"
        for item in items
    )
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>News</title>{body}</channel></rss>"


def item(guid: str, title: str, link: str, **fields: str) -> dict[str, str]:
    return {"guid": f"https://feed.example/{guid}", "title": title, "link": link, **fields}


class Rig:
    def __init__(self, slack: FakeSlack, feeds: FeedServer, http: httpx.AsyncClient, **env: str) -> None:
        self.slack, self.feeds, self.http = slack, feeds, http
        self.now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
        self.store = Store.open(":memory:")
        settings = parse_settings({"CAMPAIGN_MIN_POSTS": "3", **env})
        self.watchers: dict[str, RssWatcher] = {}
        self.poller = Poller(self.store, self.watchers, burst_threshold=20)
        self.stories = StoryService(
            self.store,
            window=settings.story_window,
            campaign_min_posts=settings.campaign_min_posts,
            campaign_window=settings.campaign_window,
            lang=settings.bot_language,
            tz=settings.bot_timezone,
            slack=new_slack_client("xoxb-t", slack.api_url),
            clock=lambda: self.now,
        )
        self.poller.after_record.append(self.stories.after_record)
        claims = ClaimService(self.store, lang=settings.bot_language, tz=settings.bot_timezone,
                              audit=AuditLog(self.store))
        render = partial(outbox_message, store=self.store, stories=self.stories, claims=claims,
                         lang=settings.bot_language)
        self.outbox = Outbox(self.store, new_slack_client("xoxb-t", slack.api_url), render, pace=0.0)

    def add(self, name: str, channel: str = "C1") -> None:
        config = WatcherConfig(name=name, source="rss", query=parse_query("tram"), channel=channel,
                               url=self.feeds.url(f"/{name}"))
        self.watchers[name] = RssWatcher(config, WatcherContext(http=self.http))
        self.feeds.add(f"/{name}", rss([]))

    def serve(self, name: str, items: list[dict[str, str]]) -> None:
        self.feeds.add(f"/{name}", rss(items))

    async def cycle(self) -> None:
        await self.poller.poll_all()
        await self.outbox.drain(within=10)
        await self.stories.settled()

    def cards(self, channel: str = "C1") -> list[dict[str, Any]]:
        return [m for m in self.slack.posted_messages(channel) if has_block(m, "actions")]

    def notices(self, channel: str = "C1") -> list[dict[str, Any]]:
        return [m for m in self.slack.posted_messages(channel) if has_block(m, "example")]


def has_block(message: dict[str, Any], block_id: str) -> bool:
    return any(block.get("block_id") == block_id for block in message.get("blocks", []))


def block_text(message: dict[str, Any], block_id: str) -> str:
    block = next(b for b in message["blocks"] if b.get("block_id") == block_id)
    return " ".join(element["text"] for element in block["elements"])


@pytest.fixture
async def rig(slack: FakeSlack, feeds: FeedServer) -> AsyncIterator[Rig]:
    http = new_http_client(httpx.Timeout(2.0))
    rig = Rig(slack, feeds, http)
    rig.add("news")
    rig.add("alerts")
    await rig.cycle()  # first polls are quiet
    yield rig
    await rig.stories.aclose()
    await http.aclose()
    rig.store.close()


async def test_one_story_from_two_feeds_in_one_poll_is_one_card_that_says_where_else(rig: Rig) -> None:
    rig.serve("news", [item("n1", "Tram strike on Thursday", ARTICLE)])
    rig.serve("alerts", [item("a1", "Caen: tram strike announced", ARTICLE + "?utm_source=alerts#top")])
    await rig.cycle()
    [card] = rig.cards()
    assert_within_block_kit_limits(card)
    first = "news" if "Tram strike on Thursday" in str(card["blocks"]) else "alerts"
    other_link = {"news": ARTICLE + "?utm_source=alerts#top", "alerts": ARTICLE}[first]
    assert block_text(card, "also_seen") == f":link: Also seen on <{other_link}|RSS>"
    assert rig.store.delivery_counts("alerts" if first == "news" else "news") == {"grouped": 1}
    assert rig.slack.calls_to("chat.update") == []


async def test_a_posted_first_card_is_updated_when_its_story_shows_up_elsewhere(rig: Rig) -> None:
    rig.serve("news", [item("n1", "Tram strike on Thursday", ARTICLE)])
    await rig.cycle()
    [card] = rig.cards()
    assert not has_block(card, "also_seen")
    rig.now += timedelta(hours=20)
    rig.serve("alerts", [item("a1", "Caen tram strike", "http://www.news.example/2026/11/24/tram-strike/")])
    await rig.cycle()
    [updated] = rig.cards()
    assert updated["ts"] == card["ts"]
    assert "Also seen on <http://www.news.example/2026/11/24/tram-strike/|RSS>" in block_text(updated, "also_seen")
    [update] = rig.slack.calls_to("chat.update")
    assert update.args["ts"] == card["ts"]


async def test_near_identical_texts_are_one_story_and_different_stories_are_posted(rig: Rig) -> None:
    rig.serve("news", [item("n1", "Tram drivers", "https://news.example/a", text=STORY)])
    rig.serve("alerts", [
        item("a1", "Tram drivers", "https://blog.example/b", text="RT: " + STORY + " #caen"),
        item("a2", "Tram line 3 opens", "https://blog.example/c",
             text="The new tram line 3 opens on Saturday with free rides all weekend for everyone in Caen"),
    ])
    await rig.cycle()
    titles = sorted(block_text(card, "details") for card in rig.cards())
    assert len(titles) == 2
    assert sum(has_block(card, "also_seen") for card in rig.cards()) == 1


async def test_the_same_story_after_the_window_is_a_new_card(rig: Rig) -> None:
    rig.serve("news", [item("n1", "Tram strike on Thursday", ARTICLE)])
    await rig.cycle()
    rig.now += timedelta(hours=49)
    rig.serve("alerts", [item("a1", "Tram strike, again", ARTICLE)])
    await rig.cycle()
    assert len(rig.cards()) == 2
    assert not any(has_block(card, "also_seen") for card in rig.cards())
    assert rig.slack.calls_to("chat.update") == []


async def test_more_than_five_others_are_counted(rig: Rig) -> None:
    rig.serve("news", [item(f"n{n}", f"Tram strike, take {n}", ARTICLE + f"?utm_content={n}") for n in range(8)])
    await rig.cycle()
    [card] = rig.cards()
    line = block_text(card, "also_seen")
    assert line.count("|RSS>") == 5 and line.endswith(" and 2 more")


async def test_many_accounts_posting_one_text_are_flagged_once_as_a_possible_campaign(rig: Rig) -> None:
    copies = [item(f"c{n}", "Tram", f"https://social.example/{n}", text=f"@mayor{n} {STORY} #boycott{n}",
                   author=f"account{n}") for n in range(3)]
    rig.serve("news", copies)
    await rig.cycle()
    [card] = rig.cards()
    assert "Possible coordinated campaign" in block_text(card, "campaign")
    assert "3 near-identical posts from 3 different accounts within 1 h" in block_text(card, "campaign")
    [notice] = rig.notices()
    assert notice["thread_ts"] == card["ts"]
    assert "not a verdict" in notice["text"]
    rig.now += timedelta(minutes=10)
    rig.serve("news", [*copies, item("c9", "Tram", "https://social.example/9", text=STORY, author="account9")])
    await rig.cycle()
    assert len(rig.notices()) == 1 and len(rig.cards()) == 1


async def test_one_account_repeating_itself_is_not_a_campaign(rig: Rig) -> None:
    rig.serve("news", [item(f"c{n}", "Tram", f"https://social.example/{n}", text=STORY, author="Same Person")
                       for n in range(4)])
    await rig.cycle()
    [card] = rig.cards()
    assert has_block(card, "also_seen") and not has_block(card, "campaign")
    assert rig.notices() == []


async def test_different_texts_from_many_accounts_are_not_a_campaign(rig: Rig) -> None:
    texts = [
        "The tram was late again this morning and nobody at the stop knew why it happened today",
        "Great news for the tram network: a new line will serve the university campus next year",
        "Why does the tram ticket cost more than the bus ticket when both belong to the same operator",
        "Tram works on the boulevard will close two lanes for traffic during the whole month of March",
    ]
    rig.serve("news", [item(f"c{n}", "Tram", f"https://social.example/{n}", text=text, author=f"account{n}")
                       for n, text in enumerate(texts)])
    await rig.cycle()
    assert len(rig.cards()) == 4 and rig.notices() == []


async def test_campaign_posts_spread_beyond_the_campaign_window_are_not_flagged(rig: Rig) -> None:
    for n in range(3):
        rig.serve("news", [item(f"c{k}", "Tram", f"https://social.example/{k}", text=STORY, author=f"account{k}")
                           for k in range(n + 1)])
        await rig.cycle()
        rig.now += timedelta(minutes=40)
    assert len(rig.cards()) == 1 and rig.notices() == []


async def test_a_dismissed_first_card_keeps_its_status_when_updated(rig: Rig) -> None:
    rig.serve("news", [item("n1", "Tram strike on Thursday", ARTICLE)])
    await rig.cycle()
    [card] = rig.cards()
    first = rig.store.card_for_message("C1", card["ts"])
    assert first is not None
    rig.store.dismiss_card(first.id, "U42", now=rig.now)
    rig.serve("alerts", [item("a1", "Caen tram strike", ARTICLE)])
    await rig.cycle()
    [updated] = rig.cards()
    assert has_block(updated, "also_seen")
    assert "Dismissed by <@U42>" in block_text(updated, "status")


async def test_dismissing_or_escalating_a_first_card_keeps_its_story(rig: Rig) -> None:
    rig.serve("news", [item("n1", "Tram strike on Thursday", ARTICLE)])
    rig.serve("alerts", [item("a1", "Caen tram strike", ARTICLE)])
    await rig.cycle()
    [card] = rig.cards()
    first = rig.store.card_for_message("C1", card["ts"])
    assert first is not None and first.mention_id is not None
    rig.store.dismiss_card(first.id, "U42", now=rig.now)
    dismissed = rig.stories.current_card(first)
    assert has_block(dismissed, "also_seen") and "Dismissed by <@U42>" in block_text(dismissed, "status")

    settings = parse_settings({"ESCALATION_CHANNEL": "C0ESC", "OFFICIALS": "U0OFFICIAL"})
    escalations = EscalationService(rig.store, new_slack_client("xoxb-t", rig.slack.api_url), settings,
                                    render_card=rig.stories.current_card)
    await escalations.escalate(Resolved(first.mention_id, first), user="U0ANN", via="reaction")
    [update] = [call.args for call in rig.slack.calls_to("chat.update") if call.args["channel"] == "C1"]
    blocks = json.loads(update["blocks"]) if isinstance(update["blocks"], str) else update["blocks"]
    escalated = {"blocks": blocks}
    assert has_block(escalated, "also_seen")
    assert "Dismissed" not in block_text(escalated, "status")


async def test_a_burst_roll_up_counts_only_the_cards_left_in_its_thread(rig: Rig) -> None:
    rig.serve("news", [item("n1", "Tram strike on Thursday", ARTICLE)])
    await rig.cycle()
    rig.poller.burst_threshold = 2
    rig.serve("alerts", [item("a1", "Caen tram strike", ARTICLE)]
              + [item(f"a{n}", f"Tram news number {n}", f"https://other.example/{n}") for n in range(2, 5)])
    await rig.cycle()
    [rollup] = [m for m in rig.slack.posted_messages("C1") if m["text"].startswith("3 new")]
    replies = [m for m in rig.slack.posted_messages("C1") if m.get("thread_ts") == rollup["ts"] != m["ts"]]
    assert len(replies) == 3


async def test_a_burst_whose_cards_all_joined_stories_posts_no_roll_up(rig: Rig) -> None:
    links = [f"https://other.example/{n}" for n in range(3)]
    rig.serve("news", [item(f"n{n}", f"Tram story {n}", link) for n, link in enumerate(links)])
    await rig.cycle()
    posted = len(rig.slack.posted_messages("C1"))
    rig.poller.burst_threshold = 2
    rig.serve("alerts", [item(f"a{n}", f"Tram again {n}", link) for n, link in enumerate(links)])
    await rig.cycle()
    assert len(rig.slack.posted_messages("C1")) == posted


async def test_a_burst_whose_cards_all_joined_stories_still_tells_of_its_mentions_past_the_card_limit(
    rig: Rig,
) -> None:
    links = [f"https://other.example/{n}" for n in range(2)]
    rig.serve("news", [item(f"n{n}", f"Tram story {n}", link) for n, link in enumerate(links)])
    await rig.cycle()
    posted = len(rig.slack.posted_messages("C1"))
    rig.poller.max_cards = 2
    rig.serve("alerts", [item(f"a{n}", f"Tram again {n}", link) for n, link in enumerate(links)]
              + [item(f"x{n}", f"Tram other {n}", f"https://else.example/{n}") for n in range(3)])
    await rig.cycle()
    [rollup] = rig.slack.posted_messages("C1")[posted:]
    assert rollup["text"].startswith("3 more new mentions got no card")


async def test_hostile_text_in_a_story_stays_inert(rig: Rig) -> None:
    hostile_link = "https://x.example/x?a=|<!channel>"
    rig.serve("news", [item("n1", "Tram " + HOSTILE, ARTICLE, text=f"{HOSTILE} {STORY}", author=HOSTILE)])
    await rig.cycle()
    rig.serve("alerts", [
        item(f"a{n}", "Tram " + HOSTILE, hostile_link if n == 0 else ARTICLE,
             text=f"{HOSTILE} {STORY} {hostile_link}", author=f"{HOSTILE} {n}")
        for n in range(3)
    ])
    await rig.cycle()
    [card] = rig.cards()
    assert has_block(card, "also_seen") and has_block(card, "campaign")
    [notice] = rig.notices()
    for message in (card, notice):
        assert_within_block_kit_limits(message)
        assert_outside_text_is_inert(message)
    assert "<https://x.example/x?a=%7C%3C!channel%3E|RSS>" in block_text(card, "also_seen")


async def test_the_running_bot_groups_stories(tmp_path: Path, slack: FakeSlack, feeds: FeedServer) -> None:
    """open_services wires the grouping into the poller and the cards the outbox posts."""
    (tmp_path / "watchers.toml").write_text(
        "".join(
            f'[[watcher]]\nname = "{name}"\nsource = "rss"\nurl = "{feeds.url("/" + name)}"\nquery = "tram"\n'
            f'channel = "C0TEST"\n'
            for name in ("news", "alerts")
        )
    )
    settings = parse_settings({"WATCHERS_FILE": str(tmp_path / "watchers.toml"), "DATABASE_PATH": ":memory:",
                               "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": slack.api_url})
    services = open_services(settings, new_slack_client("xoxb-test", slack.api_url))
    try:
        for name in ("news", "alerts"):
            feeds.add(f"/{name}", rss([]))
        await services.poller.poll_all()
        feeds.add("/news", rss([item("n1", "Tram strike on Thursday", ARTICLE)]))
        feeds.add("/alerts", rss([item("a1", "Tram strike", ARTICLE)]))
        await services.poller.poll_all()
        await services.outbox.drain(within=10)
    finally:
        await services.aclose()
    [card] = slack.posted_messages("C0TEST")
    assert block_text(card, "also_seen") == f":link: Also seen on <{ARTICLE}|RSS>"


def test_the_story_lines_in_french() -> None:
    also = [cards.AlsoSeen("reddit", f"https://reddit.example/{n}", f"u{n}") for n in range(7)]
    flag = cards.CampaignFlag(posts=6, authors=5, window=timedelta(hours=1))
    message = cards.mention_card(post(STORY), mention_id=1, watcher="w", tz=ZoneInfo("UTC"), lang="fr", also_seen=also,
                                 campaign=flag)
    assert_within_block_kit_limits(message)
    assert block_text(message, "also_seen") == (
        ":link: Vu aussi sur " + ", ".join(f"<https://reddit.example/{n}|Reddit> (u{n})" for n in range(5))
        + " et 2 autres"
    )
    assert "*Campagne coordonnée possible*\u202f: 6 messages presque identiques de 5 comptes différents en 1 h" in (
        block_text(message, "campaign")
    )


@pytest.mark.parametrize(
    ("name", "value"), [("STORY_WINDOW", "2 days"), ("CAMPAIGN_WINDOW", "0m"), ("CAMPAIGN_MIN_POSTS", "1")]
)
def test_story_settings_are_checked(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"^{name} must be"):
        parse_settings({name: value})


def test_story_settings_defaults_and_values() -> None:
    defaults = parse_settings({})
    assert (defaults.story_window, defaults.campaign_min_posts, defaults.campaign_window) == (
        timedelta(hours=48), 5, timedelta(hours=1)
    )
    assert parse_settings({"STORY_WINDOW": "7d", "CAMPAIGN_WINDOW": "30m"}).campaign_window == timedelta(minutes=30)


def test_only_the_beginning_of_a_long_text_is_fingerprinted() -> None:
    beginning = " ".join(f"word{n}" for n in range(stories.FINGERPRINT_CHARS // 5))
    one = Mention(source="rss", external_id="1", url="https://a.example/1", text=beginning + " first ending " * 500)
    other = Mention(source="rss", external_id="2", url="https://a.example/2", text=beginning + " other tail " * 900)
    assert stories.text_fingerprint(one) == stories.text_fingerprint(other) is not None


async def test_a_story_growing_in_several_polls_at_once_updates_its_card_once(rig: Rig) -> None:
    rig.serve("news", [item("n1", "Tram strike on Thursday", ARTICLE)])
    await rig.cycle()
    for name in ("a", "b", "c"):
        rig.add(name)
        await rig.cycle()  # each new watcher's first poll is quiet
    for name in ("alerts", "a", "b", "c"):
        rig.serve(name, [item(f"{name}1", f"Tram strike ({name})", ARTICLE)])
    await rig.cycle()
    updates = rig.slack.calls_to("chat.update")
    # One per poll without coalescing; polls finishing in the same loop turn share one.
    assert 1 <= len(updates) < 4
    blocks = updates[-1].args["blocks"]
    assert (blocks if isinstance(blocks, str) else json.dumps(blocks)).count("|RSS>") == 4


async def test_a_story_keeps_lookup_keys_for_its_first_members_only(store: Store) -> None:
    service = StoryService(store, window=timedelta(hours=48), campaign_min_posts=1000,
                           campaign_window=timedelta(hours=1), lang="en", tz=ZoneInfo("UTC"))
    config = WatcherConfig(name="w", source="rss", query=parse_query("tram"), channel="C1", url="https://f.example/")
    store.record_poll("w", "C1", [], {})
    copies = [Mention(source="mastodon", external_id=str(n), url=f"https://m.example/{n}", author_handle=f"@a{n}",
                      text=f"{STORY} https://m.example/{n}") for n in range(stories.KEYED_MEMBERS + 10)]
    await service.after_record(config, store.record_poll("w", "C1", copies, {}, burst_threshold=1000))
    members, keyed = sql(store).execute(
        "select count(distinct m.card_id), count(distinct k.card_id) from story_members m"
        " left join story_keys k on k.card_id = m.card_id"
    ).fetchone()
    assert (members, keyed) == (stories.KEYED_MEMBERS + 10, stories.KEYED_MEMBERS)


async def test_a_story_whose_first_card_failed_for_good_gets_a_new_card(rig: Rig) -> None:
    rig.slack.fail_next("chat.postMessage", error="msg_too_long")
    rig.serve("news", [item("n1", "Tram strike on Thursday", ARTICLE)])
    await rig.cycle()
    assert rig.cards() == []
    rig.serve("alerts", [item("a1", "Caen tram strike", ARTICLE)])
    await rig.cycle()
    [card] = rig.cards()
    assert "Caen tram strike" in json.dumps(card["blocks"])



async def test_a_large_poll_is_grouped_in_chunks_that_let_the_loop_run_and_none_of_its_cards_leaves_before(
    rig: Rig,
) -> None:
    copies = 4 * stories.PLACE_CHUNK
    rig.poller.max_cards = copies  # every copy gets a card to place
    rig.serve("news", [item(f"n{n}", f"Tram strike, take {n}", ARTICLE) for n in range(copies)])
    seen: list[tuple[int, list[int]]] = []  # cards placed in stories so far, and what the outbox may post now
    grouping = asyncio.create_task(rig.poller.poll("news"))

    async def look_while_grouping() -> None:
        while not grouping.done():
            (placed,) = sql(rig.store).execute("select count(*) from story_members").fetchone()
            seen.append((placed, [delivery.id for delivery in rig.store.due_deliveries()]))
            await asyncio.sleep(0)

    await asyncio.gather(grouping, look_while_grouping())
    # Another task ran after each chunk of cards was placed, and the outbox had nothing to post meanwhile.
    assert {placed for placed, _ in seen} >= set(range(stories.PLACE_CHUNK, copies, stories.PLACE_CHUNK))
    assert all(due == [] for _, due in seen)
    await rig.outbox.drain(within=10)
    await rig.stories.settled()
    [card] = rig.cards()  # one story, one card
    assert f"and {copies - 1 - cards.ALSO_SEEN_SHOWN} more" in block_text(card, "also_seen")
    assert rig.store.delivery_counts("news") == {"posted": 1, "grouped": copies - 1}


async def test_a_card_shows_the_reach_tier_of_its_source_and_outlet(
    tmp_path: Path, slack: FakeSlack, feeds: FeedServer, signing_secret: str, free_port: int, launch_bot: BotLauncher,
) -> None:
    """Hacker News points, and a news site's outlet from the watchers file, give the card its tier; in French too."""
    write_hn_watcher(tmp_path / "watchers.toml", feeds,
                     '[[outlet]]\ndomain = "journal-de-caen.example"\ntier = "high"\nname = "Journal de Caen"\n')
    bot = await launch_bot({
        "DATABASE_PATH": str(tmp_path / "veilleur.db"), "WATCHERS_FILE": str(tmp_path / "watchers.toml"),
        "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": slack.api_url, "SLACK_SIGNING_SECRET": signing_secret,
        "PORT": str(free_port), "LOG_LEVEL": "WARNING", "BOT_LANGUAGE": "fr", "PRIVACY_PROFILE": "public-body",
    })
    hn = Mention(source="hackernews", external_id="1", url="https://news.ycombinator.com/item?id=1",
                 text="tram points", engagement={"score": 120, "comments": 4})
    _, card = await bot.post_card(hn)
    assert "audience moyenne" in json.dumps(card["blocks"], ensure_ascii=False)
    article = Mention(source="rss", external_id="2", url="https://www.journal-de-caen.example/tram",
                      text="tram article", author_name="Jean Dupont")
    _, card = await bot.post_card(article)
    assert "forte audience" in json.dumps(card["blocks"], ensure_ascii=False)
    toot = Mention(source="mastodon", external_id="3", url="https://m.example/@ann/3", text="tram toot",
                   author_handle="ann", author_reach=12_345)
    _, card = await bot.post_card(toot)
    source_line = card["blocks"][0]["text"]["text"]
    assert "forte audience" in source_line and "12" not in source_line.replace("10\u00a0k", "")
