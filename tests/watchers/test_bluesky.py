"""The Bluesky watcher over real HTTP, against a fake PDS playing recorded search results, profiles and threads."""

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
from watchers.base import SourceError, WatcherContext
from watchers.bluesky import BlueskyWatcher

FIXTURES = Path(__file__).parent.parent / "fixtures" / "bluesky"
HANDLE = "veilleur.bsky.social"
PASSWORD = "abcd-efgh-ijkl-mnop"
ENV = {"BLUESKY_HANDLE": HANDLE, "BLUESKY_APP_PASSWORD": PASSWORD}
XRPC = "/xrpc/"
SEARCH = XRPC + "app.bsky.feed.searchPosts"
PROFILES = XRPC + "app.bsky.actor.getProfiles"
THREAD = XRPC + "app.bsky.feed.getPostThread"
LOGIN = XRPC + "com.atproto.server.createSession"
REFRESH = XRPC + "com.atproto.server.refreshSession"
SELF_THREAD = "at://did:plc:ooimp4mgjxbday5u4j2rh57m/app.bsky.feed.post/"  # one author's thread in the recording
SELF_THREAD_ROOT = SELF_THREAD + "3lpjqeaiz2k27"  # not in the recording


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def recorded_posts() -> list[dict[str, Any]]:
    return fixture("searchPosts_redistricting.json")["posts"]


def sort_time(post: dict[str, Any]) -> datetime:
    times = (post["record"]["createdAt"], post["indexedAt"])
    return min(datetime.fromisoformat(moment) for moment in times)


def derived(template: dict[str, Any], n: int, at: datetime) -> dict[str, Any]:
    """A recorded post by another author (did:plc:authorN), created and indexed at `at`."""
    post = copy.deepcopy(template)
    did = f"did:plc:author{n}"
    post["uri"] = f"at://{did}/app.bsky.feed.post/3kderived{n}"
    post["author"] |= {"did": did, "handle": f"author{n}.bsky.social"}
    post["record"]["createdAt"] = post["indexedAt"] = at.isoformat().replace("+00:00", "Z")
    return post


def error(status: int, name: str) -> web.Response:
    return web.json_response({"error": name, "message": f"{name} (fake PDS)"}, status=status)


class FakePds:
    """A PDS as the watcher sees it: logins and refreshes that issue tokens, and XRPC calls that check them."""

    def __init__(self, server: FeedServer) -> None:
        self.posts = recorded_posts()
        self.followers: dict[str, int] = {}
        self.threads: dict[str, Any] = {}
        self.logins = 0
        self.refreshes = 0
        self.valid_access: set[str] = set()
        self.expired_access: set[str] = set()
        self.valid_refresh: set[str] = set()
        self.profile_batches: list[list[str]] = []
        server.add_handler(LOGIN, self.login)
        server.add_handler(REFRESH, self.refresh)
        server.add_handler(SEARCH, self.search)
        server.add_handler(PROFILES, self.profiles)
        server.add_handler(THREAD, self.thread)

    def issue(self, name: str) -> dict[str, str]:
        access, refresh = f"access-{name}", f"refresh-{name}"
        self.valid_access.add(access)
        self.valid_refresh.add(refresh)
        return {"did": "did:plc:veilleur", "handle": HANDLE, "accessJwt": access, "refreshJwt": refresh}

    def expire_access_tokens(self) -> None:
        self.expired_access |= self.valid_access
        self.valid_access.clear()

    def bearer(self, request: web.Request) -> str:
        return request.headers.get("Authorization", "").removeprefix("Bearer ")

    def refused(self, request: web.Request) -> web.Response | None:
        token = self.bearer(request)
        if token in self.expired_access:
            return error(400, "ExpiredToken")
        return None if token in self.valid_access else error(401, "AuthenticationRequired")

    async def login(self, request: web.Request) -> web.Response:
        if await request.json() != {"identifier": HANDLE, "password": PASSWORD}:
            return error(401, "AuthenticationRequired")
        self.logins += 1
        return web.json_response(self.issue(f"login{self.logins}"))

    def refresh(self, request: web.Request) -> web.Response:
        token = self.bearer(request)
        if token not in self.valid_refresh:
            return error(400, "ExpiredToken")
        self.valid_refresh.discard(token)
        self.refreshes += 1
        return web.json_response(self.issue(f"refresh{self.refreshes}"))

    def search(self, request: web.Request) -> web.Response:
        if (refusal := self.refused(request)) is not None:
            return refusal
        since = request.query.get("since")
        hits = [post for post in self.posts if since is None or sort_time(post) >= datetime.fromisoformat(since)]
        hits.sort(key=sort_time, reverse=True)
        start = int(request.query.get("cursor", "0"))
        end = start + int(request.query.get("limit", "25"))
        body: dict[str, Any] = {"posts": hits[start:end]}
        if end < len(hits):
            body["cursor"] = str(end)
        return web.json_response(body)

    def profiles(self, request: web.Request) -> web.Response:
        if (refusal := self.refused(request)) is not None:
            return refusal
        actors = request.query.getall("actors", [])
        if len(actors) > 25:
            return error(400, "InvalidRequest")
        self.profile_batches.append(actors)
        template = fixture("getProfiles.json")["profiles"][0]
        known = [actor for actor in actors if actor in self.followers]
        profiles = [template | {"did": actor, "followersCount": self.followers[actor]} for actor in known]
        return web.json_response({"profiles": profiles})

    def thread(self, request: web.Request) -> web.Response:
        if (refusal := self.refused(request)) is not None:
            return refusal
        uri = request.query.get("uri", "")
        return web.json_response(self.threads[uri]) if uri in self.threads else error(400, "NotFound")


@pytest.fixture
def pds(feeds: FeedServer) -> FakePds:
    return FakePds(feeds)


def watcher(
    http: httpx.AsyncClient,
    base_url: str,
    *,
    options: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    query: str = "redistricting",
) -> BlueskyWatcher:
    config = WatcherConfig(
        name="sky", source="bluesky", query=parse_query(query), channel="C1", base_url=base_url, options=options or {}
    )
    return BlueskyWatcher(config, WatcherContext(http=http, env=ENV if env is None else env))


def by_id(mentions: list[Mention]) -> dict[str, Mention]:
    return {mention.external_id: mention for mention in mentions}


def roundtrip(cursor: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(cursor))


async def test_is_registered() -> None:
    assert SOURCES["bluesky"] is BlueskyWatcher


async def test_search_results_are_normalised(feeds: FeedServer, http: httpx.AsyncClient, pds: FakePds) -> None:
    pds.followers = {"did:plc:s7savtl25cqhm3ddqc7jeljx": 321}
    result = await watcher(http, feeds.base_url, options={"lang": "en"}).poll({})
    mentions = by_id(result.mentions)
    assert len(mentions) == 25
    post = mentions["at://did:plc:s7savtl25cqhm3ddqc7jeljx/app.bsky.feed.post/3lpk2r5h5ec2j"]
    assert post.source == "bluesky"
    assert post.url == "https://bsky.app/profile/cjtackett.bsky.social/post/3lpk2r5h5ec2j"
    assert post.author_handle == "cjtackett.bsky.social"
    assert post.author_reach == 321
    assert post.lang == "en"
    assert post.created_at == datetime(2025, 5, 19, 17, 8, 27, 677000, tzinfo=UTC)
    assert post.engagement == {"likes": 4, "reposts": 3, "replies": 0, "quotes": 0}
    assert post.conversation_id == post.external_id and post.parent_id is None
    bot = mentions["at://did:plc:kkergqgbhb56ptpwj2wenkje/app.bsky.feed.post/3lpk2u6qo222m"]
    assert bot.lang is None and bot.author_reach is None  # no langs in the record, no profile known
    assert bot.text.startswith("Ends Versus Means: Public Opinion on Congressional Redistricting")
    reply = mentions["at://did:plc:ooimp4mgjxbday5u4j2rh57m/app.bsky.feed.post/3lpjqeajpjc27"]
    assert reply.conversation_id == SELF_THREAD_ROOT
    assert reply.parent_id == "at://did:plc:ooimp4mgjxbday5u4j2rh57m/app.bsky.feed.post/3lpjqeajmlk27"
    (search,) = feeds.requests(SEARCH)
    assert search.query == {"q": "redistricting", "sort": "latest", "limit": "100", "lang": "en"}
    assert search.headers["Authorization"] == "Bearer access-login1"


async def test_follower_counts_come_in_batches_of_25(feeds: FeedServer, http: httpx.AsyncClient, pds: FakePds) -> None:
    now = datetime.now(UTC)
    pds.posts = [derived(recorded_posts()[1], n, now - timedelta(seconds=n)) for n in range(60)]
    pds.followers = {f"did:plc:author{n}": 1000 + n for n in range(60)}
    result = await watcher(http, feeds.base_url).poll({})
    assert [len(batch) for batch in pds.profile_batches] == [25, 25, 10]
    assert {m.author_handle: m.author_reach for m in result.mentions} == {
        f"author{n}.bsky.social": 1000 + n for n in range(60)
    }


async def test_two_polls_and_two_watchers_log_in_once(feeds: FeedServer, http: httpx.AsyncClient, pds: FakePds) -> None:
    first = watcher(http, feeds.base_url)
    result = await first.poll({})
    await first.poll(result.cursor)
    await watcher(http, feeds.base_url, query="gerrymandering").poll({})
    assert pds.logins == 1 and len(feeds.requests(LOGIN)) == 1
    assert pds.refreshes == 0


async def test_expired_token_is_refreshed_once_for_every_watcher(
    feeds: FeedServer, http: httpx.AsyncClient, pds: FakePds
) -> None:
    one, two = watcher(http, feeds.base_url), watcher(http, feeds.base_url, query="gerrymandering")
    await one.poll({})
    pds.expire_access_tokens()
    result = await one.poll({})
    await two.poll({})
    assert len(result.mentions) == 25
    assert (pds.logins, pds.refreshes) == (1, 1)
    assert feeds.requests(REFRESH)[0].headers["Authorization"] == "Bearer refresh-login1"
    assert feeds.requests(SEARCH)[-1].headers["Authorization"] == "Bearer access-refresh1"


async def test_refused_refresh_logs_in_again(feeds: FeedServer, http: httpx.AsyncClient, pds: FakePds) -> None:
    sky = watcher(http, feeds.base_url)
    await sky.poll({})
    pds.expire_access_tokens()
    pds.valid_refresh.clear()
    result = await sky.poll({})
    assert len(result.mentions) == 25
    assert (pds.logins, len(feeds.requests(REFRESH))) == (2, 1)


async def test_cursor_asks_since_and_returns_only_new_posts(
    feeds: FeedServer, http: httpx.AsyncClient, pds: FakePds
) -> None:
    sky = watcher(http, feeds.base_url)
    first = await sky.poll({})
    newest = max(sort_time(post) for post in pds.posts)
    fresh = derived(recorded_posts()[1], 1, newest + timedelta(minutes=1))
    pds.posts = [fresh, *pds.posts]
    second = await sky.poll(roundtrip(first.cursor))
    assert [m.external_id for m in second.mentions] == [fresh["uri"]]
    since = datetime.fromisoformat(feeds.requests(SEARCH)[-1].query["since"])
    margin = newest - timedelta(minutes=5)  # for posts indexed late; sent to the millisecond
    assert margin - timedelta(milliseconds=1) < since <= margin
    third = await sky.poll(roundtrip(second.cursor))
    assert third.mentions == []


async def test_late_indexed_post_inside_the_margin_is_found(
    feeds: FeedServer, http: httpx.AsyncClient, pds: FakePds
) -> None:
    sky = watcher(http, feeds.base_url)
    first = await sky.poll({})
    newest = max(sort_time(post) for post in pds.posts)
    late = derived(recorded_posts()[1], 2, newest - timedelta(minutes=2))
    pds.posts = [*pds.posts, late]
    second = await sky.poll(roundtrip(first.cursor))
    assert [m.external_id for m in second.mentions] == [late["uri"]]


async def test_search_paging_is_bounded(feeds: FeedServer, http: httpx.AsyncClient, pds: FakePds) -> None:
    now = datetime.now(UTC)
    pds.posts = [derived(recorded_posts()[1], n, now - timedelta(seconds=n)) for n in range(350)]
    cursor = {"searches": {"redistricting": {"since": (now - timedelta(hours=1)).isoformat(), "seen": []}}}
    result = await watcher(http, feeds.base_url).poll(cursor)
    assert len(result.mentions) == 300
    assert [request.query.get("cursor") for request in feeds.requests(SEARCH)] == [None, "100", "200"]


async def test_one_search_per_word_or_phrase(feeds: FeedServer, http: httpx.AsyncClient, pds: FakePds) -> None:
    result = await watcher(http, feeds.base_url, query='"Caen la mer" OR Tramway -football').poll({})
    assert [request.query["q"] for request in feeds.requests(SEARCH)] == ['"caen la mer"', "tramway"]
    assert set(result.cursor["searches"]) == {'"caen la mer"', "tramway"}
    assert len(result.mentions) == 25  # the same posts from both searches are one mention each
    await watcher(http, feeds.base_url, options={"q": ["from:bsky.app redistricting"]}).poll({})
    assert feeds.requests(SEARCH)[-1].query["q"] == "from:bsky.app redistricting"


async def test_search_added_later_starts_quietly(feeds: FeedServer, http: httpx.AsyncClient, pds: FakePds) -> None:
    sky = watcher(http, feeds.base_url, options={"q": ["redistricting", "maps"]})
    first = await sky.poll({})
    cursor = roundtrip(first.cursor)
    del cursor["searches"]["maps"]
    second = await sky.poll(cursor)
    assert second.mentions == []
    assert set(second.cursor["searches"]) == {"redistricting", "maps"}


async def test_thread_is_fetched_from_the_root(feeds: FeedServer, http: httpx.AsyncClient, pds: FakePds) -> None:
    # The recorded chain of four replies, under a root derived from its first reply, as one tree from the root.
    chain = {post["uri"]: post for post in recorded_posts() if post["uri"].startswith(SELF_THREAD)}
    root = copy.deepcopy(chain[SELF_THREAD + "3lpjqeajmlk27"])
    root["uri"] = SELF_THREAD_ROOT
    root["record"].pop("reply")
    root["record"]["createdAt"] = "2025-05-19T14:02:17.000Z"
    order = ["3lpjqeajmlk27", "3lpjqeajpjc27", "3lpjqeajrhs27", "3lpjqeajtgc27"]
    node: dict[str, Any] = {"post": chain[SELF_THREAD + order[-1]], "replies": []}
    for rkey in reversed(order[:-1]):
        node = {"post": chain[SELF_THREAD + rkey], "replies": [node, {"uri": "at://x", "notFound": True}]}
    pds.threads[SELF_THREAD_ROOT] = {"thread": {"post": root, "replies": [node]}}
    sky = watcher(http, feeds.base_url)
    mention = by_id((await sky.poll({})).mentions)[SELF_THREAD + "3lpjqeajrhs27"]
    thread = await sky.thread(mention)
    assert [item.external_id for item in thread] == [SELF_THREAD_ROOT] + [SELF_THREAD + r for r in order]
    assert [item.parent_id for item in thread] == [None] + [item.external_id for item in thread[:-1]]
    assert {item.conversation_id for item in thread} == {SELF_THREAD_ROOT}
    (request,) = feeds.requests(THREAD)
    assert request.query["uri"] == SELF_THREAD_ROOT
    assert 0 < int(request.query["depth"]) <= 20 and 0 < int(request.query["parentHeight"]) <= 100


async def test_thread_falls_back_to_the_post_when_the_root_is_gone(
    feeds: FeedServer, http: httpx.AsyncClient, pds: FakePds
) -> None:
    middle = SELF_THREAD + "3lpjqeajpjc27"
    pds.threads[middle] = fixture("SYNTHETIC_getPostThread_with_parent_and_reply.json")
    pds.followers = {"did:plc:ooimp4mgjxbday5u4j2rh57m": 77}
    mention = Mention(source="bluesky", external_id=middle, url="", text="", conversation_id=SELF_THREAD_ROOT)
    thread = await watcher(http, feeds.base_url).thread(mention)
    assert [item.external_id[-13:] for item in thread] == ["3lpjqeajmlk27", "3lpjqeajpjc27", "3lpjqeajrhs27"]
    assert [request.query["uri"] for request in feeds.requests(THREAD)] == [SELF_THREAD_ROOT, middle]
    assert {item.author_reach for item in thread} == {77}


async def test_thread_of_a_lone_post(feeds: FeedServer, http: httpx.AsyncClient, pds: FakePds) -> None:
    body = fixture("getPostThread_no_replies.json")
    uri = body["thread"]["post"]["uri"]
    pds.threads[uri] = body
    (item,) = await watcher(http, feeds.base_url).thread(Mention(source="bluesky", external_id=uri, url="", text=""))
    assert item.url == "https://bsky.app/profile/soubhikbarari.bsky.social/post/3k7qmjev5lr2s"
    assert item.lang == "en" and "LocalView" in item.text


async def test_missing_fields_do_not_crash(feeds: FeedServer, http: httpx.AsyncClient, pds: FakePds) -> None:
    bare = {"uri": "at://did:plc:bare/app.bsky.feed.post/3kbare"}
    odd = {
        "uri": "at://did:plc:odd/app.bsky.feed.post/3kodd",
        "author": {"handle": "handle.invalid", "displayName": None},
        "record": {"text": 42, "langs": "en", "createdAt": "not a date", "reply": {"root": "x"}},
        "likeCount": -1,
        "indexedAt": "2025-05-19T17:00:00Z",
    }
    not_posts = [{"uri": "at://did:plc:x/app.bsky.feed.like/3klike"}, {"no": "uri"}, "junk"]
    feeds.add_handler(SEARCH, lambda request: web.json_response({"posts": [bare, odd, *not_posts]}))
    mentions = by_id((await watcher(http, feeds.base_url).poll({})).mentions)
    assert set(mentions) == {bare["uri"], odd["uri"]}
    assert mentions[odd["uri"]].url == "https://bsky.app/profile/did:plc:odd/post/3kodd"
    assert mentions[odd["uri"]].author_handle == "did:plc:odd"
    assert mentions[odd["uri"]].created_at == datetime(2025, 5, 19, 17, tzinfo=UTC)
    assert mentions[odd["uri"]].engagement == {} and mentions[odd["uri"]].lang is None
    assert mentions[bare["uri"]].text == "" and mentions[bare["uri"]].created_at is None


async def test_refused_login_names_the_env_vars_not_the_password(
    feeds: FeedServer, http: httpx.AsyncClient, pds: FakePds
) -> None:
    env = {"BLUESKY_HANDLE": HANDLE, "BLUESKY_APP_PASSWORD": "wrong-password-value"}
    with pytest.raises(SourceError, match="BLUESKY_HANDLE and BLUESKY_APP_PASSWORD") as raised:
        await watcher(http, feeds.base_url, env=env).poll({})
    assert "wrong-password-value" not in str(raised.value)
    assert "app password" in str(raised.value)


async def test_token_refused_after_login_names_the_env_vars(
    feeds: FeedServer, http: httpx.AsyncClient, pds: FakePds
) -> None:
    feeds.add_handler(SEARCH, lambda request: error(403, "AccountTakedown"))
    with pytest.raises(SourceError, match=r"\[AccountTakedown\]: check BLUESKY_HANDLE") as raised:
        await watcher(http, feeds.base_url).poll({})
    assert raised.value.status == 403


async def test_429_reports_retry_after(feeds: FeedServer, http: httpx.AsyncClient, pds: FakePds) -> None:
    feeds.add_handler(
        SEARCH,
        lambda request: web.json_response({"error": "RateLimitExceeded"}, status=429, headers={"Retry-After": "42"}),
    )
    with pytest.raises(SourceError, match="HTTP 429") as raised:
        await watcher(http, feeds.base_url).poll({})
    assert raised.value.retry_after == 42


async def test_spent_rate_limit_waits_then_gives_up(feeds: FeedServer, http: httpx.AsyncClient, pds: FakePds) -> None:
    recorded = fixture("searchPosts_redistricting.headers.json")["headers"]
    reset = {"value": time.time() + 0.5}

    def search(request: web.Request) -> web.Response:
        headers = {key: value for key, value in recorded.items() if key.startswith("RateLimit")}
        headers |= {"RateLimit-Remaining": "0", "RateLimit-Reset": f"{reset['value']:.3f}"}
        return web.json_response({"posts": []}, headers=headers)

    feeds.add_handler(SEARCH, search)
    sky = watcher(http, feeds.base_url)
    await sky.poll({})
    await sky.poll({})
    # Measured against the reset itself: a slow first poll leaves less of the half second to wait.
    assert time.time() >= reset["value"] - 0.01, "the second poll waited for the reset"
    reset["value"] = time.time() + 300
    await sky.poll({})
    with pytest.raises(SourceError, match="rate limit") as raised:
        await sky.poll({})
    assert raised.value.retry_after is not None and raised.value.retry_after > 200


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (lambda request: web.Response(status=500, text="oops"), "HTTP 500"),
        (lambda request: web.Response(text='{"posts": [{"uri": "at://', content_type="application/json"), "valid JSON"),
        (lambda request: web.json_response({"cursor": "25"}), "list of posts"),
        (lambda request: web.json_response(["not", "an", "object"]), "JSON object"),
    ],
    ids=["500", "truncated", "no-posts", "not-an-object"],
)
async def test_errors_are_source_errors(
    feeds: FeedServer, http: httpx.AsyncClient, pds: FakePds, answer, message: str
) -> None:
    feeds.add_handler(SEARCH, answer)
    with pytest.raises(SourceError, match=message):
        await watcher(http, feeds.base_url).poll({})


async def test_hanging_pds_times_out(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    feeds.hang(LOGIN)
    with pytest.raises(SourceError, match="did not answer in time"):
        await watcher(http, feeds.base_url).poll({})


@pytest.mark.parametrize(
    ("options", "env", "message"),
    [
        ({}, {}, "set BLUESKY_HANDLE and BLUESKY_APP_PASSWORD"),
        ({}, {"BLUESKY_HANDLE": HANDLE}, "set BLUESKY_HANDLE and BLUESKY_APP_PASSWORD"),
        ({"lang": "french"}, ENV, "language code"),
        ({"q": ["a", "b", "c", "d", "e", "f"]}, ENV, "at most 5"),
        ({"q": 3}, ENV, "search text"),
        ({"sort": "top"}, ENV, "unknown option 'sort'"),
    ],
)
async def test_bad_options_are_refused(
    http: httpx.AsyncClient, options: dict[str, Any], env: dict[str, str], message: str
) -> None:
    with pytest.raises(WatcherFieldError, match=message) as raised:
        watcher(http, "https://pds.example", options=options, env=env)
    assert raised.value.field == "options"
