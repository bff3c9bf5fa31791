"""Reddit through its OAuth API: keyword search of posts, and new posts or new comments in chosen subreddits.

Reddit requires OAuth. An app-only token (client credentials grant) is fetched once per app and shared by every
Reddit watcher until shortly before it expires. Listings are read newest first. Reddit's `before=` cursor breaks
when its anchor post is deleted, so each listing's cursor keeps instead the fullnames of the newest page read and
the oldest `created_utc` among them: an item is new when it is not one of them and is not older than that.
"""

from __future__ import annotations

import asyncio
import base64
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from veilleur.core.i18n import Phrase
from veilleur.core.mentions import Mention
from veilleur.core.text import one_line
from veilleur.core.watcher_config import WatcherConfig, WatcherFieldError
from watchers.base import (
    PollResult,
    SourceError,
    WatcherContext,
    as_text,
    check_options,
    fetch_json,
    keyword_searches,
)

DEFAULT_API_URL = "https://oauth.reddit.com"
DEFAULT_AUTH_URL = "https://www.reddit.com"
WEB_URL = "https://www.reddit.com"
VERSION = "0.1"
PAGE_SIZE = 100
MAX_PAGES = 3  # per listing and poll
MAX_SUBREDDITS = 50
MAX_QUERY_CHARS = 512  # Reddit's limit on q
THREAD_LIMIT = 200
MORE_CHILDREN_CALLS = 2  # hidden comments ("load more") fetched per thread, 100 ids a call
MORE_CHILDREN_BATCH = 100
TOKEN_MARGIN = 60.0  # renew a token this many seconds before Reddit says it expires
OPTIONS = frozenset({"q", "search", "subreddits", "comments", "auth_url"})
SUBREDDIT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]{1,20}$")
BASE36 = re.compile(r"^[a-z0-9]{1,16}$")
ARTICLE_IN_URL = re.compile(r"/comments/([a-z0-9]{1,16})(?:/|$)")


@dataclass
class _Token:
    value: str = ""
    expires_at: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def is_fresh(self) -> bool:
        return bool(self.value) and time.monotonic() < self.expires_at

    def forget(self, value: str) -> None:
        if self.value == value:
            self.value, self.expires_at = "", 0.0


# One token per app (and token endpoint), shared by every Reddit watcher of the process.
_TOKENS: dict[tuple[str, str], _Token] = {}


@dataclass(frozen=True)
class Listing:
    key: str  # names the listing in the cursor: a changed search or subreddit list starts a new position
    path: str
    params: dict[str, str]


@dataclass(frozen=True)
class ListingPosition:
    floor: float
    seen: frozenset[str]

    @classmethod
    def load(cls, raw: object) -> ListingPosition | None:
        if not isinstance(raw, dict) or not isinstance(raw.get("floor"), int | float):
            return None
        seen = raw.get("seen")
        names = frozenset(name for name in seen if isinstance(name, str)) if isinstance(seen, list) else frozenset()
        return cls(float(raw["floor"]), names)

    @classmethod
    def of_page(cls, things: list[dict[str, Any]]) -> ListingPosition | None:
        if not things:
            return None
        times = [stamp for thing in things if (stamp := _created_utc(thing)) is not None]
        return cls(min(times, default=0.0), frozenset(thing["name"] for thing in things))

    def is_new(self, thing: dict[str, Any]) -> bool:
        stamp = _created_utc(thing)
        return thing["name"] not in self.seen and stamp is not None and stamp >= self.floor

    def dump(self) -> dict[str, Any]:
        return {"floor": self.floor, "seen": sorted(self.seen)}


class RedditWatcher:
    def __init__(self, config: WatcherConfig, context: WatcherContext) -> None:
        check_options(config, OPTIONS)
        client_id = context.env.get("REDDIT_CLIENT_ID", "").strip()
        secret = context.env.get("REDDIT_CLIENT_SECRET", "").strip()
        if not client_id or not secret:
            raise WatcherFieldError(
                "source",
                "reddit needs REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET in the environment "
                "(the id and secret of a Reddit app with API access)",
            )
        self.config = config
        self.context = context
        self.api_url = (config.base_url or DEFAULT_API_URL).rstrip("/")
        self.token_url = auth_url(config) + "/api/v1/access_token"
        self.user_agent = context.env.get("REDDIT_USER_AGENT", "").strip() or default_user_agent(
            client_id, context.env.get("REDDIT_USERNAME", "").strip()
        )
        self.listings = listings_for(config)
        self._basic = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        self._token = _TOKENS.setdefault((self.token_url, client_id), _Token())

    async def poll(self, cursor: dict[str, Any]) -> PollResult:
        """New items of every listing; a listing added to a running watcher starts quietly, from its newest page."""
        positions = cursor.get("listings") if isinstance(cursor.get("listings"), dict) else {}
        mentions: list[Mention] = []
        next_positions: dict[str, Any] = {}
        for listing in self.listings:
            position = ListingPosition.load(positions.get(listing.key))
            things, next_position = await self._read(listing, position)
            next_positions[listing.key] = next_position.dump()
            if position is not None or not cursor:
                mentions.extend(thing_to_mention(thing) for thing in things)
        return PollResult(mentions, {"listings": next_positions})

    async def _read(
        self, listing: Listing, position: ListingPosition | None
    ) -> tuple[list[dict[str, Any]], ListingPosition]:
        """The listing's items newer than `position` (its newest page when there is none yet), and where it ends."""
        fresh: list[dict[str, Any]] = []
        newest_page: list[dict[str, Any]] | None = None
        after: str | None = None
        for _ in range(MAX_PAGES if position is not None else 1):
            things, after = await self._page(listing, after)
            newest_page = things if newest_page is None else newest_page
            new_here = [thing for thing in things if position is None or position.is_new(thing)]
            fresh.extend(new_here)
            if position is None or len(new_here) < len(things) or not after:
                break
        next_position = ListingPosition.of_page(newest_page or []) or position or ListingPosition(0.0, frozenset())
        return fresh, next_position

    async def _page(self, listing: Listing, after: str | None) -> tuple[list[dict[str, Any]], str | None]:
        params = {**listing.params, "limit": str(PAGE_SIZE), "raw_json": "1"}
        if after:
            params["after"] = after
        body = await self._get(listing.path, params)
        data = body.get("data") if isinstance(body, dict) and body.get("kind") == "Listing" else None
        if not isinstance(data, dict):
            raise SourceError(f"{self.api_url}{listing.path} did not send a listing")
        next_after = data.get("after")
        return things_of(data.get("children")), next_after if isinstance(next_after, str) else None

    async def thread(self, mention: Mention) -> list[Mention]:
        """The post and its comments, oldest first. Reddit is asked for the newest comments, so a tree cut at
        `THREAD_LIMIT` keeps the recent ones; up to two batches of hidden ("load more") comments are expanded."""
        article = article_id(mention)
        if article is None:
            return [mention]
        path = f"/comments/{article}"
        body = await self._get(path, {"sort": "new", "limit": str(THREAD_LIMIT), "raw_json": "1"})
        if not isinstance(body, list) or len(body) < 2:
            raise SourceError(f"{self.api_url}{path} did not send a post and its comments")
        things, hidden = flatten_comment_tree(body)
        batches = [hidden[start : start + MORE_CHILDREN_BATCH] for start in range(0, len(hidden), MORE_CHILDREN_BATCH)]
        for batch in batches[:MORE_CHILDREN_CALLS]:
            params = {"api_type": "json", "link_id": f"t3_{article}", "children": ",".join(batch), "sort": "new"}
            params["raw_json"] = "1"
            things.extend(more_children_things(await self._get("/api/morechildren", params)))
        post_title = next((as_text(thing.get("title")) for thing in things if thing["name"].startswith("t3_")), "")
        by_id = {thing["name"]: thing_to_mention(thing, post_title) for thing in things}
        by_id.setdefault(mention.external_id, mention)
        return sorted(by_id.values(), key=lambda item: item.created_at or datetime.min.replace(tzinfo=UTC))

    async def _get(self, path: str, params: dict[str, str]) -> Any:
        """GET an API path with the shared token; a 401 (token revoked or expired early) gets one fresh token."""
        bearer = await self._bearer()
        try:
            return await self._call(path, params, bearer)
        except SourceError as error:
            if error.status != 401:
                raise explain_api_error(error) from None
        self._token.forget(bearer)
        try:
            return await self._call(path, params, await self._bearer())
        except SourceError as error:
            raise explain_api_error(error) from None

    async def _call(self, path: str, params: dict[str, str], bearer: str) -> Any:
        headers = {"Authorization": f"bearer {bearer}", "User-Agent": self.user_agent}
        _, body = await fetch_json(self.context, self.api_url + path, params=params, headers=headers)
        return body

    async def _bearer(self) -> str:
        async with self._token.lock:  # watchers polled together wait for one token request
            if not self._token.is_fresh():
                self._token.value, self._token.expires_at = await self._request_token()
            return self._token.value

    async def _request_token(self) -> tuple[str, float]:
        headers = {"Authorization": self._basic, "User-Agent": self.user_agent}
        try:
            _, body = await fetch_json(
                self.context, self.token_url, method="POST", data={"grant_type": "client_credentials"}, headers=headers
            )
        except SourceError as error:
            if error.status in (400, 401, 403):
                raise SourceError(
                    Phrase.of("error.reddit.app_refused", error=error.phrase),
                    retry_after=error.retry_after,
                    status=error.status,
                ) from None
            raise
        value = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(value, str) or not value:
            reason = body.get("error") if isinstance(body, dict) else None
            said = f" ({one_line(str(reason))[:60]})" if reason else ""
            raise SourceError(Phrase.of("error.reddit.no_token", said=said))
        lifetime = body.get("expires_in")
        seconds = float(lifetime) if isinstance(lifetime, int | float) and not isinstance(lifetime, bool) else 3600.0
        return value, time.monotonic() + max(0.0, seconds - TOKEN_MARGIN)


def explain_api_error(error: SourceError) -> SourceError:
    key = {401: "error.reddit.token_refused", 403: "error.reddit.forbidden"}.get(error.status or 0)
    if key is None:
        return error
    return SourceError(Phrase.of(key, error=error.phrase), retry_after=error.retry_after, status=error.status)


def auth_url(config: WatcherConfig) -> str:
    """Where tokens come from: `options.auth_url`; else www.reddit.com for the real API, else the API root itself
    (a proxy or a test server that answers both)."""
    raw = config.options.get("auth_url")
    if raw is not None:
        parsed = urlsplit(raw) if isinstance(raw, str) else None
        if parsed is None or parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise WatcherFieldError("options", f"auth_url must be an http(s) URL, got {raw!r}")
        return raw.rstrip("/")
    if config.base_url is None or config.base_url.rstrip("/") == DEFAULT_API_URL:
        return DEFAULT_AUTH_URL
    return config.base_url.rstrip("/")


def default_user_agent(client_id: str, username: str) -> str:
    """Reddit asks for `<platform>:<app id>:<version> (by /u/<user>)` and throttles generic agents."""
    by = f"by /u/{username}" if username else "Veilleur self-hosted listening bot"
    return f"python:{client_id}:{VERSION} ({by})"


def listings_for(config: WatcherConfig) -> list[Listing]:
    """The listings a watcher reads: a search (site-wide or in its subreddits) or its subreddits' new posts, and
    their new comments when `comments = true` (Reddit's search does not cover comments). Without `search`, a
    watcher searches unless it lists subreddits and no `q`."""
    options = config.options
    subreddits = _subreddits(options.get("subreddits", []))
    search = _flag(options, "search", default=not subreddits or "q" in options)
    comments = _flag(options, "comments", default=False)
    joined = "+".join(subreddits)
    if comments and not subreddits:
        raise WatcherFieldError("options", "comments = true needs subreddits = [...]: Reddit cannot search comments")
    if search:
        q = " OR ".join(keyword_searches(config))
        if not q:
            raise WatcherFieldError("options", "the query has no word to search for; set options.q")
        if len(q) > MAX_QUERY_CHARS:
            raise WatcherFieldError("options", f"the search is {len(q)} characters, Reddit takes {MAX_QUERY_CHARS}")
        params = {"q": q, "sort": "new", "t": "all", "type": "link"}
        if subreddits:
            path, params = f"/r/{joined}/search", params | {"restrict_sr": "1"}
        else:
            path = "/search"
        posts = Listing(f"{path}?q={q}", path, params)
    elif subreddits:
        posts = Listing(f"/r/{joined}/new", f"/r/{joined}/new", {})
    else:
        raise WatcherFieldError("options", "search = false needs subreddits = [...] to watch")
    if comments:
        return [posts, Listing(f"/r/{joined}/comments", f"/r/{joined}/comments", {})]
    return [posts]


def _subreddits(raw: object) -> list[str]:
    names = raw if isinstance(raw, list) else None
    if names is None or len(names) > MAX_SUBREDDITS:
        raise WatcherFieldError("options", f"subreddits must be a list of at most {MAX_SUBREDDITS} names, got {raw!r}")
    cleaned = [name.strip().removeprefix("/").removeprefix("r/") if isinstance(name, str) else "" for name in names]
    for name, original in zip(cleaned, names, strict=True):
        if not SUBREDDIT.match(name):
            raise WatcherFieldError("options", f'{original!r} is not a subreddit name (e.g. "france" or "r/caen")')
    return list(dict.fromkeys(cleaned))


def _flag(options: dict[str, Any], name: str, *, default: bool) -> bool:
    value = options.get(name, default)
    if not isinstance(value, bool):
        raise WatcherFieldError("options", f"{name} must be true or false, got {value!r}")
    return value


def things_of(children: object) -> list[dict[str, Any]]:
    """The posts (t3) and comments (t1) of a listing's children, leaving out "more" stubs and malformed entries."""
    if not isinstance(children, list):
        return []
    return [
        child["data"]
        for child in children
        if isinstance(child, dict)
        and child.get("kind") in ("t1", "t3")
        and isinstance(child.get("data"), dict)
        and isinstance(child["data"].get("name"), str)
    ]


def flatten_comment_tree(body: list[Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """The post and every comment of a `/comments/{id}` answer, and the ids of the hidden ("more") comments.

    Walked with a stack: the tree is outside input. A comment without replies has `replies: ""`."""
    things: list[dict[str, Any]] = []
    hidden: list[str] = []
    stack = [listing for listing in body[:2] if isinstance(listing, dict)]
    while stack:
        data = stack.pop().get("data")
        children = data.get("children") if isinstance(data, dict) else None
        if not isinstance(children, list):
            continue
        for child in children:
            if isinstance(child, dict) and child.get("kind") == "more" and isinstance(child.get("data"), dict):
                hidden.extend(_base36_ids(child["data"].get("children")))
        for thing in things_of(children):
            things.append(thing)
            if isinstance(thing.get("replies"), dict):
                stack.append(thing["replies"])
    return things, hidden


def _base36_ids(ids: object) -> list[str]:
    return [i for i in ids if isinstance(i, str) and BASE36.match(i)] if isinstance(ids, list) else []


def more_children_things(body: object) -> list[dict[str, Any]]:
    """The comments of an `/api/morechildren` answer: `{"json": {"errors": [], "data": {"things": [...]}}}`."""
    inner = body.get("json") if isinstance(body, dict) else None
    data = inner.get("data") if isinstance(inner, dict) else None
    return things_of(data.get("things") if isinstance(data, dict) else None)


def thing_to_mention(thing: dict[str, Any], post_title: str = "") -> Mention:
    """A post (title + selftext, or its link) or a comment (body, titled with its post's title)."""
    name = thing["name"]
    is_post = name.startswith("t3_")
    url = _permalink(thing)
    if is_post:
        text = as_text(thing.get("selftext"))
        link = as_text(thing.get("url"))
        if not text and link.startswith(("http://", "https://")) and not link.startswith(url):
            text = link
        title = as_text(thing.get("title"))
        conversation_id, parent_id = name, None
        engagement = _engagement(score=thing.get("score"), comments=thing.get("num_comments"))
    else:
        text = as_text(thing.get("body"))
        title = as_text(thing.get("link_title")) or post_title
        conversation_id = _fullname(thing.get("link_id"), "t3_")
        parent_id = _fullname(thing.get("parent_id"), "t1_") or _fullname(thing.get("parent_id"), "t3_")
        engagement = _engagement(score=thing.get("score"))
    stamp = _created_utc(thing)
    return Mention(
        source="reddit",
        external_id=name,
        url=url,
        text=text,
        title=one_line(title),
        author_handle=as_text(thing.get("author")),
        created_at=datetime.fromtimestamp(stamp, UTC) if stamp is not None else None,
        engagement=engagement,
        conversation_id=conversation_id,
        parent_id=parent_id,
    )


def article_id(mention: Mention) -> str | None:
    """The base-36 id of the post a mention belongs to."""
    for candidate in (mention.conversation_id, mention.external_id):
        if candidate and candidate.startswith("t3_") and BASE36.match(candidate[3:]):
            return candidate[3:]
    match = ARTICLE_IN_URL.search(urlsplit(mention.url).path)
    return match[1] if match else None


def _permalink(thing: dict[str, Any]) -> str:
    path = urlsplit(as_text(thing.get("permalink"))).path  # search results append "?ref=search_posts"
    if path.startswith("/"):
        return WEB_URL + path
    short_id = thing["name"][3:]
    link = _fullname(thing.get("link_id"), "t3_")
    return f"{WEB_URL}/comments/{link[3:]}/_/{short_id}/" if link else f"{WEB_URL}/comments/{short_id}/"


def _engagement(**values: object) -> dict[str, int]:
    return {key: value for key, value in values.items() if isinstance(value, int) and not isinstance(value, bool)}


def _created_utc(thing: dict[str, Any]) -> float | None:
    value = thing.get("created_utc")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _fullname(value: object, prefix: str) -> str | None:
    return value if isinstance(value, str) and value.startswith(prefix) and BASE36.match(value[3:]) else None

