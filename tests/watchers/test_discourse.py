"""The Discourse watcher over real HTTP, against a fake forum playing recorded search and topic payloads."""

from __future__ import annotations

import copy
import json
import re
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
from watchers.discourse import DiscourseWatcher

FIXTURES = Path(__file__).parent.parent / "fixtures" / "discourse"
SEARCH = "/search.json"
PAGE_SIZE = 50


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def recorded_post() -> dict[str, Any]:
    return fixture("query_response.json")["posts"][0]


def recorded_topic() -> dict[str, Any]:
    return fixture("query_response.json")["topics"][0]


def post_copy(post_id: int, created_at: datetime, topic_id: int = 13) -> dict[str, Any]:
    post = copy.deepcopy(recorded_post())
    post.update(id=post_id, topic_id=topic_id, created_at=created_at.isoformat().replace("+00:00", "Z"))
    return post


class FakeSearch:
    """search.json over a list of posts: reads `after:` and `order:latest` from q, sorts newest first, pages by 50."""

    def __init__(self, posts: list[dict[str, Any]]) -> None:
        self.posts = posts
        self.asked: list[dict[str, str]] = []

    def handle(self, request: web.Request) -> web.Response:
        self.asked.append(dict(request.query))
        q = request.query.get("q", "")
        assert "order:latest" in q
        posts = sorted(self.posts, key=lambda post: post["created_at"], reverse=True)
        if match := re.search(r"after:(\d{4}-\d{2}-\d{2})", q):
            posts = [post for post in posts if post["created_at"][:10] >= match[1]]
        page = int(request.query.get("page", "1"))
        shown = posts[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        topics = [recorded_topic() | {"id": topic_id} for topic_id in {post["topic_id"] for post in shown}]
        more = len(posts) > page * PAGE_SIZE
        return web.json_response(
            {"posts": shown, "topics": topics, "grouped_search_result": {"more_full_page_results": more or None}}
        )


def watcher(
    feeds: FeedServer,
    http: httpx.AsyncClient,
    query: str = "uuid",
    env: dict[str, str] | None = None,
    limits: RateLimits | None = None,
    **options: Any,
) -> DiscourseWatcher:
    config = WatcherConfig(
        name="d",
        source="discourse",
        query=parse_query(query),
        channel="C1",
        base_url=feeds.url("/forum/"),
        options=options,
    )
    return DiscourseWatcher(config, WatcherContext(http=http, env=env or {}, limits=limits or RateLimits()))


async def test_is_registered() -> None:
    assert SOURCES["discourse"] is DiscourseWatcher


async def test_search_results_are_normalised(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    feeds.add_file("/forum" + SEARCH, FIXTURES / "query_response.json")
    (post,) = (await watcher(feeds, http).poll({})).mentions
    base = feeds.url("/forum")
    assert post == Mention(
        source="discourse",
        external_id=f"{base}/p/16",
        url=f"{base}/t/2a6aa74e-e341-5e3c-1eaa-78c6331f305f/13/1",
        text=recorded_post()["cooked"].removeprefix("<p>").removesuffix("</p>"),
        title="2a6aa74e-e341-5e3c-1eaa-78c6331f305f",
        author_handle="discourse1",
        created_at=datetime(2016, 10, 29, 14, 14, 20, 516000, tzinfo=UTC),
        engagement={"likes": 0},
        conversation_id=f"{base}/t/13",
    )
    (request,) = feeds.requests("/forum" + SEARCH)
    assert (request.query["q"], request.query["page"]) == ("uuid order:latest", "1")
    assert request.headers["Accept"] == "application/json"
    assert "Api-Key" not in request.headers and "Api-Username" not in request.headers


async def test_current_results_without_cooked_use_the_blurb(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    body = fixture("query_response.json")
    post = body["posts"][0]
    del post["cooked"]
    post["blurb"] = 'Ride the <span class="search-highlight">tram</span> &amp; bus...'
    del body["topics"][0]["title"]
    body["topics"][0]["fancy_title"] = "Tram &amp; bus"
    feeds.add("/forum" + SEARCH, json.dumps(body), content_type="application/json")
    (mention,) = (await watcher(feeds, http).poll({})).mentions
    assert mention.text == "Ride the tram & bus..."
    assert mention.title == "Tram & bus"


async def test_cursor_returns_only_newer_posts_and_survives_json(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    search = FakeSearch([recorded_post()])
    feeds.add_handler("/forum" + SEARCH, search.handle)
    forum = watcher(feeds, http)
    first = await forum.poll({})
    cursor = json.loads(json.dumps(first.cursor))
    assert cursor == {"last_id": 16, "after": "2016-10-28"}

    assert (await forum.poll(cursor)).mentions == []
    assert search.asked[-1]["q"] == "uuid order:latest after:2016-10-28"

    newer = post_copy(17, datetime(2016, 10, 30, 9, 0, tzinfo=UTC))
    search.posts.append(newer)
    second = await forum.poll(cursor)
    assert [m.external_id for m in second.mentions] == [feeds.url("/forum/p/17")]
    assert json.loads(json.dumps(second.cursor)) == {"last_id": 17, "after": "2016-10-29"}
    assert (await forum.poll(second.cursor)).mentions == []


async def test_empty_first_poll_still_sets_a_cursor(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    search = FakeSearch([])
    feeds.add_handler("/forum" + SEARCH, search.handle)
    forum = watcher(feeds, http)
    first = await forum.poll({})
    assert first.mentions == [] and first.cursor == {"last_id": 0}
    search.posts.append(recorded_post())
    assert [m.external_id for m in (await forum.poll(first.cursor)).mentions] == [feeds.url("/forum/p/16")]


async def test_one_search_per_word_merged_by_post(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    feeds.add_handler("/forum" + SEARCH, FakeSearch([recorded_post()]).handle)
    result = await watcher(feeds, http, query='("tram ligne" OR bus*) -voiture').poll({})
    assert len(result.mentions) == 1
    assert [r.query["q"] for r in feeds.requests("/forum" + SEARCH)] == [
        '"tram ligne" order:latest',
        "bus order:latest",
    ]


async def test_paging_is_bounded_and_stops_at_known_posts(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    start = datetime(2024, 5, 1, tzinfo=UTC)
    search = FakeSearch([post_copy(1000, start)])
    feeds.add_handler("/forum" + SEARCH, search.handle)
    forum = watcher(feeds, http)
    cursor = (await forum.poll({})).cursor
    search.posts += [post_copy(1001 + n, start + timedelta(minutes=1 + n)) for n in range(30)]
    assert len((await forum.poll(cursor)).mentions) == 30
    search.posts += [post_copy(2000 + n, start + timedelta(hours=1, minutes=n)) for n in range(200)]
    search.asked.clear()
    result = await forum.poll(cursor)
    assert [asked["page"] for asked in search.asked] == ["1", "2", "3"]
    assert len(result.mentions) == 150
    assert result.cursor["last_id"] == 2199


async def test_sends_api_credentials_from_env(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    feeds.add_file("/forum" + SEARCH, FIXTURES / "query_response.json")
    env = {"DISCOURSE_API_KEY": "key-one", "DISCOURSE_API_USERNAME": "veilleur", "FORUM2_KEY": "key-two"}
    await watcher(feeds, http, env=env).poll({})
    await watcher(feeds, http, env=env, api_key_env="FORUM2_KEY", api_username_env="FORUM2_USER").poll({})
    first, second = feeds.requests("/forum" + SEARCH)
    assert (first.headers["Api-Key"], first.headers["Api-Username"]) == ("key-one", "veilleur")
    assert second.headers["Api-Key"] == "key-two" and "Api-Username" not in second.headers


@pytest.mark.parametrize("status", [401, 403])
async def test_refused_access_names_the_env_vars(feeds: FeedServer, http: httpx.AsyncClient, status: int) -> None:
    feeds.set_status("/forum" + SEARCH, status)
    env = {"FORUM_KEY": "very-secret-key", "FORUM_USER": "bot"}
    with pytest.raises(SourceError, match="set FORUM_KEY and FORUM_USER") as raised:
        await watcher(feeds, http, env=env, api_key_env="FORUM_KEY", api_username_env="FORUM_USER").poll({})
    assert raised.value.status == status
    assert "very-secret-key" not in str(raised.value)


async def test_named_key_env_must_be_set(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    with pytest.raises(WatcherFieldError, match="FORUM_KEY, which is not set") as raised:
        watcher(feeds, http, api_key_env="FORUM_KEY")
    assert raised.value.field == "options"


async def test_base_url_is_required(http: httpx.AsyncClient) -> None:
    config = WatcherConfig(name="d", source="discourse", query=parse_query("tram"), channel="C1")
    with pytest.raises(WatcherFieldError, match="forum's address") as raised:
        DiscourseWatcher(config, WatcherContext(http=http))
    assert raised.value.field == "base_url"


def trimmed_topic(keep: int) -> dict[str, Any]:
    """The recorded 4-post topic as Discourse sends a longer one: only the first `keep` posts, all ids in stream."""
    topic = fixture("topic_multi_post_try_discourse.json")
    topic["post_stream"]["posts"] = topic["post_stream"]["posts"][:keep]
    return topic


class PostsByIds:
    """/t/57/posts.json: the recorded topic's posts whose ids were asked for."""

    def __init__(self) -> None:
        self.asked: list[list[int]] = []

    def handle(self, request: web.Request) -> web.Response:
        ids = [int(value) for value in request.query.getall("post_ids[]")]
        self.asked.append(ids)
        posts = fixture("topic_multi_post_try_discourse.json")["post_stream"]["posts"]
        return web.json_response({"post_stream": {"posts": [post for post in posts if post["id"] in ids]}, "id": 57})


async def test_thread_loads_the_rest_of_the_topic_and_links_replies(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    feeds.add("/forum/t/57.json", json.dumps(trimmed_topic(2)), content_type="application/json")
    posts = PostsByIds()
    feeds.add_handler("/forum/t/57/posts.json", posts.handle)
    base = feeds.url("/forum")
    mention = Mention(source="discourse", external_id=f"{base}/p/226", url="u", text="", conversation_id=f"{base}/t/57")
    thread = await watcher(feeds, http).thread(mention)
    assert [m.external_id for m in thread] == [f"{base}/p/{n}" for n in (83, 84, 86, 226)]
    assert posts.asked == [[86, 226]]
    parents = [m.parent_id for m in thread]
    assert parents == [None, f"{base}/p/83", f"{base}/p/83", f"{base}/p/83"]
    last = thread[-1]
    assert last.text == "What? So I have to post this every day?"
    assert last.url == f"{base}/t/this-site-is-a-sandbox-it-is-reset-every-day/57/14"
    assert last.title == "THIS SITE IS A SANDBOX -- it is reset every day"
    assert (last.author_handle, last.author_name) == ("splattne", "Stefan Plattner")
    assert last.engagement == {"likes": 5, "replies": 0}
    assert last.created_at == datetime(2013, 2, 5, 17, 14, 17, 364000, tzinfo=UTC)
    assert thread[0].text.startswith("Welcome!\nTry is a sandbox")
    assert {m.conversation_id for m in thread} == {f"{base}/t/57"}


async def test_thread_reads_the_recorded_posts_json(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    topic = fixture("topic_response.json")
    topic["post_stream"]["stream"].append(123456)
    feeds.add("/forum/t/13.json", json.dumps(topic), content_type="application/json")
    feeds.add_file("/forum/t/13/posts.json", FIXTURES / "topic_posts_by_ids.json")
    base = feeds.url("/forum")
    mention = Mention(source="discourse", external_id=f"{base}/p/16", url=f"{base}/t/about/13/1", text="")
    opening, reply = await watcher(feeds, http).thread(mention)
    assert opening.title == "About the 9bf05639-c1d6-95e0-b5b1-24c75db096e5 category"
    assert opening.text.startswith("(Replace this first paragraph")
    assert (reply.external_id, reply.text, reply.parent_id) == (f"{base}/p/123456", "Some text.", f"{base}/p/16")
    assert reply.engagement == {"likes": 3, "replies": 0}


async def test_long_topic_fetches_a_bounded_window_around_the_mention(
    feeds: FeedServer, http: httpx.AsyncClient
) -> None:
    topic = trimmed_topic(2)
    stream = [83, 84, *range(1000, 1300)]
    topic["post_stream"]["stream"] = stream
    feeds.add("/forum/t/57.json", json.dumps(topic), content_type="application/json")
    asked: list[list[int]] = []

    def answer(request: web.Request) -> web.Response:
        ids = [int(value) for value in request.query.getall("post_ids[]")]
        asked.append(ids)
        template = topic["post_stream"]["posts"][1]
        posts = [template | {"id": i, "post_number": stream.index(i) + 1, "cooked": f"<p>post {i}</p>"} for i in ids]
        return web.json_response({"post_stream": {"posts": posts}})

    feeds.add_handler("/forum/t/57/posts.json", answer)
    base = feeds.url("/forum")
    mention = Mention(source="discourse", external_id=f"{base}/p/1200", url=f"{base}/t/x/57/203", text="")
    thread = await watcher(feeds, http).thread(mention)
    assert [len(ids) for ids in asked] == [20, 20, 20, 20]
    fetched = [i for ids in asked for i in ids]
    assert fetched == list(range(1180, 1260))  # 20 before the mention, 59 after
    assert len(thread) == 82
    assert f"{base}/p/1200" in {m.external_id for m in thread}


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda s: s.set_status("/forum" + SEARCH, 500), "HTTP 500"),
        (lambda s: s.add("/forum" + SEARCH, '{"posts": [{"id": 1', content_type="application/json"), "valid JSON"),
        (lambda s: s.add("/forum" + SEARCH, "[1, 2]", content_type="application/json"), "did not send search results"),
        (lambda s: s.hang("/forum" + SEARCH), "did not answer in time"),
    ],
    ids=["500", "truncated", "not-an-object", "timeout"],
)
async def test_errors_are_source_errors(feeds: FeedServer, http: httpx.AsyncClient, setup, message: str) -> None:
    setup(feeds)
    with pytest.raises(SourceError, match=message):
        await watcher(feeds, http).poll({})


async def test_429_reports_retry_after(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    feeds.set_status("/forum" + SEARCH, 429, headers={"Retry-After": "17"})
    with pytest.raises(SourceError) as raised:
        await watcher(feeds, http).poll({})
    assert raised.value.retry_after == 17


async def test_spent_rate_limit_waits_then_gives_up(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    empty = json.dumps({"posts": [], "topics": []})
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "0.4"}
    feeds.add("/forum" + SEARCH, empty, content_type="application/json", headers=headers)
    forum = watcher(feeds, http)
    await forum.poll({})
    started = time.monotonic()
    await forum.poll({})
    assert time.monotonic() - started >= 0.3
    feeds.add("/forum" + SEARCH, empty, content_type="application/json", headers=headers | {"X-RateLimit-Reset": "300"})
    await forum.poll({})
    with pytest.raises(SourceError) as raised:
        await forum.poll({})
    assert raised.value.retry_after is not None and raised.value.retry_after > 290


async def test_missing_fields_do_not_crash(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    body = {"posts": [{"id": 5}, {"id": 6, "topic_id": 99, "created_at": "yesterday"}, {"blurb": "no id"}, "junk"]}
    feeds.add("/forum" + SEARCH, json.dumps(body), content_type="application/json")
    first, second = (await watcher(feeds, http).poll({})).mentions
    base = feeds.url("/forum")
    assert (first.external_id, first.url, first.text, first.title) == (f"{base}/p/5", f"{base}/p/5", "", "")
    assert first.conversation_id is None and first.created_at is None and first.engagement == {}
    assert (second.url, second.conversation_id) == (f"{base}/t/99/1", f"{base}/t/99")


@pytest.mark.parametrize(
    ("query", "options", "message"),
    [
        ("tram", {"category": "x"}, "unknown option 'category'"),
        ("tram", {"api_key_env": "not a name"}, "must name an environment variable"),
        ("tram", {"q": ""}, "q must be"),
        ("lang:fr", {}, "no word to search for"),
        ("a OR b OR c OR d OR e OR f", {}, "6 searches"),
    ],
)
async def test_bad_options_are_refused(
    feeds: FeedServer, http: httpx.AsyncClient, query: str, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(WatcherFieldError, match=message) as raised:
        watcher(feeds, http, query=query, **options)
    assert raised.value.field == "options"
