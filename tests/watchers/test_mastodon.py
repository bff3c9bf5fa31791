"""The Mastodon watcher over real HTTP, against fake instances playing recorded hashtag timelines and contexts."""

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
from watchers.mastodon import MastodonWatcher

FIXTURES = Path(__file__).parent.parent / "fixtures" / "mastodon"
TAG_PATH = "/api/v1/timelines/tag/rstats"
SEARCH_PATH = "/api/v2/search"
TOKEN = "token-from-env-123"
# Response headers worth replaying from the recordings (the rest describe the recorded transport: gzip, length).
REPLAYED = {"link", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "etag"}


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def recorded_headers(name: str) -> dict[str, str]:
    return {key: value for key, value in fixture(name)["headers"].items() if key.lower() in REPLAYED}


def order(status_id: str) -> tuple[int, str]:
    return len(status_id), status_id


def derived(template: dict[str, Any], status_id: int, **fields: Any) -> dict[str, Any]:
    """A recorded status under another id and URI (for timelines longer than the recordings)."""
    status = copy.deepcopy(template)
    status["id"] = str(status_id)
    status["uri"] = f"https://example.social/users/someone/statuses/{status_id}"
    status["url"] = f"https://example.social/@someone/{status_id}"
    status.update(fields)
    return status


class TagTimeline:
    """A hashtag timeline paged as Mastodon does: newest first, `min_id` gives the statuses right after it."""

    def __init__(self, statuses: list[dict[str, Any]]) -> None:
        self.statuses = sorted(statuses, key=lambda status: order(status["id"]), reverse=True)

    def __call__(self, request: web.Request) -> web.Response:
        limit = int(request.query.get("limit", "20"))
        min_id = request.query.get("min_id")
        if min_id is None:
            page = self.statuses[:limit]
        else:
            page = [status for status in self.statuses if order(status["id"]) > order(min_id)][-limit:]
        headers = {}
        if page:
            older = request.url.with_query({"limit": limit, "max_id": page[-1]["id"]})
            newer = request.url.with_query({"limit": limit, "min_id": page[0]["id"]})
            headers["Link"] = f'<{older}>; rel="next", <{newer}>; rel="prev"'
        return web.json_response(page, headers=headers)


def watcher(
    http: httpx.AsyncClient,
    base_url: str,
    *,
    options: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    query: str = "rstats",
) -> MastodonWatcher:
    config = WatcherConfig(
        name="masto",
        source="mastodon",
        query=parse_query(query),
        channel="C1",
        base_url=base_url,
        options={"tags": ["rstats"]} if options is None else options,
    )
    return MastodonWatcher(config, WatcherContext(http=http, env=env or {}))


def by_id(mentions: list[Mention]) -> dict[str, Mention]:
    return {mention.external_id: mention for mention in mentions}


async def test_is_registered() -> None:
    assert SOURCES["mastodon"] is MastodonWatcher


async def test_tag_timeline_is_normalised(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    feeds.add(
        TAG_PATH,
        (FIXTURES / "tag_timeline_rstats_fosstodon.json").read_bytes(),
        content_type="application/json",
        headers=recorded_headers("tag_timeline_rstats_fosstodon.headers.json"),
    )
    result = await watcher(http, feeds.base_url).poll({})
    mentions = by_id(result.mentions)
    assert len(mentions) == 5
    simon = mentions["https://rstats.me/users/simonpcouch/statuses/114870142137562212"]
    assert simon.source == "mastodon"
    assert simon.url == "https://rstats.me/@simonpcouch/114870142137562212"
    assert simon.author_handle == "simonpcouch@rstats.me"
    assert simon.author_name == "Simon P. Couch"
    assert simon.author_reach == 656
    assert simon.lang == "en"
    assert simon.created_at == datetime(2025, 7, 17, 19, 7, 48, tzinfo=UTC)
    assert simon.engagement == {"likes": 1, "reposts": 0, "replies": 0}
    assert "<" not in simon.text and "#rstats package documentation" in simon.text
    # The link is whole: Mastodon hides part of it in <span class="invisible">, which plain text keeps.
    assert "https://www.simonpcouch.com/blog/2025-07-17-claude-code-2/" in simon.text
    assert simon.conversation_id == simon.external_id and simon.parent_id is None
    assert result.cursor == {"tags": {feeds.base_url: {"rstats": "114870142263126875"}}, "searches": {}}
    (request,) = feeds.requests(TAG_PATH)
    assert request.query == {"limit": "40"}
    assert "Authorization" not in request.headers


async def test_cursor_asks_min_id_and_returns_only_newer(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    recorded = fixture("tag_timeline_rstats_fosstodon.json")
    timeline = TagTimeline(recorded[2:])
    feeds.add_handler(TAG_PATH, timeline)
    masto = watcher(http, feeds.base_url)
    first = await masto.poll({})
    assert {m.external_id for m in first.mentions} == {status["uri"] for status in recorded[2:]}
    timeline.statuses = TagTimeline(recorded).statuses  # two newer statuses arrive
    second = await masto.poll(json.loads(json.dumps(first.cursor)))
    assert [m.external_id for m in second.mentions] == [status["uri"] for status in recorded[:2]]
    assert feeds.requests(TAG_PATH)[1].query["min_id"] == recorded[2]["id"]
    third = await masto.poll(json.loads(json.dumps(second.cursor)))
    assert third.mentions == []
    assert third.cursor == second.cursor


async def test_busy_tag_is_paged_by_link_prev_and_caught_up_next_poll(
    feeds: FeedServer, http: httpx.AsyncClient
) -> None:
    template = fixture("tag_timeline_rstats_fosstodon.json")[0]
    start = 114870000000000000
    statuses = [derived(template, start + n) for n in range(151)]
    feeds.add_handler(TAG_PATH, TagTimeline(statuses))
    masto = watcher(http, feeds.base_url)
    cursor = {"tags": {feeds.base_url: {"rstats": str(start)}}}
    first = await masto.poll(cursor)
    assert len(first.mentions) == 120  # three pages of 40, the oldest first
    asked = [request.query["min_id"] for request in feeds.requests(TAG_PATH)]
    assert asked == [str(start), str(start + 40), str(start + 80)]
    second = await masto.poll(first.cursor)
    assert len(second.mentions) == 30
    seen = {m.external_id for m in first.mentions + second.mentions}
    assert seen == {status["uri"] for status in statuses[1:]}


async def test_same_post_on_two_instances_is_one_mention_and_token_stays_home(
    feeds: FeedServer, http: httpx.AsyncClient
) -> None:
    async with FeedServer() as other:
        feeds.add_file(TAG_PATH, FIXTURES / "tag_timeline_rstats_fosstodon.json")
        other.add_file(TAG_PATH, FIXTURES / "tag_timeline_rstats_mastodon_social_anonymous.json")
        masto = watcher(
            http,
            feeds.base_url,
            options={"tags": ["#RStats"], "instances": [other.base_url], "search": False},
            env={"MASTODON_ACCESS_TOKEN": TOKEN},
        )
        result = await masto.poll({})
        assert len(result.mentions) == 5
        assert result.cursor["tags"] == {
            feeds.base_url: {"rstats": "114870142263126875"},
            other.base_url: {"rstats": "114870142396314555"},
        }
        assert feeds.requests(TAG_PATH)[0].headers["Authorization"] == f"Bearer {TOKEN}"
        assert "Authorization" not in other.requests(TAG_PATH)[0].headers


async def test_local_users_get_the_instance_in_their_handle(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    feeds.add_file(TAG_PATH, FIXTURES / "tag_timeline_rstats_mastodon_social_anonymous.json")
    result = await watcher(http, feeds.base_url, options={"tags": ["rstats"], "local": True}).poll({})
    handles = {m.author_handle for m in result.mentions}
    assert f"useR_conf@127.0.0.1:{feeds.port}" in handles
    assert "zkamvar@hachyderm.io" in handles
    assert feeds.requests(TAG_PATH)[0].query["local"] == "true"


async def test_failing_extra_instance_is_skipped_but_failing_base_fails_the_poll(
    feeds: FeedServer, http: httpx.AsyncClient
) -> None:
    async with FeedServer() as other:
        feeds.add_file(TAG_PATH, FIXTURES / "tag_timeline_rstats_fosstodon.json")
        other.set_status(TAG_PATH, 503)
        masto = watcher(http, feeds.base_url, options={"tags": ["rstats"], "instances": [other.base_url]})
        cursor = {"tags": {feeds.base_url: {"rstats": "0"}, other.base_url: {"rstats": "114869144089828147"}}}
        result = await masto.poll(cursor)
        assert len(result.mentions) == 5
        assert result.cursor["tags"][other.base_url] == {"rstats": "114869144089828147"}  # kept for next time
        feeds.set_status(TAG_PATH, 503)
        with pytest.raises(SourceError, match="HTTP 503"):
            await masto.poll(result.cursor)


async def test_tag_added_later_starts_quietly(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    feeds.add_file(TAG_PATH, FIXTURES / "tag_timeline_rstats_fosstodon.json")
    feeds.add("/api/v1/timelines/tag/python", "[]", content_type="application/json")
    masto = watcher(http, feeds.base_url, options={"tags": ["python", "rstats"]})
    result = await masto.poll({"tags": {feeds.base_url: {"python": "114000000000000000"}}})
    assert result.mentions == []
    assert result.cursor["tags"][feeds.base_url] == {"python": "114000000000000000", "rstats": "114870142263126875"}


async def test_empty_timeline_then_everything_is_new(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    timeline = TagTimeline([])
    feeds.add_handler(TAG_PATH, timeline)
    masto = watcher(http, feeds.base_url)
    first = await masto.poll({})
    assert first.mentions == []
    timeline.statuses = TagTimeline(fixture("tag_timeline_rstats_fosstodon.json")).statuses
    second = await masto.poll(first.cursor)
    assert len(second.mentions) == 5


async def test_boost_stands_for_the_boosted_post(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    original = fixture("status_entity_docs_example.json")
    boost = derived(fixture("status_fosstodon.json"), 114900000000000000, reblog=original, content="")
    feeds.add(TAG_PATH, json.dumps([boost]), content_type="application/json")
    result = await watcher(http, feeds.base_url).poll({})
    (mention,) = result.mentions
    assert mention.external_id == original["uri"]
    assert mention.url == original["url"]
    assert mention.engagement == {"likes": 11, "reposts": 6, "replies": 5, "quotes": 2}
    assert result.cursor["tags"][feeds.base_url]["rstats"] == boost["id"]  # paging follows the timeline's own ids


async def test_full_text_search_with_a_token(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    body = fixture("SYNTHETIC_search_v2_statuses.json")
    feeds.add(SEARCH_PATH, json.dumps(body), content_type="application/json")
    masto = watcher(
        http, feeds.base_url, options={}, env={"MASTODON_ACCESS_TOKEN": TOKEN}, query='"claude code" OR rstats'
    )
    first = await masto.poll({})
    assert {m.external_id for m in first.mentions} == {status["uri"] for status in body["statuses"]}
    requests = feeds.requests(SEARCH_PATH)
    assert [request.query["q"] for request in requests] == ['"claude code"', "rstats"]
    assert all(request.query["type"] == "statuses" for request in requests)
    assert all(request.headers["Authorization"] == f"Bearer {TOKEN}" for request in requests)
    newest = body["statuses"][0]["id"]
    assert first.cursor["searches"] == {'"claude code"': newest, "rstats": newest}
    # The server answers the same statuses again (min_id only narrows by time): nothing new.
    second = await masto.poll(json.loads(json.dumps(first.cursor)))
    assert second.mentions == []
    assert feeds.requests(SEARCH_PATH)[-1].query["min_id"] == newest


async def test_search_uses_the_token_named_in_options(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    feeds.add(SEARCH_PATH, json.dumps(fixture("SYNTHETIC_search_v2_statuses.json")), content_type="application/json")
    env = {"FOSSTODON_TOKEN": "other-token", "MASTODON_ACCESS_TOKEN": TOKEN}
    masto = watcher(http, feeds.base_url, options={"token_env": "FOSSTODON_TOKEN", "q": "rstats"}, env=env)
    await masto.poll({})
    (request,) = feeds.requests(SEARCH_PATH)
    assert request.headers["Authorization"] == "Bearer other-token"


async def test_thread_from_the_instance_the_post_was_seen_on(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    context = fixture("status_context_fosstodon_with_ancestors.json")
    (ancestor,) = context["ancestors"]
    reply = derived(fixture("status_fosstodon.json"), 114027213608365869, in_reply_to_id=ancestor["id"])
    feeds.add(TAG_PATH, json.dumps([reply]), content_type="application/json")
    feeds.add_file(f"/api/v1/statuses/{reply['id']}/context", FIXTURES / "status_context_fosstodon_with_ancestors.json")
    masto = watcher(http, feeds.base_url)
    (mention,) = (await masto.poll({})).mentions
    assert mention.conversation_id is None  # a reply: its root is only known from the context
    thread = await masto.thread(mention)
    assert [item.external_id for item in thread] == [ancestor["uri"], reply["uri"]]
    assert thread[1].parent_id == ancestor["uri"] and thread[0].parent_id is None
    assert {item.conversation_id for item in thread} == {ancestor["uri"]}
    assert thread[0].author_handle == f"schochastics@127.0.0.1:{feeds.port}"


async def test_thread_from_the_origin_links_every_reply(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    context = fixture("status_context_mastodon_social_large.json")
    root_id = "109294719267373593"
    feeds.add_file(f"/api/v1/statuses/{root_id}/context", FIXTURES / "status_context_mastodon_social_large.json")
    root_uri = f"{feeds.base_url}/users/someone/statuses/{root_id}"
    mention = Mention(source="mastodon", external_id=root_uri, url=root_uri, text="root")
    thread = await watcher(http, "https://elsewhere.example").thread(mention)
    assert len(thread) == 1 + len(context["descendants"])
    uri_of = {status["id"]: status["uri"] for status in context["descendants"]} | {root_id: root_uri}
    expected_parents = {status["uri"]: uri_of[status["in_reply_to_id"]] for status in context["descendants"]}
    assert {item.external_id: item.parent_id for item in thread[1:]} == expected_parents
    assert {item.conversation_id for item in thread} == {root_uri}
    times = [item.created_at for item in thread[1:]]
    assert times == sorted(times)


async def test_thread_of_an_unknown_non_mastodon_post_is_the_post_alone(http: httpx.AsyncClient) -> None:
    mention = Mention(source="mastodon", external_id="https://bsky.brid.gy/convert/ap/at://x", url="", text="t")
    assert await watcher(http, "https://elsewhere.example").thread(mention) == [mention]


async def test_missing_fields_do_not_crash(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    bare = {"id": "5", "uri": "https://example.social/users/a/statuses/5"}
    odd = {
        "id": "6",
        "uri": "https://example.social/users/a/statuses/6",
        "account": None,
        "content": None,
        "url": "javascript:alert(1)",
        "created_at": "yesterday",
        "favourites_count": "many",
        "reblog": {"x": 1},
    }
    not_statuses = [{"id": "7"}, {"uri": "https://example.social/users/a/statuses/8"}, "junk", None]
    feeds.add(TAG_PATH, json.dumps([bare, odd, *not_statuses]), content_type="application/json")
    result = await watcher(http, feeds.base_url).poll({})
    mentions = by_id(result.mentions)
    assert set(mentions) == {bare["uri"], odd["uri"]}
    assert mentions[odd["uri"]].url == odd["uri"]  # never a javascript: link
    assert mentions[odd["uri"]].created_at is None and mentions[odd["uri"]].engagement == {}
    assert mentions[bare["uri"]].text == "" and mentions[bare["uri"]].author_handle == ""


async def test_token_refused_names_the_env_var_not_the_token(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    feeds.set_status(TAG_PATH, 401)
    masto = watcher(
        http, feeds.base_url, options={"tags": ["rstats"], "search": False}, env={"MASTODON_ACCESS_TOKEN": TOKEN}
    )
    with pytest.raises(SourceError, match="MASTODON_ACCESS_TOKEN") as raised:
        await masto.poll({})
    assert TOKEN not in str(raised.value)
    assert raised.value.status == 401


async def test_instance_closed_to_anonymous_readers_says_to_set_a_token(
    feeds: FeedServer, http: httpx.AsyncClient
) -> None:
    feeds.set_status(TAG_PATH, 403)
    with pytest.raises(SourceError, match="set MASTODON_ACCESS_TOKEN"):
        await watcher(http, feeds.base_url).poll({})


async def test_429_reports_retry_after(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    feeds.set_status(TAG_PATH, 429, headers={"Retry-After": "90"})
    with pytest.raises(SourceError, match="HTTP 429") as raised:
        await watcher(http, feeds.base_url).poll({})
    assert raised.value.retry_after == 90


async def test_spent_rate_limit_with_iso_reset_waits_then_gives_up(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    masto = watcher(http, feeds.base_url)
    reset = datetime.now(UTC) + timedelta(seconds=0.6)
    spent = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset.isoformat().replace("+00:00", "Z")}
    feeds.add(TAG_PATH, "[]", content_type="application/json", headers=spent)
    await masto.poll({})
    started = time.monotonic()
    await masto.poll({})
    assert time.monotonic() - started >= 0.4  # waited for the window to reset instead of hammering
    later = datetime.now(UTC) + timedelta(seconds=300)
    feeds.add(TAG_PATH, "[]", content_type="application/json", headers=spent | {"X-RateLimit-Reset": later.isoformat()})
    await masto.poll({})
    with pytest.raises(SourceError, match="rate limit") as raised:
        await masto.poll({})
    assert raised.value.retry_after is not None and 200 < raised.value.retry_after <= 300


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda s: s.set_status(TAG_PATH, 500), "HTTP 500"),
        (
            lambda s: s.add(TAG_PATH, '[{"id": "1", "uri": "https://a.example/', content_type="application/json"),
            "valid JSON",
        ),
        (lambda s: s.add(TAG_PATH, '{"error": "gone"}', content_type="application/json"), "list of statuses"),
        (lambda s: s.hang(TAG_PATH), "did not answer in time"),
    ],
    ids=["500", "truncated", "not-a-list", "hang"],
)
async def test_errors_are_source_errors(feeds: FeedServer, http: httpx.AsyncClient, setup, message: str) -> None:
    setup(feeds)
    with pytest.raises(SourceError, match=message):
        await watcher(http, feeds.base_url).poll({})


@pytest.mark.parametrize(
    ("options", "env", "message"),
    [
        ({}, {}, "set options.tags"),
        ({"tags": "rstats"}, {}, "list of hashtags"),
        ({"tags": ["r stats"]}, {}, "not a hashtag"),
        ({"tags": ["a"], "instances": ["fosstodon.org"]}, {}, "instance URL"),
        ({"tags": ["a"], "local": "yes"}, {}, "true or false"),
        ({"tags": ["a"], "token_env": "MY_TOKEN"}, {}, "MY_TOKEN, which is not set"),
        ({"tags": ["a"], "colour": "red"}, {}, "unknown option 'colour'"),
        ({"q": ["a", "b", "c", "d", "e", "f"]}, {"MASTODON_ACCESS_TOKEN": TOKEN}, "at most 5"),
    ],
)
async def test_bad_options_are_refused(
    http: httpx.AsyncClient, options: dict[str, Any], env: dict[str, str], message: str
) -> None:
    with pytest.raises(WatcherFieldError, match=message) as raised:
        watcher(http, "https://mastodon.example", options=options, env=env)
    assert raised.value.field == "options"
