"""RSS, Atom and RDF feeds, Google Alerts included (its redirect links are unwrapped by the parser)."""

from __future__ import annotations

import hashlib
import re
from functools import partial
from typing import Any

from veilleur.core.i18n import Phrase
from veilleur.core.mentions import Mention
from veilleur.core.watcher_config import WatcherConfig
from watchers.base import PollResult, SourceError, WatcherContext, fetch, parse_off_loop, raise_for_status
from watchers.feed_parser import FeedEntry, FeedError, parse_feed

# Ids that name the item on the whole web; anything else ("42") is only unique inside its own feed.
GLOBAL_ID = re.compile(r"^(https?://|tag:|urn:)", re.IGNORECASE)


class RssWatcher:
    def __init__(self, config: WatcherConfig, context: WatcherContext) -> None:
        if config.url is None:
            raise ValueError(f"watcher {config.name!r}: an rss watcher needs a url")
        self.config = config
        self.url = config.url
        self.http = context.http
        self.deadline = context.deadline

    async def poll(self, cursor: dict[str, Any]) -> PollResult:
        response, body = await fetch(self.http, self.url, headers=conditional_headers(cursor), deadline=self.deadline)
        if response.status_code == 304:
            return PollResult([], cursor, not_modified=True)
        raise_for_status(response, self.url)
        # Many servers ignore conditional GET and send the same feed every time: parsing it again finds nothing new.
        next_cursor = validators(response.headers) | {"body_hash": await parse_off_loop(body_hash, body)}
        if next_cursor["body_hash"] == cursor.get("body_hash"):
            return PollResult([], next_cursor, not_modified=True)
        read = partial(self._mentions, url=str(response.url), content_type=response.headers.get("content-type"))
        try:
            mentions = await parse_off_loop(read, body)
        except FeedError as error:
            raise SourceError(Phrase.of("error.feed", url=self.url, reason=error.phrase)) from None
        return PollResult(mentions, next_cursor)

    def _mentions(self, body: bytes, *, url: str, content_type: str | None) -> list[Mention]:
        feed = parse_feed(body, url=url, content_type=content_type)
        return [entry_to_mention(entry, self.url) for entry in feed.entries]

    async def thread(self, mention: Mention) -> list[Mention]:
        """A feed item has no conversation on the feed itself: the item alone."""
        return [mention]


def conditional_headers(cursor: dict[str, Any]) -> dict[str, str]:
    headers = {}
    if cursor.get("etag"):
        headers["If-None-Match"] = cursor["etag"]
    if cursor.get("last_modified"):
        headers["If-Modified-Since"] = cursor["last_modified"]
    return headers


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def validators(headers: Any) -> dict[str, str]:
    return {
        key: value
        for key, value in (("etag", headers.get("etag")), ("last_modified", headers.get("last-modified")))
        if value
    }


def entry_to_mention(entry: FeedEntry, feed_url: str) -> Mention:
    external_id = entry.id if GLOBAL_ID.match(entry.id) else f"{feed_url}#{entry.id}"
    return Mention(
        source="rss",
        external_id=external_id,
        url=entry.link,
        title=entry.title,
        text=entry.summary,
        author_name=entry.author,
        created_at=entry.published,
        lang=entry.lang,
    )
