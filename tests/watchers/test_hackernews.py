"""The Hacker News watcher over real HTTP, against a fake Algolia HN Search API playing recorded hits."""

from __future__ import annotations

import copy
import json
import re
import time
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
from watchers.base import RateLimits, SourceError, WatcherContext
from watchers.hackernews import HackerNewsWatcher

FIXTURES = Path(__file__).parent.parent / "fixtures" / "hackernews"
SEARCH = "/api/v1/search_by_date"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def story_hit() -> dict[str, Any]:
    return fixture("search_by_date_story_apple.json")["hits"][0]


def comment_hit() -> dict[str, Any]:
    return fixture("search_by_date_comment_apple.json")["hits"][0]


STORY_TIME = 1403235346  # created_at_i of the recorded story hit, the newer of the two


def copy_at(hit: dict[str, Any], object_id: str, seconds_after_story: int) -> dict[str, Any]:
    """A recorded hit under another id, posted `seconds_after_story` after the recorded story."""
    copied = copy.deepcopy(hit)
    copied["objectID"] = object_id
    copied["created_at_i"] = STORY_TIME + seconds_after_story
    copied["created_at"] = datetime.fromtimestamp(copied["created_at_i"], UTC).isoformat().replace("+00:00", "Z")
    return copied


class FakeAlgolia:
    """search_by_date over a list of hits: applies created_at_i filters, sorts newest first, pages."""

    def __init__(self, hits: list[dict[str, Any]]) -> None:
        self.hits = hits
        self.pages_asked: list[int] = []

    def handle(self, request: web.Request) -> web.Response:
        hits = sorted(self.hits, key=lambda hit: hit["created_at_i"], reverse=True)
        if match := re.fullmatch(r"created_at_i(>=?)(\d+)", request.query.get("numericFilters", "")):
            low = int(match[2]) + (0 if match[1] == ">=" else 1)
            hits = [hit for hit in hits if hit["created_at_i"] >= low]
        per_page = int(request.query.get("hitsPerPage", "20"))
        page = int(request.query.get("page", "0"))
        self.pages_asked.append(page)
        body = {
            "hits": hits[page * per_page : (page + 1) * per_page],
            "nbHits": len(hits),
            "page": page,
            "nbPages": -(-len(hits) // per_page),
            "hitsPerPage": per_page,
            "query": request.query.get("query", ""),
        }
        return web.json_response(body)


def watcher(
    feeds: FeedServer, http: httpx.AsyncClient, query: str = "apple", limits: RateLimits | None = None, **options: Any
) -> HackerNewsWatcher:
    config = WatcherConfig(
        name="hn", source="hackernews", query=parse_query(query), channel="C1", base_url=feeds.base_url, options=options
    )
    return HackerNewsWatcher(config, WatcherContext(http=http, limits=limits or RateLimits()))


async def test_is_registered() -> None:
    assert SOURCES["hackernews"] is HackerNewsWatcher


async def test_stories_and_comments_are_normalised(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    feeds.add_handler(SEARCH, FakeAlgolia([story_hit(), comment_hit()]).handle)
    result = await watcher(feeds, http).poll({})
    story, comment = result.mentions
    assert story == Mention(
        source="hackernews",
        external_id="7919424",
        url="https://news.ycombinator.com/item?id=7919424",
        text="http://in.reuters.com/article/2014/06/19/apple-google-settlement-idINL2N0P01ZI20140619",
        title="Judge says concerned about Apple, Google hiring settlement",
        author_handle="bradleyjg",
        created_at=datetime(2014, 6, 20, 3, 35, 46, tzinfo=UTC),
        engagement={"score": 1, "comments": 0},
        conversation_id="7919424",
    )
    assert comment.external_id == "7919418"
    assert comment.title == "Starbucks admits it's not contributing to scholarship fund"
    assert comment.text.startswith("Yeah the article seems stupid, while technically they aren't contributing")
    assert "<" not in comment.text and "&#x27;" not in comment.text
    assert "\nI'm not the biggest fan of starbucks" in comment.text  # <p> became a line break
    assert comment.conversation_id == "7918547" and comment.parent_id == "7919290"
    assert comment.engagement == {"score": 1}  # num_comments is null on comments
    assert comment.created_at == datetime(2014, 6, 20, 3, 32, 34, tzinfo=UTC)
    (request,) = feeds.requests(SEARCH)
    assert request.query["query"] == "apple"
    assert request.query["tags"] == "(story,comment)"
    assert "numericFilters" not in request.query


async def test_story_text_is_plain_text(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    feeds.add(SEARCH, (FIXTURES / "search_story_author_pg.json").read_bytes(), content_type="application/json")
    (story,) = (await watcher(feeds, http).poll({})).mentions
    assert story.title == "Why HN was down"
    assert story.text.startswith("Hacker News was down all last night.")
    assert "<p>" not in story.text and "\nOn a comment thread" in story.text
    assert story.engagement == {"score": 1027, "comments": 292}


async def test_cursor_returns_only_newer_hits_and_survives_json(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    algolia = FakeAlgolia([story_hit(), comment_hit()])
    feeds.add_handler(SEARCH, algolia.handle)
    hn = watcher(feeds, http)
    first = await hn.poll({})
    cursor = json.loads(json.dumps(first.cursor))
    assert cursor["created_at_i"] == STORY_TIME

    nothing_new = await hn.poll(cursor)
    assert nothing_new.mentions == []
    assert feeds.requests(SEARCH)[-1].query["numericFilters"] == f"created_at_i>={STORY_TIME}"

    same_second = copy_at(story_hit(), "8000001", 0)
    newer = copy_at(comment_hit(), "8000002", 60)
    algolia.hits += [same_second, newer]
    second = await hn.poll(json.loads(json.dumps(nothing_new.cursor)))
    assert sorted(m.external_id for m in second.mentions) == ["8000001", "8000002"]
    third = await hn.poll(json.loads(json.dumps(second.cursor)))
    assert third.mentions == []


async def test_one_search_per_word_merged_by_id(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    feeds.add_handler(SEARCH, FakeAlgolia([story_hit()]).handle)
    result = await watcher(feeds, http, query='("hiring settlement" OR apple OR tram*) -football').poll({})
    assert [m.external_id for m in result.mentions] == ["7919424"]
    assert [r.query["query"] for r in feeds.requests(SEARCH)] == ['"hiring settlement"', "apple", "tram"]


async def test_options_q_replaces_the_query_words(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    feeds.add_handler(SEARCH, FakeAlgolia([story_hit()]).handle)
    await watcher(feeds, http, q=["apple google", "settlement"], tags="story").poll({})
    assert [(r.query["query"], r.query["tags"]) for r in feeds.requests(SEARCH)] == [
        ("apple google", "story"),
        ("settlement", "story"),
    ]


async def test_paging_is_bounded(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    algolia = FakeAlgolia([story_hit()])
    feeds.add_handler(SEARCH, algolia.handle)
    hn = watcher(feeds, http)
    cursor = (await hn.poll({})).cursor
    algolia.hits += [copy_at(story_hit(), str(9_000_000 + n), 1 + n) for n in range(450)]
    algolia.pages_asked.clear()
    result = await hn.poll(cursor)
    assert algolia.pages_asked == [0, 1, 2]
    assert len(result.mentions) == 300
    assert result.cursor["created_at_i"] == STORY_TIME + 450


async def test_first_poll_reads_one_page(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    algolia = FakeAlgolia([copy_at(story_hit(), str(9_000_000 + n), n) for n in range(250)])
    feeds.add_handler(SEARCH, algolia.handle)
    result = await watcher(feeds, http).poll({})
    assert algolia.pages_asked == [0]
    assert len(result.mentions) == 100


async def test_current_api_fields_and_missing_fields_are_tolerated(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    current = story_hit() | {"updated_at": "2024-01-01T00:00:00Z", "children": [7919500, 7919501]}
    bare = {"objectID": "42", "_tags": ["comment"]}
    no_id = {"title": "no objectID"}
    body = {
        "hits": [current, bare, no_id],
        "nbHits": 3,
        "page": 0,
        "nbPages": 1,
        "hitsPerPage": 100,
        "exhaustive": {"nbHits": True, "typo": True},
        "exhaustiveNbHits": True,
        "processingTimingsMS": {"total": 3},
        "serverTimeMS": 4,
    }
    feeds.add(SEARCH, json.dumps(body), content_type="application/json")
    result = await watcher(feeds, http).poll({})
    assert [m.external_id for m in result.mentions] == ["7919424", "42"]
    bare_mention = result.mentions[1]
    assert (bare_mention.text, bare_mention.title, bare_mention.created_at) == ("", "", None)
    assert bare_mention.engagement == {}
    assert result.cursor["created_at_i"] == STORY_TIME


async def test_thread_flattens_the_item_tree(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    feeds.add_file("/api/v1/items/17", FIXTURES / "item_17_with_children.json")
    reply = Mention(source="hackernews", external_id="1079", url="u", text="sure", conversation_id="17")
    thread = await watcher(feeds, http).thread(reply)
    assert [(m.external_id, m.parent_id) for m in thread] == [("17", None), ("1079", "17"), ("454426", "17")]
    assert thread[0].text == "Is there anywhere to eat on Sandhill Road?"
    assert thread[2].text == "This is why we can't have nice things."
    assert thread[2].author_handle == "Arrington"
    assert thread[1].created_at == datetime(2007, 2, 25, 22, 18, 23, tzinfo=UTC)
    assert {m.conversation_id for m in thread} == {"17"}
    assert thread[0].engagement == {"score": 5}


async def test_thread_of_a_story_titles_its_comments(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    tree = fixture("item_17_with_children.json") | {"type": "story", "title": "Sandhill lunch", "text": None}
    tree["children"].append({"id": 99, "author": None, "text": None, "children": [tree["children"][0] | {"id": 100}]})
    feeds.add("/api/v1/items/17", json.dumps(tree), content_type="application/json")
    story = Mention(source="hackernews", external_id="17", url="u", text="", conversation_id="17")
    thread = await watcher(feeds, http).thread(story)
    assert {m.title for m in thread} == {"Sandhill lunch"}
    assert "99" not in {m.external_id for m in thread}  # deleted comment left out, its reply kept
    assert ("100", "99") in {(m.external_id, m.parent_id) for m in thread}


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda s: s.set_status(SEARCH, 500), "HTTP 500"),
        (lambda s: s.set_status(SEARCH, 403), "HTTP 403 .*access denied"),
        (lambda s: s.add(SEARCH, '{"hits": [{"objectID": "1"', content_type="application/json"), "valid JSON"),
        (lambda s: s.add(SEARCH, '{"message": "oops"}', content_type="application/json"), "list of hits"),
        (lambda s: s.hang(SEARCH), "did not answer in time"),
    ],
    ids=["500", "403", "truncated", "no-hits", "timeout"],
)
async def test_errors_are_source_errors(feeds: FeedServer, http: httpx.AsyncClient, setup, message: str) -> None:
    setup(feeds)
    with pytest.raises(SourceError, match=message):
        await watcher(feeds, http).poll({})


async def test_an_unreachable_api_is_named_as_such(http: httpx.AsyncClient, free_port: int) -> None:
    config = WatcherConfig(
        name="hn", source="hackernews", query=parse_query("apple"), channel="C1", base_url=f"http://127.0.0.1:{free_port}"
    )
    with pytest.raises(SourceError, match=r"127\.0\.0\.1 refused the connection"):
        await HackerNewsWatcher(config, WatcherContext(http=http, limits=RateLimits())).poll({})


async def test_429_reports_retry_after(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    feeds.set_status(SEARCH, 429, headers={"Retry-After": "30"})
    with pytest.raises(SourceError) as raised:
        await watcher(feeds, http).poll({})
    assert raised.value.retry_after == 30


async def test_spent_rate_limit_waits_then_gives_up(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    feeds.add(
        SEARCH,
        json.dumps({"hits": [], "nbPages": 0}),
        content_type="application/json",
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "0.4"},
    )
    hn = watcher(feeds, http)
    await hn.poll({})
    started = time.monotonic()
    await hn.poll({})
    assert time.monotonic() - started >= 0.3

    feeds.add(
        SEARCH,
        json.dumps({"hits": [], "nbPages": 0}),
        content_type="application/json",
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "600"},
    )
    await hn.poll({})
    asked = len(feeds.requests(SEARCH))
    with pytest.raises(SourceError) as raised:
        await hn.poll({})
    assert raised.value.retry_after is not None and raised.value.retry_after > 590
    assert len(feeds.requests(SEARCH)) == asked  # gave up without calling


@pytest.mark.parametrize(
    ("query", "options", "message"),
    [
        ("apple", {"sort": "new"}, "unknown option 'sort'"),
        ("apple", {"tags": "story; drop"}, "tags must be"),
        ("apple", {"q": []}, "q must be"),
        ("lang:en", {}, "no word to search for"),
        ("a OR b OR c OR d OR e OR f", {}, "6 searches"),
    ],
)
async def test_bad_options_are_refused(
    feeds: FeedServer, http: httpx.AsyncClient, query: str, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(WatcherFieldError, match=message) as raised:
        watcher(feeds, http, query=query, **options)
    assert raised.value.field == "options"
