"""Hacker News through the Algolia HN Search API: new stories and comments that contain the watcher's words.

Algolia ANDs the words of one query and has no OR, so each word or phrase of the watcher's query is one search
(`keyword_searches`), all sharing one cursor: the newest `created_at_i` seen and the ids seen at that second, as
the filter is `created_at_i>=` to catch items posted in the same second as the last one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from veilleur.core.mentions import Mention
from veilleur.core.text import html_to_text, one_line
from veilleur.core.watcher_config import WatcherConfig, WatcherFieldError
from watchers.base import (
    PollResult,
    SourceError,
    WatcherContext,
    as_text,
    check_options,
    fetch_json,
    require_searches,
)

DEFAULT_BASE_URL = "https://hn.algolia.com"
ITEM_URL = "https://news.ycombinator.com/item?id={}"
DEFAULT_TAGS = "(story,comment)"
HITS_PER_PAGE = 100
MAX_PAGES = 3  # per search and poll: 300 hits between two polls is already a flood
MAX_THREAD_ITEMS = 1000
OPTIONS = frozenset({"q", "tags"})
# Algolia tag filters: tag names, commas (AND) and parentheses (OR), e.g. "(story,comment)" or "story,author_pg".
TAGS = re.compile(r"^[A-Za-z0-9_,()]{1,200}$")


class HackerNewsWatcher:
    def __init__(self, config: WatcherConfig, context: WatcherContext) -> None:
        check_options(config, OPTIONS)
        searches = require_searches(config)
        tags = config.options.get("tags", DEFAULT_TAGS)
        if not isinstance(tags, str) or not TAGS.match(tags):
            raise WatcherFieldError("options", f"tags must be Algolia tags such as {DEFAULT_TAGS!r}, got {tags!r}")
        self.config = config
        self.context = context
        self.base_url = (config.base_url or DEFAULT_BASE_URL).rstrip("/")
        self.searches = searches
        self.tags = tags

    async def poll(self, cursor: dict[str, Any]) -> PollResult:
        since = _int(cursor.get("created_at_i"))
        known = {str(object_id) for object_id in cursor.get("ids", [])} if since is not None else set()
        hits: dict[str, dict[str, Any]] = {}
        for search in self.searches:
            for hit in await self._search(search, since):
                object_id = str(hit.get("objectID") or "")
                if object_id and object_id not in known:
                    hits.setdefault(object_id, hit)
        mentions = [hit_to_mention(object_id, hit) for object_id, hit in hits.items()]
        return PollResult(mentions, next_cursor(cursor, since, known, hits))

    async def _search(self, search: str, since: int | None) -> list[dict[str, Any]]:
        """Hits of one search, newest first: one page on the first poll, a few pages after that."""
        url = f"{self.base_url}/api/v1/search_by_date"
        params: dict[str, Any] = {"query": search, "tags": self.tags, "hitsPerPage": HITS_PER_PAGE}
        if since is not None:
            params["numericFilters"] = f"created_at_i>={since}"
        found: list[dict[str, Any]] = []
        for page in range(MAX_PAGES if since is not None else 1):
            _, body = await fetch_json(self.context, url, params={**params, "page": page})
            page_hits = body.get("hits") if isinstance(body, dict) else None
            if not isinstance(page_hits, list):
                raise SourceError(f"{url} did not send a list of hits")
            found.extend(hit for hit in page_hits if isinstance(hit, dict))
            pages = _int(body.get("nbPages"))
            if len(page_hits) < HITS_PER_PAGE or pages is None or page + 1 >= pages:
                break
        return found

    async def thread(self, mention: Mention) -> list[Mention]:
        """The whole discussion of the story the mention belongs to (one call: Algolia nests the tree)."""
        root = mention.conversation_id or mention.external_id
        if not root.isdigit():
            return [mention]
        _, body = await fetch_json(self.context, f"{self.base_url}/api/v1/items/{root}")
        if not isinstance(body, dict):
            raise SourceError(f"{self.base_url}/api/v1/items/{root} did not send an item")
        mentions = flatten_item(body)
        if all(item.external_id != mention.external_id for item in mentions):
            mentions.append(mention)
        return sorted(mentions, key=lambda item: item.created_at or datetime.min.replace(tzinfo=UTC))


def next_cursor(
    cursor: dict[str, Any], since: int | None, known: set[str], hits: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    stamped = [
        (stamp, object_id) for object_id, hit in hits.items() if (stamp := _int(hit.get("created_at_i"))) is not None
    ]
    if not stamped:
        return cursor
    newest = max(stamp for stamp, _ in stamped)
    if since is not None and since > newest:
        return cursor
    ids = {object_id for stamp, object_id in stamped if stamp == newest}
    if newest == since:
        ids |= known
    return {"created_at_i": newest, "ids": sorted(ids)}


def hit_to_mention(object_id: str, hit: dict[str, Any]) -> Mention:
    """A search hit: a story (title, text or link) or a comment (HTML text, titled with its story's title)."""
    is_comment = hit.get("comment_text") is not None or "comment" in (hit.get("_tags") or [])
    if is_comment:
        title = as_text(hit.get("story_title"))
        body = html_to_text(as_text(hit.get("comment_text")))
        conversation_id = _id(hit.get("story_id")) or object_id
        parent_id = _id(hit.get("parent_id"))
    else:
        title = as_text(hit.get("title"))
        body = html_to_text(as_text(hit.get("story_text"))) or as_text(hit.get("url"))
        conversation_id, parent_id = object_id, None
    return Mention(
        source="hackernews",
        external_id=object_id,
        url=ITEM_URL.format(object_id),
        text=body,
        title=one_line(title),
        author_handle=as_text(hit.get("author")),
        created_at=_created_at(hit),
        engagement=_engagement(hit.get("points"), hit.get("num_comments")),
        conversation_id=conversation_id,
        parent_id=parent_id,
    )


def flatten_item(root: dict[str, Any]) -> list[Mention]:
    """The nodes of an `/items/{id}` tree, each linked to its parent; deleted nodes are left out (their replies
    stay). Walked with a stack, not recursion, and at most `MAX_THREAD_ITEMS` nodes: the tree is outside input."""
    root_id = _id(root.get("id"))
    if root_id is None:
        raise SourceError("Hacker News sent an item without an id")
    story_title = one_line(as_text(root.get("title")))
    mentions: list[Mention] = []
    stack: list[tuple[dict[str, Any], str | None]] = [(root, None)]
    visited = 0
    while stack and visited < MAX_THREAD_ITEMS:
        node, parent_id = stack.pop()
        visited += 1
        node_id = _id(node.get("id"))
        if node_id is None:
            continue
        if node.get("author") or node.get("text") or node.get("title"):
            mentions.append(_item_to_mention(node, node_id, parent_id, story_title, root_id))
        children = node.get("children")
        if isinstance(children, list):
            stack.extend((child, node_id) for child in reversed(children) if isinstance(child, dict))
    return mentions


def _item_to_mention(
    node: dict[str, Any], node_id: str, parent_id: str | None, story_title: str, root_id: str
) -> Mention:
    body = html_to_text(as_text(node.get("text")))
    if node.get("type") == "story":
        body = body or as_text(node.get("url"))
    return Mention(
        source="hackernews",
        external_id=node_id,
        url=ITEM_URL.format(node_id),
        text=body,
        title=one_line(as_text(node.get("title"))) or story_title,
        author_handle=as_text(node.get("author")),
        created_at=_created_at(node),
        engagement=_engagement(node.get("points"), None),
        conversation_id=root_id,
        parent_id=parent_id,
    )


def _created_at(item: dict[str, Any]) -> datetime | None:
    stamp = _int(item.get("created_at_i"))
    if stamp is not None:
        return datetime.fromtimestamp(stamp, UTC)
    raw = item.get("created_at")
    if isinstance(raw, str):
        try:
            return datetime.fromisoformat(raw.replace("Z", "+00:00")).astimezone(UTC)
        except ValueError:
            return None
    return None


def _engagement(points: object, comments: object) -> dict[str, int]:
    pairs: Iterable[tuple[str, object]] = (("score", points), ("comments", comments))
    return {key: value for key, value in pairs if isinstance(value, int) and not isinstance(value, bool)}


def _int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _id(value: object) -> str | None:
    number = _int(value)
    return None if number is None else str(number)

