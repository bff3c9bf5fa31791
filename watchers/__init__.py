"""Source watchers: one module per kind of source, registered here by name."""

from __future__ import annotations

from collections.abc import Callable

from veilleur.core.watcher_config import WatcherConfig
from watchers.base import Watcher, WatcherContext
from watchers.bluesky import BlueskyWatcher
from watchers.discourse import DiscourseWatcher
from watchers.facebook import FacebookWatcher
from watchers.hackernews import HackerNewsWatcher
from watchers.instagram import InstagramWatcher
from watchers.lemmy import LemmyWatcher
from watchers.mastodon import MastodonWatcher
from watchers.reddit import RedditWatcher
from watchers.rss import RssWatcher
from watchers.webpage import WebPageWatcher
from watchers.x import XWatcher
from watchers.youtube import YouTubeWatcher

WatcherFactory = Callable[[WatcherConfig, WatcherContext], Watcher]

SOURCES: dict[str, WatcherFactory] = {
    "rss": RssWatcher,
    "mastodon": MastodonWatcher,
    "bluesky": BlueskyWatcher,
    "hackernews": HackerNewsWatcher,
    "reddit": RedditWatcher,
    "discourse": DiscourseWatcher,
    "lemmy": LemmyWatcher,
    "webpage": WebPageWatcher,
    "x": XWatcher,
    "youtube": YouTubeWatcher,
    "facebook": FacebookWatcher,
    "instagram": InstagramWatcher,
}


def build_watcher(config: WatcherConfig, context: WatcherContext) -> Watcher:
    return SOURCES[config.source](config, context)
