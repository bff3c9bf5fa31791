"""YouTube through the Data API v3: videos found by search, and the comments under chosen channels and videos.

An API key (YOUTUBE_API_KEY) is enough for public data. The API has no rate-limit headers, only a daily quota per
Google Cloud project (10,000 units by default, reset at midnight Pacific time): every call costs a unit, a search
100. Google's current quota page instead gives search its own bucket of 100 calls a day; counting a search as 100
units of one bucket is safe under both readings. The quota is planned, not discovered: every YouTube watcher of the
process that uses the same key draws on one `QuotaLedger`, which counts the units spent per Pacific day and lets
them spend `options.quota_share` of the daily quota (the rest is left for `/summarize` and other tools). When the
watchers' intervals would spend more, their polls are spaced out to fit: searches first, since one search costs as
much as a hundred comment pages. A `quotaExceeded` answer stops the watchers of that key until the next Pacific
midnight, with one health alert each, and they resume by themselves.

Search: the query's words joined by `|` (YouTube's OR) in one `search.list` (type=video, order=date), the
matcher keeping what the query wants. Comments: `commentThreads.list` with `allThreadsRelatedToChannelId` for each
channel of `options.channels` (the team's own channel first: it is read first) or `videoId` for `options.videos`,
newest first, and `comments.list` for the replies a thread does not carry inline. New videos get their statistics
and full description from `videos.list`, new comments their video's title; authors their channel's subscriber
count from `channels.list`, 50 channels a unit and cached for a day, so that reach costs about one unit a poll.

Cursor: per search, the newest publication time seen and the videos seen in the day before it (search finds
videos hours after they are published); per comment listing, the threads of its newest page, the oldest time
among them and each thread's reply count; the units this watcher spent today, so a restart keeps the account.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import math
import re
import weakref
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import httpx

from veilleur.core.mentions import Mention
from veilleur.core.text import one_line
from veilleur.core.watcher_config import WatcherConfig, WatcherFieldError
from watchers.base import (
    PollResult,
    SourceError,
    WatcherContext,
    as_text,
    as_utc,
    check_options,
    fetch_json,
    keyword_searches,
)

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://www.googleapis.com/youtube/v3"
WEB_URL = "https://www.youtube.com"
KEY_ENV = "YOUTUBE_API_KEY"
KEY_HINT = (
    f"check {KEY_ENV}: a key from Google Cloud console > APIs & Services > Credentials, whose API restrictions "
    "allow the YouTube Data API v3"
)
DAILY_QUOTA = 10_000
DEFAULT_SHARE = 0.5
SEARCH_COST = 100
CALL_COST = 1
PACIFIC = ZoneInfo("America/Los_Angeles")
SEARCH_PAGE = 50  # the API's maximum
MAX_SEARCH_PAGES = 2
THREAD_PAGE = 100  # the API's maximum
MAX_THREAD_PAGES = 3  # per listing and poll
MAX_REPLY_CALLS = 10  # comments.list calls per poll for threads whose new replies are not all inline
LOOKUP_BATCH = 50  # ids per videos.list / channels.list call
MAX_LOOKUP_CALLS = 2  # per kind and poll: statistics and reach are worth a unit or two, not more
INDEXING_LAG = timedelta(days=1)
MAX_SEEN = 500
MAX_TRACKED_THREADS = 300
MAX_CHANNELS = 10
MAX_VIDEOS = 20
REACH_TTL = timedelta(days=1)
MAX_CACHED = 5_000
THREAD_PAGES = 2  # /summarize: the newest 200 threads of a video
THREAD_REPLY_CALLS = 5
MAX_THREAD_MENTIONS = 200
RATE_LIMIT_PAUSE = 300.0
OPTIONS = frozenset(
    {"q", "search", "channels", "videos", "region_code", "relevance_language", "quota_share", "daily_quota"}
)
CHANNEL_ID = re.compile(r"^UC[A-Za-z0-9_-]{22}$")
HANDLE = re.compile(r"^@[A-Za-z0-9._-]{3,30}$")
VIDEO_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
REGION = re.compile(r"^[A-Za-z]{2}$")
LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})?$")
EPOCH = datetime.min.replace(tzinfo=UTC)
CURSOR_KEYS = ("search", "listings", "listings_at", "handles")
QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded", "dailyLimitExceededUnreg"})
RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED"})
GONE_REASONS = frozenset({"videoNotFound", "channelNotFound", "commentThreadNotFound", "commentNotFound"})
REASON_HINTS = {
    "keyInvalid": f"the YouTube API key is invalid; {KEY_HINT}",
    "API_KEY_INVALID": f"the YouTube API key is invalid; {KEY_HINT}",
    "keyExpired": f"the YouTube API key has expired; {KEY_HINT}",
    "API_KEY_SERVICE_BLOCKED": f"the YouTube API key is restricted to other APIs; {KEY_HINT}",
    "API_KEY_IP_ADDRESS_BLOCKED": f"the YouTube API key is restricted to other IP addresses; {KEY_HINT}",
    "API_KEY_HTTP_REFERRER_BLOCKED": f"the YouTube API key is restricted to websites; {KEY_HINT}",
    "accessNotConfigured": "the YouTube Data API v3 is not enabled for the key's Google Cloud project: enable it "
    "in Google Cloud console > APIs & Services > Library",
    "SERVICE_DISABLED": "the YouTube Data API v3 is not enabled for the key's Google Cloud project: enable it "
    "in Google Cloud console > APIs & Services > Library",
    "forbidden": "YouTube refused access (a private video or channel?)",
    "videoNotFound": "the video no longer exists or is private",
    "channelNotFound": "no such YouTube channel (deleted, or a wrong id)",
    "commentThreadNotFound": "the comment thread no longer exists",
    "commentsDisabled": "comments are turned off on this video",
}

Item = dict[str, Any]


def _now() -> datetime:
    return datetime.now(UTC)


def pacific_day(moment: datetime) -> date:
    return moment.astimezone(PACIFIC).date()


def next_reset(moment: datetime) -> datetime:
    """The next midnight Pacific time after `moment`, when YouTube resets daily quotas (DST-aware)."""
    day = pacific_day(moment) + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=PACIFIC).astimezone(UTC)


class QuotaLedger:
    """The daily quota of one API key, as every YouTube watcher of the process using that key spends it.

    Units are counted per watcher and per Pacific day; the watchers register themselves so that the plan knows
    everyone's demand. `exhausted` remembers the day YouTube answered quotaExceeded: for searches only (under the
    current quota rules search has its own bucket) or for everything.
    """

    def __init__(self) -> None:
        self.day: date | None = None
        self.spent: dict[str, int] = {}
        self.exhausted: dict[str, date] = {}
        self.watchers: weakref.WeakSet[YouTubeWatcher] = weakref.WeakSet()
        self.reach: dict[str, tuple[datetime, int | None]] = {}
        self.titles: dict[str, str] = {}

    def _today(self) -> date:
        today = pacific_day(_now())
        if today != self.day:
            self.day, self.spent = today, {}
        return today

    def budget(self) -> int:
        """Units the watchers may spend today: the smallest share any of them allows, of the smallest quota."""
        watchers = list(self.watchers)
        share = min((w.quota_share for w in watchers), default=DEFAULT_SHARE)
        quota = min((w.daily_quota for w in watchers), default=DAILY_QUOTA)
        return int(share * quota)

    def total(self) -> int:
        self._today()
        return sum(self.spent.values())

    def affordable(self, units: int) -> bool:
        return self.total() + units <= self.budget()

    def charge(self, name: str, units: int) -> None:
        self._today()
        self.spent[name] = self.spent.get(name, 0) + units

    def restore(self, name: str, raw: object) -> None:
        """Take back what a watcher's cursor says it spent today, after a restart."""
        today = self._today()
        if name in self.spent or not isinstance(raw, dict) or raw.get("day") != today.isoformat():
            return
        units = raw.get("units")
        if isinstance(units, int) and not isinstance(units, bool) and units > 0:
            self.spent[name] = units

    def record(self, name: str) -> dict[str, Any]:
        today = self._today()
        return {"day": today.isoformat(), "units": self.spent.get(name, 0)}

    def is_exhausted(self, kind: str) -> bool:
        today = self._today()
        return self.exhausted.get("all") == today or (kind == "search" and self.exhausted.get("search") == today)

    def exhaust(self, kind: str) -> None:
        self.exhausted[kind] = self._today()

    def scales(self) -> tuple[float, float]:
        """How many times their interval the watchers' comment polls and searches must be spaced to fit the budget.

        Comment listings cost a unit or a few a poll: they keep their interval unless they alone would spend half
        the budget while searches want the rest. Searches share what the listings leave.
        """
        watchers = list(self.watchers)
        budget = float(self.budget())
        listing_demand = sum(w.listing_demand() for w in watchers)
        search_demand = sum(w.search_demand() for w in watchers)
        listing_cap = budget / 2 if search_demand else budget
        listing_scale = max(1.0, listing_demand / listing_cap) if listing_cap > 0 else math.inf
        left = budget - (listing_demand / listing_scale if listing_demand else 0.0)
        search_scale = max(1.0, search_demand / left) if left > 0 else math.inf
        return listing_scale, search_scale


# Ledgers by HTTP client (one per running app, so tests do not share), then by a hash of the key (never the key).
_LEDGERS: weakref.WeakKeyDictionary[httpx.AsyncClient, dict[str, QuotaLedger]] = weakref.WeakKeyDictionary()


def shared_ledger(context: WatcherContext, key: str) -> QuotaLedger:
    ledgers = _LEDGERS.setdefault(context.http, {})
    return ledgers.setdefault(hashlib.sha256(key.encode()).hexdigest()[:16], QuotaLedger())


@dataclass(frozen=True)
class Listing:
    """Comment threads to follow: all those of a channel's videos, or those of one video."""

    key: str  # names the listing in the cursor: "channel:UC…", "channel:@handle" or "video:…"
    param: str  # allThreadsRelatedToChannelId | videoId
    value: str  # a channel id, a handle to resolve, or a video id


@dataclass
class _Found:
    """What one poll found, before the lookups that complete it."""

    videos: dict[str, Item] = field(default_factory=dict)  # search results by video id
    comments: dict[str, tuple[Item, str, int | None]] = field(default_factory=dict)  # id → (comment, video, replies)


@dataclass(frozen=True)
class ThreadPosition:
    """Where a comment listing stands: its newest page's threads, the oldest time among them, and reply counts."""

    floor: datetime
    seen: frozenset[str]
    replies: dict[str, tuple[int, str | None]]
    off: str | None = None  # the Pacific day a video was found with comments turned off

    @classmethod
    def load(cls, raw: object) -> ThreadPosition | None:
        if not isinstance(raw, dict):
            return None
        floor = as_utc(raw.get("floor"))
        seen = raw.get("seen")
        replies = raw.get("replies")
        off = raw.get("off") if isinstance(raw.get("off"), str) else None
        if floor is None and off is None:
            return None
        return cls(
            floor or EPOCH,
            frozenset(i for i in seen if isinstance(i, str)) if isinstance(seen, list) else frozenset(),
            {
                key: (value[0], value[1] if isinstance(value[1], str) else None)
                for key, value in (replies.items() if isinstance(replies, dict) else [])
                if isinstance(value, list) and len(value) == 2 and isinstance(value[0], int)
            },
            off,
        )

    def is_new(self, thread: Item) -> bool:
        published = _published(_top_comment(thread))
        return thread["id"] not in self.seen and published is not None and published >= self.floor

    def dump(self) -> dict[str, Any]:
        return {
            "floor": _iso(self.floor),
            "seen": sorted(self.seen),
            "replies": {key: list(value) for key, value in self.replies.items()},
            **({"off": self.off} if self.off else {}),
        }


class YouTubeWatcher:
    def __init__(self, config: WatcherConfig, context: WatcherContext) -> None:
        check_options(config, OPTIONS)
        options = config.options
        key = context.env.get(KEY_ENV, "").strip()
        if not key:
            raise WatcherFieldError(
                "source",
                f"youtube needs {KEY_ENV} in the environment (an API key of a Google Cloud project with the "
                "YouTube Data API v3 enabled)",
            )
        self.listings = listings_for(options)
        self.search = _flag(options, "search", default=not self.listings or "q" in options)
        self.query = youtube_query(config) if self.search else ""
        if not self.search and not self.listings:
            raise WatcherFieldError("options", "search = false needs channels = [...] or videos = [...] to watch")
        self.region_code = _code(options, "region_code", REGION, 'a country code such as "FR"')
        self.relevance_language = _code(options, "relevance_language", LANGUAGE, 'a language code such as "fr"')
        self.quota_share = _share(options.get("quota_share", DEFAULT_SHARE))
        self.daily_quota = _whole(options.get("daily_quota", DAILY_QUOTA), "daily_quota")
        self.config = config
        self.context = context
        self.base_url = (config.base_url or DEFAULT_BASE_URL).rstrip("/")
        self._key = key
        self.ledger = shared_ledger(context, key)
        self.ledger.watchers.add(self)

    # ---- the plan ----------------------------------------------------------------------------------------------

    def search_demand(self) -> float:
        """Units a day the searches want at the watcher's interval (a page, then the statistics and reach)."""
        return (SEARCH_COST + 2 * CALL_COST) * 86400 / self.config.interval if self.search else 0.0

    def listing_demand(self) -> float:
        return (len(self.listings) + 2) * CALL_COST * 86400 / self.config.interval if self.listings else 0.0

    def _due(self, last: object, scale: float, now: datetime) -> bool:
        """Whether a part of the poll spaced to `scale` times the interval is due; a tenth of the interval early is
        on time, since the scheduler's ticks wander a little."""
        at = as_utc(last)
        if at is None:
            return True
        if math.isinf(scale):
            return False
        return now - at >= timedelta(seconds=self.config.interval * (scale - 0.1))

    # ---- polling -----------------------------------------------------------------------------------------------

    async def poll(self, cursor: dict[str, Any]) -> PollResult:
        now = _now()
        name = self.config.name
        self.ledger.restore(name, cursor.get("quota"))
        listing_scale, search_scale = self.ledger.scales()
        next_cursor = {key: value for key, value in cursor.items() if key in CURSOR_KEYS}
        found = _Found()
        blocked: list[str] = []  # due parts that the quota stopped
        done = False
        if self.search and self._due(_dict(cursor.get("search")).get("at"), search_scale, now):
            done = await self._poll_search(cursor, next_cursor, found, blocked, now)
        if self.listings and self._due(cursor.get("listings_at"), listing_scale, now):
            if self.ledger.is_exhausted("all") or not self.ledger.affordable(CALL_COST):
                blocked.append("comments")
            else:
                next_cursor["listings"] = await self._read_listings(cursor, next_cursor, found, now)
                next_cursor["listings_at"] = _iso(now)
                done = True
        if blocked and not done:
            raise self._spent_error(now)
        mentions = await self._complete(found)
        next_cursor["quota"] = self.ledger.record(name)
        return PollResult(mentions, next_cursor, not_modified=not done)

    async def _poll_search(
        self, cursor: dict[str, Any], next_cursor: dict[str, Any], found: _Found, blocked: list[str], now: datetime
    ) -> bool:
        """Run the search if the quota allows; whether it ran. A search quota used up leaves the comments going."""
        if self.ledger.is_exhausted("search") or not self.ledger.affordable(SEARCH_COST):
            blocked.append("search")
            return False
        state = _SearchState.load(cursor.get("search"))
        try:
            videos = await self._search(state)
        except SourceError as error:
            if error.code != "quotaExceeded" or not self.listings:
                raise
            log.warning("watcher %s: YouTube search quota used up; comments still read: %s", self.config.name, error)
            blocked.append("search")
            return False
        next_cursor["search"] = state.advance(videos).dump() | {"at": _iso(now)}
        if cursor.get("search") or not cursor:  # a search added to a running watcher starts from now
            found.videos.update((vid, item) for vid, item in videos.items() if state.is_new(item))
        return True

    def _spent_error(self, now: datetime) -> SourceError:
        """The health message for a quota spent. Retried every interval (or at the reset, if sooner): such a
        retry calls nothing while the day lasts, and the failures it counts raise the team's health alert."""
        reset = next_reset(now)
        when = _reset_words(reset, self.context.env.get("BOT_TIMEZONE", ""))
        if self.ledger.is_exhausted("all") or (self.ledger.is_exhausted("search") and not self.listings):
            what = "YouTube says the daily quota of this API key is used up (quotaExceeded)"
        else:
            what = (
                f"the YouTube watchers have spent their share of today's quota ({self.ledger.total():,} of "
                f"{self.ledger.budget():,} units: options.quota_share of options.daily_quota)"
            )
        return SourceError(
            f"{what}; watching resumes at midnight Pacific time ({when}). Raise options.quota_share, space the "
            "watchers (interval) or ask Google for more quota if this happens every day",
            retry_after=min((reset - now).total_seconds() + 60, float(self.config.interval)),
            code="quotaExceeded",
        )

    async def _search(self, state: _SearchState) -> dict[str, Item]:
        """Videos of the search, newest first: a page on the first poll, up to two pages from the last one after."""
        params: dict[str, Any] = {
            "part": "snippet",
            "type": "video",
            "order": "date",
            "q": self.query,
            "maxResults": SEARCH_PAGE,
        }
        if state.after is not None:
            params["publishedAfter"] = _iso(state.after - INDEXING_LAG)
        if self.region_code:
            params["regionCode"] = self.region_code.upper()
        if self.relevance_language:
            params["relevanceLanguage"] = self.relevance_language
        found: dict[str, Item] = {}
        for page in range(MAX_SEARCH_PAGES if state.after is not None else 1):
            if page and not self.ledger.affordable(SEARCH_COST):
                break
            body = await self._get("search", params, cost=SEARCH_COST)
            items = [item for item in _items(body, "search") if _video_id_of(item)]
            fresh = [item for item in items if state.is_new(item)]
            found.update((_video_id_of(item), item) for item in items)  # type: ignore[misc]
            token = body.get("nextPageToken")
            if len(fresh) < len(items) or not items or not isinstance(token, str) or not token:
                break
            params["pageToken"] = token
        return found

    async def _read_listings(
        self, cursor: dict[str, Any], next_cursor: dict[str, Any], found: _Found, now: datetime
    ) -> dict[str, Any]:
        before = _dict(cursor.get("listings"))
        positions: dict[str, Any] = {}
        reply_calls = [MAX_REPLY_CALLS]
        for listing in self.listings:  # in the order given: the team's own channel first
            position = ThreadPosition.load(before.get(listing.key))
            if position is not None and position.off == pacific_day(now).isoformat():
                positions[listing.key] = position.dump()
                continue
            if not self.ledger.affordable(CALL_COST):
                if position is not None:
                    positions[listing.key] = position.dump()
                continue
            value = await self._resolved(listing, next_cursor)
            try:
                threads = await self._threads(listing.param, value, position)
            except SourceError as error:
                if error.code != "commentsDisabled":
                    raise SourceError(
                        f"{error} ({listing.key.replace(':', ' ', 1)} in options)",
                        retry_after=error.retry_after,
                        status=error.status,
                        code=error.code,
                    ) from None
                positions[listing.key] = ThreadPosition(EPOCH, frozenset(), {}, pacific_day(now).isoformat()).dump()
                continue
            quiet = position is None and bool(cursor)  # a listing added to a running watcher starts from now
            next_position = await self._collect(threads, position, found, reply_calls, quiet=quiet)
            positions[listing.key] = next_position.dump()
        return positions

    async def _resolved(self, listing: Listing, next_cursor: dict[str, Any]) -> str:
        """The channel id behind an @handle, found once with channels.list?forHandle and kept in the cursor."""
        if not listing.value.startswith("@"):
            return listing.value
        handles = _dict(next_cursor.get("handles"))
        known = handles.get(listing.value)
        if isinstance(known, str) and CHANNEL_ID.match(known):
            return known
        body = await self._get("channels", {"part": "id", "forHandle": listing.value}, cost=CALL_COST)
        items = _items(body, "channels")
        channel = as_text(items[0].get("id")) if items else ""
        if not CHANNEL_ID.match(channel):
            raise SourceError(f"no YouTube channel has the handle {listing.value} (options.channels): check it")
        next_cursor["handles"] = {**handles, listing.value: channel}
        return channel

    async def _threads(self, param: str, value: str, position: ThreadPosition | None) -> list[Item]:
        """A listing's threads newer than `position` (its newest page when there is none), newest first."""
        params: dict[str, Any] = {
            "part": "snippet,replies",
            param: value,
            "order": "time",
            "textFormat": "plainText",
            "maxResults": THREAD_PAGE,
        }
        threads: list[Item] = []
        for page in range(MAX_THREAD_PAGES if position is not None else 1):
            if page and not self.ledger.affordable(CALL_COST):
                break
            body = await self._get("commentThreads", params, cost=CALL_COST)
            items = [item for item in _items(body, "commentThreads") if _is_thread(item)]
            threads.extend(items)
            token = body.get("nextPageToken")
            if position is None or any(not position.is_new(item) for item in items):
                break
            if not items or not isinstance(token, str) or not token:
                break
            params["pageToken"] = token
        return threads

    async def _collect(
        self,
        threads: list[Item],
        position: ThreadPosition | None,
        found: _Found,
        reply_calls: list[int],
        *,
        quiet: bool,
    ) -> ThreadPosition:
        """Add the new comments and replies of `threads` to `found`; the listing's next position."""
        counts: dict[str, tuple[int, str | None]] = {}
        for thread in threads[:MAX_TRACKED_THREADS]:
            top = _top_comment(thread)
            video = as_text(_snippet(thread).get("videoId")) or as_text(_snippet(top).get("videoId"))
            total = _count(_snippet(thread).get("totalReplyCount")) or 0
            is_new = position is None or position.is_new(thread)
            known = None if is_new or position is None else position.replies.get(thread["id"])
            if known is None and not is_new:  # a thread known without its replies (a page beyond): from now on
                known = (total, max((_published_text(r) or "" for r in _inline_replies(thread)), default="") or None)
            known_count, last = known or (0, None)
            if is_new and not quiet:
                found.comments[top["id"]] = (top, video, total)
            replies: list[Item] = []
            fetched = True
            if total > known_count and position is not None:
                replies, fetched = await self._replies(thread, total, reply_calls)
            elif total > known_count:
                replies = _inline_replies(thread)  # a first look: what came inline, no extra calls
            fresh = [reply for reply in replies if last is None or (_published_text(reply) or "") > last]
            if not quiet:
                for reply in fresh:
                    found.comments.setdefault(reply["id"], (reply, video, None))
            newest = max((_published_text(reply) or "" for reply in replies), default="") or last
            counts[thread["id"]] = (total, newest) if fetched else (known_count, last)
        if not threads:
            return position or ThreadPosition(EPOCH, frozenset(), {})
        newest_page = threads[: min(len(threads), THREAD_PAGE)]
        times = [moment for thread in newest_page if (moment := _published(_top_comment(thread))) is not None]
        return ThreadPosition(min(times, default=EPOCH), frozenset(t["id"] for t in newest_page), counts)

    async def _replies(self, thread: Item, total: int, reply_calls: list[int]) -> tuple[list[Item], bool]:
        """The thread's replies: those inline when they are all there, else from comments.list while calls last."""
        inline = _inline_replies(thread)
        if len(inline) >= total:
            return inline, True
        if reply_calls[0] <= 0 or not self.ledger.affordable(CALL_COST):
            return inline, False  # the rest next poll: the stored count stays behind
        reply_calls[0] -= 1
        return await self._all_replies(thread["id"]), True

    async def _all_replies(self, thread_id: str) -> list[Item]:
        params = {"part": "snippet", "parentId": thread_id, "textFormat": "plainText", "maxResults": THREAD_PAGE}
        body = await self._get("comments", params, cost=CALL_COST)
        return [item for item in _items(body, "comments") if isinstance(item.get("id"), str)]

    # ---- lookups -----------------------------------------------------------------------------------------------

    async def _complete(self, found: _Found, *, polling: bool = True) -> list[Mention]:
        """Mentions for what was found: videos with their statistics, comments with their video's title, and
        authors with their subscriber counts, each lookup best effort."""
        video_ids = list(found.videos) + [
            video for _, video, _ in found.comments.values() if video and video not in self.ledger.titles
        ]
        details, answered = await self._lookup(
            "videos", "snippet,statistics", list(dict.fromkeys(video_ids)), polling=polling
        )
        for video_id, video in details.items():
            self._remember(self.ledger.titles, video_id, as_text(_snippet(video).get("title")))
        channels = [as_text(_snippet(details.get(vid) or item).get("channelId")) for vid, item in found.videos.items()]
        channels += [_author_channel(comment) for comment, _, _ in found.comments.values()]
        reach = await self._reach([channel for channel in channels if channel], polling=polling)
        mentions: list[Mention] = []
        for video_id, item in found.videos.items():
            if video_id in answered and video_id not in details:
                continue  # deleted or made private since search indexed it
            mentions.append(video_to_mention(video_id, details.get(video_id), item, reach))
        for comment, video, replies in found.comments.values():
            mentions.append(comment_to_mention(comment, video, self.ledger.titles.get(video, ""), reach, replies))
        return mentions

    async def _lookup(
        self, resource: str, part: str, ids: list[str], *, polling: bool
    ) -> tuple[dict[str, Item], set[str]]:
        """Resources by id, 50 a unit, at most MAX_LOOKUP_CALLS calls, and the ids YouTube was asked about (an id
        asked and not answered is deleted or private). Best effort: what could not be afforded is left out."""
        found: dict[str, Item] = {}
        asked: set[str] = set()
        for start in range(0, min(len(ids), LOOKUP_BATCH * MAX_LOOKUP_CALLS), LOOKUP_BATCH):
            if polling and not self.ledger.affordable(CALL_COST):
                break
            batch = ids[start : start + LOOKUP_BATCH]
            try:
                body = await self._get(resource, {"part": part, "id": ",".join(batch)}, cost=CALL_COST)
            except SourceError as error:
                if error.code == "quotaExceeded":
                    raise
                log.warning("watcher %s: no YouTube %s details this time: %s", self.config.name, resource, error)
                break
            asked.update(batch)
            found.update((item["id"], item) for item in _items(body, resource) if isinstance(item.get("id"), str))
        return found, asked

    async def _reach(self, channels: list[str], *, polling: bool) -> dict[str, int]:
        """Subscriber counts (YouTube rounds them to three figures; hidden ones are left out), cached a day."""
        now = _now()
        cache = self.ledger.reach
        wanted = [c for c in dict.fromkeys(channels) if c not in cache or now - cache[c][0] > REACH_TTL]
        channels_found, _ = await self._lookup("channels", "statistics", wanted, polling=polling)
        for channel_id, channel in channels_found.items():
            statistics = channel.get("statistics") if isinstance(channel.get("statistics"), dict) else {}
            hidden = statistics.get("hiddenSubscriberCount") is True
            self._remember(cache, channel_id, (now, None if hidden else _count(statistics.get("subscriberCount"))))
        return {c: count for c in channels if c in cache and (count := cache[c][1]) is not None}

    @staticmethod
    def _remember(cache: dict[str, Any], key: str, value: Any) -> None:
        if len(cache) >= MAX_CACHED:
            cache.clear()  # rare; a day's cache is cheap to fill again
        cache[key] = value

    # ---- the conversation ----------------------------------------------------------------------------------------

    async def thread(self, mention: Mention) -> list[Mention]:
        """The video and its comment threads (the newest 200, with their replies), oldest first. It spends a few
        units of the day's quota, outside the watchers' share."""
        video_id = video_of(mention)
        if video_id is None:
            return [mention]
        found = _Found()
        details, _ = await self._lookup("videos", "snippet,statistics", [video_id], polling=False)
        if video_id not in details:
            return [mention]  # deleted or private since
        found.videos[video_id] = details[video_id]
        params: dict[str, Any] = {
            "part": "snippet,replies",
            "videoId": video_id,
            "order": "time",
            "textFormat": "plainText",
            "maxResults": THREAD_PAGE,
        }
        reply_calls = THREAD_REPLY_CALLS
        try:
            for _ in range(THREAD_PAGES):
                body = await self._get("commentThreads", params, cost=CALL_COST)
                for thread in (item for item in _items(body, "commentThreads") if _is_thread(item)):
                    top = _top_comment(thread)
                    total = _count(_snippet(thread).get("totalReplyCount")) or 0
                    found.comments[top["id"]] = (top, video_id, total)
                    replies = _inline_replies(thread)
                    if len(replies) < total and reply_calls > 0:
                        reply_calls -= 1
                        replies = await self._all_replies(thread["id"])
                    for reply in replies:
                        found.comments.setdefault(reply["id"], (reply, video_id, None))
                token = body.get("nextPageToken")
                if not isinstance(token, str) or not token:
                    break
                params["pageToken"] = token
        except SourceError as error:
            if error.code != "commentsDisabled":
                raise
        mentions = await self._complete(found, polling=False)
        if mention.external_id not in {item.external_id for item in mentions}:
            mentions.append(mention)
        return sorted(mentions, key=lambda item: item.created_at or EPOCH)[:MAX_THREAD_MENTIONS]

    # ---- HTTP --------------------------------------------------------------------------------------------------

    async def _get(self, resource: str, params: dict[str, Any], *, cost: int) -> dict[str, Any]:
        """GET a resource with the key in a header (never in a URL that an error could quote), charged first:
        YouTube counts refused calls too."""
        kind = "search" if resource == "search" else "all"
        if self.ledger.is_exhausted(kind):
            raise self._spent_error(_now())
        self.ledger.charge(self.config.name, cost)
        url = f"{self.base_url}/{resource}"
        try:
            _, body = await fetch_json(self.context, url, params=params, headers={"X-Goog-Api-Key": self._key})
        except SourceError as error:
            reasons = google_reasons(error.body)
            if reasons & QUOTA_REASONS:
                self.ledger.exhaust(kind)
                raise self._spent_error(_now()) from None
            raise explain_error(error, reasons) from None
        if not isinstance(body, dict):
            raise SourceError(f"{url} did not send a JSON object")
        return body


@dataclass(frozen=True)
class _SearchState:
    """The newest publication time the search has seen, and the videos seen in the day before it."""

    after: datetime | None = None
    seen: frozenset[str] = frozenset()

    @classmethod
    def load(cls, raw: object) -> _SearchState:
        state = _dict(raw)
        seen = state.get("seen")
        ids = frozenset(i for i in seen if isinstance(i, str)) if isinstance(seen, list) else frozenset()
        return cls(as_utc(state.get("after")), ids)

    def is_new(self, item: Item) -> bool:
        if _video_id_of(item) in self.seen:
            return False
        published = _published(item)
        return self.after is None or (published is not None and published >= self.after - INDEXING_LAG)

    def advance(self, videos: dict[str, Item]) -> _SearchState:
        """The state after `videos` (newest first): the newest time seen, and what was seen in the day before it."""
        times = {video_id: _published(item) for video_id, item in videos.items()}
        newest = max([moment for moment in times.values() if moment is not None] + [self.after or EPOCH])
        after = newest if newest > EPOCH else None
        recent = list(times) + sorted(self.seen - set(times))  # this poll's first: they are the ones to keep
        return _SearchState(after, frozenset(recent[:MAX_SEEN]))

    def dump(self) -> dict[str, Any]:
        return {"after": _iso(self.after) if self.after else None, "seen": sorted(self.seen)}


# ---- options ----------------------------------------------------------------------------------------------------


def youtube_query(config: WatcherConfig) -> str:
    """The query for search.list: `options.q` as written (a list is OR'ed), else the query's words and phrases
    joined by `|`, YouTube's OR. The matcher applies the rest of the query (exclusions, fields)."""
    terms = keyword_searches(config)
    if not terms:
        raise WatcherFieldError("options", "the query has no word to search for; set options.q")
    return "|".join(terms)


def listings_for(options: dict[str, Any]) -> list[Listing]:
    channels = _list(options, "channels", MAX_CHANNELS)
    videos = _list(options, "videos", MAX_VIDEOS)
    listings: list[Listing] = []
    for channel in channels:
        if not CHANNEL_ID.match(channel) and not HANDLE.match(channel):
            raise WatcherFieldError(
                "options", f'{channel!r} is not a channel id ("UC" and 22 characters) or a handle ("@name")'
            )
        listings.append(Listing(f"channel:{channel}", "allThreadsRelatedToChannelId", channel))
    for raw in videos:
        video = _video_in(raw)
        if video is None:
            raise WatcherFieldError("options", f"{raw!r} is not a video id (11 characters) or a watch URL")
        listings.append(Listing(f"video:{video}", "videoId", video))
    return list({listing.key: listing for listing in listings}.values())


def _video_in(raw: str) -> str | None:
    if VIDEO_ID.match(raw):
        return raw
    parts = urlsplit(raw)
    host = (parts.hostname or "").lower()
    if host == "youtu.be":
        candidate = parts.path.strip("/")
    elif host.endswith("youtube.com"):
        candidate = parse_qs(parts.query).get("v", [""])[0] or parts.path.rstrip("/").rsplit("/", 1)[-1]
    else:
        return None
    return candidate if VIDEO_ID.match(candidate) else None


def _list(options: dict[str, Any], name: str, limit: int) -> list[str]:
    value = options.get(name, [])
    if not isinstance(value, list) or len(value) > limit or not all(isinstance(v, str) and v.strip() for v in value):
        raise WatcherFieldError("options", f"{name} must be a list of at most {limit} texts, got {value!r}")
    return [item.strip() for item in value]


def _flag(options: dict[str, Any], name: str, *, default: bool) -> bool:
    value = options.get(name, default)
    if not isinstance(value, bool):
        raise WatcherFieldError("options", f"{name} must be true or false, got {value!r}")
    return value


def _code(options: dict[str, Any], name: str, pattern: re.Pattern[str], example: str) -> str | None:
    value = options.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not pattern.match(value):
        raise WatcherFieldError("options", f"{name} must be {example}, got {value!r}")
    return value


def _share(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise WatcherFieldError("options", f"quota_share must be a number above 0 and at most 1, got {value!r}")
    return float(value)


def _whole(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < SEARCH_COST:
        raise WatcherFieldError("options", f"{name} must be a whole number of units, at least {SEARCH_COST}")
    return value


# ---- errors -----------------------------------------------------------------------------------------------------


def google_reasons(body: bytes) -> frozenset[str]:
    """The reasons of a Google API error body: `error.errors[].reason` (and the newer `error.details[].reason`,
    which carries API_KEY_INVALID and SERVICE_DISABLED). Never the message, which is for people and changes."""
    try:
        error = json.loads(body).get("error")
    except (ValueError, AttributeError):
        return frozenset()
    if not isinstance(error, dict):
        return frozenset()
    entries = [*_list_of(error.get("errors")), *_list_of(error.get("details"))]
    return frozenset(reason for entry in entries if isinstance(reason := entry.get("reason"), str) and reason)


def explain_error(error: SourceError, reasons: frozenset[str]) -> SourceError:
    """`error` with what YouTube's reason means and what to do; rate limits come back after a pause."""
    hint = next((REASON_HINTS[reason] for reason in sorted(reasons) if reason in REASON_HINTS), None)
    code = next(iter(sorted(reasons & (set(REASON_HINTS) | RATE_REASONS))), None)
    retry_after = error.retry_after
    if reasons & RATE_REASONS:
        hint, retry_after = "YouTube asks to slow down; trying again in a few minutes", retry_after or RATE_LIMIT_PAUSE
    elif hint is None and error.status in (400, 401, 403) and not reasons - {"badRequest", "forbidden"}:
        hint = KEY_HINT if error.status != 403 else REASON_HINTS["forbidden"]
    if hint is None:
        return error
    return SourceError(f"{error}: {hint}", retry_after=retry_after, status=error.status, code=code, body=error.body)


# ---- mapping ----------------------------------------------------------------------------------------------------


def video_to_mention(video_id: str, video: Item | None, search_item: Item, reach: dict[str, int]) -> Mention:
    """A video: its title and description (the complete one from videos.list; search's is cut and HTML-escaped),
    statistics as engagement, the channel's subscribers as reach."""
    if video is not None:
        snippet = _snippet(video)
        title, text = as_text(snippet.get("title")), as_text(snippet.get("description"))
    else:
        snippet = _snippet(search_item)
        title, text = html.unescape(as_text(snippet.get("title"))), html.unescape(as_text(snippet.get("description")))
    statistics = video.get("statistics") if video is not None and isinstance(video.get("statistics"), dict) else {}
    channel = as_text(snippet.get("channelId"))
    language = as_text(snippet.get("defaultAudioLanguage")) or as_text(snippet.get("defaultLanguage"))
    return Mention(
        source="youtube",
        external_id=video_id,
        url=f"{WEB_URL}/watch?v={video_id}",
        text=text,
        title=one_line(title),
        author_handle=channel,
        author_name=as_text(snippet.get("channelTitle")),
        author_reach=reach.get(channel),
        created_at=_published(snippet),
        lang=language.split("-")[0].lower() or None,
        engagement=_engagement(
            views=statistics.get("viewCount"),
            likes=statistics.get("likeCount"),
            comments=statistics.get("commentCount"),
        ),
        conversation_id=video_id,
    )


def comment_to_mention(comment: Item, video_id: str, title: str, reach: dict[str, int], replies: int | None) -> Mention:
    """A comment or a reply, linked to itself under its video (`&lc=` works for replies too)."""
    snippet = _snippet(comment)
    text = as_text(snippet.get("textOriginal")) or html.unescape(as_text(snippet.get("textDisplay")))
    author = _author_channel(comment)
    parent = as_text(snippet.get("parentId")) or video_id or None
    return Mention(
        source="youtube",
        external_id=comment["id"],
        url=f"{WEB_URL}/watch?v={video_id}&lc={comment['id']}" if video_id else f"{WEB_URL}/",
        text=text,
        title=one_line(title),
        author_handle=author,
        author_name=as_text(snippet.get("authorDisplayName")),
        author_reach=reach.get(author),
        created_at=_published(snippet),
        engagement=_engagement(likes=snippet.get("likeCount"), replies=replies),
        conversation_id=video_id or None,
        parent_id=parent,
    )


def video_of(mention: Mention) -> str | None:
    """The video a mention belongs to: its conversation, else the `v=` of its URL."""
    if mention.conversation_id and VIDEO_ID.match(mention.conversation_id):
        return mention.conversation_id
    return _video_in(mention.url)


def _engagement(**values: object) -> dict[str, int]:
    """Counts, which YouTube sends as strings ("1234"); missing ones (likes hidden, comments off) left out."""
    counts = {key: _count(value) for key, value in values.items()}
    return {key: value for key, value in counts.items() if value is not None}


def _count(value: object) -> int | None:
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _snippet(item: Item | None) -> Item:
    snippet = item.get("snippet") if isinstance(item, dict) else None
    return snippet if isinstance(snippet, dict) else {}


def _top_comment(thread: Item) -> Item:
    top = _snippet(thread).get("topLevelComment")
    return top if isinstance(top, dict) else {}


def _is_thread(item: Item) -> bool:
    return isinstance(item.get("id"), str) and isinstance(_top_comment(item).get("id"), str)


def _inline_replies(thread: Item) -> list[Item]:
    replies = thread.get("replies")
    comments = replies.get("comments") if isinstance(replies, dict) else None
    return [c for c in _list_of(comments) if isinstance(c.get("id"), str)]


def _author_channel(comment: Item) -> str:
    author = _snippet(comment).get("authorChannelId")
    return as_text(author.get("value")) if isinstance(author, dict) else ""


def _video_id_of(item: Item) -> str | None:
    identity = item.get("id")
    video = identity.get("videoId") if isinstance(identity, dict) else None
    return video if isinstance(video, str) and VIDEO_ID.match(video) else None


def _published(item: Item) -> datetime | None:
    return as_utc(_published_text(item))


def _published_text(item: Item) -> str | None:
    snippet = _snippet(item) if "snippet" in item else item
    value = snippet.get("publishedAt")
    return value if isinstance(value, str) else None


def _items(body: dict[str, Any], resource: str) -> list[Item]:
    items = body.get("items")
    if not isinstance(items, list):
        raise SourceError(f"YouTube's {resource} answer has no list of items (has the API changed?)")
    return [item for item in items if isinstance(item, dict)]


def _list_of(value: object) -> list[Item]:
    return [entry for entry in value if isinstance(entry, dict)] if isinstance(value, list) else []


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _reset_words(reset: datetime, timezone: str) -> str:
    try:
        zone = ZoneInfo(timezone or "Europe/Paris")
    except (ValueError, KeyError):
        zone = ZoneInfo("Europe/Paris")
    local = reset.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M} {zone.key}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
