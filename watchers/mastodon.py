"""Mastodon: hashtag timelines on one or several instances, and full-text search where a token allows it.

Mastodon has no global full-text search. A hashtag timeline shows only the posts that one instance knows about (its
own users' and those federated to it), and `/api/v2/search` needs a user token and finds only posts of accounts
that opted in to search. Keyword coverage is partial by design: watch the tags your audience uses, on the
instances it uses. The same post seen on two instances is one mention: its `external_id` is the status URI.

Cursor: the newest status id seen per instance and tag, and per search. `min_id` asks for the statuses right after
it, oldest page first, and `Link: rel="prev"` names the next newer page, so a busy tag is caught up over a few polls
rather than skipped. The access token is only ever sent to `base_url`, never to the other instances.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, NamedTuple
from urllib.parse import parse_qs, quote, urlsplit

import httpx

from veilleur.core.i18n import Phrase
from veilleur.core.mentions import Mention
from veilleur.core.text import html_to_text
from veilleur.core.watcher_config import WatcherConfig, WatcherFieldError
from watchers.base import (
    PollResult,
    SourceError,
    WatcherContext,
    as_count,
    as_text,
    as_utc,
    bounded_searches,
    check_options,
    fetch_json,
)

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://mastodon.social"
TOKEN_ENV = "MASTODON_ACCESS_TOKEN"
PAGE_SIZE = 40  # the API's maximum
MAX_PAGES = 3  # per timeline or search and poll; the rest comes next poll
MAX_TAGS = 10
MAX_INSTANCES = 5  # besides base_url
MAX_ANCESTORS = 40
MAX_DESCENDANTS = 160
MAX_KNOWN_STATUSES = 10_000
OPTIONS = frozenset({"tags", "instances", "local", "q", "search", "token_env"})
TAG = re.compile(r"^\w{1,100}$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
NONE_YET = "0"  # the cursor of an empty timeline: whatever appears in it later is new
STATUS_ID = re.compile(r"^[A-Za-z0-9]{1,64}$")
# The URI Mastodon (and GoToSocial) give a status: its origin instance and its id there.
MASTODON_STATUS_URI = re.compile(r"^(https?://[^/?#@\s]+)/users/[^/?#\s]+/statuses/([A-Za-z0-9]{1,64})$")
WEB_LINK = re.compile(r"^https?://", re.IGNORECASE)
EPOCH = datetime.min.replace(tzinfo=UTC)

Status = dict[str, Any]


class _Stream(NamedTuple):
    """One thing polled: a hashtag timeline on an instance, or a full-text search on base_url."""

    instance: str
    tag: str | None = None
    search: str | None = None

    def last_id(self, cursor: dict[str, Any]) -> str | None:
        if self.tag is not None:
            seen = _mapping(_mapping(cursor.get("tags")).get(self.instance)).get(self.tag)
        else:
            seen = _mapping(cursor.get("searches")).get(self.search)
        return seen if isinstance(seen, str) and STATUS_ID.match(seen) else None

    def store(self, cursor: dict[str, Any], newest: str) -> None:
        if self.tag is not None:
            cursor["tags"].setdefault(self.instance, {})[self.tag] = newest
        else:
            cursor["searches"][self.search] = newest


class MastodonWatcher:
    def __init__(self, config: WatcherConfig, context: WatcherContext) -> None:
        options = config.options
        check_options(config, OPTIONS)
        self.config = config
        self.context = context
        self.base_url = (config.base_url or DEFAULT_BASE_URL).rstrip("/")
        self.instances = [self.base_url, *_extra_instances(options.get("instances", []), self.base_url)]
        self.tags = _tags(options.get("tags", []))
        self.local = _flag(options, "local", default=False)
        self.token_env = _token_env(options)
        self.token = context.env.get(self.token_env, "").strip()
        if "token_env" in options and not self.token:
            raise WatcherFieldError("options", f"token_env names {self.token_env}, which is not set in the environment")
        self.searches = self._searches(config) if self.token and _flag(options, "search", default=True) else []
        if not self.tags and not self.searches:
            raise WatcherFieldError(
                "options",
                f'set options.tags (e.g. tags = ["tramway"]) to watch hashtag timelines, and/or set {TOKEN_ENV} in '
                "the environment (a token with read:statuses scope) to search full text",
            )
        # Where each status was last seen (instance, its id there), so `thread` can ask that instance.
        self._known: dict[str, tuple[str, str]] = {}

    @staticmethod
    def _searches(config: WatcherConfig) -> list[str]:
        searches = bounded_searches(config, hint=", or search = false to watch tags only")
        return searches

    async def poll(self, cursor: dict[str, Any]) -> PollResult:
        streams = [_Stream(instance, tag=tag) for instance in self.instances for tag in self.tags]
        streams += [_Stream(self.base_url, search=search) for search in self.searches]
        previous = [stream.last_id(cursor) for stream in streams]
        outcomes = await asyncio.gather(
            *(self._fetch(stream, since) for stream, since in zip(streams, previous, strict=True)),
            return_exceptions=True,
        )
        self._raise_if_fatal(streams, outcomes)
        next_cursor: dict[str, Any] = {"tags": {}, "searches": {}}
        found: dict[str, Mention] = {}
        for stream, since, outcome in zip(streams, previous, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                if since is not None:
                    stream.store(next_cursor, since)
                continue
            stream.store(
                next_cursor, max((status["id"] for status in outcome), key=_id_order, default=since or NONE_YET)
            )
            if since is None and cursor:
                continue  # a tag or search added since the last poll starts quietly, from now on
            for status in outcome:
                self._add(found, stream.instance, status)
        return PollResult(list(found.values()), next_cursor)

    async def _fetch(self, stream: _Stream, since: str | None) -> list[Status]:
        if stream.tag is not None:
            return await self._timeline(stream.instance, stream.tag, since)
        return await self._search(stream.search or "", since)

    def _raise_if_fatal(self, streams: list[_Stream], outcomes: list[Any]) -> None:
        """Fail the poll if `base_url` failed, or everything did; a flaky extra instance is only logged."""
        errors = [
            (stream, outcome)
            for stream, outcome in zip(streams, outcomes, strict=True)
            if isinstance(outcome, BaseException)
        ]
        for _, error in errors:
            if not isinstance(error, SourceError):
                raise error
        fatal = next((error for stream, error in errors if stream.instance == self.base_url), None)
        if fatal is None and errors and len(errors) == len(outcomes):
            fatal = errors[0][1]
        if fatal is not None:
            raise fatal
        for stream, error in errors:
            log.warning(
                "watcher %s: skipping #%s on %s this time: %s", self.config.name, stream.tag, stream.instance, error
            )

    def _add(self, found: dict[str, Mention], instance: str, status: Status) -> None:
        original = _original(status)
        mention = status_to_mention(original, urlsplit(instance).netloc)
        if mention is None or mention.external_id in found:
            return
        found[mention.external_id] = mention
        self._known[mention.external_id] = (instance, str(original["id"]))
        while len(self._known) > MAX_KNOWN_STATUSES:
            del self._known[next(iter(self._known))]

    async def _timeline(self, instance: str, tag: str, since: str | None) -> list[Status]:
        url = f"{instance}/api/v1/timelines/tag/{quote(tag, safe='')}"
        params: dict[str, Any] = {"limit": PAGE_SIZE}
        if self.local:
            params["local"] = "true"
        if since is None:
            _, body = await self._get(url, params, instance)
            return _statuses(body, url)
        found: list[Status] = []
        min_id = since
        for _ in range(MAX_PAGES):
            response, body = await self._get(url, {**params, "min_id": min_id}, instance)
            page = _statuses(body, url)
            found.extend(page)
            newer = _prev_min_id(response) or max((status["id"] for status in page), key=_id_order, default=None)
            if len(page) < PAGE_SIZE or newer is None or _id_order(newer) <= _id_order(min_id):
                break
            min_id = newer
        return [status for status in found if _id_order(status["id"]) > _id_order(since)]

    async def _search(self, search: str, since: str | None) -> list[Status]:
        """Full-text search on `base_url`, newest first; `min_id` only narrows it to the same second, so filter."""
        url = f"{self.base_url}/api/v2/search"
        params: dict[str, Any] = {"q": search, "type": "statuses", "limit": PAGE_SIZE, "resolve": "false"}
        if since is not None:
            params["min_id"] = since
        found: list[Status] = []
        for page in range(MAX_PAGES if since is not None else 1):
            _, body = await self._get(url, {**params, "offset": page * PAGE_SIZE}, self.base_url)
            statuses = _statuses(body.get("statuses") if isinstance(body, dict) else None, url)
            found.extend(statuses)
            if len(statuses) < PAGE_SIZE:
                break
        return [status for status in found if since is None or _id_order(status["id"]) > _id_order(since)]

    async def thread(self, mention: Mention) -> list[Mention]:
        """Ancestors, the post and its replies, from the instance the post was polled on, else from its origin."""
        error: SourceError | None = None
        for instance, status_id in self._thread_locations(mention):
            try:
                return await self._context(mention, instance, status_id)
            except SourceError as failure:
                error = failure
        if error is not None:
            raise error
        return [mention]

    def _thread_locations(self, mention: Mention) -> list[tuple[str, str]]:
        locations = []
        if (known := self._known.get(mention.external_id)) is not None:
            locations.append(known)
        if (match := MASTODON_STATUS_URI.match(mention.external_id)) and (match[1], match[2]) not in locations:
            locations.append((match[1], match[2]))
        return locations

    async def _context(self, mention: Mention, instance: str, status_id: str) -> list[Mention]:
        url = f"{instance}/api/v1/statuses/{status_id}/context"
        _, body = await self._get(url, None, instance)
        if not isinstance(body, dict):
            raise SourceError(f"{url} did not send a status context")
        ancestors = [_original(status) for status in _statuses(body.get("ancestors"), url)][-MAX_ANCESTORS:]
        descendants = [_original(status) for status in _statuses(body.get("descendants"), url)][:MAX_DESCENDANTS]
        uris = {str(status["id"]): str(status["uri"]) for status in ancestors + descendants}
        uris[status_id] = mention.external_id
        conversation = str(ancestors[0]["uri"]) if ancestors else mention.external_id
        host = urlsplit(instance).netloc
        parent = str(ancestors[-1]["uri"]) if ancestors else None  # ancestors run from the root to the parent
        thread = [replace(mention, conversation_id=conversation, parent_id=parent)]
        for status in ancestors + descendants:
            parent = uris.get(str(status.get("in_reply_to_id")))
            item = status_to_mention(status, host, conversation_id=conversation, parent_id=parent)
            if item is not None and item.external_id != mention.external_id:
                thread.append(item)
        return sorted(thread, key=lambda item: item.created_at or EPOCH)

    async def _get(self, url: str, params: dict[str, Any] | None, instance: str) -> tuple[httpx.Response, Any]:
        """GET with the token when talking to `base_url`; auth failures say which env var to check."""
        with_token = bool(self.token) and instance == self.base_url
        headers = {"Authorization": f"Bearer {self.token}"} if with_token else None
        try:
            return await fetch_json(self.context, url, params=params, headers=headers)
        except SourceError as error:
            if error.status not in (401, 403):
                raise
            if with_token:
                explained = Phrase.of("error.mastodon.bad_token", error=error.phrase, env=self.token_env,
                                      instance=instance)
            elif instance == self.base_url:
                explained = Phrase.of("error.mastodon.needs_token", error=error.phrase, env=self.token_env)
            else:
                explained = Phrase.of("error.mastodon.needs_own_watcher", error=error.phrase)
            raise SourceError(explained, retry_after=error.retry_after, status=error.status) from None


def status_to_mention(
    status: Status, instance_host: str, *, conversation_id: str | None = None, parent_id: str | None = None
) -> Mention | None:
    """A status as a `Mention`; `instance_host` completes the handles of that instance's own users ("user")."""
    uri = status.get("uri")
    if not isinstance(uri, str) or not uri:
        return None
    account = status.get("account") if isinstance(status.get("account"), dict) else {}
    acct = as_text(account.get("acct"))
    url = next((link for link in (as_text(status.get("url")), uri) if WEB_LINK.match(link)), "")
    content = status.get("content")
    in_reply_to = status.get("in_reply_to_id")
    return Mention(
        source="mastodon",
        external_id=uri,
        url=url,
        text=html_to_text(content) if isinstance(content, str) else "",
        title=as_text(status.get("spoiler_text")),
        author_handle=acct if "@" in acct or not acct else f"{acct}@{instance_host}",
        author_name=as_text(account.get("display_name")) or as_text(account.get("username")),
        author_reach=as_count(account.get("followers_count")),
        created_at=as_utc(status.get("created_at")),
        lang=as_text(status.get("language")) or None,
        engagement=_engagement(status),
        conversation_id=conversation_id or (uri if in_reply_to is None else None),
        parent_id=parent_id,
    )


def _engagement(status: Status) -> dict[str, int]:
    fields = {
        "likes": "favourites_count",
        "reposts": "reblogs_count",
        "replies": "replies_count",
        "quotes": "quotes_count",
    }
    counts = {key: as_count(status.get(field)) for key, field in fields.items()}
    return {key: value for key, value in counts.items() if value is not None}


def _original(status: Status) -> Status:
    """A boost (reblog) only wraps the post it boosts: the mention is that post."""
    reblog = status.get("reblog")
    return reblog if isinstance(reblog, dict) and _is_status(reblog) else status


def _statuses(value: Any, url: str) -> list[Status]:
    if not isinstance(value, list):
        raise SourceError(f"{url} did not send a list of statuses")
    return [item for item in value if isinstance(item, dict) and _is_status(item)]


def _is_status(item: Status) -> bool:
    return isinstance(item.get("id"), str) and bool(item["id"]) and isinstance(item.get("uri"), str)


def _id_order(status_id: str) -> tuple[int, str]:
    """Mastodon ids are strings that sort by length, then lexically (never cast them to int)."""
    return len(status_id), status_id


def _prev_min_id(response: httpx.Response) -> str | None:
    """The `min_id` of the `Link: <...>; rel="prev"` page: the next newer page after this one."""
    prev = response.links.get("prev", {}).get("url")
    values = parse_qs(urlsplit(prev).query).get("min_id") if prev else None
    return values[0] if values and STATUS_ID.match(values[0]) else None


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _extra_instances(raw: Any, base_url: str) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise WatcherFieldError(
            "options", f'instances must be a list of URLs, e.g. ["https://fosstodon.org"], got {raw!r}'
        )
    instances: list[str] = []
    for item in raw:
        parsed = urlsplit(item.strip())
        if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.query or parsed.fragment:
            raise WatcherFieldError(
                "options", f"instances: expected an instance URL such as https://fosstodon.org, got {item!r}"
            )
        instance = item.strip().rstrip("/")
        if instance != base_url and instance not in instances:
            instances.append(instance)
    if len(instances) > MAX_INSTANCES:
        raise WatcherFieldError("options", f"instances: at most {MAX_INSTANCES} besides base_url, got {len(instances)}")
    return instances


def _tags(raw: Any) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise WatcherFieldError("options", f'tags must be a list of hashtags, e.g. ["tramway", "caen"], got {raw!r}')
    tags = list(dict.fromkeys(item.strip().lstrip("#").lower() for item in raw))
    for tag in tags:
        if not TAG.match(tag):
            raise WatcherFieldError("options", f"tags: {tag!r} is not a hashtag (letters, digits and _ only)")
    if len(tags) > MAX_TAGS:
        raise WatcherFieldError("options", f"tags: at most {MAX_TAGS} per watcher, got {len(tags)}")
    return tags


def _flag(options: dict[str, Any], name: str, *, default: bool) -> bool:
    value = options.get(name, default)
    if not isinstance(value, bool):
        raise WatcherFieldError("options", f"{name} must be true or false, got {value!r}")
    return value


def _token_env(options: dict[str, Any]) -> str:
    name = options.get("token_env", TOKEN_ENV)
    if not isinstance(name, str) or not ENV_NAME.match(name):
        raise WatcherFieldError("options", f"token_env must name an environment variable, got {name!r}")
    return name



