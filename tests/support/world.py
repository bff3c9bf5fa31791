"""What the bot watches in end-to-end tests: RSS feeds and watcher files on the playback server, and the Hacker
News story whose discussion the assistant tests summarize and answer."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from tests.support.feed_server import FeedServer
from veilleur.core.mentions import Mention

# Posts are a day old: the bot drops at collection what was published more than RETENTION_DAYS ago.
RECENTLY = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
PUBLISHED = format_datetime(RECENTLY)
CARDS = "C0CARDS"  # the channel of the Hacker News watcher "hn"
STORY = "100"  # the Hacker News story of `story_mention`


def feed(items: list[tuple[str, str]]) -> str:
    """An RSS feed with one item per (guid, title), linked to https://news.example/<guid>."""
    body = "".join(
        f"<item><guid>https://news.example/{guid}</guid><title>{title}</title>"
        f"<link>https://news.example/{guid}</link><pubDate>{PUBLISHED}</pubDate></item>"
        for guid, title in items
    )
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>News</title>{body}</channel></rss>"


def channel_of(watcher: str) -> str:
    return "C0" + watcher.upper().replace("-", "")


def write_watchers(path: Path, feeds: FeedServer, *entries: str) -> Path:
    """One RSS watcher per name, reading /<name> on `feeds` for "tram" and posting to `channel_of(name)`."""
    tables = [
        f'[[watcher]]\nname = "{name}"\nsource = "rss"\nurl = "{feeds.url("/" + name)}"\nquery = "tram"\n'
        f'channel = "{channel_of(name)}"\ninterval = "30s"\n'
        for name in entries
    ]
    path.write_text("\n".join(tables))
    return path


def write_hn_watcher(path: Path, feeds: FeedServer, extra_toml: str = "", *, subject: str | None = None) -> Path:
    """The Hacker News watcher "hn" on `feeds` (whose search finds nothing), posting to CARDS, then `extra_toml`;
    with `subject`, what its mentions' stances are toward."""
    subject_line = f"subject = {json.dumps(subject)}\n" if subject is not None else ""
    path.write_text(
        f'[[watcher]]\nname = "hn"\nsource = "hackernews"\nbase_url = "{feeds.base_url}"\nquery = "tram"\n'
        f'channel = "{CARDS}"\ninterval = "1h"\n{subject_line}\n{extra_toml}'
    )
    feeds.add("/api/v1/search_by_date", json.dumps({"hits": [], "nbPages": 0}), content_type="application/json")
    return path


def hn_item(item_id: int, author: str, text: str, children: list[dict[str, Any]] | None = None,
            title: str | None = None) -> dict[str, Any]:
    item = {"id": item_id, "type": "story" if title else "comment", "author": author, "text": f"<p>{text}</p>",
            "created_at_i": 1_700_000_000 + item_id, "children": children or []}
    if title:
        item["title"] = title
    return item


def story_mention(item_id: str = STORY, text: str = "The city will close the tram line for two years") -> Mention:
    return Mention(source="hackernews", external_id=item_id, url=f"https://news.ycombinator.com/item?id={item_id}",
                   text=text, title="Tram line closing", author_handle="cityhall", conversation_id=STORY)


def serve_story(feeds: FeedServer, comments: list[tuple[str, str]]) -> None:
    """The Hacker News discussion of the story: the story, then one comment per (author, text)."""
    children = [hn_item(200 + n, author, text) for n, (author, text) in enumerate(comments)]
    story = hn_item(int(STORY), "cityhall", "The city will close the tram line for two years", children,
                    title="Tram line closing")
    feeds.add(f"/api/v1/items/{STORY}", json.dumps(story), content_type="application/json")
