"""The Lemmy watcher over real HTTP, against a fake Lemmy instance playing the synthetic v3 and v4 payloads."""

from __future__ import annotations

import copy
import json
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
from watchers.lemmy import LemmyWatcher

FIXTURES = Path(__file__).parent.parent / "fixtures" / "lemmy"
NODEINFO = "/nodeinfo/2.1"
SEARCH_V3, SEARCH_V4 = "/api/v3/search", "/api/v4/search"
POST_AP_ID = "https://lemmy.example.org/post/123456"
COMMENT_AP_ID = "https://autre.example.net/comment/998001"
START = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def post_at(number: int, moment: datetime, *, v4: bool = False) -> dict[str, Any]:
    """The recorded post view under another id, published at `moment`."""
    recorded = fixture("SYNTHETIC_v4_search_all.json" if v4 else "SYNTHETIC_v3_search_all_new.json")
    view = copy.deepcopy(recorded["posts"][0])
    view["post"] |= {"id": number, "ap_id": f"https://lemmy.example.org/post/{number}"}
    view["post"]["published_at" if v4 else "published"] = moment.isoformat().replace("+00:00", "Z")
    return view


def comment_at(number: int, moment: datetime) -> dict[str, Any]:
    view = copy.deepcopy(fixture("SYNTHETIC_v3_search_all_new.json")["comments"][0])
    view["comment"] |= {"id": number, "ap_id": f"https://autre.example.net/comment/{number}", "path": f"0.{number}"}
    view["comment"]["published"] = moment.isoformat().replace("+00:00", "Z")
    return view


def published(view: dict[str, Any]) -> str:
    item = view.get("post") if "comment" not in view else view["comment"]
    return item.get("published") or item["published_at"]


class FakeLemmy:
    """A Lemmy search over posts and comments: v3 sorts newest first and pages by number; v4 filters by
    `time_range_seconds` (against `now`), returns posts in an order of its own (oldest first here, unlike v3) and
    pages by cursor."""

    def __init__(self, posts: list[dict[str, Any]], comments: list[dict[str, Any]], now: datetime) -> None:
        self.posts, self.comments, self.now = posts, comments, now
        self.queries: list[dict[str, str]] = []

    def v3(self, request: web.Request) -> web.Response:
        self.queries.append(dict(request.query))
        limit, page = int(request.query.get("limit", "10")), int(request.query.get("page", "1"))

        def window(views: list[dict[str, Any]]) -> list[dict[str, Any]]:
            ordered = sorted(views, key=published, reverse=True)
            return ordered[(page - 1) * limit : page * limit]

        body = {"type_": "All", "posts": window(self.posts), "comments": window(self.comments),
                "communities": [], "users": []}
        return web.json_response(body)

    def v4(self, request: web.Request) -> web.Response:
        self.queries.append(dict(request.query))
        limit = int(request.query.get("limit", "10"))
        start = int(request.query.get("page_cursor", "0").split(",")[0])
        views = self.posts
        if "time_range_seconds" in request.query:
            floor = self.now - timedelta(seconds=int(request.query["time_range_seconds"]))
            views = [view for view in views if datetime.fromisoformat(published(view)) > floor]
        ordered = sorted(views, key=published)
        page = ordered[start : start + limit]
        more = start + limit < len(ordered)
        cursor = f"{start + limit},none,none,none,none" if more else "none,none,none,none,none"
        return web.json_response({"posts": page, "comments": [], "communities": [], "persons": [],
                                  "multi_communities": [], "next_page": cursor})


def serve(feeds: FeedServer, version: str = "0.19") -> None:
    feeds.add_file(NODEINFO, FIXTURES / f"SYNTHETIC_nodeinfo_{version}.json")


def error(feeds: FeedServer, path: str, name: str, status: int) -> None:
    """Answer `path` with the error body of fixture `name` and `status` (Lemmy 0.19 sends most errors as 400)."""
    body = (FIXTURES / name).read_bytes()
    feeds.add_handler(path, lambda _: web.Response(status=status, body=body, content_type="application/json"))


def watcher(
    feeds: FeedServer, http: httpx.AsyncClient, query: str = "travaux OR mairie", **options: Any
) -> LemmyWatcher:
    config = WatcherConfig(
        name="lemmy", source="lemmy", query=parse_query(query), channel="C1", base_url=feeds.base_url,
        options=options,
    )
    return LemmyWatcher(config, WatcherContext(http=http))


async def test_is_registered() -> None:
    assert SOURCES["lemmy"] is LemmyWatcher


async def test_v3_posts_and_comments_are_normalised(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    serve(feeds)
    feeds.add_file(SEARCH_V3, FIXTURES / "SYNTHETIC_v3_search_all_new.json")
    result = await watcher(feeds, http, query="travaux").poll({})
    post, comment = result.mentions
    base = feeds.base_url
    assert post == Mention(
        source="lemmy",
        external_id=POST_AP_ID,
        url=POST_AP_ID,
        text="Quelqu'un a des infos de la mairie ?",
        title="Travaux rue Victor Hugo : trois mois de fermeture ?",
        author_handle="habitant@lemmy.example.org",
        author_name="Habitant Exemple · !exempleville@lemmy.example.org",
        created_at=datetime(2026, 3, 3, 7, 12, 45, 123456, tzinfo=UTC),
        engagement={"score": 14, "comments": 2},
        conversation_id=f"{base}/post/123456",
    )
    assert comment.external_id == comment.url == COMMENT_AP_ID
    assert comment.text == "D'après le bulletin municipal, c'est jusqu'en juin."
    assert comment.title == post.title
    assert comment.author_handle == "riveraine@autre.example.net"  # the host of its actor_id, not the instance polled
    assert comment.engagement == {"score": 6, "replies": 1}
    assert comment.conversation_id == f"{base}/post/123456"
    assert comment.parent_id == POST_AP_ID  # a top-level comment answers the post
    (search,) = feeds.requests(SEARCH_V3)
    assert search.query == {"q": "travaux", "type_": "All", "sort": "New", "listing_type": "All", "page": "1",
                            "limit": "50"}


async def test_v4_is_detected_and_its_shape_mapped(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    serve(feeds, "1.0")
    feeds.add_file(SEARCH_V4, FIXTURES / "SYNTHETIC_v4_search_all.json")
    lemmy = watcher(feeds, http, query="travaux")
    post, comment = (await lemmy.poll({})).mentions
    assert post.external_id == POST_AP_ID
    assert post.author_handle == "habitant@lemmy.example.org"
    assert post.author_reach == 812  # v4 gives the community's subscribers with the post
    assert post.created_at == datetime(2026, 3, 3, 7, 12, 45, 123456, tzinfo=UTC)
    assert post.engagement == {"score": 14, "comments": 2}
    assert comment.external_id == COMMENT_AP_ID and comment.engagement == {"score": 6, "replies": 1}
    assert comment.author_handle == "riveraine@autre.example.net"
    (search,) = feeds.requests(SEARCH_V4)
    assert search.query == {"search_term": "travaux", "type_": "all", "listing_type": "all", "limit": "50",
                            "time_range_seconds": "3601"}  # a first poll looks back an hour
    await lemmy.poll({})
    assert len(feeds.requests(NODEINFO)) == 1  # the version is read once per instance


async def test_v3_cursor_pages_back_to_the_last_poll_without_duplicates(
    feeds: FeedServer, http: httpx.AsyncClient
) -> None:
    serve(feeds)
    lemmy_api = FakeLemmy([post_at(n, START - timedelta(minutes=n)) for n in range(1, 80)], [], START)
    feeds.add_handler(SEARCH_V3, lemmy_api.v3)
    lemmy = watcher(feeds, http, query="travaux")
    first = await lemmy.poll({})
    assert len(first.mentions) == 50 and [q["page"] for q in lemmy_api.queries] == ["1"]  # first poll: one page
    cursor = json.loads(json.dumps(first.cursor))
    assert (await lemmy.poll(cursor)).mentions == []

    fresh = [post_at(1000 + n, START + timedelta(seconds=10 + n)) for n in range(70)]
    late = post_at(2000, START - timedelta(minutes=30))  # federated late, dated before the last poll
    lemmy_api.posts += [*fresh, late]
    lemmy_api.queries.clear()
    second = await lemmy.poll(cursor)
    assert sorted(m.external_id for m in second.mentions) == sorted(
        f"https://lemmy.example.org/post/{n}" for n in [*range(1000, 1070), 2000]
    )
    assert [q["page"] for q in lemmy_api.queries] == ["1", "2", "3"]  # 70 new + the hour before, 50 a page
    assert (await lemmy.poll(json.loads(json.dumps(second.cursor)))).mentions == []


async def test_v4_cursor_uses_a_time_range_and_page_cursors(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    serve(feeds, "1.0")
    now = datetime.now(UTC).replace(microsecond=0)
    lemmy_api = FakeLemmy([post_at(n, now - timedelta(hours=3, minutes=n), v4=True) for n in range(5)], [], now)
    feeds.add_handler(SEARCH_V4, lemmy_api.v4)
    lemmy = watcher(feeds, http, query="travaux")
    cursor = json.loads(json.dumps((await lemmy.poll({})).cursor))
    lemmy_api.posts += [post_at(100 + n, now - timedelta(minutes=n), v4=True) for n in range(60)]
    lemmy_api.now = datetime.now(UTC)
    lemmy_api.queries.clear()
    second = await lemmy.poll(cursor)
    assert len(second.mentions) == 60 and len({m.external_id for m in second.mentions}) == 60
    assert all("time_range_seconds" in q for q in lemmy_api.queries)
    assert [q.get("page_cursor") for q in lemmy_api.queries] == [None, "50,none,none,none,none"]
    assert (await lemmy.poll(json.loads(json.dumps(second.cursor)))).mentions == []


async def test_one_search_per_word_or_phrase_as_typed(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    serve(feeds)
    feeds.add_file(SEARCH_V3, FIXTURES / "SYNTHETIC_v3_search_all_new.json")
    result = await watcher(feeds, http, query='("Rue Victor Hugo" OR Préfecture* OR #Travaux) -foot').poll({})
    assert [r.query["q"] for r in feeds.requests(SEARCH_V3)] == ["Rue Victor Hugo", "Préfecture", "Travaux"]
    assert {m.external_id for m in result.mentions} == {POST_AP_ID, COMMENT_AP_ID}  # merged by ap_id
    await watcher(feeds, http, q=["rue Victor Hugo"]).poll({})
    assert feeds.requests(SEARCH_V3)[-1].query["q"] == "rue Victor Hugo"


async def test_the_instances_search_budget_is_shared_and_planned(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    serve(feeds)
    feeds.add_file(SEARCH_V3, FIXTURES / "SYNTHETIC_v3_search_all_new.json")
    await watcher(feeds, http, query="travaux OR mairie", search_limit=3).poll({})
    other = watcher(feeds, http, query="tram OR bus", search_limit=3)
    with pytest.raises(SourceError, match="allows 3 searches per 10 minutes") as raised:
        await other.poll({})
    assert raised.value.retry_after is not None and 590 < raised.value.retry_after <= 600
    assert len(feeds.requests(SEARCH_V3)) == 2  # refused before asking


@pytest.mark.parametrize(
    ("setup", "message", "retry_after"),
    [
        (lambda s: error(s, SEARCH_V3, "SYNTHETIC_v3_error_rate_limit.json", 400), "rate-limited", 600),
        (lambda s: s.add(SEARCH_V3, "<!doctype html><html><body>Bad gateway</body></html>", content_type="text/html"),
         "did not send valid JSON: got an HTML page", None),
        (lambda s: s.add(SEARCH_V3, '{"posts": {}, "comments": []}', content_type="application/json"),
         "did not send search results", None),
        (lambda s: s.add_handler(SEARCH_V3, lambda _: web.json_response({"error": "instance_is_private"}, status=400)),
         "refused the request \\(instance_is_private\\)", None),
        (lambda s: s.set_status(SEARCH_V3, 503), "HTTP 503", None),
    ],
    ids=["rate_limit_error", "html", "changed-schema", "private", "503"],
)
async def test_v3_errors_are_explained(
    feeds: FeedServer, http: httpx.AsyncClient, setup, message: str, retry_after: float | None
) -> None:
    serve(feeds)
    setup(feeds)
    with pytest.raises(SourceError, match=message) as raised:
        await watcher(feeds, http).poll({})
    assert raised.value.retry_after == retry_after


async def test_v4_rate_limit_headers_are_read(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    serve(feeds, "1.0")
    feeds.set_status(SEARCH_V4, 429, {"Retry-After": "42", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "42"})
    with pytest.raises(SourceError, match="rate-limited") as raised:
        await watcher(feeds, http, query="travaux").poll({})
    assert raised.value.retry_after == 42


async def test_a_site_that_is_not_lemmy_is_named(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    feeds.add(NODEINFO, "<html><body>Welcome</body></html>", content_type="text/html")
    with pytest.raises(SourceError, match="a Lemmy instance\\?"):
        await watcher(feeds, http).poll({})


async def test_deleted_and_removed_items_are_left_out(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    serve(feeds)
    body = fixture("SYNTHETIC_v3_search_all_new.json")
    body["posts"][0]["post"]["deleted"] = True
    body["comments"][0]["comment"]["removed"] = True
    body["comments"].append({"comment": {"id": "x"}})  # malformed: no ap_id, id not a number
    feeds.add(SEARCH_V3, json.dumps(body), content_type="application/json")
    assert (await watcher(feeds, http).poll({})).mentions == []


async def test_thread_v3_links_each_comment_to_its_parent(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    serve(feeds)
    feeds.add_file("/api/v3/post", FIXTURES / "SYNTHETIC_v3_post_get.json")
    feeds.add_file("/api/v3/comment/list", FIXTURES / "SYNTHETIC_v3_comment_list.json")
    reply = Mention(source="lemmy", external_id="https://lemmy.example.org/comment/998002", url="u", text="Merci",
                    conversation_id=f"{feeds.base_url}/post/123456")
    thread = await watcher(feeds, http).thread(reply)
    assert [(m.external_id, m.parent_id) for m in thread] == [
        (POST_AP_ID, None),
        (COMMENT_AP_ID, POST_AP_ID),
        ("https://lemmy.example.org/comment/998002", COMMENT_AP_ID),
    ]
    assert thread[0].author_reach == 812  # from community_view.counts
    assert feeds.requests("/api/v3/comment/list")[0].query == {"post_id": "123456", "sort": "New", "limit": "50",
                                                               "page": "1"}


async def test_thread_v4(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    serve(feeds, "1.0")
    feeds.add_file("/api/v4/post", FIXTURES / "SYNTHETIC_v4_post_get.json")
    feeds.add_file("/api/v4/comment/list", FIXTURES / "SYNTHETIC_v4_comment_list.json")
    post = Mention(source="lemmy", external_id=POST_AP_ID, url=POST_AP_ID, text="",
                   conversation_id=f"{feeds.base_url}/post/123456")
    thread = await watcher(feeds, http).thread(post)
    assert [m.parent_id for m in thread] == [None, POST_AP_ID, COMMENT_AP_ID]
    assert feeds.requests("/api/v4/comment/list")[0].query["sort"] == "new"


async def test_thread_of_a_deleted_post_is_the_mention(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    serve(feeds)
    error(feeds, "/api/v3/post", "SYNTHETIC_v3_error_couldnt_find_post.json", 400)
    gone = Mention(source="lemmy", external_id=POST_AP_ID, url=POST_AP_ID, text="",
                   conversation_id=f"{feeds.base_url}/post/123456")
    assert await watcher(feeds, http).thread(gone) == [gone]
    other_instance = Mention(source="lemmy", external_id=POST_AP_ID, url=POST_AP_ID, text="",
                             conversation_id="https://elsewhere.example/post/1")
    assert await watcher(feeds, http).thread(other_instance) == [other_instance]


async def test_thread_errors_v4_not_found(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    serve(feeds, "1.0")
    error(feeds, "/api/v4/post", "SYNTHETIC_v4_error_not_found.json", 404)
    gone = Mention(source="lemmy", external_id=POST_AP_ID, url=POST_AP_ID, text="",
                   conversation_id=f"{feeds.base_url}/post/123456")
    assert await watcher(feeds, http).thread(gone) == [gone]


@pytest.mark.parametrize(
    ("query", "options", "field", "message"),
    [
        ("travaux", {"sort": "Hot"}, "options", "unknown option 'sort'"),
        ("travaux", {"search_limit": 0}, "options", "search_limit must be"),
        ("travaux OR mairie", {"search_limit": 1}, "options", "2 searches a poll, search_limit is 1"),
        ("lang:fr", {}, "options", "no word to search for"),
        ("a OR b OR c OR d OR e OR f", {}, "options", "6 searches"),
    ],
)
async def test_bad_settings_are_refused(
    feeds: FeedServer, http: httpx.AsyncClient, query: str, options: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(WatcherFieldError, match=message) as raised:
        watcher(feeds, http, query=query, **options)
    assert raised.value.field == field


async def test_base_url_is_required(http: httpx.AsyncClient) -> None:
    config = WatcherConfig(name="l", source="lemmy", query=parse_query("tram"), channel="C1")
    with pytest.raises(WatcherFieldError, match="instance's address") as raised:
        LemmyWatcher(config, WatcherContext(http=http))
    assert raised.value.field == "base_url"
