"""Discourse forums through their search API: new posts that contain the watcher's words, on any forum.

Discourse search ANDs the words of a search and has no OR, so each word or phrase of the watcher's query is one
search (`keyword_searches`), sorted by date and limited with `after:` to the day before the newest post seen.
Post ids grow with time on a forum, so the cursor keeps the highest one seen: anything above it is new. Full-page
search groups results by topic (one post per topic, the latest that matches); the thread fills in the rest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from veilleur.core.i18n import Phrase
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

DEFAULT_KEY_ENV = "DISCOURSE_API_KEY"
DEFAULT_USERNAME_ENV = "DISCOURSE_API_USERNAME"
MAX_PAGES = 3  # per search and poll; a search page holds 50 posts
POSTS_PER_CALL = 20  # ids per /t/{id}/posts.json call, Discourse's own chunk size
MAX_EXTRA_POSTS = 80  # beyond the first 20 that /t/{id}.json gives: a thread holds at most 100 posts
OPTIONS = frozenset({"q", "api_key_env", "api_username_env"})
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
POST_ID = re.compile(r"/p/(\d+)$")
SLUG = re.compile(r"^[\w-]+$")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TOPIC_ID = re.compile(r"/t/(?:[^/]+/)?(\d+)(?:/\d+)?/?$")


class DiscourseWatcher:
    def __init__(self, config: WatcherConfig, context: WatcherContext) -> None:
        if not config.base_url:
            raise WatcherFieldError(
                "base_url",
                'a discourse watcher needs the forum\'s address, e.g. base_url = "https://forum.example.org"',
            )
        check_options(config, OPTIONS)
        searches = require_searches(config)
        self.config = config
        self.context = context
        self.base_url = config.base_url.rstrip("/")
        self.searches = searches
        self.key_env = _env_name(config.options, "api_key_env", DEFAULT_KEY_ENV)
        self.username_env = _env_name(config.options, "api_username_env", DEFAULT_USERNAME_ENV)
        self.headers = self._auth_headers(config.options, context.env)

    def _auth_headers(self, options: dict[str, Any], env: Mapping[str, str]) -> dict[str, str]:
        """Api-Key/Api-Username when set: public forums need none, login-required ones do."""
        key = env.get(self.key_env, "").strip()
        username = env.get(self.username_env, "").strip()
        if "api_key_env" in options and not key:
            raise WatcherFieldError("options", f"api_key_env names {self.key_env}, which is not set in the environment")
        headers = {"Accept": "application/json"}
        if key:
            headers["Api-Key"] = key
        if username:
            headers["Api-Username"] = username
        return headers

    async def poll(self, cursor: dict[str, Any]) -> PollResult:
        last_id = _int(cursor.get("last_id"))
        after = cursor.get("after") if last_id is not None and DAY.match(str(cursor.get("after"))) else None
        found: dict[int, Mention] = {}
        for search in self.searches:
            q = f"{search} order:latest" + (f" after:{after}" if after else "")
            for post_id, mention in await self._search(q, last_id):
                found.setdefault(post_id, mention)
        return PollResult(list(found.values()), self._next_cursor(cursor, last_id, found))

    async def _search(self, q: str, last_id: int | None) -> list[tuple[int, Mention]]:
        """Posts of one search above `last_id`, newest first: one page on the first poll, a few after that."""
        url = f"{self.base_url}/search.json"
        results: list[tuple[int, Mention]] = []
        for page in range(1, (MAX_PAGES if last_id is not None else 1) + 1):
            body = await self._get(url, {"q": q, "page": page})
            if not isinstance(body, dict):
                raise SourceError(f"{url} did not send search results")
            posts = [post for post in _list(body.get("posts")) if _int(post.get("id")) is not None]
            topics = {topic_id: topic for topic in _list(body.get("topics")) if (topic_id := _int(topic.get("id")))}
            fresh = [post for post in posts if last_id is None or post["id"] > last_id]
            for post in fresh:
                results.append((post["id"], self._post_to_mention(post, topics.get(_int(post.get("topic_id"))))))
            if last_id is None or len(fresh) < len(posts) or not posts or not _has_more(body):
                break
        return results

    def _next_cursor(self, cursor: dict[str, Any], last_id: int | None, found: dict[int, Mention]) -> dict[str, Any]:
        if not found:
            return cursor if last_id is not None else {"last_id": 0}
        dates = [mention.created_at for mention in found.values() if mention.created_at is not None]
        # The day before the newest post: `after:` is read in the forum's time zone, and posts can be indexed late.
        after = (max(dates) - timedelta(days=1)).strftime("%Y-%m-%d") if dates else cursor.get("after")
        return {"last_id": max(found)} | ({"after": after} if after else {})

    async def thread(self, mention: Mention) -> list[Mention]:
        """The topic's posts: the first 20, then those around the mention, linked through `reply_to_post_number`."""
        topic_id = _topic_id(mention)
        if topic_id is None:
            return [mention]
        topic_url = f"{self.base_url}/t/{topic_id}.json"
        body = await self._get(topic_url, None)
        stream_data = body.get("post_stream") if isinstance(body, dict) else None
        if not isinstance(stream_data, dict):
            raise SourceError(f"{topic_url} did not send a topic")
        posts = {post["id"]: post for post in _list(stream_data.get("posts")) if _int(post.get("id")) is not None}
        missing = [post_id for post_id in _list_of_ints(stream_data.get("stream")) if post_id not in posts]
        wanted = posts_to_fetch(missing, _post_id(mention))
        for start in range(0, len(wanted), POSTS_PER_CALL):
            chunk = wanted[start : start + POSTS_PER_CALL]
            more = await self._get(f"{self.base_url}/t/{topic_id}/posts.json", {"post_ids[]": chunk})
            more_stream = more.get("post_stream") if isinstance(more, dict) else None
            for post in _list(more_stream.get("posts") if isinstance(more_stream, dict) else None):
                if _int(post.get("id")) is not None:
                    posts.setdefault(post["id"], post)
        topic = {"id": topic_id, "title": body.get("title"), "slug": body.get("slug")}
        mentions = self._link_replies(list(posts.values()), topic)
        if all(item.external_id != mention.external_id for item in mentions):
            mentions.append(mention)
        return sorted(mentions, key=lambda item: item.created_at or datetime.min.replace(tzinfo=UTC))

    def _link_replies(self, posts: list[dict[str, Any]], topic: dict[str, Any]) -> list[Mention]:
        """Mentions of a topic's posts; a post that replies to no one in particular answers the first post."""
        by_number = {number: post["id"] for post in posts if (number := _int(post.get("post_number")))}
        mentions = []
        for post in posts:
            number = _int(post.get("post_number"))
            replied = _int(post.get("reply_to_post_number")) or (1 if number and number > 1 else None)
            parent = by_number.get(replied) if replied else None
            parent_id = self._external_id(parent) if parent and parent != post["id"] else None
            mentions.append(self._post_to_mention(post, topic, parent_id))
        return mentions

    def _post_to_mention(
        self, post: dict[str, Any], topic: dict[str, Any] | None, parent_id: str | None = None
    ) -> Mention:
        topic = topic or {}
        topic_id = _int(post.get("topic_id")) or _int(topic.get("id"))
        number = _int(post.get("post_number")) or 1
        slug = as_text(topic.get("slug")) or as_text(post.get("topic_slug"))
        title = as_text(topic.get("title")) or html_to_text(as_text(topic.get("fancy_title")))
        cooked = as_text(post.get("cooked"))
        return Mention(
            source="discourse",
            external_id=self._external_id(post["id"]),
            url=self._post_url(topic_id, slug, number) if topic_id else self._external_id(post["id"]),
            text=html_to_text(cooked or as_text(post.get("blurb"))),
            title=one_line(title),
            author_handle=as_text(post.get("username")),
            author_name=as_text(post.get("name")),
            created_at=_datetime(post.get("created_at")),
            engagement=_engagement(post),
            conversation_id=f"{self.base_url}/t/{topic_id}" if topic_id else None,
            parent_id=parent_id,
        )

    def _external_id(self, post_id: int) -> str:
        """The forum's short link to the post: unique across forums, and it stays valid if the post moves."""
        return f"{self.base_url}/p/{post_id}"

    def _post_url(self, topic_id: int, slug: str, post_number: int) -> str:
        if SLUG.match(slug):
            return f"{self.base_url}/t/{slug}/{topic_id}/{post_number}"
        return f"{self.base_url}/t/{topic_id}/{post_number}"

    async def _get(self, url: str, params: dict[str, Any] | None) -> Any:
        try:
            _, body = await fetch_json(self.context, url, params=params, headers=self.headers)
        except SourceError as error:
            if error.status in (401, 403):
                raise SourceError(
                    Phrase.of("error.discourse.refused", error=error.phrase, key_env=self.key_env,
                              user_env=self.username_env),
                    retry_after=error.retry_after,
                    status=error.status,
                ) from None
            raise
        return body


def posts_to_fetch(missing: list[int], mention_post: int | None) -> list[int]:
    """Which of the posts not yet loaded to fetch: all of them if the budget allows, else a window that starts a
    little before the mention (its context) and runs on after it (its replies)."""
    if len(missing) <= MAX_EXTRA_POSTS:
        return missing
    if mention_post not in missing:
        return missing[:MAX_EXTRA_POSTS]
    start = max(0, min(missing.index(mention_post) - MAX_EXTRA_POSTS // 4, len(missing) - MAX_EXTRA_POSTS))
    return missing[start : start + MAX_EXTRA_POSTS]


def _engagement(post: dict[str, Any]) -> dict[str, int]:
    """Likes (`like_count` in search results, action 2 of `actions_summary` in topics) and replies."""
    likes = _int(post.get("like_count"))
    if likes is None:
        actions = _list(post.get("actions_summary"))
        likes = next((_int(action.get("count")) for action in actions if action.get("id") == 2), None)
    pairs = (("likes", likes), ("replies", _int(post.get("reply_count"))))
    return {key: value for key, value in pairs if value is not None}


def _topic_id(mention: Mention) -> int | None:
    for candidate in (mention.conversation_id, mention.url):
        match = TOPIC_ID.search(candidate or "")
        if match:
            return int(match[1])
    return None


def _post_id(mention: Mention) -> int | None:
    match = POST_ID.search(mention.external_id)
    return int(match[1]) if match else None


def _has_more(body: dict[str, Any]) -> bool:
    grouped = body.get("grouped_search_result")
    return isinstance(grouped, dict) and bool(grouped.get("more_full_page_results") or grouped.get("more_posts"))


def _env_name(options: dict[str, Any], key: str, default: str) -> str:
    value = options.get(key, default)
    if not isinstance(value, str) or not ENV_NAME.match(value):
        raise WatcherFieldError("options", f"{key} must name an environment variable, got {value!r}")
    return value


def _datetime(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _list(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _list_of_ints(value: object) -> list[int]:
    return [item for item in value if _int(item) is not None] if isinstance(value, list) else []


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None

