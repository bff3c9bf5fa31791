"""Source health, for every kind of source: one alert after repeated failures, one message on recovery."""

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.support.feed_server import FeedServer
from veilleur.core.query import parse_query
from veilleur.core.watcher_config import WatcherConfig
from veilleur.storage.store import Store
from veilleur.watching.health import SourceHealth, status_table
from veilleur.watching.polling import Poller
from watchers import SOURCES, build_watcher
from watchers.base import WatcherContext, new_http_client

FIXTURES = Path(__file__).parents[1] / "fixtures"
ENV = {
    "BLUESKY_HANDLE": "me.bsky.social",
    "BLUESKY_APP_PASSWORD": "p",
    "REDDIT_CLIENT_ID": "i",
    "REDDIT_CLIENT_SECRET": "s",
    "X_BEARER_TOKEN": "t",
    "YOUTUBE_API_KEY": "k",
    "FACEBOOK_PAGE_TOKEN": "t",
    "INSTAGRAM_ACCESS_TOKEN": "t",
}
# What each source asks for, and a recorded answer to give it once it recovers.
ROUTES = {
    "rss": {"/feed": FIXTURES / "feeds" / "SYNTHETIC_fr_news_rss2.xml"},
    "mastodon": {"/api/v1/timelines/tag/rstats": FIXTURES / "mastodon" / "tag_timeline_rstats_fosstodon.json"},
    "bluesky": {
        "/xrpc/app.bsky.feed.searchPosts": FIXTURES / "bluesky" / "searchPosts_redistricting.json",
        "/xrpc/app.bsky.actor.getProfiles": FIXTURES / "bluesky" / "getProfiles.json",
    },
    "reddit": {"/search": FIXTURES / "reddit" / "search_listing_r_all.json"},
    "hackernews": {"/api/v1/search_by_date": FIXTURES / "hackernews" / "search_by_date_story_apple.json"},
    "discourse": {"/search.json": FIXTURES / "discourse" / "query_response.json"},
    "lemmy": {"/api/v3/search": FIXTURES / "lemmy" / "SYNTHETIC_v3_search_all_new.json"},
    "webpage": {"/feed": FIXTURES / "webpage" / "SYNTHETIC_mairie_actualites_v1.html"},
    "x": {"/2/tweets/search/recent": FIXTURES / "x" / "SYNTHETIC_search_recent_full_fields.json"},
    "youtube": {"/search": FIXTURES / "youtube" / "search_list_keywords_p1.json"},
    "facebook": {"/v25.0/19292868552/feed": FIXTURES / "facebook" / "page_posts_fields_time_paging.json"},
    "instagram": {"/v25.0/17841400000000000/tags": FIXTURES / "instagram" / "user_tags.json"},
}
OPTIONS = {
    "mastodon": {"tags": ["rstats"]},
    "bluesky": {"q": "redistricting"},
    "reddit": {"q": "python", "search": True},
    "hackernews": {"q": "apple"},
    "discourse": {"q": "discourse"},
    "lemmy": {"q": "travaux"},
    "youtube": {"q": "surfing"},
    "facebook": {"page_id": "19292868552", "comments": False},
    "instagram": {"ig_user_id": "17841400000000000", "comments": False},
}


def test_every_registered_source_is_covered() -> None:
    assert set(ROUTES) == set(SOURCES)


@pytest.mark.parametrize("source", sorted(ROUTES))
async def test_alert_once_then_recovery_once(source: str, feeds: FeedServer, tmp_path: Path) -> None:
    feeds.add("/xrpc/com.atproto.server.createSession",
              '{"accessJwt": "a", "refreshJwt": "r", "handle": "me.bsky.social", "did": "did:plc:me"}',
              content_type="application/json")
    feeds.add("/api/v1/access_token", '{"access_token": "t", "expires_in": 3600}', content_type="application/json")
    for path in ROUTES[source]:
        feeds.set_status(path, 503)
    store = Store.open(":memory:")
    http = new_http_client()
    config = WatcherConfig(
        name=f"{source}-watch", source=source, query=parse_query("the OR apple OR rstats OR redistricting"),
        channel="C0TEAM", url=feeds.url("/feed") if source in ("rss", "webpage") else None,
        base_url=None if source in ("rss", "webpage") else feeds.base_url, options=OPTIONS.get(source, {}),
    )
    watchers = {config.name: build_watcher(config, WatcherContext(http=http, env=ENV))}
    health = SourceHealth(store, lang="en", tz=ZoneInfo("Europe/Paris"), alert_after=3)
    poller = Poller(store, watchers, burst_threshold=5, health=health)
    for _ in range(5):
        poller._resume_at.clear()  # as if each back-off pause had passed
        await poller.poll(config.name)
    notices = [d for d in store.due_deliveries() if d.kind == "notice"]
    assert len(notices) == 1
    alert = str(notices[0].message)
    assert config.name in alert and "503" in alert
    assert "5" in status_table(store, [config], ZoneInfo("Europe/Paris"), "en").splitlines()[1]
    for path, fixture in ROUTES[source].items():
        feeds.add_file(path, fixture, content_type="application/json" if fixture.suffix == ".json" else None)
    poller._resume_at.clear()
    report = await poller.poll(config.name)
    assert report.ok, report.error
    await poller.poll(config.name)
    notices = [d for d in store.due_deliveries() if d.kind == "notice"]
    assert len(notices) == 2
    assert "works again" in str(notices[1].message)
    await http.aclose()
