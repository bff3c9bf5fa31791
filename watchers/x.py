"""X (Twitter) through the API v2 recent search (`GET /2/tweets/search/recent`), for teams that pay for access.

The app's bearer token (X_BEARER_TOKEN) reads posts of the last 7 days. The watcher's query is translated into
X's search syntax as far as it goes (`x_query`): words, hashtags, "phrases", OR, exclusions (-word), lang: and
author:@name (from:name). What X cannot express (prefixes such as tram*, site:, an author by display name,
excluded groups) is left out of the search, which then finds more, never less, and Veilleur's own matcher decides
as for every source. Retweets are left out (-is:retweet) unless `options.retweets = true`.

Every post read counts against the plan's monthly cap, so a poll reads at most `options.max_posts` (default 100):
one page of 100 with `since_id` set to the newest post of the last poll; past the cap, the older posts of that
poll are skipped. Each answer's `x-rate-limit-remaining`/`-reset` headers are noted so the next request waits for
the 15-minute window instead of being refused. A 429 says which limit was hit: the window (wait for its reset) or
the monthly cap (`UsageCapExceeded`: the health says so and when the cap resets, read from `/2/usage/tweets`).

The conversation of a post is what `conversation_id:<id>` finds: recent search only, so replies older than
7 days are missing.
"""

from __future__ import annotations

import html
import json
import logging
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from veilleur.core.mentions import Mention
from veilleur.core.query import Clause
from veilleur.core.watcher_config import WatcherConfig, WatcherFieldError
from watchers.base import (
    PollResult,
    SourceError,
    WatcherContext,
    as_count,
    as_text,
    as_utc,
    check_options,
    describe_body,
    fetch,
    parse_retry_after,
)

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.x.com"
TOKEN_ENV = "X_BEARER_TOKEN"
TOKEN_HINT = "the Bearer Token of an app in a project with a paid plan, from the X developer portal"
OPTIONS = frozenset({"q", "retweets", "max_posts"})
MAX_QUERY_CHARS = 512  # recent search, self-serve plans (Enterprise: 4,096)
PAGE_SIZE = 100  # the API's maximum; at least 10
DEFAULT_MAX_POSTS = 100
MAX_THREAD_POSTS = 200
RECENT = timedelta(days=7)
SNOWFLAKE_EPOCH_MS = 1288834974657  # X ids carry their creation time: milliseconds since this, shifted by 22 bits
CAPPED_RETRY = 3600.0  # a capped watcher tries again hourly: the health alert comes, and the reset is seen soon
TWEET_FIELDS = "created_at,public_metrics,author_id,conversation_id,lang,referenced_tweets,note_tweet"
USER_FIELDS = "public_metrics,username,name"
USERNAME = re.compile(r"^@?([A-Za-z0-9_]{1,15})$")
POST_ID = re.compile(r"^\d{1,20}$")
# Characters X's query parser reads as syntax: a word holding one becomes a quoted phrase.
SYNTAX = re.compile(r"""[\s()"':]""")
NO_LANGUAGE = frozenset({"und", "qme", "qht", "zxx", "art", "qam", "qct"})  # X's codes for "no language"
EPOCH = datetime.min.replace(tzinfo=UTC)

Post = dict[str, Any]


def x_query(clause: Clause) -> str | None:
    """The query in X's syntax, or None when nothing of it can be searched for; wider than the query, never
    narrower (`_translate` explains)."""
    text, _ = _translate(clause)
    return text


def _translate(clause: Clause) -> tuple[str | None, bool]:
    """(X syntax or None for "anything", whether it finds exactly what the clause matches).

    Leaving a clause out of an AND only widens it; a clause left out of an OR makes the whole OR "anything"; a
    NOT is kept only over what X finds exactly, since excluding a wider set would narrow the search.
    """
    kind, value = clause.kind, clause.value
    if kind == "word":
        return (value if value.startswith("#") and not SYNTAX.search(value) else _keyword(value.lstrip("@"))), True
    if kind == "phrase":
        return _quoted(value), True
    if kind == "lang":
        primary = value.partition("-")[0]
        return f"lang:{primary}", primary == value
    if kind == "author":
        match = USERNAME.match(value)
        # author:@name is an account; author:Name may be a display name, which X cannot search.
        return (f"from:{match[1]}", False) if match and value.startswith("@") else (None, False)
    if kind == "not":
        inner, exact = _translate(clause.children[0])
        simple = clause.children[0].kind in ("word", "phrase", "lang", "author")
        return (f"-{inner}", True) if inner is not None and exact and simple else (None, False)
    if kind in ("all", "any"):
        parts = [_translate(child) for child in clause.children]
        exact = all(part_exact for _, part_exact in parts)
        if kind == "any":
            if any(text is None for text, _ in parts):
                return None, False
            return "(" + " OR ".join(text for text, _ in parts if text) + ")", exact
        kept = [text for text, _ in parts if text is not None]
        return (" ".join(kept) if kept else None), exact and len(kept) == len(parts)
    return None, False  # prefix (X has no wildcard), site (the post's address is always x.com)


def _keyword(word: str) -> str:
    return _quoted(word) if SYNTAX.search(word) or word.upper() in ("OR", "AND") else word


def _quoted(text: str) -> str:
    return '"' + text.replace('"', " ").strip() + '"'


def _standalone(query: str) -> bool:
    """Whether X will take the query: it needs one term that is not a negation or an operator such as lang:."""
    without = re.sub(r'-("[^"]*"|\S+)|\blang:\S+|\bis:\S+', " ", query)
    return bool(re.search(r'[^\s()]', without.replace(" OR ", " ")))


class XWatcher:
    def __init__(self, config: WatcherConfig, context: WatcherContext) -> None:
        check_options(config, OPTIONS)
        token = context.env.get(TOKEN_ENV, "").strip()
        if not token:
            raise WatcherFieldError("options", f"X search needs {TOKEN_ENV} in the environment ({TOKEN_HINT})")
        self.config = config
        self.context = context
        self.base_url = (config.base_url or DEFAULT_BASE_URL).rstrip("/")
        self.query = _search_query(config)
        self.max_posts = _max_posts(config.options.get("max_posts", DEFAULT_MAX_POSTS))
        self._headers = {"Authorization": f"Bearer {token}"}

    async def poll(self, cursor: dict[str, Any]) -> PollResult:
        since_id = cursor.get("since_id") if isinstance(cursor.get("since_id"), str) else None
        params: dict[str, Any] = {"query": self.query}
        if since_id is not None and POST_ID.match(since_id) and _age(since_id) < RECENT - timedelta(minutes=5):
            params["since_id"] = since_id
        elif since_id is not None:
            # Paused for a week or more: X refuses a since_id past its 7 days; take what it still has.
            params["start_time"] = _rfc3339(datetime.now(UTC) - RECENT + timedelta(minutes=1))
        posts, users = await self._search(params, self.max_posts if cursor else min(self.max_posts, PAGE_SIZE))
        newest = max((post["id"] for post in posts), key=int, default=since_id)
        mentions = [mention for post in posts if (mention := post_to_mention(post, users))]
        return PollResult(mentions, {"since_id": newest} if newest else {})

    async def _search(self, params: dict[str, Any], limit: int) -> tuple[list[Post], dict[str, dict[str, Any]]]:
        """Posts newest first, at most `limit`, following `next_token`; and their authors by id."""
        url = f"{self.base_url}/2/tweets/search/recent"
        params = params | {"tweet.fields": TWEET_FIELDS, "expansions": "author_id", "user.fields": USER_FIELDS}
        posts: list[Post] = []
        users: dict[str, dict[str, Any]] = {}
        while len(posts) < limit:
            params["max_results"] = max(10, min(PAGE_SIZE, limit - len(posts)))
            body = await self._get(url, params)
            page = body.get("data", [])
            if not isinstance(page, list):
                raise SourceError(f"{url} did not send a list of posts (data)")
            posts.extend(post for post in page if isinstance(post, dict) and POST_ID.match(str(post.get("id", ""))))
            includes = body.get("includes")
            listed = includes.get("users") if isinstance(includes, dict) else None
            for user in listed if isinstance(listed, list) else []:
                if isinstance(user, dict) and isinstance(user.get("id"), str):
                    users[user["id"]] = user
            meta = body.get("meta")
            next_token = meta.get("next_token") if isinstance(meta, dict) else None
            if not page or not isinstance(next_token, str):
                break
            params["next_token"] = next_token
        return posts[:limit], users

    async def thread(self, mention: Mention) -> list[Mention]:
        """The posts of the mention's conversation that recent search still has (the last 7 days only)."""
        conversation = mention.conversation_id or mention.external_id
        if not POST_ID.match(conversation):
            return [mention]
        posts, users = await self._search({"query": f"conversation_id:{conversation}"}, MAX_THREAD_POSTS)
        thread = {item.external_id: item for post in posts if (item := post_to_mention(post, users))}
        thread.setdefault(mention.external_id, mention)
        return sorted(thread.values(), key=lambda item: item.created_at or EPOCH)

    async def _get(self, url: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """GET with the bearer token, waiting first if the endpoint's 15-minute window is nearly spent."""
        await self.context.limits.wait(url)
        request_url = str(httpx.URL(url, params=dict(params)))
        response, body = await fetch(
            self.context.http, request_url, headers=self._headers, deadline=self.context.deadline
        )
        self.context.limits.note(url, response.headers)
        if response.status_code >= 400:
            raise await self._refusal(url, response, body)
        try:
            decoded = json.loads(body)
        except ValueError:
            content_type = response.headers.get("content-type")
            raise SourceError(f"{url} did not send valid JSON: got {describe_body(body, content_type)}") from None
        if not isinstance(decoded, dict):
            raise SourceError(f"{url} did not send a JSON object")
        return decoded

    async def _refusal(self, url: str, response: httpx.Response, body: bytes) -> SourceError:
        """What an error answer means and what to do: X sends RFC 7807 problems (`title`, `type`, `detail`)."""
        problem = _problem(body)
        status, title = response.status_code, as_text(problem.get("title"))
        said = as_text(problem.get("detail")) or title or response.reason_phrase
        if "usage-capped" in as_text(problem.get("type")) or title == "UsageCapExceeded":
            return await self._capped(said)
        if status == 429:
            wait = parse_retry_after(response.headers.get("retry-after")) or self.context.limits.delay(url) or 900.0
            return SourceError(
                f"X rate limit of this app reached ({said}); waiting {wait:.0f}s for its 15-minute window",
                retry_after=wait, status=status,
            )
        if status == 401:
            return SourceError(f"X refused the token (HTTP 401 {said}): check {TOKEN_ENV} ({TOKEN_HINT})", status=401)
        if status == 403:
            return SourceError(
                f"X refused access (HTTP 403 {said}): the app must belong to a project whose plan includes recent "
                "search (X developer portal)", status=403,
            )
        if status == 400:
            errors = problem.get("errors")
            first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
            message = as_text(first.get("message")) or said
            return SourceError(f"X refused the search (HTTP 400: {message[:200]}); check the query or options.q",
                               status=400)
        hint = "X had a problem; trying again later" if status >= 500 else said
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        return SourceError(f"HTTP {status} from {url} ({hint})", retry_after=retry_after, status=status)

    async def _capped(self, said: str) -> SourceError:
        """The project's monthly post cap is reached: say when it resets (`cap_reset_day` of /2/usage/tweets)."""
        reset = await self._cap_reset()
        when = f"it resets on {reset:%Y-%m-%d}" if reset else "it resets with the next billing cycle (see the portal)"
        until_reset = (reset - datetime.now(UTC)).total_seconds() if reset else CAPPED_RETRY
        wait = min(CAPPED_RETRY, max(60.0, until_reset))
        return SourceError(
            f"X monthly post cap reached ({said}): no X watcher can read posts until then; {when}. A higher plan or "
            "fewer X watchers, a longer interval or a lower options.max_posts spend it slower",
            retry_after=wait, status=429, code="UsageCapExceeded",
        )

    async def _cap_reset(self) -> datetime | None:
        url = f"{self.base_url}/2/usage/tweets"
        try:
            body = await self._get(url, {})
        except SourceError as error:
            log.info("watcher %s: X usage unknown: %s", self.config.name, error)
            return None
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        day = as_count(data.get("cap_reset_day"))
        if day is None or not 1 <= day <= 31:
            return None
        return _next_day_of_month(datetime.now(UTC), day)


def post_to_mention(post: Post, users: Mapping[str, dict[str, Any]]) -> Mention | None:
    post_id = str(post.get("id", ""))
    if not POST_ID.match(post_id):
        return None
    author = users.get(str(post.get("author_id")), {})
    username = as_text(author.get("username"))
    username = username if USERNAME.match(username) else ""
    metrics = post.get("public_metrics") if isinstance(post.get("public_metrics"), dict) else {}
    reach = author.get("public_metrics") if isinstance(author.get("public_metrics"), dict) else {}
    note = post.get("note_tweet") if isinstance(post.get("note_tweet"), dict) else {}
    referenced = post.get("referenced_tweets") if isinstance(post.get("referenced_tweets"), list) else []
    replied = [ref for ref in referenced if isinstance(ref, dict) and ref.get("type") == "replied_to"]
    parent = next((str(ref["id"]) for ref in replied if POST_ID.match(str(ref.get("id")))), None)
    lang = as_text(post.get("lang"))
    conversation = str(post.get("conversation_id", ""))
    engagement = {
        key: count
        for key, field in (("likes", "like_count"), ("reposts", "retweet_count"), ("replies", "reply_count"),
                           ("quotes", "quote_count"))
        if (count := as_count(metrics.get(field))) is not None
    }
    return Mention(
        source="x",
        external_id=post_id,
        url=f"https://x.com/{username or 'i/web'}/status/{post_id}",
        # X escapes &, < and > in a post's text; a long post's whole text is in note_tweet.
        text=html.unescape(as_text(note.get("text")) or as_text(post.get("text"))),
        author_handle=username,
        author_name=as_text(author.get("name")),
        author_reach=as_count(reach.get("followers_count")),
        created_at=as_utc(post.get("created_at")),
        lang=lang if lang and lang not in NO_LANGUAGE else None,
        engagement=engagement,
        conversation_id=conversation if POST_ID.match(conversation) else post_id,
        parent_id=parent,
    )


def _search_query(config: WatcherConfig) -> str:
    raw = config.options.get("q")
    if raw is not None:
        if not isinstance(raw, str) or not raw.strip():
            raise WatcherFieldError("options", f"q must be a query in X's search syntax, got {raw!r}")
        query = raw.strip()
    else:
        translated = x_query(config.query.outline())
        if translated is None or not _standalone(translated):
            raise WatcherFieldError(
                "options",
                "X search cannot express this query (X has no prefix* or site:, and needs a word, phrase, #tag or "
                "author:@name to look for): write the words (tram OR tramway) or set options.q in X's syntax",
            )
        query = translated
    retweets = config.options.get("retweets", False)
    if not isinstance(retweets, bool):
        raise WatcherFieldError("options", f"retweets must be true or false, got {retweets!r}")
    if not retweets and "is:retweet" not in query:
        # X applies AND before OR: "a OR b -is:retweet" would leave the retweets of a in.
        query = f"({query}) -is:retweet" if _top_level_or(query) else f"{query} -is:retweet"
    if len(query) > MAX_QUERY_CHARS:
        raise WatcherFieldError(
            "options", f"the X search is {len(query)} characters, X takes {MAX_QUERY_CHARS}: set a shorter options.q"
        )
    return query


def _top_level_or(query: str) -> bool:
    depth, quoted = 0, False
    for index, char in enumerate(query):
        if char == '"':
            quoted = not quoted
        elif not quoted and char in "()":
            depth += 1 if char == "(" else -1
        elif not quoted and depth == 0 and query.startswith(" OR ", index):
            return True
    return False


def _max_posts(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 10 <= value <= 1000:
        raise WatcherFieldError(
            "options",
            f"max_posts must be from 10 to 1000 (each post read counts against X's monthly cap), got {value!r}",
        )
    return value


def _problem(body: bytes) -> dict[str, Any]:
    try:
        decoded = json.loads(body)
    except ValueError:
        return {}
    return decoded if isinstance(decoded, dict) else {}


def _age(post_id: str) -> timedelta:
    created_ms = (int(post_id) >> 22) + SNOWFLAKE_EPOCH_MS
    return timedelta(milliseconds=time.time() * 1000 - created_ms)


def _rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _next_day_of_month(now: datetime, day: int) -> datetime:
    """Midnight UTC of the next `day` of a month after `now` (the last day of a shorter month)."""
    year, month = now.year, now.month
    for _ in range(3):
        last = (datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC) - timedelta(days=1)).day
        candidate = datetime(year, month, min(day, last), tzinfo=UTC)
        if candidate > now:
            return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    raise AssertionError("a day of the month comes within three months")
