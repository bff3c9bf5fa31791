"""Instagram through the Graph API for professional accounts: comments (and replies) on the account's media, media
the account is tagged in, and hashtag search, within the limit of 30 hashtags a week.

A token (`options.token_env`, default INSTAGRAM_ACCESS_TOKEN) of the Meta app used for Facebook, for the
professional account `options.ig_user_id` linked to a Page (Facebook Login: graph.facebook.com, same versions,
errors and usage headers as Facebook, see graph.py). Each poll reads the account's 25 newest media with their
comment counts, and the comments (with replies inline) only of those whose count grew; `/tags` for the media it is
tagged in; for each hashtag of `options.hashtags`, `ig_hashtag_search` once (the id is kept) then
`/{hashtag-id}/recent_media` (the last 24 hours). Instagram counts 30 different hashtags per account over a rolling
7 days: the hashtags asked, and when, are kept per account (in each watcher's cursor and shared by the watchers of
the account), and a 31st is refused, with a health message, before any call.
"""

from __future__ import annotations

import weakref
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from veilleur.core.mentions import Mention
from veilleur.core.watcher_config import WatcherConfig, WatcherFieldError
from watchers.base import PollResult, SourceError, WatcherContext, as_text, check_options
from watchers.facebook import Position
from watchers.graph import GraphClient, data_of, graph_id, graph_time, next_page, token_env

DEFAULT_TOKEN_ENV = "INSTAGRAM_ACCESS_TOKEN"
MEDIA_FIELDS = "id,caption,permalink,timestamp,comments_count,like_count,media_type,username"
HASHTAG_MEDIA_FIELDS = "id,caption,permalink,timestamp,media_type,comments_count,like_count"
COMMENT_FIELDS = "id,text,timestamp,username,like_count,replies{id,text,timestamp,username,like_count}"
MEDIA_PAGE = 25
COMMENT_PAGE = 50
HASHTAG_LIMIT = 30
HASHTAG_WINDOW = timedelta(days=7)
MAX_HASHTAGS = 10  # per watcher
EPOCH = datetime.min.replace(tzinfo=UTC)
OPTIONS = frozenset({"ig_user_id", "token_env", "hashtags", "comments", "tags", "api_version"})

Item = dict[str, Any]


def _now() -> datetime:
    return datetime.now(UTC)


class HashtagBook:
    """The hashtags one account asked for and when, shared by its watchers: Instagram allows 30 a rolling week."""

    def __init__(self) -> None:
        self.first_asked: dict[str, datetime] = {}

    def restore(self, raw: object) -> None:
        for tag, when in raw.items() if isinstance(raw, dict) else []:
            moment = graph_time({"t": when}, "t")
            if isinstance(tag, str) and moment is not None:
                self.first_asked[tag] = min(moment, self.first_asked.get(tag, moment))

    def current(self, now: datetime) -> dict[str, datetime]:
        return {tag: at for tag, at in self.first_asked.items() if now - at < HASHTAG_WINDOW}

    def take(self, tag: str, now: datetime) -> None:
        """Count `tag` (a tag asked again within the week counts once), or refuse it as the 31st."""
        current = self.current(now)
        if tag in current:
            return
        if len(current) >= HASHTAG_LIMIT:
            freed = min(current.values()) + HASHTAG_WINDOW
            raise SourceError(
                f"Instagram allows {HASHTAG_LIMIT} different hashtags per account in 7 days and this account has "
                f"used {len(current)}: #{tag} was not searched; it can be from {freed:%Y-%m-%d %H:%M} UTC, or "
                "drop hashtags from options.hashtags of this account's watchers",
                retry_after=(freed - now).total_seconds(),
            )
        self.first_asked[tag] = now

    def dump(self, now: datetime) -> dict[str, str]:
        return {tag: at.isoformat() for tag, at in self.current(now).items()}


_BOOKS: weakref.WeakKeyDictionary[httpx.AsyncClient, dict[str, HashtagBook]] = weakref.WeakKeyDictionary()


class InstagramWatcher:
    def __init__(self, config: WatcherConfig, context: WatcherContext) -> None:
        check_options(config, OPTIONS)
        options = config.options
        self.ig_user_id = graph_id(config, "ig_user_id")
        hashtags = options.get("hashtags", [])
        if not isinstance(hashtags, list) or len(hashtags) > MAX_HASHTAGS:
            raise WatcherFieldError("options", f"hashtags must be a list of at most {MAX_HASHTAGS} hashtags")
        self.hashtags = list(dict.fromkeys(_hashtag(tag) for tag in hashtags))
        self.comments = _flag(options, "comments")
        self.tags = _flag(options, "tags")
        self.config = config
        self.graph = GraphClient(
            config,
            context,
            token_env=token_env(config, DEFAULT_TOKEN_ENV),
            product="a token of the professional account options.ig_user_id with instagram_basic, "
            "instagram_manage_comments and pages_read_engagement",
        )
        self.book = _BOOKS.setdefault(context.http, {}).setdefault(self.ig_user_id, HashtagBook())

    async def poll(self, cursor: dict[str, Any]) -> PollResult:
        now = _now()
        self.book.restore(cursor.get("hashtags_used"))
        mentions: list[Mention] = []
        next_cursor: dict[str, Any] = {"hashtag_ids": dict(_dict(cursor.get("hashtag_ids")))}
        if self.comments:
            found, next_cursor["media"] = await self._comments(_dict(cursor.get("media")), first=not cursor)
            mentions.extend(found)
        if self.tags:
            found, next_cursor["tags"] = await self._listing(
                f"{self.ig_user_id}/tags", MEDIA_FIELDS, cursor.get("tags"), first=not cursor
            )
            mentions.extend(found)
        positions: dict[str, Any] = {}
        for tag in self.hashtags:
            hashtag_id = next_cursor["hashtag_ids"].get(tag)
            if not isinstance(hashtag_id, str):
                self.book.take(tag, now)
                hashtag_id = await self._hashtag_id(tag)
                next_cursor["hashtag_ids"][tag] = hashtag_id
            raw = _dict(cursor.get("hashtags")).get(tag)
            found, positions[tag] = await self._listing(
                f"{hashtag_id}/recent_media", HASHTAG_MEDIA_FIELDS, raw, first=not cursor, user=True
            )
            mentions.extend(found)
        next_cursor["hashtags"] = positions
        next_cursor["hashtags_used"] = self.book.dump(now)
        return PollResult(mentions, next_cursor)

    async def _hashtag_id(self, tag: str) -> str:
        body = await self.graph.get("ig_hashtag_search", {"user_id": self.ig_user_id, "q": tag})
        found = data_of(body, "ig_hashtag_search")
        if not found:
            raise SourceError(f"Instagram knows no hashtag #{tag} (options.hashtags)")
        return found[0]["id"]

    async def _listing(
        self, path: str, fields: str, raw: object, *, first: bool, user: bool = False
    ) -> tuple[list[Mention], Any]:
        """New media of a list read newest first (tags, a hashtag's recent media); one page a poll."""
        position = Position.load(raw)
        params: dict[str, Any] = {"fields": fields, "limit": MEDIA_PAGE}
        if user:
            params["user_id"] = self.ig_user_id
        media = [_as_created(item) for item in data_of(await self.graph.get(path, params), path)]
        fresh = [item for item in media if position is None or position.is_new(item)]
        next_position = Position.of(media, position)
        mentions = [media_to_mention(item) for item in fresh] if position is not None or first else []
        return mentions, next_position.dump() if next_position else None

    async def _comments(self, before: dict[str, Any], *, first: bool) -> tuple[list[Mention], dict[str, Any]]:
        """New comments and replies on the account's newest media, read only where the comment count grew."""
        body = await self.graph.get(f"{self.ig_user_id}/media", {"fields": MEDIA_FIELDS, "limit": MEDIA_PAGE})
        media = data_of(body, f"{self.ig_user_id}/media")
        states: dict[str, Any] = {}
        mentions: list[Mention] = []
        for item in media:
            count = item.get("comments_count") if isinstance(item.get("comments_count"), int) else 0
            state = _dict(before.get(item["id"]))
            seen = frozenset(i for i in state.get("seen", []) if isinstance(i, str))
            if count == state.get("count") or (not state and count == 0):
                states[item["id"]] = state or {"count": count, "seen": []}
                continue
            comments = await self._media_comments(item["id"])
            states[item["id"]] = {"count": count, "seen": sorted({c["id"] for c in comments})}
            if state or first:
                mentions.extend(comment_to_mention(c, item) for c in comments if c["id"] not in seen)
        return mentions, states

    async def _media_comments(self, media_id: str) -> list[Item]:
        """A media's comments and their replies (inline), flattened: the newest 100 comments."""
        params: dict[str, Any] = {"fields": COMMENT_FIELDS, "limit": COMMENT_PAGE}
        found: list[Item] = []
        for _ in range(2):
            body = await self.graph.get(f"{media_id}/comments", params)
            for comment in data_of(body, f"{media_id}/comments"):
                found.append(comment)
                replies = _dict(comment.get("replies")).get("data")
                for reply in replies if isinstance(replies, list) else []:
                    if isinstance(reply, dict) and isinstance(reply.get("id"), str):
                        found.append(reply | {"parent_id": comment["id"]})
            paging = next_page(body)
            if paging is None:
                break
            params = {**params, **paging}
        return found

    async def thread(self, mention: Mention) -> list[Mention]:
        """The media and its comments, oldest first: only for the account's own media (Instagram shows comments of
        other accounts' media to no one else)."""
        media_id = mention.conversation_id or mention.external_id
        try:
            media = await self.graph.get(media_id, {"fields": MEDIA_FIELDS})
            comments = await self._media_comments(media_id)
        except SourceError as error:
            if error.code == "100":  # not the account's media: its comments cannot be read
                return [mention]
            raise
        found = {media_id: media_to_mention(_as_created(media))} if isinstance(media.get("id"), str) else {}
        for comment in comments:
            found.setdefault(comment["id"], comment_to_mention(comment, media))
        found.setdefault(mention.external_id, mention)
        return sorted(found.values(), key=lambda item: item.created_at or EPOCH)


def media_to_mention(media: Item) -> Mention:
    """A media; hashtag search gives no username (Instagram hides who posted)."""
    return Mention(
        source="instagram",
        external_id=media["id"],
        url=as_text(media.get("permalink")) or "https://www.instagram.com/",
        text=as_text(media.get("caption")),
        author_handle=as_text(media.get("username")),
        created_at=graph_time(media, "timestamp"),
        engagement=_counts({"likes": media.get("like_count"), "comments": media.get("comments_count")}),
        conversation_id=media["id"],
    )


def comment_to_mention(comment: Item, media: Item) -> Mention:
    """A comment or a reply; comments have no link of their own, so the card links to the media."""
    return Mention(
        source="instagram",
        external_id=comment["id"],
        url=as_text(media.get("permalink")) or "https://www.instagram.com/",
        text=as_text(comment.get("text")),
        title=as_text(media.get("caption"))[:120],
        author_handle=as_text(comment.get("username")),
        created_at=graph_time(comment, "timestamp"),
        engagement=_counts({"likes": comment.get("like_count")}),
        conversation_id=as_text(media.get("id")) or None,
        parent_id=as_text(comment.get("parent_id")) or as_text(media.get("id")) or None,
    )


def _as_created(media: Item) -> Item:
    return media | {"created_time": media.get("timestamp")}


def _hashtag(raw: object) -> str:
    tag = raw.strip().lstrip("#").lower() if isinstance(raw, str) else ""
    if not tag or not tag.replace("_", "").isalnum():
        raise WatcherFieldError("options", f"{raw!r} is not a hashtag (letters, digits and _, no spaces or emoji)")
    return tag


def _flag(options: dict[str, Any], name: str) -> bool:
    value = options.get(name, True)
    if not isinstance(value, bool):
        raise WatcherFieldError("options", f"{name} must be true or false, got {value!r}")
    return value


def _counts(values: dict[str, object]) -> dict[str, int]:
    return {k: v for k, v in values.items() if isinstance(v, int) and not isinstance(v, bool) and v >= 0}


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
