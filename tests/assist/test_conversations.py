"""Reading conversations: Slack threads and channels through the fake Slack Web API (every page), and a mention's
conversation through its watcher against the source playback server."""

import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from tests.support.feed_server import FeedServer
from tests.support.slack_api import FakeSlack
from tests.support.sql import sql
from veilleur.assist.conversations import (
    ConversationFetcher,
    WindowRef,
    parse_conversation_target,
    slack_to_plain,
)
from veilleur.core.errors import UserError
from veilleur.core.mentions import Mention
from veilleur.core.query import parse_query
from veilleur.core.watcher_config import AuthorLabel, WatcherConfig
from veilleur.slack.links import MessageRef
from veilleur.slack.targets import MentionRef, UrlRef
from veilleur.storage.labels import MentionLabels, ModelLabel
from veilleur.storage.store import Store
from watchers.base import WatcherContext, new_http_client
from watchers.hackernews import HackerNewsWatcher

FIXTURES = Path(__file__).parents[1] / "fixtures" / "hackernews"
CHANNEL = "C0TEAM"


@pytest.fixture
def store() -> AsyncIterator[Store]:
    store = Store.open(":memory:")
    yield store
    store.close()


@pytest.fixture
def client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test", base_url=slack.api_url)


def fetcher_for(store: Store, client: AsyncWebClient | None, watchers: dict | None = None,
                authors: list[AuthorLabel] | None = None) -> ConversationFetcher:
    return ConversationFetcher(store, client, watchers or {}, authors or [])


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("12", MentionRef(12)),
        ("#7", MentionRef(7)),
        ("3d", WindowRef(timedelta(days=3))),
        ("12h", WindowRef(timedelta(hours=12))),
        ("1w", WindowRef(timedelta(weeks=1))),
        ("3j", WindowRef(timedelta(days=3))),
        ("2sem", WindowRef(timedelta(weeks=2))),
        ("1 SEM", WindowRef(timedelta(weeks=1))),
        ("https://team.slack.com/archives/C0TEAM/p1700000000000100",
         MessageRef("C0TEAM", "1700000000.000100")),
        ("<https://team.slack.com/archives/C0TEAM/p1700000000000200?thread_ts=1700000000.000100&amp;cid=C0TEAM>",
         MessageRef("C0TEAM", "1700000000.000200", "1700000000.000100")),
        ("https://mastodon.social/@ann/1", UrlRef("https://mastodon.social/@ann/1")),
        ("<https://news.ycombinator.com/item?id=1|hn>", UrlRef("https://news.ycombinator.com/item?id=1")),
        ("99d", None),
        ("5s", None),
        ("0h", None),
        ("tram", None),
        ("javascript:alert(1)", None),
    ],
)
def test_parse_conversation_target(word: str, expected: object) -> None:
    assert parse_conversation_target(word) == expected


def test_slack_markup_reads_as_people_see_it() -> None:
    text = "<@U1> says <!here>: see <https://a.example/x|the plan> &amp; <https://b.example> in <#C1|general> &lt;3"
    assert slack_to_plain(text, {"U1": "Ann"}) == (
        "@Ann says @here: see the plan (https://a.example/x) & https://b.example in #general <3"
    )
    assert slack_to_plain("<@U2|bob> <!subteam^S1|@team> <!date^1700000000^{date}|Nov 14>", {}) == "@bob @team Nov 14"


async def test_a_long_thread_is_read_page_by_page(store: Store, slack: FakeSlack, client: AsyncWebClient) -> None:
    root = slack.seed_message(CHANNEL, "Should the tram run all night?", user="U0ROOT")
    for n in range(449):
        slack.seed_message(CHANNEL, f"reply {n} from <@U0ROOT>", user=f"U{n % 3}AAA", thread_ts=root["ts"])
    slack.seed_message(CHANNEL, "working on it", user=slack.bot_user_id, thread_ts=root["ts"])  # ours: left out
    slack.add_user("U0AAA", name="ann", real_name="Ann Martin")
    conversation = await fetcher_for(store, client).slack_thread(CHANNEL, root["ts"])
    assert len(conversation.posts) == 450 and conversation.problem is None
    calls = slack.calls_to("conversations.replies")
    assert len(calls) == 3  # 451 messages, 200 a page
    assert "cursor" not in calls[0].args and all(call.args.get("cursor") for call in calls[1:])
    assert conversation.posts[0].text == "Should the tram run all night?"
    assert conversation.posts[1].author == "ann" and conversation.posts[1].text == "reply 0 from @u0root"
    assert conversation.posts[1].key == slack.messages[CHANNEL][1]["ts"]
    assert len(slack.calls_to("users.info")) == 4  # once per author


async def test_user_names_are_looked_up_once(store: Store, slack: FakeSlack, client: AsyncWebClient) -> None:
    root = slack.seed_message(CHANNEL, "hello", user="U0AAA")
    fetcher = fetcher_for(store, client)
    await fetcher.slack_thread(CHANNEL, root["ts"])
    await fetcher.slack_thread(CHANNEL, root["ts"])
    assert len(slack.calls_to("users.info")) == 1


async def test_a_card_in_a_thread_stands_for_its_mention(
    store: Store, slack: FakeSlack, client: AsyncWebClient
) -> None:
    mention = Mention(source="bluesky", external_id="at://x/1", url="https://bsky.app/x/1", text="Tram strike today",
                      author_handle="reporter.bsky.social", author_name="Rita", author_reach=9000)
    store.record_poll("w", CHANNEL, [mention], {}, backfill=1)
    (delivery,) = store.due_deliveries()
    card = slack.seed_message(CHANNEL, "card", user=slack.bot_user_id, bot_id=slack.bot_id)
    store.mark_posted(delivery.id, card["ts"], None)
    slack.seed_message(CHANNEL, "Is that true?", user="U0AAA", thread_ts=card["ts"])
    authors = [AuthorLabel(labels=("journalist",), handle="@Reporter.bsky.social")]
    conversation = await fetcher_for(store, client, authors=authors).slack_thread(CHANNEL, card["ts"])
    first, second = conversation.posts
    assert (first.author, first.text, first.reach, first.labels) == (
        "Rita (reporter.bsky.social)", "Tram strike today", 9000, ("journalist",))
    assert second.text == "Is that true?"


async def test_a_channel_window_reads_people_and_the_cards_posted_there(
    store: Store, slack: FakeSlack, client: AsyncWebClient
) -> None:
    now = time.time()
    slack.seed_message(CHANNEL, "old news", ts=f"{now - 3 * 86400:.6f}")
    slack.seed_message(CHANNEL, "recent remark", ts=f"{now - 3600:.6f}")
    slack.seed_message(CHANNEL, "a card", user=slack.bot_user_id, ts=f"{now - 1800:.6f}")
    for n in range(3):
        slack.seed_message(CHANNEL, f"chat {n}", ts=f"{now - 600 + n:.6f}")
    mention = Mention(source="rss", external_id="https://n.example/1", url="https://n.example/1", text="Tram news",
                      author_name="Local paper", created_at=datetime.now(UTC) - timedelta(minutes=20))
    store.record_poll("w", CHANNEL, [mention], {}, backfill=1)
    (delivery,) = store.due_deliveries()
    store.mark_posted(delivery.id, f"{now - 1200:.6f}", None)
    conversation = await fetcher_for(store, client).slack_channel(CHANNEL, timedelta(hours=24))
    assert [post.text for post in conversation.posts] == ["recent remark", "Tram news", "chat 0", "chat 1", "chat 2"]
    (call,) = slack.calls_to("conversations.history")
    assert abs(float(call.args["oldest"]) - (now - 86400)) < 60


@pytest.mark.parametrize(("error", "key"), [("not_in_channel", "assist.cannot_read"),
                                            ("thread_not_found", "assist.no_message"),
                                            ("ratelimited", "assist.slack_failed")])
async def test_slack_refusals_become_sentences(
    store: Store, slack: FakeSlack, client: AsyncWebClient, error: str, key: str
) -> None:
    slack.fail_next("conversations.replies", error=error)
    with pytest.raises(UserError) as problem:
        await fetcher_for(store, client).slack_thread(CHANNEL, "1700000000.000100")
    assert problem.value.key == key and problem.value.params["error"] == error


# Conversations on a source ------------------------------------------------------------------------------


def hn_watcher(feeds: FeedServer, http: Any) -> HackerNewsWatcher:
    config = WatcherConfig(name="hn", source="hackernews", query=parse_query("sandhill"), channel=CHANNEL,
                           base_url=feeds.base_url)
    return HackerNewsWatcher(config, WatcherContext(http=http))


def hn_mention(item_id: str, root: str) -> Mention:
    return Mention(source="hackernews", external_id=item_id, url=f"https://news.ycombinator.com/item?id={item_id}",
                   text="Is there anywhere to eat on Sandhill Road?", author_handle="pg", conversation_id=root)


def count_nodes(node: dict[str, Any]) -> int:
    own = 1 if node.get("author") or node.get("text") or node.get("title") else 0
    return own + sum(count_nodes(child) for child in node.get("children") or [])


async def test_a_mention_conversation_is_fetched_by_its_watcher(store: Store, feeds: FeedServer) -> None:
    feeds.add_file("/api/v1/items/17", FIXTURES / "item_17_with_children.json", content_type="application/json")
    tree = json.loads((FIXTURES / "item_17_with_children.json").read_text())
    store.record_poll("hn", CHANNEL, [hn_mention("17", "17")], {}, backfill=1)
    mention_id = next(sql(store).query("select id from mentions"))["id"]
    http = new_http_client()
    try:
        fetcher = fetcher_for(store, None, {"hn": hn_watcher(feeds, http)})
        conversation = await fetcher.for_target(MentionRef(mention_id), CHANNEL)
    finally:
        await http.aclose()
    assert conversation.kind == "mention" and conversation.problem is None
    assert len(conversation.posts) == count_nodes(tree)
    assert "Is there anywhere to eat on Sandhill Road?" in [post.text for post in conversation.posts]
    assert feeds.requests("/api/v1/items/17")


async def test_a_failing_source_leaves_the_mention_alone_and_says_why(store: Store, feeds: FeedServer) -> None:
    feeds.set_status("/api/v1/items/17", 503)
    store.record_poll("hn", CHANNEL, [hn_mention("17", "17")], {}, backfill=1)
    http = new_http_client()
    try:
        fetcher = fetcher_for(store, None, {"hn": hn_watcher(feeds, http)})
        conversation = await fetcher.mention_conversation(1)
    finally:
        await http.aclose()
    assert [post.text for post in conversation.posts] == ["Is there anywhere to eat on Sandhill Road?"]
    assert conversation.problem == "conversation.source_failed" and "503" in str(conversation.problem_detail)


async def test_a_mention_whose_watcher_is_gone_is_summarised_alone(store: Store) -> None:
    store.record_poll("removed", CHANNEL, [hn_mention("17", "17")], {}, backfill=1)
    conversation = await fetcher_for(store, None).mention_conversation(1)
    assert len(conversation.posts) == 1
    assert (conversation.problem, conversation.problem_detail) == ("conversation.no_watcher", "removed")


async def test_posts_that_are_stored_mentions_carry_the_team_s_or_the_model_s_stance(store: Store) -> None:
    store.record_poll("removed", CHANNEL, [hn_mention("17", "17"), hn_mention("18", "17"), hn_mention("19", "17")],
                      {}, backfill=3)
    labels = MentionLabels(store)
    labels.record_model([1, 2], {1: ModelLabel("for", False), 2: ModelLabel("against", False)})
    labels.correct(2, "question", "U0ANN")
    fetcher = fetcher_for(store, None)
    posts = [fetcher.mention_post(store.mention(n)) for n in (1, 2, 3)]
    assert [post.stance for post in fetcher.with_stored_stances(posts)] == ["for", "question", None]
    conversation = await fetcher.mention_conversation(2)
    assert [post.stance for post in conversation.posts] == ["question"]


async def test_mentions_are_found_by_url_with_or_without_a_trailing_slash(store: Store) -> None:
    store.record_poll("hn", CHANNEL, [hn_mention("17", "17")], {}, backfill=1)
    fetcher = fetcher_for(store, None)
    assert fetcher.mention_id_for_url("https://news.ycombinator.com/item?id=17/") == 1
    with pytest.raises(UserError) as problem:
        fetcher.mention_id_for_url("https://news.ycombinator.com/item?id=18")
    assert problem.value.key == "assist.unknown_url"
    with pytest.raises(UserError) as missing:
        await fetcher.mention_conversation(2)
    assert missing.value.key == "assist.no_mention"
