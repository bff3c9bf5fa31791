"""The Reddit watcher over real HTTP, against a fake Reddit (token endpoint + OAuth API) playing recorded listings."""

from __future__ import annotations

import base64
import copy
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
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
from watchers import reddit as reddit_module
from watchers.base import RateLimits, SourceError, WatcherContext
from watchers.reddit import RedditWatcher

FIXTURES = Path(__file__).parent.parent / "fixtures" / "reddit"
TOKEN_PATH = "/api/v1/access_token"
CLIENT_ID = "veilleur-test-app"
SECRET = "s3cr3t-value-never-shown"
ENV = {"REDDIT_CLIENT_ID": CLIENT_ID, "REDDIT_CLIENT_SECRET": SECRET}


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def recorded_headers(name: str) -> dict[str, str]:
    """The rate-limit headers Reddit sent with a recorded answer (its values are floats such as "599.0")."""
    headers = fixture(name)["headers"]
    return {key: values[0] for key, values in headers.items() if key.lower().startswith("x-ratelimit")}


def listing(things: list[dict[str, Any]], kind: str, after: str | None = None) -> dict[str, Any]:
    return {
        "kind": "Listing",
        "data": {"after": after, "before": None, "children": [{"kind": kind, "data": t} for t in things]},
    }


def things(name: str) -> list[dict[str, Any]]:
    return [child["data"] for child in fixture(name)["data"]["children"]]


def renamed(thing: dict[str, Any], short_id: str, created_utc: float) -> dict[str, Any]:
    copied = copy.deepcopy(thing)
    copied.update(id=short_id, name=thing["name"][:3] + short_id, created_utc=created_utc)
    copied["permalink"] = f"/r/test/comments/{short_id}/copy/"
    return copied


class FakeReddit:
    """Hands out tokens at /api/v1/access_token and checks the bearer on every API route it serves."""

    def __init__(self, server: FeedServer, *, expires_in: int = 86400) -> None:
        self.server = server
        self.expires_in = expires_in
        self.tokens_issued = 0
        self.token_forms: list[dict[str, str]] = []
        self.valid_tokens: set[str] = set()
        server.add_handler(TOKEN_PATH, self._token)

    async def _token(self, request: web.Request) -> web.Response:
        self.token_forms.append(dict(await request.post()))
        self.tokens_issued += 1
        token = f"token-{self.tokens_issued}"
        self.valid_tokens.add(token)
        return web.json_response(
            {"access_token": token, "token_type": "bearer", "expires_in": self.expires_in, "scope": "*"}
        )

    def serve(self, path: str, answer: Callable[[web.Request], Any], headers: dict[str, str] | None = None) -> None:
        def handle(request: web.Request) -> web.Response:
            if request.headers.get("Authorization", "").removeprefix("bearer ") not in self.valid_tokens:
                return web.json_response({"message": "Unauthorized", "error": 401}, status=401)
            return web.json_response(answer(request), headers=headers)

        self.server.add_handler(path, handle)

    def serve_body(self, path: str, body: Any, headers: dict[str, str] | None = None) -> None:
        self.serve(path, lambda _request: body, headers)


@pytest.fixture(autouse=True)
def fresh_token_cache() -> None:
    """Tokens are cached per process; each test's fake Reddit starts with none handed out."""
    reddit_module._TOKENS.clear()


@pytest.fixture
def reddit(feeds: FeedServer) -> FakeReddit:
    return FakeReddit(feeds)


def watcher(
    feeds: FeedServer,
    http: httpx.AsyncClient,
    query: str = "praw",
    env: dict[str, str] | None = None,
    limits: RateLimits | None = None,
    **options: Any,
) -> RedditWatcher:
    config = WatcherConfig(
        name="r", source="reddit", query=parse_query(query), channel="C1", base_url=feeds.base_url, options=options
    )
    return RedditWatcher(
        config, WatcherContext(http=http, env=ENV if env is None else env, limits=limits or RateLimits())
    )


async def test_is_registered() -> None:
    assert SOURCES["reddit"] is RedditWatcher


async def test_search_results_are_normalised(feeds: FeedServer, http: httpx.AsyncClient, reddit: FakeReddit) -> None:
    reddit.serve_body("/search", fixture("search_listing_r_all.json"))
    result = await watcher(feeds, http, query='praw OR "oauth search"').poll({})
    assert len(result.mentions) == 6
    first = result.mentions[0]
    assert first.source == "reddit"
    assert first.external_id == "t3_3gpbiu"
    assert (
        first.url == "https://www.reddit.com/r/redditdev/comments/3gpbiu/prawoauth2util_problem_using_get_banned_raise/"
    )
    assert first.title == "[PRAW][OAuth2Util] Problem using get_banned() : raise Forbidden(_raw=response)"
    assert first.text.startswith("# solved\n\nProblem solved with this:")
    assert first.author_handle == "dClauzel"
    assert first.created_at == datetime(2015, 8, 12, 9, 8, 34, tzinfo=UTC)
    assert first.engagement == {"score": 0, "comments": 21}
    assert first.conversation_id == "t3_3gpbiu" and first.parent_id is None
    assert first.author_reach is None and first.lang is None
    (request,) = feeds.requests("/search")
    assert request.query["q"] == 'praw OR "oauth search"'
    assert (request.query["sort"], request.query["limit"], request.query["raw_json"]) == ("new", "100", "1")
    assert "restrict_sr" not in request.query
    assert request.headers["Authorization"] == "bearer token-1"
    assert request.headers["User-Agent"] == f"python:{CLIENT_ID}:0.1 (Veilleur self-hosted listening bot)"


async def test_token_request_uses_client_credentials(
    feeds: FeedServer, http: httpx.AsyncClient, reddit: FakeReddit
) -> None:
    reddit.serve_body("/search", listing([], "t3"))
    env = ENV | {"REDDIT_USERNAME": "caen_team"}
    await watcher(feeds, http, env=env).poll({})
    (token_request,) = feeds.requests(TOKEN_PATH)
    assert token_request.method == "POST"
    scheme, _, encoded = token_request.headers["Authorization"].partition(" ")
    assert scheme == "Basic" and base64.b64decode(encoded).decode() == f"{CLIENT_ID}:{SECRET}"
    assert reddit.token_forms == [{"grant_type": "client_credentials"}]
    assert token_request.headers["User-Agent"] == f"python:{CLIENT_ID}:0.1 (by /u/caen_team)"
    custom = ENV | {"REDDIT_USER_AGENT": "linux:org.example.veille:1.2 (by /u/someone)"}
    await watcher(feeds, http, env=custom).poll({})
    assert feeds.requests("/search")[-1].headers["User-Agent"] == "linux:org.example.veille:1.2 (by /u/someone)"


async def test_token_is_shared_across_polls_and_watchers(
    feeds: FeedServer, http: httpx.AsyncClient, reddit: FakeReddit
) -> None:
    reddit.serve_body("/search", fixture("search_listing_r_all.json"))
    first, second = watcher(feeds, http), watcher(feeds, http, query="oauth")
    cursor = (await first.poll({})).cursor
    await first.poll(cursor)
    await second.poll({})
    assert reddit.tokens_issued == 1
    assert len(feeds.requests("/search")) == 3


async def test_token_is_renewed_before_it_expires(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    reddit = FakeReddit(feeds, expires_in=60)  # within the renewal margin: stale at once
    reddit.serve_body("/search", listing([], "t3"))
    rw = watcher(feeds, http)
    await rw.poll({})
    await rw.poll({})
    assert reddit.tokens_issued == 2


async def test_revoked_token_is_replaced_once(feeds: FeedServer, http: httpx.AsyncClient, reddit: FakeReddit) -> None:
    reddit.serve_body("/search", fixture("search_listing_r_all.json"))
    rw = watcher(feeds, http)
    await rw.poll({})
    reddit.valid_tokens.clear()  # Reddit revoked the token before its expiry
    result = await rw.poll({})
    assert result.mentions and reddit.tokens_issued == 2


async def test_refused_token_names_the_env_vars(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    feeds.set_status(TOKEN_PATH, 401)
    with pytest.raises(SourceError, match="REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET") as raised:
        await watcher(feeds, http).poll({})
    assert raised.value.status == 401
    assert SECRET not in str(raised.value)


async def test_token_error_in_a_200_answer_is_reported(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    feeds.add(TOKEN_PATH, json.dumps({"error": "invalid_grant"}), content_type="application/json")
    with pytest.raises(SourceError, match=r"did not grant a token \(invalid_grant\).*REDDIT_CLIENT_ID"):
        await watcher(feeds, http).poll({})


async def test_api_refusing_every_token_names_the_env_vars(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    FakeReddit(feeds)
    feeds.set_status("/search", 401)
    with pytest.raises(SourceError, match="refused the token; check REDDIT_CLIENT_ID") as raised:
        await watcher(feeds, http).poll({})
    assert raised.value.status == 401
    assert len(feeds.requests(TOKEN_PATH)) == 2  # one retry with a fresh token, no more


async def test_private_subreddit_is_explained(feeds: FeedServer, http: httpx.AsyncClient, reddit: FakeReddit) -> None:
    feeds.set_status("/r/secret/new", 403)
    with pytest.raises(SourceError, match="private") as raised:
        await watcher(feeds, http, subreddits=["secret"]).poll({})
    assert raised.value.status == 403


async def test_missing_credentials_are_refused(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    with pytest.raises(WatcherFieldError, match="REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET"):
        watcher(feeds, http, env={"REDDIT_CLIENT_ID": CLIENT_ID})


async def test_subreddit_posts_and_comments(feeds: FeedServer, http: httpx.AsyncClient, reddit: FakeReddit) -> None:
    reddit.serve_body("/r/caen+rennes/new", fixture("listing_t3_popular_hot_2026_trimmed.json"))
    reddit.serve_body("/r/caen+rennes/comments", fixture("subreddit_comments_listing_t1_2023_trimmed.json"))
    result = await watcher(feeds, http, subreddits=["caen", "r/rennes"], comments=True).poll({})
    assert len(result.mentions) == 10
    by_id = {m.external_id: m for m in result.mentions}
    video = by_id["t3_1skl1i1"]
    assert video.text == "https://v.redd.it/dqm10oy4d0vg1"  # a link post: its link stands for the text
    assert video.engagement == {"score": 714, "comments": 428}
    comment = by_id["t1_k3yrfii"]
    assert comment.text == "Did it work?"
    assert comment.title == "<TEST_SUBREDDIT>"  # the post's title
    assert comment.url == "https://www.reddit.com/r/<TEST_SUBREDDIT>/comments/agi5zf/<TEST_SUBREDDIT>/k3yrfii/"
    assert (comment.conversation_id, comment.parent_id) == ("t3_agi5zf", "t1_k3u4rtt")
    assert comment.engagement == {"score": 1}  # a comment's num_comments is its post's
    assert comment.created_at == datetime(2023, 10, 8, 8, 46, 8, tzinfo=UTC)
    assert sorted(result.cursor["listings"]) == ["/r/caen+rennes/comments", "/r/caen+rennes/new"]


async def test_search_in_subreddits_is_restricted(
    feeds: FeedServer, http: httpx.AsyncClient, reddit: FakeReddit
) -> None:
    reddit.serve_body("/r/caen/search", listing([], "t3"))
    await watcher(feeds, http, subreddits=["caen"], q="tramway OR tram").poll({})  # q alone implies a search
    (request,) = feeds.requests("/r/caen/search")
    assert (request.query["q"], request.query["restrict_sr"], request.query["sort"]) == ("tramway OR tram", "1", "new")


async def test_cursor_returns_only_new_items_even_when_the_anchor_is_deleted(
    feeds: FeedServer, http: httpx.AsyncClient, reddit: FakeReddit
) -> None:
    recorded = things("subreddit_comments_listing_t1_2023_trimmed.json")
    newest = max(t["created_utc"] for t in recorded)
    current = {"page": listing(recorded, "t1")}
    reddit.serve("/r/caen/comments", lambda _request: current["page"])
    rw = watcher(feeds, http, subreddits=["caen"], search=False, comments=True)
    reddit.serve_body("/r/caen/new", listing([], "t3"))
    first = await rw.poll({})
    assert len(first.mentions) == 5
    cursor = json.loads(json.dumps(first.cursor))

    assert (await rw.poll(cursor)).mentions == []

    fresh = renamed(recorded[0], "zz0001", newest + 30)
    late = renamed(recorded[1], "zz0002", newest - 60)  # indexed late, inside the last page's time span
    current["page"] = listing([fresh, late, *recorded[1:]], "t1")  # recorded[0], the newest, was deleted
    second = await rw.poll(cursor)
    assert sorted(m.external_id for m in second.mentions) == ["t1_zz0001", "t1_zz0002"]
    assert (await rw.poll(json.loads(json.dumps(second.cursor)))).mentions == []


async def test_listing_added_later_starts_quietly(
    feeds: FeedServer, http: httpx.AsyncClient, reddit: FakeReddit
) -> None:
    reddit.serve_body("/r/caen/new", fixture("listing_t3_popular_hot_2026_trimmed.json"))
    reddit.serve_body("/r/caen/comments", fixture("subreddit_comments_listing_t1_2023_trimmed.json"))
    cursor = (await watcher(feeds, http, subreddits=["caen"]).poll({})).cursor
    result = await watcher(feeds, http, subreddits=["caen"], comments=True).poll(cursor)
    assert result.mentions == []
    assert "/r/caen/comments" in result.cursor["listings"]


async def test_paging_follows_after_and_is_bounded(
    feeds: FeedServer, http: httpx.AsyncClient, reddit: FakeReddit
) -> None:
    template = things("listing_t3_popular_hot_2026_trimmed.json")[0]
    items = [renamed(template, f"p{n:05d}", 1_800_000_000.0 - n) for n in range(500)]
    shown = {"count": 1}

    def pages(request: web.Request) -> dict[str, Any]:
        visible = items[-shown["count"] :]
        start = next((i + 1 for i, t in enumerate(visible) if t["name"] == request.query.get("after")), 0)
        page = visible[start : start + 100]
        return listing(page, "t3", after=page[-1]["name"] if len(page) == 100 else None)

    reddit.serve("/r/caen/new", pages)
    rw = watcher(feeds, http, subreddits=["caen"])
    cursor = (await rw.poll({})).cursor
    shown["count"] = 50
    assert len((await rw.poll(cursor)).mentions) == 49
    assert len(feeds.requests("/r/caen/new")) == 2  # the page held known items: no second page
    shown["count"] = 500
    result = await rw.poll(cursor)
    assert len(result.mentions) == 300
    assert [r.query.get("after") for r in feeds.requests("/r/caen/new")[2:]] == [None, "t3_p00099", "t3_p00199"]


def tree_with_hidden_comments(hidden_ids: list[str]) -> list[Any]:
    tree = fixture("comments_tree_jlbw48.json")
    more = {"kind": "more", "data": {"count": len(hidden_ids), "name": "t1__", "id": "_", "children": hidden_ids}}
    tree[1]["data"]["children"].append(more)
    return tree


def more_children_answer(request: web.Request) -> dict[str, Any]:
    """The recorded /api/morechildren comments, moved under post jlbw48 (and after it in time), limited to the
    ids asked for."""
    recorded = fixture("morechildren_3hahrw.json")
    asked = set(request.query["children"].split(","))
    kept = []
    for index, thing in enumerate(recorded["json"]["data"]["things"]):
        if thing["data"]["id"] in asked:
            thing["data"].update(link_id="t3_jlbw48", parent_id="t3_jlbw48", created_utc=1_604_200_000.0 + index)
            kept.append(thing)
    recorded["json"]["data"]["things"] = kept
    return recorded


async def test_thread_flattens_the_tree_and_expands_hidden_comments(
    feeds: FeedServer, http: httpx.AsyncClient, reddit: FakeReddit
) -> None:
    recorded_more = [t["data"]["id"] for t in fixture("morechildren_3hahrw.json")["json"]["data"]["things"]]
    reddit.serve_body("/comments/jlbw48", tree_with_hidden_comments(recorded_more[:3]))
    reddit.serve("/api/morechildren", more_children_answer)
    comment = Mention(source="reddit", external_id="t1_gao66wc", url="u", text="", conversation_id="t3_jlbw48")
    thread = await watcher(feeds, http).thread(comment)
    ids = [m.external_id for m in thread]
    assert ids[0] == "t3_jlbw48"
    assert {"t1_gao5889", "t1_gao66g9", "t1_gao66wc", "t1_gius5s0", "t1_gt00mip", "t1_gt032vq"} <= set(ids)
    assert {f"t1_{short}" for short in recorded_more[:3]} <= set(ids)
    assert len(ids) == 10
    assert [m.created_at for m in thread] == sorted(m.created_at for m in thread)
    parents = {m.external_id: m.parent_id for m in thread}
    assert parents["t1_gao66wc"] == "t1_gao66g9" and parents["t1_gt032vq"] == "t1_gt00mip"
    assert parents["t1_gao5889"] == "t3_jlbw48" and parents["t3_jlbw48"] is None
    assert {m.conversation_id for m in thread} == {"t3_jlbw48"}
    assert {m.title for m in thread} == {"Test self post"}
    post = thread[0]
    assert post.text == "Test self post text"  # a self post's own URL is not repeated as its text
    (tree_request,) = feeds.requests("/comments/jlbw48")
    assert tree_request.query["sort"] == "new"
    (more_request,) = feeds.requests("/api/morechildren")
    assert more_request.query["link_id"] == "t3_jlbw48"
    assert more_request.query["children"] == ",".join(recorded_more[:3])


async def test_thread_expands_at_most_two_batches(
    feeds: FeedServer, http: httpx.AsyncClient, reddit: FakeReddit
) -> None:
    reddit.serve_body("/comments/jlbw48", tree_with_hidden_comments([f"h{n:04d}" for n in range(450)]))
    reddit.serve("/api/morechildren", more_children_answer)
    post = Mention(
        source="reddit", external_id="t3_jlbw48", url="https://www.reddit.com/r/x/comments/jlbw48/t/", text=""
    )
    thread = await watcher(feeds, http).thread(post)
    requests = feeds.requests("/api/morechildren")
    assert [len(r.query["children"].split(",")) for r in requests] == [100, 100]
    assert len(thread) == 7


async def test_real_rate_limit_headers_are_understood(
    feeds: FeedServer, http: httpx.AsyncClient, reddit: FakeReddit
) -> None:
    recorded = recorded_headers("comments_tree_jlbw48.headers.json")
    assert recorded["x-ratelimit-remaining"] == "599.0"
    reddit.serve_body("/search", listing([], "t3"), headers=recorded)
    limits = RateLimits()
    rw = watcher(feeds, http, limits=limits)
    await rw.poll({})
    assert limits.delay(feeds.base_url) == 0  # plenty left: no wait

    reddit.serve_body("/search", listing([], "t3"), headers=recorded | {"x-ratelimit-remaining": "1.0"})
    await rw.poll({})
    asked = len(feeds.requests("/search"))
    with pytest.raises(SourceError) as raised:
        await rw.poll({})
    assert raised.value.retry_after is not None and 540 < raised.value.retry_after <= 555
    assert len(feeds.requests("/search")) == asked


async def test_short_rate_limit_reset_is_waited_out(
    feeds: FeedServer, http: httpx.AsyncClient, reddit: FakeReddit
) -> None:
    reddit.serve_body(
        "/search", listing([], "t3"), headers={"x-ratelimit-remaining": "0.0", "x-ratelimit-reset": "0.4"}
    )
    rw = watcher(feeds, http)
    await rw.poll({})
    started = time.monotonic()
    await rw.poll({})
    assert time.monotonic() - started >= 0.3


async def test_429_reports_retry_after(feeds: FeedServer, http: httpx.AsyncClient, reddit: FakeReddit) -> None:
    feeds.set_status("/search", 429, headers={"Retry-After": "42"})
    with pytest.raises(SourceError) as raised:
        await watcher(feeds, http).poll({})
    assert raised.value.retry_after == 42


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda s: s.set_status("/search", 500), "HTTP 500"),
        (
            lambda s: s.add("/search", '{"kind": "Listing", "data": {"chil', content_type="application/json"),
            "valid JSON",
        ),
        (lambda s: s.add("/search", '{"error": 404}', content_type="application/json"), "did not send a listing"),
        (lambda s: s.hang("/search"), "did not answer in time"),
    ],
    ids=["500", "truncated", "not-a-listing", "timeout"],
)
async def test_errors_are_source_errors(
    feeds: FeedServer, http: httpx.AsyncClient, reddit: FakeReddit, setup, message: str
) -> None:
    setup(feeds)
    with pytest.raises(SourceError, match=message):
        await watcher(feeds, http).poll({})


async def test_missing_fields_do_not_crash(feeds: FeedServer, http: httpx.AsyncClient, reddit: FakeReddit) -> None:
    body = {
        "kind": "Listing",
        "data": {
            "children": [
                {"kind": "t3", "data": {"name": "t3_abc12"}},
                {"kind": "t1", "data": {"name": "t1_def34", "link_id": "t3_abc12", "body": None, "score": "high"}},
                {"kind": "t3", "data": {"title": "no name"}},
                {"kind": "more", "data": {}},
                "junk",
            ]
        },
    }
    reddit.serve_body("/search", body)
    post, comment = (await watcher(feeds, http).poll({})).mentions
    assert post.url == "https://www.reddit.com/comments/abc12/"
    assert (post.text, post.title, post.created_at, post.engagement) == ("", "", None, {})
    assert comment.url == "https://www.reddit.com/comments/abc12/_/def34/"
    assert (comment.text, comment.engagement, comment.conversation_id) == ("", {}, "t3_abc12")


@pytest.mark.parametrize(
    ("query", "options", "message"),
    [
        ("praw", {"sort": "hot"}, "unknown option 'sort'"),
        ("praw", {"subreddits": "caen"}, "subreddits must be a list"),
        ("praw", {"subreddits": ["caen/../x"]}, "not a subreddit name"),
        ("praw", {"comments": True}, "needs subreddits"),
        ("praw", {"search": False}, "needs subreddits"),
        ("praw", {"comments": "yes", "subreddits": ["caen"]}, "true or false"),
        ("lang:fr", {}, "no word to search for"),
        ("praw", {"q": "x" * 600}, "600 characters"),
        ("praw", {"auth_url": "ftp://example.org"}, "auth_url"),
    ],
)
async def test_bad_options_are_refused(
    feeds: FeedServer, http: httpx.AsyncClient, query: str, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(WatcherFieldError, match=message) as raised:
        watcher(feeds, http, query=query, **options)
    assert raised.value.field == "options"


async def test_auth_url_defaults_to_www_reddit_for_the_real_api(http: httpx.AsyncClient) -> None:
    config = WatcherConfig(name="r", source="reddit", query=parse_query("caen"), channel="C1")
    rw = RedditWatcher(config, WatcherContext(http=http, env=ENV))
    assert (rw.api_url, rw.token_url) == ("https://oauth.reddit.com", "https://www.reddit.com/api/v1/access_token")
