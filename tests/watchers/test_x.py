"""The X watcher over real HTTP, against a fake API v2 recent search playing recorded and documented answers."""

from __future__ import annotations

import copy
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from tests.support.feed_server import FeedServer
from veilleur.core.mentions import Mention
from veilleur.core.query import parse_query
from veilleur.core.watcher_config import WatcherConfig, WatcherFieldError
from watchers import SOURCES
from watchers.base import RateLimits, SourceError, WatcherContext
from watchers.x import SNOWFLAKE_EPOCH_MS, XWatcher, x_query

FIXTURES = Path(__file__).parent.parent / "fixtures" / "x"
SEARCH = "/2/tweets/search/recent"
USAGE = "/2/usage/tweets"
ENV = {"X_BEARER_TOKEN": "x-test-token"}


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def post_id(moment: datetime, sequence: int = 0) -> str:
    """An id as X makes them: its creation time in the high bits."""
    return str(((int(moment.timestamp() * 1000) - SNOWFLAKE_EPOCH_MS) << 22) + sequence)


class FakeX:
    """Recent search over a list of posts: newest first, `since_id`, `max_results`, `next_token` paging, authors
    in `includes.users`, and the rate-limit headers of a 15-minute window."""

    def __init__(self, posts: list[dict[str, Any]], users: list[dict[str, Any]], remaining: int = 440) -> None:
        self.posts, self.users, self.remaining = posts, users, remaining
        self.queries: list[dict[str, str]] = []

    def handle(self, request: web.Request) -> web.Response:
        self.queries.append(dict(request.query))
        posts = sorted(self.posts, key=lambda post: int(post["id"]), reverse=True)
        if "since_id" in request.query:
            posts = [post for post in posts if int(post["id"]) > int(request.query["since_id"])]
        if "conversation_id:" in request.query["query"]:
            wanted = request.query["query"].split("conversation_id:")[1]
            posts = [post for post in posts if post["conversation_id"] == wanted]
        size, start = int(request.query.get("max_results", "10")), int(request.query.get("next_token", "0"))
        page = posts[start : start + size]
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta |= {"newest_id": page[0]["id"], "oldest_id": page[-1]["id"]}
        if start + size < len(posts):
            meta["next_token"] = str(start + size)
        authors = {post["author_id"] for post in page}
        body: dict[str, Any] = {"meta": meta}
        if page:  # X leaves data out when nothing matched
            body |= {"data": page, "includes": {"users": [u for u in self.users if u["id"] in authors]}}
        self.remaining -= 1
        headers = {"x-rate-limit-limit": "450", "x-rate-limit-remaining": str(self.remaining),
                   "x-rate-limit-reset": str(int(time.time()) + 600)}
        return web.json_response(body, headers=headers)


def recorded_posts(now: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The synthetic full-fields answer, its two posts re-dated to `now` (ids included)."""
    body = fixture("SYNTHETIC_search_recent_full_fields.json")
    posts = body["data"]
    for index, post in enumerate(posts):
        moment = now - timedelta(minutes=10 * (index + 1))
        post["id"] = post["conversation_id"] = post_id(moment)
        post["created_at"] = moment.isoformat().replace("+00:00", "Z")
    return posts, body["includes"]["users"]


def copy_of(post: dict[str, Any], moment: datetime, sequence: int = 0) -> dict[str, Any]:
    copied = copy.deepcopy(post)
    copied["id"] = copied["conversation_id"] = post_id(moment, sequence)
    copied["created_at"] = moment.isoformat().replace("+00:00", "Z")
    return copied


def watcher(
    feeds: FeedServer, http: httpx.AsyncClient, query: str = "piscine OR budget", *, env: dict[str, str] = ENV,
    limits: RateLimits | None = None, **options: Any,
) -> XWatcher:
    config = WatcherConfig(name="x", source="x", query=parse_query(query), channel="C1", base_url=feeds.base_url,
                           options=options)
    return XWatcher(config, WatcherContext(http=http, env=env, limits=limits or RateLimits()))


def problem(feeds: FeedServer, path: str, name: str, status: int, headers: dict[str, str] | None = None) -> None:
    body = (FIXTURES / name).read_bytes()
    feeds.add_handler(path, lambda _: web.Response(status=status, body=body, headers=headers,
                                                   content_type="application/problem+json"))


async def test_is_registered() -> None:
    assert SOURCES["x"] is XWatcher


@pytest.mark.parametrize(
    ("query", "translated"),
    [
        ('"Caen la Mer" OR tramway', '("Caen la Mer" OR tramway)'),
        ("piscine -football lang:fr", "piscine -football lang:fr"),
        ("#Tram @VilleExemple l'école", '#Tram VilleExemple "l\'école"'),
        ("piscine author:@mairie_ex", "piscine from:mairie_ex"),
        ("piscine -author:@troll", "piscine"),  # from: stands for an author only roughly: not excluded
        ("(piscine OR tram*) budget", "budget"),  # an OR with a part X cannot search becomes "anything"
        ("piscine site:example.org lang:fr-CA", "piscine lang:fr"),
        ("piscine -(foot OR rugby)", "piscine"),  # negated groups are left to Veilleur's matcher
        ("OR_ AND piscine", "OR_ piscine"),
    ],
)
def test_the_query_is_translated_wider_never_narrower(query: str, translated: str) -> None:
    assert x_query(parse_query(query).outline()) == translated


async def test_posts_are_normalised_with_their_authors(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    posts, users = recorded_posts(now)
    feeds.add_handler(SEARCH, FakeX(posts, users).handle)
    result = await watcher(feeds, http).poll({})
    reply, article = result.mentions
    assert reply == Mention(
        source="x",
        external_id=posts[0]["id"],
        url=f"https://x.com/habitant_ex/status/{posts[0]['id']}",
        text="@VilleExemple la piscine municipale est encore fermée ce matin, une info ?",
        author_handle="habitant_ex",
        author_name="Habitant Exemple",
        author_reach=87,
        created_at=now - timedelta(minutes=10),
        lang="fr",
        engagement={"likes": 3, "reposts": 0, "replies": 1, "quotes": 0},
        conversation_id=posts[0]["id"],
    )
    assert article.author_reach == 15320 and article.engagement == {"likes": 21, "reposts": 5, "replies": 2,
                                                                    "quotes": 1}
    assert result.cursor == {"since_id": posts[0]["id"]}
    (request,) = feeds.requests(SEARCH)
    assert request.headers["Authorization"] == "Bearer x-test-token"
    assert request.query["query"] == "(piscine OR budget) -is:retweet"
    assert request.query["expansions"] == "author_id"
    assert "public_metrics" in request.query["user.fields"] and "conversation_id" in request.query["tweet.fields"]
    assert "since_id" not in request.query


async def test_default_fields_and_escaped_text_are_read(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    body = fixture("search_recent_tweepy_cassette.json")
    body["data"][0]["text"] = "Tweepy &amp; X &lt;3"
    feeds.add(SEARCH, json.dumps(body), content_type="application/json")
    mention = (await watcher(feeds, http, query="tweepy").poll({})).mentions[0]
    assert mention.text == "Tweepy & X <3"  # X escapes &, < and >
    assert mention.url == f"https://x.com/i/web/status/{mention.external_id}"  # no author expanded
    assert (mention.author_handle, mention.author_reach, mention.engagement) == ("", None, {})


async def test_since_id_and_paging_within_the_cap(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    posts, users = recorded_posts(now - timedelta(hours=1))
    fake = FakeX(posts, users)
    feeds.add_handler(SEARCH, fake.handle)
    x = watcher(feeds, http, max_posts=250)
    cursor = json.loads(json.dumps((await x.poll({})).cursor))
    assert (await x.poll(cursor)).mentions == []
    fresh = [copy_of(posts[0], now - timedelta(seconds=n), n) for n in range(300)]
    fake.posts += fresh
    fake.queries.clear()
    second = await x.poll(cursor)
    assert [q.get("since_id") for q in fake.queries] == [cursor["since_id"]] * 3
    assert [q["max_results"] for q in fake.queries] == ["100", "100", "50"]
    assert [q.get("next_token") for q in fake.queries] == [None, "100", "200"]
    assert len(second.mentions) == 250 == len({m.external_id for m in second.mentions})  # the cap, newest first
    assert second.cursor == {"since_id": fresh[0]["id"]}


async def test_a_since_id_older_than_seven_days_becomes_a_start_time(
    feeds: FeedServer, http: httpx.AsyncClient
) -> None:
    feeds.add_handler(SEARCH, FakeX([], []).handle)
    old = post_id(datetime.now(UTC) - timedelta(days=9))
    result = await watcher(feeds, http).poll({"since_id": old})
    (request,) = feeds.requests(SEARCH)
    assert "since_id" not in request.query
    start = datetime.fromisoformat(request.query["start_time"].replace("Z", "+00:00"))
    assert timedelta(days=6, hours=23) < datetime.now(UTC) - start < timedelta(days=7)
    assert result.mentions == [] and result.cursor == {"since_id": old}


async def test_the_rate_limit_window_is_respected_before_a_429(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    fake = FakeX([], [], remaining=2)  # the next answer says 1 left, within the reserve
    feeds.add_handler(SEARCH, fake.handle)
    x = watcher(feeds, http)
    await x.poll({})
    with pytest.raises(SourceError, match="rate limit nearly spent") as raised:
        await x.poll({})
    assert raised.value.retry_after is not None and 590 < raised.value.retry_after <= 600
    assert len(fake.queries) == 1  # gave up without asking


async def test_a_429_waits_for_the_window_reset(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    reset = str(int(time.time()) + 300)
    problem(feeds, SEARCH, "SYNTHETIC_error_429_too_many_requests.json", 429,
            {"x-rate-limit-remaining": "0", "x-rate-limit-reset": reset})
    with pytest.raises(SourceError, match="rate limit of this app reached") as raised:
        await watcher(feeds, http).poll({})
    assert raised.value.retry_after is not None and 290 < raised.value.retry_after <= 300


async def test_the_monthly_cap_says_when_it_resets(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    problem(feeds, SEARCH, "SYNTHETIC_error_429_usage_capped.json", 429)
    feeds.add_file(USAGE, FIXTURES / "SYNTHETIC_usage_tweets.json")
    with pytest.raises(SourceError, match="monthly post cap reached") as raised:
        await watcher(feeds, http).poll({})
    today = datetime.now(UTC)
    next_month = (today.replace(day=1) + timedelta(days=32)).replace(day=10)
    next_tenth = today.replace(day=10) if today.day < 10 else next_month
    assert f"it resets on {next_tenth:%Y-%m-%d}" in str(raised.value)
    assert raised.value.retry_after is not None and 60 <= raised.value.retry_after <= 3600
    assert raised.value.code == "UsageCapExceeded"
    feeds.set_status(USAGE, 403)
    with pytest.raises(SourceError, match="resets with the next billing cycle"):
        await watcher(feeds, http).poll({})


@pytest.mark.parametrize(
    ("name", "status", "message"),
    [
        ("SYNTHETIC_error_401_unauthorized.json", 401, "X refused the token .* check X_BEARER_TOKEN"),
        ("SYNTHETIC_error_403_client_not_enrolled.json", 403, "must belong to a project"),
        ("SYNTHETIC_error_400_invalid_query.json", 400, "Ambiguous use of or as a keyword"),
    ],
)
async def test_refusals_say_what_to_do(
    feeds: FeedServer, http: httpx.AsyncClient, name: str, status: int, message: str
) -> None:
    problem(feeds, SEARCH, name, status)
    with pytest.raises(SourceError, match=message) as raised:
        await watcher(feeds, http).poll({})
    assert raised.value.status == status
    assert "x-test-token" not in str(raised.value)


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        ("<!DOCTYPE html><html><body>Over capacity</body></html>", "text/html", "got an HTML page"),
        ('{"data": {"id": "1"}}', "application/json", "did not send a list of posts"),
        ("[]", "application/json", "did not send a JSON object"),
    ],
)
async def test_bad_answers_are_named(
    feeds: FeedServer, http: httpx.AsyncClient, body: str, content_type: str, message: str
) -> None:
    feeds.add(SEARCH, body, content_type=content_type)
    with pytest.raises(SourceError, match=message):
        await watcher(feeds, http).poll({})


async def test_the_conversation_is_a_conversation_id_search(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    posts, users = recorded_posts(now)
    root = posts[1]
    reply = copy_of(posts[0], now - timedelta(minutes=1)) | {"conversation_id": root["id"]}
    reply["referenced_tweets"] = [{"type": "replied_to", "id": root["id"]}]
    feeds.add_handler(SEARCH, FakeX([*posts, reply], users).handle)
    mention = Mention(source="x", external_id=root["id"], url="u", text="t", conversation_id=root["id"])
    thread = await watcher(feeds, http).thread(mention)
    assert [(m.external_id, m.parent_id) for m in thread] == [(root["id"], None), (reply["id"], root["id"])]
    assert feeds.requests(SEARCH)[0].query["query"] == f"conversation_id:{root['id']}"


@pytest.mark.parametrize(
    ("query", "options", "message"),
    [
        ("tram*", {}, "cannot express this query"),
        ("-football lang:fr", {}, "cannot express this query"),
        ("piscine", {"retweets": "yes"}, "retweets must be"),
        ("piscine", {"max_posts": 5}, "max_posts must be"),
        ("piscine", {"q": "x" * 520}, "X takes 512"),
        ("piscine", {"since": 1}, "unknown option 'since'"),
    ],
)
async def test_bad_settings_are_refused(
    feeds: FeedServer, http: httpx.AsyncClient, query: str, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(WatcherFieldError, match=message):
        watcher(feeds, http, query=query, **options)


async def test_options_q_and_retweets(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    feeds.add_handler(SEARCH, FakeX([], []).handle)
    await watcher(feeds, http, q="piscine OR #Exempleville").poll({})
    await watcher(feeds, http, q="piscine", retweets=True).poll({})
    assert [r.query["query"] for r in feeds.requests(SEARCH)] == ["(piscine OR #Exempleville) -is:retweet", "piscine"]


async def test_a_missing_token_is_named(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    with pytest.raises(WatcherFieldError, match="X_BEARER_TOKEN"):
        watcher(feeds, http, env={})
