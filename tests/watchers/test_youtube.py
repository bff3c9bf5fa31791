"""The YouTube watcher over real HTTP, against a fake Data API v3 playing recorded answers."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
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
from watchers import youtube as youtube_module
from watchers.base import SourceError, WatcherContext
from watchers.youtube import YouTubeWatcher, next_reset

FIXTURES = Path(__file__).parent.parent / "fixtures" / "youtube"
API = "/youtube/v3"
KEY = "AIza-test-key-never-shown"
ENV = {"YOUTUBE_API_KEY": KEY}
CHANNEL = "UCa-vrCLQHviTOVnEKDOdetQ"  # the channel of the recorded allThreadsRelatedToChannelId answer
# 2019-12-06 12:00 UTC: the day after the recorded search results, in the morning Pacific time.
NOW = datetime(2019, 12, 6, 12, 0, tzinfo=UTC)

Item = dict[str, Any]


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def error_body(name: str) -> tuple[Item, int]:
    body = fixture(name)
    return body, body["error"]["code"]


class FakeYouTube:
    """Serves the API under /youtube/v3, checking the key header on every call. videos.list and channels.list
    answer the recorded video and channel under each id asked for (but those in `gone`)."""

    def __init__(self, server: FeedServer) -> None:
        self.server = server
        self.gone: set[str] = set()
        self.hidden_subscribers: set[str] = set()
        self.handles: dict[str, str] = {}
        self.video = fixture("videos_list_snippet_statistics.json")["items"][0]
        self.channel = fixture("channels_list_statistics.json")["items"][0]
        self.serve("videos", self._videos)
        self.serve("channels", self._channels)

    def serve(self, resource: str, answer: Callable[[web.Request], Any], status: int = 200) -> None:
        def handle(request: web.Request) -> web.Response:
            if request.headers.get("X-Goog-Api-Key") != KEY or "key" in request.query:
                body, code = error_body("SYNTHETIC_error_400_API_KEY_INVALID.json")
                return web.json_response(body, status=code)
            return web.json_response(answer(request), status=status)

        self.server.add_handler(f"{API}/{resource}", handle)

    def serve_body(self, resource: str, body: Any, status: int = 200) -> None:
        self.serve(resource, lambda _request: body, status)

    def fail(self, resource: str, name: str) -> None:
        body, code = error_body(name)
        self.serve_body(resource, body, code)

    def _videos(self, request: web.Request) -> Item:
        items = []
        for video_id in request.query["id"].split(","):
            if video_id not in self.gone:
                video = copy.deepcopy(self.video)
                video["id"] = video_id
                items.append(video)
        return {"kind": "youtube#videoListResponse", "items": items}

    def _channels(self, request: web.Request) -> Item:
        if "forHandle" in request.query:
            found = self.handles.get(request.query["forHandle"])
            return {"kind": "youtube#channelListResponse", "items": [{"id": found}] if found else []}
        items = []
        for channel_id in request.query["id"].split(","):
            channel = copy.deepcopy(self.channel)
            channel["id"] = channel_id
            channel["statistics"]["hiddenSubscriberCount"] = channel_id in self.hidden_subscribers
            items.append(channel)
        return {"kind": "youtube#channelListResponse", "items": items}

    def calls(self, resource: str) -> list[dict[str, str]]:
        return [request.query for request in self.server.requests(f"{API}/{resource}")]


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """The watcher's clock, which a test moves by assigning clock[0]."""
    clock = [NOW]
    monkeypatch.setattr(youtube_module, "_now", lambda: clock[0])
    return clock


@pytest.fixture
def youtube(feeds: FeedServer) -> FakeYouTube:
    return FakeYouTube(feeds)


def watcher(
    feeds: FeedServer,
    http: httpx.AsyncClient,
    query: str = 'tramway OR "Caen la mer"',
    *,
    name: str = "yt",
    interval: int = 300,
    env: dict[str, str] | None = None,
    **options: Any,
) -> YouTubeWatcher:
    config = WatcherConfig(
        name=name,
        source="youtube",
        query=parse_query(query),
        channel="C1",
        interval=interval,
        base_url=feeds.url(API),
        options=options,
    )
    return YouTubeWatcher(config, WatcherContext(http=http, env=ENV if env is None else env))


def search_page(items: list[Item], token: str | None = None) -> Item:
    page = {"kind": "youtube#searchListResponse", "items": items}
    return page | ({"nextPageToken": token} if token else {})


def search_item(video_id: str, published: datetime, base: int = 0) -> Item:
    item = copy.deepcopy(fixture("search_list_keywords_p1.json")["items"][base])
    item["id"]["videoId"] = video_id
    item["snippet"]["publishedAt"] = published.isoformat().replace("+00:00", "Z")
    return item


def threads_with_replies(video: str = "JE8xdDp5B8Q") -> Item:
    body = fixture("SYNTHETIC_commentThreads_list_with_replies.json")
    for thread in body["items"]:
        thread["snippet"]["videoId"] = video
        thread["snippet"]["topLevelComment"]["snippet"]["videoId"] = video
    return body


async def test_is_registered() -> None:
    assert SOURCES["youtube"] is YouTubeWatcher


async def test_search_results_are_normalised(feeds: FeedServer, http: httpx.AsyncClient, youtube: FakeYouTube) -> None:
    recorded = fixture("search_list_keywords_p1.json")
    recorded["items"][0]["id"]["videoId"] = "D-lhorsDlUQ"  # the video whose details were recorded
    youtube.serve_body("search", recorded)
    youtube.gone.add("i2hewkFijuY")  # made private since search indexed it
    result = await watcher(feeds, http).poll({})
    assert len(result.mentions) == 24
    video = result.mentions[0]
    assert video.source == "youtube" and video.external_id == "D-lhorsDlUQ"
    assert video.url == "https://www.youtube.com/watch?v=D-lhorsDlUQ"
    assert video.title == "What are Actions on Google (Assistant on Air)"
    assert video.text.startswith("In the first episode of Assistant on Air")
    assert "\n\nActions on Google docs" in video.text  # the whole description, not search's cut
    assert (video.author_handle, video.author_name) == ("UC_x5XG1OV2P6uZZ5FSM9Ttw", "Google Developers")
    assert video.author_reach == 10_700_000
    assert video.created_at == datetime(2019, 3, 21, 20, 37, 49, tzinfo=UTC)
    assert video.engagement == {"views": 7920, "likes": 190, "comments": 32}  # no dislikes: not public any more
    assert video.lang == "en"
    assert (video.conversation_id, video.parent_id) == ("D-lhorsDlUQ", None)
    assert "i2hewkFijuY" not in {m.external_id for m in result.mentions}
    (search,) = youtube.calls("search")
    assert search == {"part": "snippet", "type": "video", "order": "date", "q": 'tramway|"caen la mer"',
                      "maxResults": "50"}
    (videos,) = youtube.calls("videos")
    assert videos["part"] == "snippet,statistics" and len(videos["id"].split(",")) == 25
    (channels,) = youtube.calls("channels")
    assert channels["part"] == "statistics"
    assert all(KEY not in str(request.query) for request in feeds.log)
    assert result.cursor["quota"] == {"day": "2019-12-06", "units": 102}


async def test_search_snippets_stand_in_when_details_fail(
    feeds: FeedServer, http: httpx.AsyncClient, youtube: FakeYouTube
) -> None:
    youtube.serve_body("search", fixture("search_list_keywords_p1.json"))
    youtube.serve_body("videos", {"error": {"code": 500, "message": "Backend Error", "errors": []}}, status=500)
    result = await watcher(feeds, http, region_code="fr", relevance_language="fr").poll({})
    by_id = {m.external_id: m for m in result.mentions}
    assert len(by_id) == 25
    assert by_id["i2hewkFijuY"].title == "SURFING PERFECT PIPE & BACKDOOR || SUNRISE SHACK!"  # entities decoded
    assert by_id["i2hewkFijuY"].engagement == {}
    assert by_id["gQ_1zX-F_No"].author_name == "Jamie O'Brien"
    (search,) = youtube.calls("search")
    assert (search["regionCode"], search["relevanceLanguage"]) == ("FR", "fr")


async def test_search_cursor_returns_each_video_once_and_late_ones_too(
    feeds: FeedServer, http: httpx.AsyncClient, youtube: FakeYouTube, frozen_clock: list[datetime]
) -> None:
    t0 = datetime(2019, 12, 6, 8, 0, tzinfo=UTC)
    current = {"items": [search_item("vidAAAAAAA1", t0), search_item("vidAAAAAAA2", t0 - timedelta(hours=2))]}
    youtube.serve("search", lambda _request: search_page(current["items"]))
    yw = watcher(feeds, http, interval=3600, quota_share=1.0)
    first = await yw.poll({})
    assert sorted(m.external_id for m in first.mentions) == ["vidAAAAAAA1", "vidAAAAAAA2"]
    cursor = json.loads(json.dumps(first.cursor))

    frozen_clock[0] += timedelta(hours=1)
    late = search_item("vidAAAAAAA3", t0 - timedelta(hours=5))  # published earlier, indexed only now
    current["items"] = [search_item("vidAAAAAAA4", t0 + timedelta(minutes=30)), *current["items"], late]
    second = await yw.poll(cursor)
    assert sorted(m.external_id for m in second.mentions) == ["vidAAAAAAA3", "vidAAAAAAA4"]
    assert youtube.calls("search")[-1]["publishedAfter"] == "2019-12-05T08:00:00Z"  # a day before the newest

    frozen_clock[0] += timedelta(hours=1)
    assert (await yw.poll(json.loads(json.dumps(second.cursor)))).mentions == []


async def test_search_pages_while_everything_is_new(
    feeds: FeedServer, http: httpx.AsyncClient, youtube: FakeYouTube, frozen_clock: list[datetime]
) -> None:
    t0 = datetime(2019, 12, 6, 8, 0, tzinfo=UTC)
    pages = {
        None: search_page([search_item(f"vidBBBBBBB{n}", t0 + timedelta(minutes=n)) for n in (9, 8)], "p2"),
        "p2": search_page([search_item(f"vidBBBBBBB{n}", t0 + timedelta(minutes=n)) for n in (7, 6)], "p3"),
        "p3": search_page([search_item(f"vidBBBBBBB{n}", t0 + timedelta(minutes=n)) for n in (5, 4)]),
    }
    youtube.serve("search", lambda request: pages[request.query.get("pageToken")])
    cursor = {"search": {"after": "2019-12-06T07:00:00Z", "seen": [], "at": "2019-12-06T07:00:00Z"}}
    result = await watcher(feeds, http, quota_share=1.0).poll(cursor)
    assert len(result.mentions) == 4  # two pages a poll at most: 200 units
    assert [call.get("pageToken") for call in youtube.calls("search")] == [None, "p2"]


async def test_channel_comments_and_replies(
    feeds: FeedServer, http: httpx.AsyncClient, youtube: FakeYouTube, frozen_clock: list[datetime]
) -> None:
    threads = fixture("commentThreads_list_allThreadsRelatedToChannelId.json")
    with_replies = threads_with_replies()["items"][0]
    with_replies["id"] = with_replies["snippet"]["topLevelComment"]["id"] = "UgzNEWTHREADxxxxxxxx4AaABAg"
    current = {"items": threads["items"]}
    youtube.serve("commentThreads", lambda _request: {"items": current["items"]})
    youtube.serve_body("comments", fixture("comments_list_parentId_p1.json"))
    yw = watcher(feeds, http, channels=[CHANNEL])
    first = await yw.poll({})
    assert len(first.mentions) == 4 and not youtube.calls("search")
    (call,) = youtube.calls("commentThreads")
    assert call == {"part": "snippet,replies", "allThreadsRelatedToChannelId": CHANNEL, "order": "time",
                    "textFormat": "plainText", "maxResults": "100"}
    comment = first.mentions[0]
    assert comment.external_id == "UgyWeTdgc4sc1xgmbld4AaABAg"
    assert comment.url == "https://www.youtube.com/watch?v=JE8xdDp5B8Q&lc=UgyWeTdgc4sc1xgmbld4AaABAg"
    assert comment.text == "Hope to go next time. yah!"
    assert (comment.author_handle, comment.author_name) == ("UCNvMBmCASzTNNX8lW3JRMbw", "kun liu")
    assert comment.title == "What are Actions on Google (Assistant on Air)"  # its video's title, from videos.list
    assert (comment.conversation_id, comment.parent_id) == ("JE8xdDp5B8Q", "JE8xdDp5B8Q")
    assert comment.engagement == {"likes": 0, "replies": 0}
    assert comment.created_at == datetime(2019, 12, 1, 3, 36, 55, tzinfo=UTC)
    assert comment.author_reach == 10_700_000
    assert not youtube.calls("comments")  # a first look takes the replies given inline
    cursor = json.loads(json.dumps(first.cursor))

    frozen_clock[0] += timedelta(minutes=5)
    current["items"] = [with_replies, *threads["items"]]  # a new thread with 3 replies, 2 of them inline
    second = await yw.poll(cursor)
    ids = [m.external_id for m in second.mentions]
    assert ids[0] == "UgzNEWTHREADxxxxxxxx4AaABAg"
    assert set(ids[1:]) == {"Ugw5zYU6n9pmIgAZWvN4AaABAg.91zT3cYb5B291za6voUoRh",
                            "Ugw5zYU6n9pmIgAZWvN4AaABAg.91zT3cYb5B291za5eJxzs1"}
    reply = second.mentions[1]
    assert reply.parent_id == "Ugw5zYU6n9pmIgAZWvN4AaABAg" and reply.conversation_id == "JE8xdDp5B8Q"
    assert reply.engagement == {"likes": 0}
    assert second.mentions[0].engagement == {"likes": 4, "replies": 3}
    (replies_call,) = youtube.calls("comments")
    assert replies_call["parentId"] == "UgzNEWTHREADxxxxxxxx4AaABAg"

    frozen_clock[0] += timedelta(minutes=5)
    assert (await yw.poll(json.loads(json.dumps(second.cursor)))).mentions == []
    assert len(youtube.calls("comments")) == 1  # nothing grew: no reply call


async def test_new_reply_on_a_known_thread(
    feeds: FeedServer, http: httpx.AsyncClient, youtube: FakeYouTube, frozen_clock: list[datetime]
) -> None:
    threads = fixture("commentThreads_list_allThreadsRelatedToChannelId.json")
    current = {"items": copy.deepcopy(threads["items"])}
    youtube.serve("commentThreads", lambda _request: {"items": current["items"]})
    replies = fixture("comments_list_parentId_p1.json")
    yw = watcher(feeds, http, channels=[CHANNEL])
    cursor = json.loads(json.dumps((await yw.poll({})).cursor))
    # Thread Ugw5z… gets its two recorded replies: its count grows from 0 to 2, none of them inline.
    current["items"][1]["snippet"]["totalReplyCount"] = 2
    youtube.serve_body("comments", replies)
    frozen_clock[0] += timedelta(minutes=5)
    result = await yw.poll(cursor)
    assert sorted(m.external_id for m in result.mentions) == sorted(r["id"] for r in replies["items"])
    assert youtube.calls("comments")[0]["parentId"] == "Ugw5zYU6n9pmIgAZWvN4AaABAg"


async def test_channel_handle_is_resolved_once(
    feeds: FeedServer, http: httpx.AsyncClient, youtube: FakeYouTube, frozen_clock: list[datetime]
) -> None:
    youtube.handles["@mairie-exemple"] = CHANNEL
    youtube.serve_body("commentThreads", fixture("commentThreads_list_allThreadsRelatedToChannelId.json"))
    yw = watcher(feeds, http, channels=["@mairie-exemple"])
    cursor = (await yw.poll({})).cursor
    frozen_clock[0] += timedelta(minutes=5)
    await yw.poll(cursor)
    assert [c["allThreadsRelatedToChannelId"] for c in youtube.calls("commentThreads")] == [CHANNEL, CHANNEL]
    assert len([c for c in youtube.calls("channels") if "forHandle" in c]) == 1
    with pytest.raises(SourceError, match="no YouTube channel has the handle @inconnue"):
        await watcher(feeds, http, channels=["@inconnue"]).poll({})


async def test_comments_disabled_is_not_an_error(
    feeds: FeedServer, http: httpx.AsyncClient, youtube: FakeYouTube, frozen_clock: list[datetime]
) -> None:
    youtube.fail("commentThreads", "SYNTHETIC_error_403_commentsDisabled.json")
    yw = watcher(feeds, http, videos=["https://www.youtube.com/watch?v=F1UP7wRCPH8"])
    result = await yw.poll({})
    assert result.mentions == []
    frozen_clock[0] += timedelta(minutes=5)
    await yw.poll(result.cursor)
    assert len(youtube.calls("commentThreads")) == 1  # not asked again the same day
    frozen_clock[0] = next_reset(frozen_clock[0]) + timedelta(minutes=1)
    await yw.poll(result.cursor)
    assert len(youtube.calls("commentThreads")) == 2


async def test_deleted_video_in_options_is_reported(
    feeds: FeedServer, http: httpx.AsyncClient, youtube: FakeYouTube
) -> None:
    youtube.serve_body(
        "commentThreads",
        {"error": {"code": 404, "message": "Not found",
                   "errors": [{"domain": "youtube.commentThread", "reason": "videoNotFound"}]}},
        status=404,
    )
    with pytest.raises(SourceError, match=r"no longer exists or is private \(video F1UP7wRCPH8 in options\)"):
        await watcher(feeds, http, videos=["F1UP7wRCPH8"]).poll({})


@pytest.mark.parametrize(
    "name", ["SYNTHETIC_error_400_API_KEY_INVALID.json", "error_400_keyInvalid_legacy_shape.json"]
)
async def test_bad_key_names_the_variable(
    feeds: FeedServer, http: httpx.AsyncClient, youtube: FakeYouTube, name: str
) -> None:
    youtube.fail("search", name)
    with pytest.raises(SourceError, match="API key is invalid; check YOUTUBE_API_KEY") as raised:
        await watcher(feeds, http).poll({})
    assert KEY not in str(raised.value) and raised.value.status == 400


async def test_api_not_enabled_is_explained(feeds: FeedServer, http: httpx.AsyncClient, youtube: FakeYouTube) -> None:
    youtube.serve_body(
        "search",
        {"error": {"code": 403, "message": "YouTube Data API v3 has not been used in project 1 before",
                   "errors": [{"domain": "usageLimits", "reason": "accessNotConfigured"}]}},
        status=403,
    )
    with pytest.raises(SourceError, match="not enabled for the key's Google Cloud project"):
        await watcher(feeds, http).poll({})


async def test_quota_exceeded_stops_every_watcher_of_the_key_until_midnight_pacific(
    feeds: FeedServer, http: httpx.AsyncClient, youtube: FakeYouTube, frozen_clock: list[datetime]
) -> None:
    youtube.fail("commentThreads", "SYNTHETIC_error_403_quotaExceeded.json")
    first = watcher(feeds, http, name="a", channels=[CHANNEL])
    second = watcher(feeds, http, name="b", channels=[CHANNEL])
    with pytest.raises(SourceError, match=r"quota of this API key is used up.*midnight Pacific") as raised:
        await first.poll({})
    assert raised.value.code == "quotaExceeded"
    assert raised.value.retry_after == 300  # retried each interval, calling nothing, so the health alert comes
    assert "2019-12-07 09:00 Europe/Paris" in str(raised.value)
    with pytest.raises(SourceError, match="used up"):
        await second.poll({})
    frozen_clock[0] += timedelta(hours=3)
    with pytest.raises(SourceError, match="used up"):
        await first.poll({})
    assert len(youtube.calls("commentThreads")) == 1  # no hammering

    youtube.serve_body("commentThreads", fixture("commentThreads_list_allThreadsRelatedToChannelId.json"))
    frozen_clock[0] = next_reset(NOW) + timedelta(seconds=1)
    assert len((await second.poll({})).mentions) == 4


async def test_search_quota_used_up_leaves_the_comments_going(
    feeds: FeedServer, http: httpx.AsyncClient, youtube: FakeYouTube, frozen_clock: list[datetime]
) -> None:
    youtube.fail("search", "SYNTHETIC_error_403_quotaExceeded.json")
    youtube.serve_body("commentThreads", fixture("commentThreads_list_allThreadsRelatedToChannelId.json"))
    yw = watcher(feeds, http, channels=[CHANNEL], q="tramway")
    result = await yw.poll({})
    assert len(result.mentions) == 4
    frozen_clock[0] += timedelta(hours=2)
    await yw.poll(result.cursor)
    assert len(youtube.calls("search")) == 1 and len(youtube.calls("commentThreads")) == 2
    with pytest.raises(SourceError, match="used up"):  # a watcher that only searches has nothing left to do
        await watcher(feeds, http, name="search-only").poll({})


async def test_polls_are_spaced_to_fit_the_share(
    feeds: FeedServer, http: httpx.AsyncClient, youtube: FakeYouTube, frozen_clock: list[datetime]
) -> None:
    youtube.serve_body("search", search_page([]))
    # Two watchers searching every 5 minutes would spend 2 x 288 x 102 units a day; half the quota is 5,000.
    first, second = watcher(feeds, http, name="a"), watcher(feeds, http, name="b")
    cursor = (await first.poll({})).cursor
    await second.poll({})
    scale = 2 * 288 * 102 / 5000
    frozen_clock[0] += timedelta(minutes=5)
    skipped = await first.poll(cursor)
    assert skipped.not_modified and skipped.mentions == []
    assert len(youtube.calls("search")) == 2
    frozen_clock[0] += timedelta(seconds=300 * scale - 300)
    await first.poll(skipped.cursor)
    assert len(youtube.calls("search")) == 3
    assert 55 < 5 * scale < 60  # each searches about hourly


async def test_share_spent_is_reported_and_polls_wait(
    feeds: FeedServer, http: httpx.AsyncClient, youtube: FakeYouTube
) -> None:
    youtube.serve_body("search", search_page([search_item("vidCCCCCCC1", NOW)]))
    first = watcher(feeds, http, name="a", interval=86400, quota_share=0.01)  # 100 units: one search, no lookups
    second = watcher(feeds, http, name="b", interval=86400, quota_share=0.01)
    result = await first.poll({})
    assert [m.external_id for m in result.mentions] == ["vidCCCCCCC1"]
    assert not youtube.calls("videos")
    with pytest.raises(SourceError, match=r"share of today's quota \(100 of 100 units") as raised:
        await second.poll({})
    assert raised.value.retry_after == (next_reset(NOW) - NOW).total_seconds() + 60  # sooner than the interval
    assert raised.value.code == "quotaExceeded"
    assert len(youtube.calls("search")) == 1


async def test_spending_survives_a_restart(
    feeds: FeedServer, http: httpx.AsyncClient, youtube: FakeYouTube, frozen_clock: list[datetime]
) -> None:
    youtube.serve_body("search", search_page([]))
    cursor = (await watcher(feeds, http, quota_share=0.02).poll({})).cursor
    assert cursor["quota"] == {"day": "2019-12-06", "units": 100}
    only_spending = {"quota": cursor["quota"]}  # as if its search had never run, but its spending is known
    restarted = httpx.AsyncClient()
    try:
        with pytest.raises(SourceError, match=r"100 of 100 units"):
            await watcher(feeds, restarted, interval=86400, quota_share=0.01).poll(only_spending)
        assert len(youtube.calls("search")) == 1
        frozen_clock[0] = next_reset(NOW) + timedelta(minutes=1)  # a new Pacific day: the count starts again
        again = await watcher(feeds, restarted, interval=86400, quota_share=0.01).poll(only_spending)
        assert again.cursor["quota"] == {"day": "2019-12-07", "units": 100}
    finally:
        await restarted.aclose()


async def test_rate_limit_is_waited_out(feeds: FeedServer, http: httpx.AsyncClient, youtube: FakeYouTube) -> None:
    youtube.serve_body(
        "search",
        {"error": {"code": 403, "message": "Rate Limit Exceeded",
                   "errors": [{"domain": "youtube.quota", "reason": "rateLimitExceeded"}]}},
        status=403,
    )
    with pytest.raises(SourceError, match="slow down") as raised:
        await watcher(feeds, http).poll({})
    assert raised.value.retry_after == 300


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda s: s.add(f"{API}/search", "<!doctype html><html><body>Sorry</body></html>", content_type="text/html"),
         "HTML page"),
        (lambda s: s.add(f"{API}/search", '{"kind": "youtube#searchListResponse"}', content_type="application/json"),
         "has no list of items"),
        (lambda s: s.set_status(f"{API}/search", 503), "HTTP 503"),
    ],
    ids=["html", "changed-schema", "503"],
)
async def test_bad_answers_are_source_errors(feeds: FeedServer, http: httpx.AsyncClient, setup, message: str) -> None:
    setup(feeds)
    with pytest.raises(SourceError, match=message):
        await watcher(feeds, http).poll({})


async def test_thread_is_the_video_and_its_comments(
    feeds: FeedServer, http: httpx.AsyncClient, youtube: FakeYouTube
) -> None:
    page = fixture("commentThreads_list_videoId_p1.json")
    youtube.serve(
        "commentThreads",
        lambda request: page if "pageToken" not in request.query else threads_with_replies("F1UP7wRCPH8"),
    )
    youtube.serve_body("comments", fixture("comments_list_parentId_p1.json"))
    mention = Mention(
        source="youtube", external_id="UgyZ1jqkHKYvi1-ruOZ4AaABAg", url="https://www.youtube.com/watch?v=F1UP7wRCPH8",
        text="", conversation_id="F1UP7wRCPH8",
    )
    thread = await watcher(feeds, http).thread(mention)
    ids = [m.external_id for m in thread]
    assert ids[0] == "F1UP7wRCPH8"  # the video, published first
    assert {"UgyZ1jqkHKYvi1-ruOZ4AaABAg", "UgwI_ylXVnzPS8Q-oAV4AaABAg", "Ugw5zYU6n9pmIgAZWvN4AaABAg"} <= set(ids)
    assert [m.created_at for m in thread] == sorted(m.created_at for m in thread)
    assert len(ids) == len(set(ids))
    assert [c["videoId"] for c in youtube.calls("commentThreads")] == ["F1UP7wRCPH8", "F1UP7wRCPH8"]
    assert youtube.calls("comments")  # threads whose replies were not all inline
    assert {m.conversation_id for m in thread} == {"F1UP7wRCPH8"}


async def test_thread_of_a_deleted_video_is_the_mention(
    feeds: FeedServer, http: httpx.AsyncClient, youtube: FakeYouTube
) -> None:
    youtube.gone.add("F1UP7wRCPH8")
    mention = Mention(source="youtube", external_id="F1UP7wRCPH8", url="https://youtu.be/F1UP7wRCPH8", text="")
    assert await watcher(feeds, http).thread(mention) == [mention]
    assert not youtube.calls("commentThreads")


async def test_thread_with_comments_off_is_the_video(
    feeds: FeedServer, http: httpx.AsyncClient, youtube: FakeYouTube
) -> None:
    youtube.fail("commentThreads", "SYNTHETIC_error_403_commentsDisabled.json")
    mention = Mention(source="youtube", external_id="F1UP7wRCPH8", url="u", text="", conversation_id="F1UP7wRCPH8")
    (video,) = await watcher(feeds, http).thread(mention)
    assert video.external_id == "F1UP7wRCPH8" and video.engagement["views"] == 7920


async def test_missing_key_is_refused(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    with pytest.raises(WatcherFieldError, match="YOUTUBE_API_KEY") as raised:
        watcher(feeds, http, env={})
    assert raised.value.field == "source"


@pytest.mark.parametrize(
    ("query", "options", "message"),
    [
        ("tram", {"order": "date"}, "unknown option 'order'"),
        ("tram", {"channels": "UCa-vrCLQHviTOVnEKDOdetQ"}, "channels must be a list"),
        ("tram", {"channels": ["mairie"]}, "not a channel id"),
        ("tram", {"videos": ["https://example.org/v=x"]}, "not a video id"),
        ("tram", {"search": False}, "needs channels"),
        ("tram", {"quota_share": 1.5}, "quota_share"),
        ("tram", {"quota_share": 0}, "quota_share"),
        ("tram", {"daily_quota": 50}, "daily_quota"),
        ("tram", {"region_code": "France"}, "region_code"),
        ("tram", {"relevance_language": "français"}, "relevance_language"),
        ("lang:fr", {}, "no word to search for"),
    ],
)
async def test_bad_options_are_refused(
    feeds: FeedServer, http: httpx.AsyncClient, query: str, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(WatcherFieldError, match=message) as raised:
        watcher(feeds, http, query=query, **options)
    assert raised.value.field == "options"


async def test_channels_alone_do_not_search(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    yw = watcher(feeds, http, query="lang:fr", channels=[CHANNEL], videos=["F1UP7wRCPH8"])
    assert not yw.search
    assert [listing.key for listing in yw.listings] == [f"channel:{CHANNEL}", "video:F1UP7wRCPH8"]
