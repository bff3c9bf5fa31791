"""Lemmy, on any instance: public posts and comments that contain the watcher's words, through the search API.

No account is needed. Lemmy's search is a case-insensitive substring match (`ILIKE '%word%'`, the words of a
search in order) with no OR, and it tells "é" from "e": each word or phrase of the query is one search, as typed
(`keyword_searches(as_typed=True)`), at most 5. One call with `type_=All` brings both posts and comments, newest first.

Lemmy 0.19 speaks API v3 (`q`, `sort=New`, `page`); Lemmy 1.0 speaks v4 (`search_term`, `page_cursor`, no sort:
posts come hottest first), and answers v3 only through a lossy bridge that ignores the sort and the page. The
instance's version is read once from `/nodeinfo/2.1` and the matching API is used.

An instance allows each address 60 searches per 10 minutes by default, and 0.19 says nothing in headers before
refusing: the searches of every watcher on one instance are counted here, against `options.search_limit`, so a
poll that would go past the limit waits for the next one instead of being refused.

Cursor, per search: the newest publication time seen and the posts and comments seen in the hour before it.
Federated content reaches the instance late with its original date, so each poll reads back that hour and
drops what it already returned. Items are keyed by their ActivityPub id (`ap_id`), the same on every instance.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import weakref
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx

from veilleur.core.mentions import Mention
from veilleur.core.text import one_line
from veilleur.core.watcher_config import WatcherConfig, WatcherFieldError
from watchers.base import (
    PollResult,
    SourceError,
    WatcherContext,
    as_count,
    as_text,
    as_utc,
    check_options,
    fetch_json,
    host_of,
    require_searches,
)

log = logging.getLogger(__name__)

PAGE_SIZE = 50  # the API's maximum
MAX_PAGES = 3  # per search and poll, if the search budget allows
SEARCH_WINDOW = 600.0  # seconds: the window of Lemmy's search rate limit
DEFAULT_SEARCH_LIMIT = 60  # searches per window and address: Lemmy's default
FEDERATION_LAG = timedelta(hours=1)
MAX_SEEN = 1000
MAX_THREAD_PAGES = 6  # 300 comments
OPTIONS = frozenset({"q", "search_limit"})
V3, V4 = "v3", "v4"
NOT_FOUND = frozenset({"couldnt_find_post", "not_found"})
EPOCH = datetime.min.replace(tzinfo=UTC)

View = dict[str, Any]


class SearchBudget:
    """The searches an instance allows one address in a sliding window, shared by every watcher polling it."""

    def __init__(self, limit: int, window: float = SEARCH_WINDOW) -> None:
        self.limit = limit
        self.window = window
        self._spent: deque[float] = deque()

    def take(self, count: int) -> float | None:
        """Spend `count` searches now; if the window cannot take them, spend none and give the seconds to wait."""
        now = time.monotonic()
        while self._spent and self._spent[0] <= now - self.window:
            self._spent.popleft()
        over = len(self._spent) + count - self.limit
        if over > 0:
            return self._spent[min(over, len(self._spent)) - 1] + self.window - now if self._spent else self.window
        self._spent.extend([now] * count)
        return None


@dataclass
class _Instance:
    """What the watchers of one instance share: its search budget and, once read, its API version."""

    budget: SearchBudget
    version: str | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


# By HTTP client (one per running app), then by instance address.
_INSTANCES: weakref.WeakKeyDictionary[httpx.AsyncClient, dict[str, _Instance]] = weakref.WeakKeyDictionary()


def shared_instance(context: WatcherContext, base_url: str, search_limit: int) -> _Instance:
    instances = _INSTANCES.setdefault(context.http, {})
    instance = instances.get(base_url)
    if instance is None:
        instance = instances[base_url] = _Instance(SearchBudget(search_limit))
    # Watchers asking for different limits on one instance share the strictest.
    instance.budget.limit = min(instance.budget.limit, search_limit)
    return instance


@dataclass(frozen=True)
class _SearchState:
    """Where one search stands: the newest publication time seen, what was seen in the hour before it, and the
    time back to which the last poll read everything (`complete`; older items it did not read are not new)."""

    since: datetime | None = None
    seen: frozenset[str] = frozenset()
    complete: datetime | None = None

    @classmethod
    def load(cls, raw: object) -> _SearchState:
        if not isinstance(raw, dict):
            return cls()
        seen = raw.get("seen")
        ids = frozenset(item for item in seen if isinstance(item, str)) if isinstance(seen, list) else frozenset()
        return cls(as_utc(raw.get("since")), ids, as_utc(raw.get("complete")))

    def is_new(self, mention: Mention) -> bool:
        if self.since is None:
            return True
        if mention.external_id in self.seen:
            return False
        threshold = max(self.since - FEDERATION_LAG, self.complete or EPOCH)
        return mention.created_at is None or mention.created_at >= threshold

    def advance(self, found: list[Mention], complete: datetime | None) -> _SearchState:
        times = [mention.created_at for mention in found if mention.created_at is not None]
        since = max([*times, *([self.since] if self.since else [])], default=None)
        if since is None:
            return self
        recent = sorted(m.external_id for m in found if m.created_at and m.created_at >= since - FEDERATION_LAG)
        return _SearchState(since, frozenset(recent[:MAX_SEEN]), complete)

    def dump(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "seen": sorted(self.seen),
            "complete": self.complete.isoformat() if self.complete else None,
        }


class LemmyWatcher:
    def __init__(self, config: WatcherConfig, context: WatcherContext) -> None:
        if not config.base_url:
            raise WatcherFieldError(
                "base_url", 'a lemmy watcher needs the instance\'s address, e.g. base_url = "https://jlai.lu"'
            )
        check_options(config, OPTIONS)
        self.config = config
        self.context = context
        self.base_url = config.base_url.rstrip("/")
        # Substring search, accent-sensitive, no OR: each word or phrase as typed ("#" dropped: no hashtags).
        self.searches = require_searches(config, why="Lemmy search has no OR: one per word or phrase", as_typed=True)
        limit = _search_limit(config.options)
        if len(self.searches) > limit:
            message = f"the query makes {len(self.searches)} searches a poll, search_limit is {limit}"
            raise WatcherFieldError("options", message)
        self.instance = shared_instance(context, self.base_url, limit)

    async def poll(self, cursor: dict[str, Any]) -> PollResult:
        version = await self._version()
        previous = cursor.get("searches") if isinstance(cursor.get("searches"), dict) else {}
        self._spend(len(self.searches))
        states: dict[str, dict[str, Any]] = {}
        found: dict[str, Mention] = {}
        for search in self.searches:
            state = _SearchState.load(previous.get(search))
            mentions, complete = await self._search(version, search, state.since)
            states[search] = state.advance(mentions, complete).dump()
            if search not in previous and cursor:
                continue  # a search added since the last poll starts quietly, from now on
            for mention in filter(state.is_new, mentions):
                found.setdefault(mention.external_id, mention)
        return PollResult(list(found.values()), {"searches": states})

    def _spend(self, count: int) -> None:
        wait = self.instance.budget.take(count)
        if wait is not None:
            limit = self.instance.budget.limit
            raise SourceError(
                f"{host_of(self.base_url)} allows {limit} searches per 10 minutes per address and the Lemmy watchers "
                f"on it have used them; next try in {wait:.0f}s (poll less often, search fewer words, or raise "
                "options.search_limit if the instance allows more)",
                retry_after=wait,
            )

    async def _search(self, version: str, search: str, since: datetime | None) -> tuple[list[Mention], datetime]:
        """One search's posts and comments back to the hour before `since` (one page on a first poll), within the
        search budget, and the time back to which everything was read."""
        if version == V3:
            return await self._search_v3(search, since - FEDERATION_LAG if since is not None else None)
        # v4 sorts posts hottest first: a time range bounds the search instead, an hour on a first poll.
        floor = (since or datetime.now(UTC)) - FEDERATION_LAG
        url = f"{self.base_url}/api/v4/search"
        seconds = max(60, int((datetime.now(UTC) - floor).total_seconds()) + 1)
        params = {"search_term": search, "type_": "all", "listing_type": "all", "time_range_seconds": seconds}
        found: list[Mention] = []
        for page in range(MAX_PAGES):
            if page and not self._one_more_page():
                break
            body = await self._get(url, params | {"limit": PAGE_SIZE})
            found += self._mentions(body, "post", url) + self._mentions(body, "comment", url)
            next_page = body.get("next_page")
            # type all joins one cursor per kind, "none" where a kind has no more
            if not isinstance(next_page, str) or all(part in ("", "none") for part in next_page.split(",")):
                break
            params["page_cursor"] = next_page
        return found, floor

    async def _search_v3(self, search: str, floor: datetime | None) -> tuple[list[Mention], datetime]:
        url = f"{self.base_url}/api/v3/search"
        params = {"q": search, "type_": "All", "sort": "New", "listing_type": "All", "limit": PAGE_SIZE}
        found: list[Mention] = []
        complete = EPOCH
        for page in range(1, (MAX_PAGES if floor is not None else 1) + 1):
            if page > 1 and not self._one_more_page():
                break
            body = await self._get(url, params | {"page": page})
            pages = [self._mentions(body, kind, url) for kind in ("post", "comment")]
            found += pages[0] + pages[1]
            # Each kind is paged newest first: a full page may have older items after it.
            oldest = [min((m.created_at for m in kind if m.created_at), default=EPOCH) for kind in pages
                      if len(kind) >= PAGE_SIZE]
            complete = max(oldest, default=EPOCH)
            if floor is None or complete < floor:
                break
        return found, complete

    def _one_more_page(self) -> bool:
        if self.instance.budget.take(1) is None:
            return True
        log.info("watcher %s: Lemmy search budget spent; older pages left for now", self.config.name)
        return False

    def _mentions(self, body: dict[str, Any], kind: str, url: str) -> list[Mention]:
        views = body.get(f"{kind}s")
        if not isinstance(views, list):
            raise SourceError(f"{url} did not send search results (posts and comments); is it a Lemmy instance?")
        return [mention for view in views if isinstance(view, dict) and (mention := self._to_mention(view, kind))]

    async def _version(self) -> str:
        """v3 or v4, read once per instance from NodeInfo (a few hundred bytes, outside the API's rate limits)."""
        if self.instance.version is not None:
            return self.instance.version
        async with self.instance.lock:
            if self.instance.version is None:
                self.instance.version = await self._read_version()
        return self.instance.version

    async def _read_version(self) -> str:
        url = f"{self.base_url}/nodeinfo/2.1"
        try:
            _, body = await fetch_json(self.context, url)
        except SourceError as error:
            if error.status == 404:
                return V3  # an instance that hides NodeInfo: v3 is what every Lemmy still answers
            hint = f"{error} (is {self.base_url} a Lemmy instance?)"
            raise SourceError(hint, retry_after=error.retry_after, status=error.status) from None
        software = body.get("software") if isinstance(body, dict) else None
        version = as_text(software.get("version")) if isinstance(software, dict) else ""
        major = version.split(".", 1)[0]
        return V4 if major.isdigit() and int(major) >= 1 else V3

    async def _get(self, url: str, params: dict[str, Any]) -> dict[str, Any]:
        try:
            _, body = await fetch_json(self.context, url, params=params)
        except SourceError as error:
            raise self._explained(error) from None
        if not isinstance(body, dict):
            raise SourceError(f"{url} did not send a JSON object (is {self.base_url} a Lemmy instance?)")
        return body

    def _explained(self, error: SourceError) -> SourceError:
        """Lemmy's errors are `{"error": "snake_case_name"}`, with HTTP 400 even for its rate limit (0.19)."""
        host = host_of(self.base_url)
        if error.code == "rate_limit_error" or error.status == 429:
            wait = error.retry_after if error.retry_after is not None else SEARCH_WINDOW
            return SourceError(
                f"{host} rate-limited Veilleur's requests (its limits are per address; 60 searches per 10 minutes by "
                f"default): poll less often or search fewer words; next try in {wait:.0f}s",
                retry_after=wait, status=error.status, code=error.code,
            )
        if error.code in NOT_FOUND:
            return error
        if error.code is not None:
            return SourceError(
                f"{error}: the Lemmy instance refused the request ({error.code[:60]})",
                retry_after=error.retry_after, status=error.status, code=error.code,
            )
        if error.status == 404:
            return SourceError(
                f"{error}: no Lemmy API there; base_url must be the instance's address (Lemmy 0.19 or later)",
                status=error.status,
            )
        return error

    async def thread(self, mention: Mention) -> list[Mention]:
        """The post and its comments (newest first, up to 300), oldest first, each linked to its parent."""
        match = re.fullmatch(re.escape(self.base_url) + r"/post/(\d{1,18})", mention.conversation_id or "")
        if match is None:
            return [mention]
        version = await self._version()
        post_id = int(match[1])
        try:
            post_body = await self._get(f"{self.base_url}/api/{version}/post", {"id": post_id})
        except SourceError as error:
            if error.code in NOT_FOUND:
                return [mention]  # deleted since it was found
            raise
        views: list[tuple[View, str]] = []
        if isinstance(post_view := post_body.get("post_view"), dict):
            community = post_body.get("community_view")
            views.append((_with_subscribers(post_view, community), "post"))
        views.extend((view, "comment") for view in await self._comments(version, post_id))
        return self._thread_mentions(views, mention)

    async def _comments(self, version: str, post_id: int) -> list[View]:
        url = f"{self.base_url}/api/{version}/comment/list"
        params: dict[str, Any] = {"post_id": post_id, "sort": "New" if version == V3 else "new", "limit": PAGE_SIZE}
        comments: list[View] = []
        for page in range(1, MAX_THREAD_PAGES + 1):
            if version == V3:
                params["page"] = page
            body = await self._get(url, params)
            listed = body.get("comments" if version == V3 else "items")
            if not isinstance(listed, list):
                raise SourceError(f"{url} did not send a list of comments")
            comments.extend(view for view in listed if isinstance(view, dict))
            next_page = body.get("next_page")
            if len(listed) < PAGE_SIZE or (version == V4 and not isinstance(next_page, str)):
                break
            params["page_cursor"] = next_page
        return comments

    def _thread_mentions(self, views: list[tuple[View, str]], mention: Mention) -> list[Mention]:
        items = [(view, kind, item) for view, kind in views if (item := self._to_mention(view, kind))]
        ap_ids = {view[kind]["id"]: item.external_id for view, kind, item in items if kind == "comment"}
        post_ap_id = next((item.external_id for _, kind, item in items if kind == "post"), None)
        thread: dict[str, Mention] = {}
        for view, kind, item in items:
            if kind == "comment":
                parents = _path_ids(view["comment"].get("path"))[:-1]
                parent = ap_ids.get(parents[-1]) if parents else post_ap_id
                item = replace(item, parent_id=parent)
            thread.setdefault(item.external_id, item)
        thread.setdefault(mention.external_id, mention)
        return sorted(thread.values(), key=lambda item: item.created_at or EPOCH)

    def _to_mention(self, view: View, kind: str) -> Mention | None:
        """A post or comment view (v3 or v4 shape) as a mention; None for a deleted, removed or malformed one."""
        item = view.get(kind)
        if not isinstance(item, dict) or item.get("deleted") is True or item.get("removed") is True:
            return None
        ap_id, local_id = as_text(item.get("ap_id")), item.get("id")
        if not ap_id.startswith(("https://", "http://")) or as_count(local_id) is None:
            return None
        post = item if kind == "post" else view.get("post") if isinstance(view.get("post"), dict) else {}
        counts = view.get("counts") if isinstance(view.get("counts"), dict) else item  # v4 puts counts on the item
        community = view.get("community") if isinstance(view.get("community"), dict) else {}
        creator = view.get("creator") if isinstance(view.get("creator"), dict) else {}
        post_id = local_id if kind == "post" else as_count(item.get("post_id"))
        if kind == "post":
            text = as_text(item.get("body")) or as_text(item.get("url"))
            engagement = _engagement(score=counts.get("score"), comments=counts.get("comments"))
            parent_id = None
        else:
            text = as_text(item.get("content"))
            engagement = _engagement(score=counts.get("score"), replies=counts.get("child_count"))
            top_level = len(_path_ids(item.get("path"))) == 1
            parent_id = as_text(post.get("ap_id")) or None if top_level else None
        return Mention(
            source="lemmy",
            external_id=ap_id,
            url=ap_id,
            text=text,
            title=one_line(as_text(post.get("name"))),
            author_handle=_handle(creator),
            author_name=_author_name(creator, community),
            author_reach=as_count(community.get("subscribers")),
            created_at=as_utc(item.get("published") or item.get("published_at")),
            engagement=engagement,
            conversation_id=f"{self.base_url}/post/{post_id}" if post_id is not None else None,
            parent_id=parent_id,
        )


def _search_limit(options: dict[str, Any]) -> int:
    value = options.get("search_limit", DEFAULT_SEARCH_LIMIT)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 10_000:
        raise WatcherFieldError(
            "options", f"search_limit must be the searches the instance allows per 10 minutes (e.g. 60), got {value!r}"
        )
    return value


def _with_subscribers(post_view: View, community_view: object) -> View:
    """v3's `/post` gives the community's subscribers beside the post, in `community_view.counts`."""
    counts = community_view.get("counts") if isinstance(community_view, dict) else None
    community = post_view.get("community")
    if not isinstance(counts, dict) or not isinstance(community, dict) or "subscribers" in community:
        return post_view
    return {**post_view, "community": {**community, "subscribers": counts.get("subscribers")}}


def _handle(person: dict[str, Any]) -> str:
    """`name@host`, the host taken from the person's ActivityPub id (v3 `actor_id`, v4 `ap_id`): the instance
    the account lives on, which may not be the one polled."""
    name = as_text(person.get("name"))
    host = urlsplit(as_text(person.get("actor_id")) or as_text(person.get("ap_id"))).hostname
    return f"{name}@{host}" if name and host else name


def _author_name(creator: dict[str, Any], community: dict[str, Any]) -> str:
    """The author's display name and the community it was posted in: "Riveraine · !exempleville@lemmy.example"."""
    name = as_text(creator.get("display_name")) or as_text(creator.get("name"))
    community_name = as_text(community.get("name"))
    host = urlsplit(as_text(community.get("actor_id")) or as_text(community.get("ap_id"))).hostname
    where = f"!{community_name}@{host}" if community_name and host else ""
    return " · ".join(part for part in (name, where) if part)


def _path_ids(path: object) -> list[int]:
    """The comment ids of a `path` ("0.998001.998002": a reply to 998001), the comment itself last."""
    if not isinstance(path, str):
        return []
    return [int(part) for part in path.split(".")[1:] if part.isdigit()]


def _engagement(**values: object) -> dict[str, int]:
    return {key: count for key, value in values.items() if (count := as_count(value)) is not None}

