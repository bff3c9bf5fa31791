"""Facebook Pages through the Graph API: the team's Page's new posts and every new comment and reply under them,
and the public posts of other Pages the token may read.

A Page access token (`options.token_env`, default FACEBOOK_PAGE_TOKEN) of the Page `options.page_id`, with
pages_read_engagement and pages_read_user_content. The Graph API has no keyword search: the watcher reads the
Page's feed (`/{page-id}/feed`, or `/posts` with `options.edge = "posts"`) over the last `comment_days` days each
poll, one call with each post's comment count (`comments.filter(stream).summary(true).limit(0)`), and reads the
comments (`/{post-id}/comments?filter=stream&order=reverse_chronological`, replies included, each with its
`parent`) only of the posts whose count grew. Comments are where moderation happens: the card links to the
comment itself (`permalink_url`). Other Pages (`options.pages`) need Page Public Content Access: their posts only.

Cursor: per Page, the ids of the posts in the window; per post followed, its comment count, and the comments of
its newest page with the oldest time among them (Reddit's way: an anchor comment may be deleted).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from veilleur.core.mentions import Mention
from veilleur.core.text import one_line
from veilleur.core.watcher_config import WatcherConfig, WatcherFieldError
from watchers.base import PollResult, WatcherContext, as_text, check_options
from watchers.graph import (
    GRAPH_ID,
    GraphClient,
    data_of,
    graph_id,
    graph_time,
    next_page,
    summary_count,
    token_env,
)

DEFAULT_TOKEN_ENV = "FACEBOOK_PAGE_TOKEN"
WEB_URL = "https://www.facebook.com"
POST_FIELDS = (
    "id,message,story,created_time,permalink_url,from,status_type,shares,"
    "comments.filter(stream).summary(true).limit(0),reactions.summary(true).limit(0)"
)
COMMENT_FIELDS = "id,message,created_time,from,permalink_url,like_count,comment_count,parent{id}"
POST_PAGE = 25
MAX_POST_PAGES = 2
COMMENT_PAGE = 100
MAX_COMMENT_PAGES = 3  # per post and poll
MAX_FOLLOWED_POSTS = 25  # posts whose comments one poll may read
DEFAULT_DAYS = 7
MAX_DAYS = 30
MAX_PAGES_WATCHED = 10
THREAD_PAGES = 3
EPOCH = datetime.min.replace(tzinfo=UTC)
OPTIONS = frozenset({"page_id", "token_env", "pages", "edge", "comments", "comment_days", "api_version"})
PAGE_NAME = re.compile(r"^[A-Za-z0-9.]{5,50}$")

Item = dict[str, Any]


@dataclass(frozen=True)
class Position:
    """Where a list read newest first stands: the items of its newest page and the oldest time among them."""

    floor: datetime
    seen: frozenset[str]

    @classmethod
    def load(cls, raw: object) -> Position | None:
        if not isinstance(raw, dict):
            return None
        seen = raw.get("seen")
        ids = frozenset(i for i in seen if isinstance(i, str)) if isinstance(seen, list) else frozenset()
        return cls(graph_time(raw, "floor") or EPOCH, ids)

    @classmethod
    def of(cls, items: list[Item], previous: Position | None) -> Position | None:
        times = [moment for item in items if (moment := graph_time(item, "created_time")) is not None]
        if not items:
            return previous
        return cls(min(times, default=EPOCH), frozenset(item["id"] for item in items))

    def is_new(self, item: Item) -> bool:
        created = graph_time(item, "created_time")
        return item["id"] not in self.seen and created is not None and created >= self.floor

    def dump(self) -> dict[str, Any]:
        return {"floor": self.floor.isoformat(), "seen": sorted(self.seen)}


class FacebookWatcher:
    def __init__(self, config: WatcherConfig, context: WatcherContext) -> None:
        check_options(config, OPTIONS)
        options = config.options
        self.page_id = graph_id(config, "page_id")
        self.pages = _pages(options.get("pages", []))
        self.edge = options.get("edge", "feed")
        if self.edge not in ("feed", "posts"):
            raise WatcherFieldError("options", f'edge must be "feed" or "posts", got {self.edge!r}')
        self.comments = options.get("comments", True)
        if not isinstance(self.comments, bool):
            raise WatcherFieldError("options", f"comments must be true or false, got {self.comments!r}")
        days = options.get("comment_days", DEFAULT_DAYS)
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
            raise WatcherFieldError("options", f"comment_days must be a whole number from 1 to {MAX_DAYS}")
        self.window = timedelta(days=days)
        self.config = config
        self.graph = GraphClient(
            config,
            context,
            token_env=token_env(config, DEFAULT_TOKEN_ENV),
            product="a Page access token of options.page_id with pages_read_engagement and pages_read_user_content",
        )

    async def poll(self, cursor: dict[str, Any]) -> PollResult:
        since = int((datetime.now(UTC) - self.window).timestamp())
        old_pages = cursor.get("pages") if isinstance(cursor.get("pages"), dict) else {}
        old_posts = cursor.get("posts") if isinstance(cursor.get("posts"), dict) else {}
        pages: dict[str, Any] = {}
        followed: dict[str, Any] = {}
        mentions: list[Mention] = []
        for page, edge in [(self.page_id, self.edge), *((page, "posts") for page in self.pages)]:
            posts = await self._posts(page, edge, since)
            known = old_pages.get(page)
            seen = frozenset(known) if isinstance(known, list) else None
            pages[page] = [post["id"] for post in posts]
            if seen is not None or not cursor:  # a Page added to a running watcher starts from now
                mentions.extend(post_to_mention(post) for post in posts if seen is None or post["id"] not in seen)
            if page == self.page_id and self.comments:
                for post in posts[:MAX_FOLLOWED_POSTS]:
                    state = old_posts.get(post["id"]) if isinstance(old_posts.get(post["id"]), dict) else None
                    quiet = bool(cursor) and seen is None
                    found, followed[post["id"]] = await self._new_comments(post, state, quiet=quiet)
                    mentions.extend(found)
        return PollResult(mentions, {"pages": pages, "posts": followed})

    async def _posts(self, page: str, edge: str, since: int) -> list[Item]:
        """The Page's posts of the window, newest first."""
        params: dict[str, Any] = {"fields": POST_FIELDS, "limit": POST_PAGE, "since": since}
        posts: list[Item] = []
        for _ in range(MAX_POST_PAGES):
            body = await self.graph.get(f"{page}/{edge}", params)
            posts.extend(data_of(body, f"{page}/{edge}"))
            paging = next_page(body)
            if paging is None:
                break
            params = {**params, **paging}
        return posts

    async def _new_comments(
        self, post: Item, state: Item | None, *, quiet: bool
    ) -> tuple[list[Mention], dict[str, Any]]:
        """The post's comments and replies added since `state`, read only when its comment count grew."""
        count = summary_count(post, "comments") or 0
        known = state.get("count") if state is not None else None
        position = Position.load(state.get("position")) if state is not None else None
        if count == known or (known is None and count == 0):
            return [], {"count": count, **({"position": position.dump()} if position else {})}
        params: dict[str, Any] = {
            "fields": COMMENT_FIELDS,
            "filter": "stream",
            "order": "reverse_chronological",
            "limit": COMMENT_PAGE,
        }
        comments: list[Item] = []
        newest_page: list[Item] | None = None
        for _ in range(MAX_COMMENT_PAGES if position is not None else 1):
            body = await self.graph.get(f"{post['id']}/comments", params)
            page = data_of(body, f"{post['id']}/comments")
            newest_page = page if newest_page is None else newest_page
            fresh = [item for item in page if position is None or position.is_new(item)]
            comments.extend(fresh)
            paging = next_page(body)
            if position is None or len(fresh) < len(page) or paging is None:
                break
            params = {**params, **paging}
        next_position = Position.of(newest_page or [], position)
        state = {"count": count, **({"position": next_position.dump()} if next_position else {})}
        if quiet:
            return [], state
        title = _title(post)
        return [comment_to_mention(comment, post["id"], title) for comment in comments], state

    async def thread(self, mention: Mention) -> list[Mention]:
        """The post and all its comments and replies (the first 300), oldest first."""
        post_id = mention.conversation_id or mention.external_id
        if not _is_post_id(post_id):
            return [mention]
        post = await self.graph.get(post_id, {"fields": POST_FIELDS})
        if not isinstance(post.get("id"), str):
            return [mention]
        found = {post["id"]: post_to_mention(post)}
        params: dict[str, Any] = {"fields": COMMENT_FIELDS, "filter": "stream", "order": "chronological", "limit": 100}
        for _ in range(THREAD_PAGES):
            body = await self.graph.get(f"{post_id}/comments", params)
            for comment in data_of(body, f"{post_id}/comments"):
                found.setdefault(comment["id"], comment_to_mention(comment, post_id, _title(post)))
            paging = next_page(body)
            if paging is None:
                break
            params = {**params, **paging}
        found.setdefault(mention.external_id, mention)
        return sorted(found.values(), key=lambda item: item.created_at or EPOCH)


def post_to_mention(post: Item) -> Mention:
    author = post.get("from") if isinstance(post.get("from"), dict) else {}
    shares = post.get("shares") if isinstance(post.get("shares"), dict) else {}
    engagement = {
        "likes": summary_count(post, "reactions"),
        "comments": summary_count(post, "comments"),
        "reposts": shares.get("count"),
    }
    return Mention(
        source="facebook",
        external_id=post["id"],
        url=_link(post.get("permalink_url"), post["id"]),
        text=as_text(post.get("message")) or as_text(post.get("story")),
        author_handle=as_text(author.get("id")),
        author_name=as_text(author.get("name")),
        created_at=graph_time(post, "created_time"),
        engagement=_counts(engagement),
        conversation_id=post["id"],
    )


def comment_to_mention(comment: Item, post_id: str, title: str) -> Mention:
    """A comment or a reply. `from` is often missing (Meta withholds users the token may not see)."""
    author = comment.get("from") if isinstance(comment.get("from"), dict) else {}
    parent = comment.get("parent") if isinstance(comment.get("parent"), dict) else {}
    return Mention(
        source="facebook",
        external_id=comment["id"],
        url=_link(comment.get("permalink_url"), post_id),
        text=as_text(comment.get("message")),
        title=title,
        author_handle=as_text(author.get("id")),
        author_name=as_text(author.get("name")),
        created_at=graph_time(comment, "created_time"),
        engagement=_counts({"likes": comment.get("like_count"), "replies": comment.get("comment_count")}),
        conversation_id=post_id,
        parent_id=as_text(parent.get("id")) or post_id,
    )


def _title(post: Item) -> str:
    return one_line(as_text(post.get("message")) or as_text(post.get("story")))[:120]


def _link(permalink: object, object_id: str) -> str:
    link = as_text(permalink)
    return link if link.startswith("https://") else f"{WEB_URL}/{object_id}"


def _counts(values: dict[str, object]) -> dict[str, int]:
    return {k: v for k, v in values.items() if isinstance(v, int) and not isinstance(v, bool) and v >= 0}


def _is_post_id(value: str) -> bool:
    page, _, post = value.partition("_")
    return bool(GRAPH_ID.match(page) and GRAPH_ID.match(post))


def _pages(raw: object) -> list[str]:
    names = raw if isinstance(raw, list) else None
    if names is None or len(names) > MAX_PAGES_WATCHED:
        raise WatcherFieldError("options", f"pages must be a list of at most {MAX_PAGES_WATCHED} Page ids or names")
    pages = [str(name).strip() if isinstance(name, str | int) and not isinstance(name, bool) else "" for name in names]
    for page in pages:
        if not GRAPH_ID.match(page) and not PAGE_NAME.match(page):
            raise WatcherFieldError("options", f"{page!r} is not a Page id or user name")
    return list(dict.fromkeys(pages))
