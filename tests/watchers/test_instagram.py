"""The Instagram watcher over real HTTP, against a fake Graph API playing recorded answers."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from tests.support.feed_server import FeedServer
from veilleur.core.query import parse_query
from veilleur.core.watcher_config import WatcherConfig, WatcherFieldError
from watchers import SOURCES
from watchers import instagram as instagram_module
from watchers.base import SourceError, WatcherContext
from watchers.instagram import InstagramWatcher

FIXTURES = Path(__file__).parent.parent / "fixtures" / "instagram"
ROOT = "/v25.0"
IG = "17841400000000000"
TOKEN = "IGQ-token-never-shown"
ENV = {"INSTAGRAM_ACCESS_TOKEN": TOKEN}


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def serve(server: FeedServer, path: str, body: Any, status: int = 200) -> None:
    def handle(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}" or "access_token" in request.query:
            return web.json_response(fixture("SYNTHETIC_error_190_invalid_token.json"), status=400)
        return web.json_response(copy.deepcopy(body), status=status)

    server.add_handler(f"{ROOT}/{path}", handle)


def calls(server: FeedServer, path: str) -> list[dict[str, str]]:
    return [request.query for request in server.requests(f"{ROOT}/{path}")]


def watcher(
    feeds: FeedServer, http: httpx.AsyncClient, *, env: dict[str, str] | None = None, **options: Any
) -> InstagramWatcher:
    config = WatcherConfig(
        name="ig", source="instagram", query=parse_query("mairie"), channel="C1", base_url=feeds.base_url,
        options={"ig_user_id": IG, **options},
    )
    return InstagramWatcher(config, WatcherContext(http=http, env=ENV if env is None else env))


async def test_is_registered() -> None:
    assert SOURCES["instagram"] is InstagramWatcher


async def test_comments_and_replies_on_own_media(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    media = fixture("user_media_p1.json")
    for item in media["data"]:
        item["comments_count"] = 0  # only the first has comments here
    media["data"][0]["comments_count"] = 3
    serve(feeds, f"{IG}/media", media)
    serve(feeds, f"{media['data'][0]['id']}/comments", fixture("SYNTHETIC_media_comments_with_replies.json"))
    iw = watcher(feeds, http, tags=False)
    result = await iw.poll({})
    by_id = {m.external_id: m for m in result.mentions}
    comment, reply = by_id["17900000000000001"], by_id["17900000000000002"]
    assert comment.text == "Super initiative de la mairie 👏" and comment.author_handle == "habitant.exemple"
    assert comment.url == "https://www.instagram.com/p/CSgf9BChwVq/"  # comments have no link: the media's
    assert comment.engagement == {"likes": 2}
    assert (comment.conversation_id, comment.parent_id) == (media["data"][0]["id"], media["data"][0]["id"])
    assert reply.parent_id == "17900000000000001" and reply.author_handle == "mairie_exempleville"
    asked = calls(feeds, f"{media['data'][0]['id']}/comments")
    assert "replies{" in asked[0]["fields"]
    assert (await iw.poll(json.loads(json.dumps(result.cursor)))).mentions == []
    assert len(calls(feeds, f"{media['data'][0]['id']}/comments")) == len(asked)  # the count did not grow


async def test_tagged_media_once(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    serve(feeds, f"{IG}/tags", fixture("user_tags.json"))
    iw = watcher(feeds, http, comments=False)
    first = await iw.poll({})
    assert first.mentions and first.mentions[0].url.startswith("https://www.instagram.com/p/")
    assert first.mentions[0].text == "publish test" and first.mentions[0].engagement["likes"] == 2
    assert (await iw.poll(json.loads(json.dumps(first.cursor)))).mentions == []


async def test_hashtag_search_then_recent_media(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    serve(feeds, "ig_hashtag_search", fixture("ig_hashtag_search.json"))
    recent = fixture("hashtag_recent_media_p1.json")
    for n, item in enumerate(recent["data"]):
        item["timestamp"] = f"2026-03-02T1{n}:00:00+0000"
    serve(feeds, "17841562426109234/recent_media", recent)
    iw = watcher(feeds, http, comments=False, tags=False, hashtags=["#Developers"])
    result = await iw.poll({})
    assert len(result.mentions) == 5 and result.mentions[0].author_handle == ""  # hashtag media hide who posted
    (search,) = calls(feeds, "ig_hashtag_search")
    assert (search["user_id"], search["q"]) == (IG, "developers")
    assert calls(feeds, "17841562426109234/recent_media")[0]["user_id"] == IG
    await iw.poll(json.loads(json.dumps(result.cursor)))
    assert len(calls(feeds, "ig_hashtag_search")) == 1  # the id is kept
    assert list(result.cursor["hashtags_used"]) == ["developers"]


async def test_a_31st_hashtag_is_refused_before_any_call(
    feeds: FeedServer, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    used = {f"tag{n}": "2026-03-01T10:00:00+00:00" for n in range(30)}
    now = instagram_module._now()
    used = {tag: (now - timedelta(days=2)).isoformat() for tag in used}
    iw = watcher(feeds, http, comments=False, tags=False, hashtags=["caen"])
    with pytest.raises(SourceError, match=r"30 different hashtags per account in 7 days.*#caen was not searched"):
        await iw.poll({"hashtags_used": used})
    assert not calls(feeds, "ig_hashtag_search")
    later = now + timedelta(days=5, minutes=1)  # the week of the first ones is over
    monkeypatch.setattr(instagram_module, "_now", lambda: later)
    serve(feeds, "ig_hashtag_search", {"data": [{"id": "1784", "name": "caen"}]})
    serve(feeds, "1784/recent_media", {"data": []})
    result = await iw.poll({"hashtags_used": used})
    assert list(result.cursor["hashtags_used"]) == ["caen"]


async def test_expired_token_is_named(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    serve(feeds, f"{IG}/media", fixture("SYNTHETIC_error_190_invalid_token.json"), status=400)
    with pytest.raises(SourceError, match=r"code 190.*INSTAGRAM_ACCESS_TOKEN") as raised:
        await watcher(feeds, http, tags=False).poll({})
    assert TOKEN not in str(raised.value)


async def test_html_is_a_source_error(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    feeds.add(f"{ROOT}/{IG}/tags", "<html><body>x</body></html>", content_type="text/html")
    with pytest.raises(SourceError, match="HTML page"):
        await watcher(feeds, http, comments=False).poll({})


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"ig_user_id": "me"}, "ig_user_id must be the numeric id"),
        ({"hashtags": ["deux mots"]}, "not a hashtag"),
        ({"hashtags": [f"t{n}" for n in range(11)]}, "at most 10"),
        ({"mentions": True}, "unknown option"),
    ],
)
async def test_bad_options_are_refused(
    feeds: FeedServer, http: httpx.AsyncClient, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(WatcherFieldError, match=message):
        watcher(feeds, http, **options)
    with pytest.raises(WatcherFieldError, match="INSTAGRAM_ACCESS_TOKEN"):
        watcher(feeds, http, env={})
