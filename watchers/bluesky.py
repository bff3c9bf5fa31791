"""Bluesky: full-text post search (`app.bsky.feed.searchPosts`) through the PDS, logged in with an app password.

Bluesky has answered search only to logged-in callers since January 2025. The watcher logs in once with
`com.atproto.server.createSession` (BLUESKY_HANDLE, BLUESKY_APP_PASSWORD) and keeps the session: it is shared by every
Bluesky watcher of the same PDS and account on the same HTTP client, refreshed with
`com.atproto.server.refreshSession` when the access token expires, and created again only if that fails, because a
PDS allows 30 logins per 5 minutes and 300 a day per account. Search, profiles and threads all go to `base_url`
(default https://bsky.social), which proxies them to the Bluesky AppView.

Bluesky search has no OR, so each word or phrase of the watcher's query is one search (or each item of `options.q`,
in Bluesky's search syntax). Cursor, per search: the newest post time seen, and the posts seen in the few minutes
before it. The next poll asks `since` a few minutes earlier, because posts reach the index a little late, and
drops the posts it has already returned.
"""

from __future__ import annotations

import asyncio
import logging
import re
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from veilleur.core.i18n import Phrase
from veilleur.core.mentions import Mention
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
    require_searches,
)

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://bsky.social"
HANDLE_ENV = "BLUESKY_HANDLE"
PASSWORD_ENV = "BLUESKY_APP_PASSWORD"
APP_PASSWORD_HINT = "use an app password: Bluesky Settings > Privacy and security > App passwords"
PAGE_SIZE = 100  # the API's maximum
MAX_PAGES = 3  # per search and poll
PROFILES_BATCH = 25  # getProfiles takes at most 25 actors
INDEXING_LAG = timedelta(minutes=5)
MAX_SEEN = 500
THREAD_DEPTH = 10
THREAD_PARENT_HEIGHT = 40
MAX_THREAD_POSTS = 200
OPTIONS = frozenset({"q", "lang"})
LANG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
POST_URI = re.compile(r"^at://(did:[a-z]+:[A-Za-z0-9._:%-]{1,256})/app\.bsky\.feed\.post/([A-Za-z0-9._~:-]{1,512})$")
HANDLE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
ERROR_CODE = re.compile(r"^[A-Za-z]{1,64}$")
SESSION_EXPIRED = frozenset({"ExpiredToken", "InvalidToken"})
EPOCH = datetime.min.replace(tzinfo=UTC)

Post = dict[str, Any]


@dataclass
class _Tokens:
    access: str = field(repr=False)
    refresh: str = field(repr=False)


class BlueskySession:
    """A login on one PDS, used by every watcher of that account there: one `createSession`, then refreshes.

    Each call takes the caller's context instead of keeping one: the session cache is weakly keyed by its client.
    """

    def __init__(self, base_url: str, handle: str, password: str) -> None:
        self.base_url = base_url
        self.handle = handle
        self._password = password
        self._tokens: _Tokens | None = None
        self._lock = asyncio.Lock()  # watchers poll concurrently: one login, one refresh at a time

    def uses(self, password: str) -> bool:
        return password == self._password

    async def access_token(self, context: WatcherContext) -> str:
        async with self._lock:
            if self._tokens is None:
                self._tokens = await self._create(context)
            return self._tokens.access

    async def renew(self, context: WatcherContext, refused: str) -> str:
        """A new access token after `refused` expired; if another watcher renewed it meanwhile, that one."""
        async with self._lock:
            if self._tokens is not None and self._tokens.access != refused:
                return self._tokens.access
            refreshed = await self._refresh(context, self._tokens) if self._tokens is not None else None
            self._tokens = refreshed or await self._create(context)
            return self._tokens.access

    async def _create(self, context: WatcherContext) -> _Tokens:
        url = f"{self.base_url}/xrpc/com.atproto.server.createSession"
        login = {"identifier": self.handle, "password": self._password}
        try:
            _, body = await fetch_json(context, url, method="POST", json_body=login)
        except SourceError as error:
            if error.status not in (400, 401, 403):
                raise
            raise SourceError(
                Phrase.of("error.bluesky.login", url=self.base_url, code=_code_note(error), handle_env=HANDLE_ENV,
                          password_env=PASSWORD_ENV),
                status=error.status,
                code=error.code,
            ) from None
        return _session_tokens(body, url)

    async def _refresh(self, context: WatcherContext, tokens: _Tokens) -> _Tokens | None:
        """New tokens from the refresh token, or None when it is refused too (expired, revoked): log in again."""
        url = f"{self.base_url}/xrpc/com.atproto.server.refreshSession"
        try:
            _, body = await fetch_json(
                context, url, method="POST", headers={"Authorization": f"Bearer {tokens.refresh}"}
            )
        except SourceError as error:
            if error.retry_after is not None:
                raise
            return None
        return _session_tokens(body, url)


# Sessions by HTTP client (one per running app), then by (PDS, handle): watchers built with the same context share.
_SESSIONS: weakref.WeakKeyDictionary[httpx.AsyncClient, dict[tuple[str, str], BlueskySession]] = (
    weakref.WeakKeyDictionary()
)


def shared_session(context: WatcherContext, base_url: str, handle: str, password: str) -> BlueskySession:
    sessions = _SESSIONS.setdefault(context.http, {})
    key = (base_url, handle.lower())
    session = sessions.get(key)
    if session is None or not session.uses(password):
        session = sessions[key] = BlueskySession(base_url, handle, password)
    return session


@dataclass(frozen=True)
class _SearchState:
    """Where one search stands: the newest post time seen, and the posts seen shortly before it."""

    since: datetime | None = None
    seen: frozenset[str] = frozenset()

    @classmethod
    def load(cls, raw: Any) -> _SearchState:
        if not isinstance(raw, dict):
            return cls()
        seen = raw.get("seen")
        uris = frozenset(uri for uri in seen if isinstance(uri, str)) if isinstance(seen, list) else frozenset()
        return cls(as_utc(raw.get("since")), uris)

    def advance(self, found: list[Post]) -> _SearchState:
        times = {post["uri"]: _sort_time(post) for post in found}
        newest = max((moment for moment in times.values() if moment is not None), default=None)
        known = [moment for moment in (self.since, newest) if moment is not None]
        since = max(known) if known else None
        recent = [
            uri for uri, moment in times.items() if since is None or moment is None or moment >= since - INDEXING_LAG
        ]
        return _SearchState(since, frozenset(recent[:MAX_SEEN]))

    def dump(self) -> dict[str, Any]:
        return {"since": _iso(self.since) if self.since else None, "seen": sorted(self.seen)}


class BlueskyWatcher:
    def __init__(self, config: WatcherConfig, context: WatcherContext) -> None:
        options = config.options
        check_options(config, OPTIONS)
        searches = require_searches(config, why="Bluesky search has no OR: one per word or phrase")
        lang = options.get("lang")
        if lang is not None and (not isinstance(lang, str) or not LANG.match(lang)):
            raise WatcherFieldError("options", f"lang must be a language code such as 'fr', got {lang!r}")
        handle = context.env.get(HANDLE_ENV, "").strip().lstrip("@")
        password = context.env.get(PASSWORD_ENV, "").strip()
        if not handle or not password:
            raise WatcherFieldError(
                "options",
                f"Bluesky search needs a logged-in account: set {HANDLE_ENV} and {PASSWORD_ENV} in the environment "
                f"({APP_PASSWORD_HINT})",
            )
        self.config = config
        self.context = context
        self.base_url = (config.base_url or DEFAULT_BASE_URL).rstrip("/")
        self.searches = searches
        self.lang = lang
        self.session = shared_session(context, self.base_url, handle, password)

    async def poll(self, cursor: dict[str, Any]) -> PollResult:
        previous = cursor.get("searches") if isinstance(cursor.get("searches"), dict) else {}
        states: dict[str, dict[str, Any]] = {}
        posts: dict[str, Post] = {}
        for search in self.searches:
            state = _SearchState.load(previous.get(search))
            found = await self._search(search, state.since)
            states[search] = state.advance(found).dump()
            if search not in previous and cursor:
                continue  # a search added since the last poll starts quietly, from now on
            for post in found:
                if post["uri"] not in state.seen:
                    posts.setdefault(post["uri"], post)
        followers = await self._followers(_author_dids(posts.values()))
        mentions = [mention for post in posts.values() if (mention := post_to_mention(post, followers))]
        return PollResult(mentions, {"searches": states})

    async def _search(self, search: str, since: datetime | None) -> list[Post]:
        """Posts of one search, newest first: one page on the first poll, a few pages from `since` after that."""
        params: dict[str, Any] = {"q": search, "sort": "latest", "limit": PAGE_SIZE}
        if self.lang:
            params["lang"] = self.lang
        if since is not None:
            params["since"] = _iso(since - INDEXING_LAG)
        found: list[Post] = []
        for _ in range(MAX_PAGES if since is not None else 1):
            body = await self._xrpc("app.bsky.feed.searchPosts", params)
            page = _posts(body.get("posts"), "app.bsky.feed.searchPosts")
            found.extend(page)
            next_page = body.get("cursor")
            if not page or not isinstance(next_page, str) or not next_page:
                break
            params["cursor"] = next_page
        return found

    async def _followers(self, dids: list[str]) -> dict[str, int]:
        """Follower counts, 25 authors per call. Best effort: without them a mention is still worth posting."""
        counts: dict[str, int] = {}
        for start in range(0, len(dids), PROFILES_BATCH):
            try:
                body = await self._xrpc("app.bsky.actor.getProfiles", {"actors": dids[start : start + PROFILES_BATCH]})
            except SourceError as error:
                log.warning("watcher %s: no Bluesky follower counts this time: %s", self.config.name, error)
                break
            profiles = body.get("profiles")
            for profile in profiles if isinstance(profiles, list) else []:
                if not isinstance(profile, dict):
                    continue
                did, count = profile.get("did"), as_count(profile.get("followersCount"))
                if isinstance(did, str) and count is not None:
                    counts[did] = count
        return counts

    async def thread(self, mention: Mention) -> list[Mention]:
        """The whole conversation, fetched from its root post; from the post itself if the root is gone or far."""
        if not POST_URI.match(mention.external_id):
            return [mention]
        root = mention.conversation_id or mention.external_id
        root = root if POST_URI.match(root) else mention.external_id
        posts = await self._thread_posts(root)
        if mention.external_id not in posts and root != mention.external_id:
            posts.update(await self._thread_posts(mention.external_id))
        if not posts:
            return [mention]
        followers = await self._followers(_author_dids(posts.values()))
        thread = [item for post in posts.values() if (item := post_to_mention(post, followers))]
        if mention.external_id not in posts:  # deleted since, or beyond the depth fetched
            thread.append(mention)
        return sorted(thread, key=lambda item: item.created_at or EPOCH)[:MAX_THREAD_POSTS]

    async def _thread_posts(self, uri: str) -> dict[str, Post]:
        params = {"uri": uri, "depth": THREAD_DEPTH, "parentHeight": THREAD_PARENT_HEIGHT}
        try:
            body = await self._xrpc("app.bsky.feed.getPostThread", params)
        except SourceError as error:
            if error.code == "NotFound":
                return {}
            raise
        return thread_posts(body.get("thread"))

    async def _xrpc(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """GET an XRPC method with the session; an expired access token is renewed once and the call retried."""
        url = f"{self.base_url}/xrpc/{method}"
        token = await self.session.access_token(self.context)
        try:
            return await self._get(url, params, token)
        except SourceError as error:
            if error.code not in SESSION_EXPIRED:
                raise _explained(error) from None
        token = await self.session.renew(self.context, token)
        try:
            return await self._get(url, params, token)
        except SourceError as error:
            raise _explained(error) from None

    async def _get(self, url: str, params: dict[str, Any], token: str) -> dict[str, Any]:
        _, body = await fetch_json(self.context, url, params=params, headers={"Authorization": f"Bearer {token}"})
        if not isinstance(body, dict):
            raise SourceError(f"{url} did not send a JSON object")
        return body


def post_to_mention(post: Post, followers: dict[str, int]) -> Mention | None:
    """A `postView` as a `Mention`; None for anything that is not a post record."""
    match = POST_URI.match(str(post.get("uri", "")))
    if match is None:
        return None
    did, rkey = match[1], match[2]
    author = post.get("author") if isinstance(post.get("author"), dict) else {}
    record = post.get("record") if isinstance(post.get("record"), dict) else {}
    handle = as_text(author.get("handle"))
    handle = handle if HANDLE.match(handle) and handle != "handle.invalid" else ""
    reply = record.get("reply") if isinstance(record.get("reply"), dict) else {}
    langs = record.get("langs")
    return Mention(
        source="bluesky",
        external_id=match[0],
        url=f"https://bsky.app/profile/{handle or did}/post/{rkey}",
        text=as_text(record.get("text")),
        author_handle=handle or did,
        author_name=as_text(author.get("displayName")),
        author_reach=followers.get(did),
        created_at=as_utc(record.get("createdAt")) or as_utc(post.get("indexedAt")),
        lang=(as_text(langs[0]) or None) if isinstance(langs, list) and langs else None,
        engagement=_engagement(post),
        conversation_id=_ref_uri(reply.get("root")) or match[0],
        parent_id=_ref_uri(reply.get("parent")),
    )


def thread_posts(top: Any) -> dict[str, Post]:
    """The posts of a `threadViewPost` tree, by URI: its parents, itself and its replies (missing or blocked
    posts are left out). Walked with a stack and capped, so a deep or huge tree costs bounded work."""
    posts: dict[str, Post] = {}
    parent = top.get("parent") if isinstance(top, dict) else None
    while isinstance(parent, dict) and len(posts) < MAX_THREAD_POSTS:
        _add_post(posts, parent.get("post"))
        parent = parent.get("parent")
    stack = [top]
    while stack and len(posts) < MAX_THREAD_POSTS:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        _add_post(posts, node.get("post"))
        replies = node.get("replies")
        if isinstance(replies, list):
            stack.extend(reversed(replies))
    return posts


def _add_post(posts: dict[str, Post], post: Any) -> None:
    if isinstance(post, dict) and isinstance(post.get("uri"), str):
        posts.setdefault(post["uri"], post)


def _posts(value: Any, method: str) -> list[Post]:
    if not isinstance(value, list):
        raise SourceError(f"{method} did not send a list of posts")
    return [post for post in value if isinstance(post, dict) and isinstance(post.get("uri"), str)]


def _author_dids(posts: Iterable[Post]) -> list[str]:
    dids = (POST_URI.match(post["uri"]) for post in posts)
    return list(dict.fromkeys(match[1] for match in dids if match is not None))


def _engagement(post: Post) -> dict[str, int]:
    fields = {"likes": "likeCount", "reposts": "repostCount", "replies": "replyCount", "quotes": "quoteCount"}
    counts = {key: as_count(post.get(field)) for key, field in fields.items()}
    return {key: value for key, value in counts.items() if value is not None}


def _sort_time(post: Post) -> datetime | None:
    """When search files the post (`sortAt`): the earlier of its claimed creation time and its indexing time."""
    record = post.get("record") if isinstance(post.get("record"), dict) else {}
    candidates = (as_utc(record.get("createdAt")), as_utc(post.get("indexedAt")))
    times = [moment for moment in candidates if moment is not None]
    return min(times, default=None)


def _session_tokens(body: Any, url: str) -> _Tokens:
    access = body.get("accessJwt") if isinstance(body, dict) else None
    refresh = body.get("refreshJwt") if isinstance(body, dict) else None
    if not isinstance(access, str) or not access or not isinstance(refresh, str) or not refresh:
        raise SourceError(f"{url} did not send a session")
    return _Tokens(access, refresh)


def _explained(error: SourceError) -> SourceError:
    """`error` with what to check: the credentials on 401/403, the API's error name otherwise."""
    code = _code_note(error)
    if error.status in (401, 403):
        explained = Phrase.of("error.bluesky.credentials", error=error.phrase, code=code, handle_env=HANDLE_ENV,
                              password_env=PASSWORD_ENV)
    else:
        explained = Phrase.of("error.with_code", error=error.phrase, code=code)
    return SourceError(explained, retry_after=error.retry_after, status=error.status, code=error.code)


def _code_note(error: SourceError) -> str:
    return f" [{error.code}]" if error.code and ERROR_CODE.match(error.code) else ""


def _ref_uri(ref: Any) -> str | None:
    uri = ref.get("uri") if isinstance(ref, dict) else None
    return uri if isinstance(uri, str) and uri.startswith("at://") else None





def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
