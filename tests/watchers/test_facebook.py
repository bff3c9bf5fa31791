"""The Facebook Pages watcher over real HTTP, against a fake Graph API playing recorded answers."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
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
from watchers.base import SourceError, WatcherContext
from watchers.facebook import FacebookWatcher

FIXTURES = Path(__file__).parent.parent / "fixtures" / "facebook"
ROOT = "/v25.0"
PAGE = "19292868552"  # the Page of the recorded feed
TOKEN = "EAAB-page-token-never-shown"
ENV = {"FACEBOOK_PAGE_TOKEN": TOKEN}
FEED = f"{ROOT}/{PAGE}/feed"
FIRST_POST = "19292868552_10158349356748553"

Item = dict[str, Any]


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def feed() -> Item:
    return fixture("page_feed_many_fields_cursor_paging.json")


def comments() -> Item:
    return fixture("SYNTHETIC_post_comments_stream_with_from_parent.json")


class FakeGraph:
    """Serves Graph API paths, checking the bearer token and that no token travels in a URL. A request carrying
    `after` (the recorded next page) gets an empty last page."""

    def __init__(self, server: FeedServer) -> None:
        self.server = server

    def serve(
        self,
        path: str,
        answer: Callable[[web.Request], Any],
        headers: dict[str, str] | None = None,
        status: int = 200,
    ) -> None:
        def handle(request: web.Request) -> web.Response:
            assert "access_token" not in request.query
            if request.headers.get("Authorization") != f"Bearer {TOKEN}":
                return web.json_response(fixture("SYNTHETIC_error_190_463_token_expired.json"), status=400)
            if "after" in request.query:
                return web.json_response({"data": [], "paging": {}})
            return web.json_response(answer(request), headers=headers, status=status)

        self.server.add_handler(f"{ROOT}/{path}", handle)

    def serve_body(self, path: str, body: Any, headers: dict[str, str] | None = None) -> None:
        self.serve(path, lambda _request: copy.deepcopy(body), headers)

    def fail(self, path: str, name: str, status: int = 400) -> None:
        body = fixture(name)
        self.serve(path, lambda _request: body, status=status)

    def calls(self, path: str) -> list[dict[str, str]]:
        return [request.query for request in self.server.requests(f"{ROOT}/{path}")]


@pytest.fixture
def graph(feeds: FeedServer) -> FakeGraph:
    fake = FakeGraph(feeds)
    fake.serve_body(f"{PAGE}/feed", feed())
    for post in feed()["data"]:
        fake.serve_body(f"{post['id']}/comments", {"data": [], "paging": {}})
    return fake


def watcher(
    feeds: FeedServer, http: httpx.AsyncClient, *, env: dict[str, str] | None = None, **options: Any
) -> FacebookWatcher:
    config = WatcherConfig(
        name="fb",
        source="facebook",
        query=parse_query("marché OR Messenger"),
        channel="C1",
        base_url=feeds.base_url,
        options={"page_id": PAGE, **options},
    )
    return FacebookWatcher(config, WatcherContext(http=http, env=ENV if env is None else env))


async def test_is_registered() -> None:
    assert SOURCES["facebook"] is FacebookWatcher


async def test_page_posts_are_normalised(feeds: FeedServer, http: httpx.AsyncClient, graph: FakeGraph) -> None:
    result = await watcher(feeds, http).poll({})
    posts = [m for m in result.mentions if m.parent_id is None]
    assert len(posts) == 5
    post = posts[0]
    assert post.source == "facebook" and post.external_id == FIRST_POST
    assert post.url == "https://www.facebook.com/19292868552/posts/10158349356748553/"
    assert post.text.startswith("Singaporean logistics company Ninja Van")
    assert post.created_at == datetime(2021, 7, 9, 19, 9, 52, tzinfo=UTC)
    assert post.engagement == {"likes": 125, "comments": 13, "reposts": 10}
    assert post.conversation_id == FIRST_POST
    first, second = graph.calls(f"{PAGE}/feed")
    assert first["fields"].startswith("id,message,story,created_time,permalink_url,from")
    assert "comments.filter(stream).summary(true).limit(0)" in first["fields"]
    assert first["limit"] == "25" and first["since"].isdigit()
    assert second["after"] == "after" and "access_token" not in second  # the next link's token is not reused
    assert "appsecret_proof" not in first


async def test_comments_and_replies_link_to_themselves(
    feeds: FeedServer, http: httpx.AsyncClient, graph: FakeGraph
) -> None:
    graph.serve_body(f"{FIRST_POST}/comments", comments())
    result = await watcher(feeds, http).poll({})
    by_id = {m.external_id: m for m in result.mentions}
    question = by_id["111222333444555_900000000000001"]
    assert question.url.endswith("?comment_id=900000000000001")
    assert question.text == "Le marché de Noël est-il maintenu place de la mairie ?"
    assert (question.author_handle, question.author_name) == ("7000000000000001", "Marie Exemple")
    assert (question.conversation_id, question.parent_id) == (FIRST_POST, FIRST_POST)
    assert question.engagement == {"likes": 3, "replies": 1}
    assert question.title.startswith("Singaporean logistics company")  # the post it is under
    answer = by_id["111222333444555_900000000000002"]
    assert answer.parent_id == "111222333444555_900000000000001"
    assert answer.url.endswith("&reply_comment_id=900000000000002")
    anonymous = by_id["111222333444555_900000000000003"]
    assert (anonymous.author_handle, anonymous.author_name) == ("", "")  # Meta withheld the commenter
    (call,) = graph.calls(f"{FIRST_POST}/comments")
    assert (call["filter"], call["order"], call["limit"]) == ("stream", "reverse_chronological", "100")
    assert "parent{id}" in call["fields"] and "permalink_url" in call["fields"]


async def test_comments_are_read_only_when_the_count_grows(
    feeds: FeedServer, http: httpx.AsyncClient, graph: FakeGraph
) -> None:
    graph.serve_body(f"{FIRST_POST}/comments", comments())
    fw = watcher(feeds, http)
    cursor = json.loads(json.dumps((await fw.poll({})).cursor))
    assert (await fw.poll(cursor)).mentions == []
    assert len(graph.calls(f"{FIRST_POST}/comments")) == 1  # same counts: no comment call

    grown = feed()
    grown["data"][0]["comments"]["summary"]["total_count"] = 14
    graph.serve_body(f"{PAGE}/feed", grown)
    newer = comments()
    newer["data"].insert(0, {"id": "111222333444555_900000000000004", "message": "Merci !",
                             "created_time": "2026-03-01T11:00:00+0000", "like_count": 0, "comment_count": 0,
                             "permalink_url": "https://www.facebook.com/x/posts/y/?comment_id=900000000000004"})
    graph.serve_body(f"{FIRST_POST}/comments", newer)
    result = await fw.poll(cursor)
    assert [m.external_id for m in result.mentions] == ["111222333444555_900000000000004"]


async def test_new_post_is_returned_once(feeds: FeedServer, http: httpx.AsyncClient, graph: FakeGraph) -> None:
    fw = watcher(feeds, http, comments=False)
    cursor = json.loads(json.dumps((await fw.poll({})).cursor))
    newer = feed()
    newer["data"].insert(0, dict(newer["data"][0], id="19292868552_10158349356799999"))
    graph.serve_body(f"{PAGE}/feed", newer)
    result = await fw.poll(cursor)
    assert [m.external_id for m in result.mentions] == ["19292868552_10158349356799999"]
    assert not graph.calls(f"{FIRST_POST}/comments")


async def test_other_pages_give_their_posts(feeds: FeedServer, http: httpx.AsyncClient, graph: FakeGraph) -> None:
    graph.serve_body("4/posts", fixture("page_posts_fields_time_paging.json"))
    result = await watcher(feeds, http, pages=["4"], comments=False).poll({})
    others = [m for m in result.mentions if m.external_id.startswith("4_")]
    assert others and others[0].text == "Happy July 4th! 🇺🇸"
    assert graph.calls("4/posts")[1]["until"] == "1624385168"  # time-based paging followed, token left out


async def test_app_secret_proof_is_sent_when_the_secret_is_set(
    feeds: FeedServer, http: httpx.AsyncClient, graph: FakeGraph
) -> None:
    await watcher(feeds, http, env=ENV | {"FACEBOOK_APP_SECRET": "app-secret"}, comments=False).poll({})
    proof = hmac.new(b"app-secret", TOKEN.encode(), hashlib.sha256).hexdigest()
    assert graph.calls(f"{PAGE}/feed")[0]["appsecret_proof"] == proof


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("SYNTHETIC_error_190_463_token_expired.json", r"\[code 190/463\]: the token in FACEBOOK_PAGE_TOKEN has "
         r"expired: get a long-lived one"),
        ("SYNTHETIC_error_10_permission_denied.json", "lacks a permission: pages_read_engagement and "
         "pages_read_user_content"),
        ("error_100_ppca_needs_appsecret_proof.json", "set FACEBOOK_APP_SECRET"),
        ("error_100_missing_permission_or_ppca.json", "not visible to this token"),
    ],
)
async def test_errors_say_what_to_do(
    feeds: FeedServer, http: httpx.AsyncClient, graph: FakeGraph, name: str, message: str
) -> None:
    graph.fail(f"{PAGE}/feed", name)
    with pytest.raises(SourceError, match=message) as raised:
        await watcher(feeds, http).poll({})
    assert TOKEN not in str(raised.value)


async def test_page_rate_limit_error_pauses(feeds: FeedServer, http: httpx.AsyncClient, graph: FakeGraph) -> None:
    graph.fail(f"{PAGE}/feed", "SYNTHETIC_error_80001_pages_rate_limit.json")
    with pytest.raises(SourceError, match="rate limit is reached") as raised:
        await watcher(feeds, http).poll({})
    assert raised.value.retry_after == 900


async def test_usage_headers_slow_down_before_the_limit(
    feeds: FeedServer, http: httpx.AsyncClient, graph: FakeGraph
) -> None:
    recorded = fixture("SYNTHETIC_rate_limit_headers.json")["headers"]
    usage = {key: value for key, value in recorded.items() if key.endswith("usage")}
    one_page = feed() | {"paging": {}}
    graph.serve_body(f"{PAGE}/feed", one_page, headers=usage)
    fw = watcher(feeds, http, comments=False)
    await fw.poll({})
    await fw.poll({})  # 27% of the Page's budget: no pause
    assert len(graph.calls(f"{PAGE}/feed")) == 2
    busy = usage | {"x-business-use-case-usage": json.dumps(
        {PAGE: [{"type": "pages", "call_count": 82, "total_cputime": 4, "total_time": 6,
                 "estimated_time_to_regain_access": 0}]})}
    graph.serve_body(f"{PAGE}/feed", one_page, headers=busy)
    await fw.poll({})
    calls = len(graph.calls(f"{PAGE}/feed"))
    with pytest.raises(SourceError, match="at 82%") as raised:
        await fw.poll({})
    assert 60 < raised.value.retry_after <= 6 * 60
    assert len(graph.calls(f"{PAGE}/feed")) == calls  # nothing called while paused


async def test_announced_regain_time_is_waited(feeds: FeedServer, http: httpx.AsyncClient, graph: FakeGraph) -> None:
    throttled = {"x-app-usage": json.dumps({"call_count": 100, "total_cputime": 10, "total_time": 10}),
                 "x-business-use-case-usage": json.dumps(
                     {PAGE: [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 20}]})}
    graph.serve_body(f"{PAGE}/feed", {"data": []}, headers=throttled)
    fw = watcher(feeds, http, comments=False)
    await fw.poll({})
    with pytest.raises(SourceError) as raised:
        await fw.poll({})
    assert 19 * 60 < raised.value.retry_after <= 20 * 60


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda s: s.add(FEED, "<html><body>Log in</body></html>", content_type="text/html"), "HTML page"),
        (lambda s: s.add(FEED, '{"posts": []}', content_type="application/json"), "has no data list"),
    ],
    ids=["html", "changed-schema"],
)
async def test_bad_answers_are_source_errors(feeds: FeedServer, http: httpx.AsyncClient, setup, message: str) -> None:
    setup(feeds)
    with pytest.raises(SourceError, match=message):
        await watcher(feeds, http).poll({})


async def test_thread_is_the_post_and_its_comments(
    feeds: FeedServer, http: httpx.AsyncClient, graph: FakeGraph
) -> None:
    graph.serve_body(FIRST_POST, feed()["data"][0])
    chronological = comments()
    chronological["data"].reverse()
    graph.serve_body(f"{FIRST_POST}/comments", chronological)
    mention = Mention(source="facebook", external_id="111222333444555_900000000000002", url="u", text="",
                      conversation_id=FIRST_POST)
    thread = await watcher(feeds, http).thread(mention)
    assert thread[0].external_id == FIRST_POST
    assert len(thread) == 4 and [m.created_at for m in thread] == sorted(m.created_at for m in thread)
    assert graph.calls(f"{FIRST_POST}/comments")[0]["order"] == "chronological"


async def test_missing_token_is_refused(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    with pytest.raises(WatcherFieldError, match="FACEBOOK_PAGE_TOKEN") as raised:
        watcher(feeds, http, env={})
    assert raised.value.field == "source"
    with pytest.raises(WatcherFieldError, match="MAIRIE_TOKEN"):
        watcher(feeds, http, env=ENV, token_env="MAIRIE_TOKEN")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"page_id": "mairie"}, "page_id must be the numeric id"),
        ({"edge": "tagged"}, "edge must be"),
        ({"comment_days": 90}, "comment_days"),
        ({"pages": ["../x"]}, "not a Page id"),
        ({"api_version": "25"}, "api_version"),
        ({"token_env": "lower"}, "token_env"),
        ({"since": 1}, "unknown option 'since'"),
    ],
)
async def test_bad_options_are_refused(
    feeds: FeedServer, http: httpx.AsyncClient, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(WatcherFieldError, match=message):
        watcher(feeds, http, **options)
