"""What /summarize and /draft read: a Slack thread, a channel's recent messages, or the conversation on a source
around a mention (fetched by the watcher that found it), all as `Post`s of plain text.

Slack markup is turned back into what people see (`<@U1>` becomes "@Ann", `<url|label>` becomes "label (url)"),
so prompts hold plain text; it is outside text all the same, and is escaped again before it returns to Slack.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from veilleur.core.errors import UserError
from veilleur.core.i18n import Phrase, technical
from veilleur.core.mentions import Mention, tier_floor
from veilleur.core.watcher_config import AuthorLabel
from veilleur.slack.links import MessageRef
from veilleur.slack.targets import PostTarget, UrlRef, bare_word, parse_target
from veilleur.storage.labels import MentionLabels
from veilleur.storage.store import Store, utcnow
from watchers.base import SourceError, Watcher

log = logging.getLogger(__name__)

MAX_MESSAGES = 2000
PAGE_SIZE = 200
NAME_LOOKUPS_AT_ONCE = 8
SOURCE_THREAD_TIMEOUT = 45.0
MAX_WINDOW = timedelta(days=30)
DEFAULT_WINDOW = timedelta(hours=24)
# Messages people wrote; joins, topic changes and the like are not part of a conversation.
_CONVERSATION_SUBTYPES = frozenset({None, "thread_broadcast", "bot_message", "file_share", "me_message"})
# English units and French ones (jours, semaines): the usage hint shows those of BOT_LANGUAGE, both always work.
_WINDOW = re.compile(r"^(\d{1,4})\s*(h|d|j|w|sem)$", re.IGNORECASE)
_WINDOW_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "j": timedelta(days=1), "w": timedelta(weeks=1),
                 "sem": timedelta(weeks=1)}
_SLACK_SEQUENCE = re.compile(r"<([^<>]*)>")
_BROADCASTS = ("!here", "!channel", "!everyone")


@dataclass(frozen=True, slots=True)
class Post:
    """One message of a conversation. `handle` groups an author's posts and finds their `[[author]]` labels;
    `key` is the message's Slack ts, or the mention's external id.
    """

    author: str
    handle: str
    text: str
    reach: int | None = None
    at: datetime | None = None
    source: str | None = None
    labels: tuple[str, ...] = ()
    lang: str | None = None
    key: str = ""
    name: str = ""  # what to call the author in a reply: their name, else their handle
    # A stored mention's stance from the team (a correction) or the model: it wins over the summary's own labels.
    stance: str | None = None


@dataclass(frozen=True, slots=True)
class Conversation:
    """`kind` is "thread" (Slack), "channel" (a Slack channel over `window`) or "mention" (on its source).

    `problem` is a catalogue key saying why the conversation is partial, with `problem_detail` (outside text, or a
    phrase quoting some: a source's error).
    With `reach_tiers` (PRIVACY_PROFILE=public-body), each post's reach is its tier's lowest count (`tier_floor`),
    to be shown as a tier.
    """

    kind: str
    posts: tuple[Post, ...]
    channel: str | None = None
    window: timedelta | None = None
    source: str | None = None
    url: str | None = None
    excerpt: str | None = None
    problem: str | None = None
    problem_detail: str | Phrase = ""
    reach_tiers: bool = False


# What a command points at -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WindowRef:
    window: timedelta


Target = PostTarget | WindowRef


def parse_conversation_target(word: str) -> Target | None:
    """What /summarize reads: a message, mention or post (`parse_target`), or a window ("3d", "12h", "1w"; or in
    French "3j", "1sem")."""
    if target := parse_target(word):
        return target
    if match := _WINDOW.match(bare_word(word)):
        window = int(match[1]) * _WINDOW_UNITS[match[2].lower()]
        return WindowRef(window) if timedelta(0) < window <= MAX_WINDOW else None
    return None


def slack_to_plain(text: str, names: Mapping[str, str]) -> str:
    """Slack message markup as people read it: mentions by name, links as "label (url)", entities decoded."""

    def readable(match: re.Match[str]) -> str:
        target, _, label = match[1].partition("|")
        if target.startswith("@"):
            return "@" + (names.get(target[1:]) or label or target[1:])
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith(_BROADCASTS):
            return "@" + target[1:]
        if target.startswith("!"):
            return label or target[1:]
        return f"{label} ({target})" if label and label != target else target

    return html.unescape(_SLACK_SEQUENCE.sub(readable, text))


def mention_text(mention: Mention, *, with_title: bool = True) -> str:
    """A mention as one text: its title (articles, stories) then its body."""
    if not with_title:
        return mention.text or mention.url
    if mention.title and mention.text and not mention.text.startswith(mention.title):
        return f"{mention.title}\n{mention.text}"
    return mention.text or mention.title or mention.url


def author_labels(authors: Sequence[AuthorLabel], source: str | None, handle: str, name: str) -> tuple[str, ...]:
    labels: dict[str, None] = {}
    for author in authors:
        if author.matches(source, handle, name):
            labels.update(dict.fromkeys(author.labels))
    return tuple(labels)


class ConversationFetcher:
    def __init__(
        self,
        store: Store,
        slack: AsyncWebClient | None,
        watchers: Mapping[str, Watcher],
        authors: Sequence[AuthorLabel],
        *,
        reach_tiers: bool = False,
    ) -> None:
        self.store = store
        self.slack = slack
        self.watchers = watchers
        self.authors = authors
        # A source's conversation brings follower counts the store never held: they become tiers here too.
        self.reach_tiers = reach_tiers
        self._names: dict[str, asyncio.Future[str | None]] = {}
        self._lookups = asyncio.Semaphore(NAME_LOOKUPS_AT_ONCE)
        self._bot_user_id: str | None = None

    # Mentions -------------------------------------------------------------------------------------------

    def mention(self, mention_id: int) -> Mention:
        if not self.store.has_mention(mention_id):
            raise UserError("assist.no_mention", id=str(mention_id))
        return self.store.mention(mention_id)

    def mention_id_for_url(self, url: str) -> int:
        """The newest stored mention at `url` (a trailing slash does not matter); UserError when there is none."""
        found = self.store.mention_ids_at_url(url)
        if not found:
            raise UserError("assist.unknown_url", url=url)
        return found[-1]

    def mention_id_for_card(self, channel: str, ts: str) -> int | None:
        """The mention whose card is the message at (channel, ts), if it is one of our cards."""
        card = self.store.card_for_message(channel, ts)
        return card.mention_id if card is not None else None

    def card_thread(self, mention_id: int) -> tuple[str, str] | None:
        """(channel, thread ts) of the mention's latest card in Slack: the card's own thread, or the thread of the
        roll-up it was posted in. None when no card was posted."""
        card = self.store.latest_posted_card(mention_id)
        if card is None or card.slack_ts is None:
            return None
        return card.channel, card.thread_ts or card.slack_ts

    def mention_post(self, mention: Mention, *, with_title: bool = True) -> Post:
        name, handle = mention.author_name.strip(), mention.author_handle.strip()
        author = f"{name} ({handle})" if name and handle and name != handle else (name or handle or "?")
        reach = mention.author_reach
        if reach is not None and self.reach_tiers:
            reach = tier_floor(reach)
        return Post(
            author=author,
            handle=handle or name or "?",
            text=mention_text(mention, with_title=with_title),
            reach=reach,
            at=mention.created_at,
            source=mention.source,
            labels=author_labels(self.authors, mention.source, handle, name),
            lang=mention.lang,
            key=mention.external_id,
            name=name or handle,
        )

    def with_stored_stances(self, posts: Sequence[Post]) -> list[Post]:
        """`posts` with the stance the team or the model gave those that are stored mentions (by source and id)."""
        stored: dict[tuple[str, str], str] = {}
        for source in {post.source for post in posts if post.source}:
            keys = [post.key for post in posts if post.source == source and post.key]
            for key, labels in MentionLabels(self.store).by_external_id(source, keys).items():
                if stance := labels.stance_team or labels.stance_model:
                    stored[source, key] = stance
        return [replace(post, stance=stored.get((post.source or "", post.key), post.stance)) for post in posts]

    async def mention_conversation(self, mention_id: int) -> Conversation:
        """The conversation on the source around the mention, from its watcher; the mention alone if unreachable."""
        mention = self.mention(mention_id)
        thread, problem = [mention], None
        detail: str | Phrase = ""
        watcher_name = self.store.watcher_of(mention_id)
        watcher = self.watchers.get(watcher_name) if watcher_name else None
        if watcher is None:
            problem, detail = "conversation.no_watcher", watcher_name or "?"
        else:
            try:
                async with asyncio.timeout(SOURCE_THREAD_TIMEOUT):
                    thread = await watcher.thread(mention) or [mention]
            except TimeoutError:
                problem = "conversation.source_failed"
                detail = Phrase.of("error.no_answer_within", count=round(SOURCE_THREAD_TIMEOUT))
            except Exception as error:  # a watcher's failure must not lose the mention we already have
                log.warning("thread of mention %s from %s failed: %s", mention_id, watcher_name, error)
                problem = "conversation.source_failed"
                detail = error.phrase if isinstance(error, SourceError) else technical(str(error))
        if len(thread) > MAX_MESSAGES:
            thread, problem, detail = thread[:MAX_MESSAGES], "conversation.truncated", str(MAX_MESSAGES)
        # Replies often repeat their story's title (Hacker News, Discourse): show it once.
        titles_seen: set[str] = set()
        posts = []
        for item in thread:
            posts.append(self.mention_post(item, with_title=item.title not in titles_seen))
            titles_seen.add(item.title)
        posts = self.with_stored_stances(posts)
        return Conversation(
            kind="mention",
            posts=tuple(posts),
            source=mention.source,
            url=mention.url,
            excerpt=(mention.title or mention.text)[:200],
            problem=problem,
            problem_detail=detail,
            reach_tiers=self.reach_tiers,
        )

    async def for_target(self, target: Target, channel: str) -> Conversation:
        """What /summarize reads for `target`; a window is over `channel`, where the command was typed."""
        if isinstance(target, WindowRef):
            return await self.slack_channel(channel, target.window)
        if isinstance(target, MessageRef):
            return await self.slack_thread(target.channel, target.thread_ts or target.ts)
        if isinstance(target, UrlRef):
            return await self.mention_conversation(self.mention_id_for_url(target.url))
        return await self.mention_conversation(target.mention_id)

    # Slack ----------------------------------------------------------------------------------------------

    async def slack_thread(self, channel: str, ts: str) -> Conversation:
        """Every message of the thread that `ts` belongs to (`ts` is its root), read page by page."""
        messages, truncated = await self._pages("conversations_replies", channel=channel, ts=ts)
        posts = await self._slack_posts(channel, messages, keep_cards=True)
        return Conversation(
            kind="thread",
            posts=tuple(posts),
            channel=channel,
            problem="conversation.truncated" if truncated else None,
            problem_detail=str(MAX_MESSAGES) if truncated else "",
            reach_tiers=self.reach_tiers,
        )

    async def slack_channel(self, channel: str, window: timedelta, now: datetime | None = None) -> Conversation:
        """A channel's messages over `window`: what people wrote, and the mentions whose cards were posted there."""
        since = (now or utcnow()) - window
        oldest = f"{since.timestamp():.6f}"
        messages, truncated = await self._pages("conversations_history", channel=channel, oldest=oldest)
        # Our cards are read from the store instead, with those posted in the threads of burst roll-ups.
        posts = await self._slack_posts(channel, messages, keep_cards=False)
        posts += self.with_stored_stances(
            [self.mention_post(mention) for mention in self._mentions_posted(channel, since)]
        )
        posts.sort(key=lambda post: post.at or since)
        return Conversation(
            kind="channel",
            posts=tuple(posts[-MAX_MESSAGES:]),
            channel=channel,
            window=window,
            problem="conversation.truncated" if truncated or len(posts) > MAX_MESSAGES else None,
            problem_detail=str(MAX_MESSAGES),
            reach_tiers=self.reach_tiers,
        )

    async def _pages(self, method: str, **args: str) -> tuple[list[dict[str, Any]], bool]:
        """All pages of a conversations.* read, up to MAX_MESSAGES; True when more were left."""
        if self.slack is None:
            raise UserError("assist.no_slack")
        messages: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            try:
                response = await getattr(self.slack, method)(limit=PAGE_SIZE, cursor=cursor, **args)
            except SlackApiError as error:
                raise UserError(_slack_error_key(error), error=str(error.response.get("error"))) from None
            messages.extend(response.get("messages") or [])
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if len(messages) >= MAX_MESSAGES:
                return messages[:MAX_MESSAGES], True
            if cursor is None:
                return messages, False

    async def _slack_posts(
        self, channel: str, messages: Iterable[dict[str, Any]], *, keep_cards: bool
    ) -> list[Post]:
        """Posts from Slack messages. Our own messages are left out; with `keep_cards`, our cards are kept as the
        mention they show (a card's thread starts with it)."""
        bot_user = await self._bot_user()
        kept: list[dict[str, Any]] = []
        posts_for: dict[str, Post] = {}
        for message in messages:
            if message.get("subtype") not in _CONVERSATION_SUBTYPES:
                continue
            if bot_user is not None and message.get("user") == bot_user:
                mention_id = self.mention_id_for_card(channel, str(message.get("ts"))) if keep_cards else None
                if mention_id is not None:
                    post = self.mention_post(self.store.mention(mention_id))
                    posts_for[str(message["ts"])] = post
                    kept.append(message)
                continue
            kept.append(message)
        names = await self._user_names({str(m["user"]) for m in kept if m.get("user") and m["ts"] not in posts_for})
        posts = []
        for message in kept:
            ts = str(message["ts"])
            if ts in posts_for:
                posts.append(replace(posts_for[ts], key=ts))
                continue
            user = str(message.get("user") or message.get("bot_id") or "?")
            author = names.get(user) or str(message.get("username") or user)
            posts.append(
                Post(
                    author=author,
                    handle=user,
                    text=slack_to_plain(str(message.get("text") or ""), names),
                    at=_slack_time(ts),
                    source="slack",
                    labels=author_labels(self.authors, "slack", user, author),
                    key=ts,
                    name=author,
                )
            )
        return posts

    async def _bot_user(self) -> str | None:
        if self._bot_user_id is None and self.slack is not None:
            try:
                self._bot_user_id = (await self.slack.auth_test()).get("user_id")
            except SlackApiError as error:
                log.warning("auth.test failed: %s", error.response.get("error"))
        return self._bot_user_id

    async def _user_names(self, users: set[str]) -> dict[str, str]:
        """Display names, looked up once per user for the life of the bot, however many summaries ask at once."""
        ordered = sorted(users)
        for user in ordered:
            if user not in self._names:
                self._names[user] = asyncio.ensure_future(self._look_up(user))
        found = await asyncio.gather(*(self._names[user] for user in ordered))
        return {user: name for user, name in zip(ordered, found, strict=True) if name}

    async def _look_up(self, user: str) -> str | None:
        async with self._lookups:
            try:
                info = (await self.slack.users_info(user=user))["user"]  # type: ignore[union-attr]
            except (SlackApiError, KeyError, TypeError):
                del self._names[user]  # not known for good: ask again next time
                return None
        profile = info.get("profile") or {}
        name = profile.get("display_name") or profile.get("real_name") or info.get("real_name") or info.get("name")
        return str(name) if name else None

    def _mentions_posted(self, channel: str, since: datetime) -> list[Mention]:
        posted = self.store.mentions_posted_since(channel, since, MAX_MESSAGES)
        return [self.store.mention(mention_id) for mention_id in posted]


def _slack_time(ts: str) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(ts), UTC)
    except ValueError:
        return None


def _slack_error_key(error: SlackApiError) -> str:
    code = error.response.get("error")
    if code in ("not_in_channel", "channel_not_found", "missing_scope"):
        return "assist.cannot_read"
    if code in ("thread_not_found", "message_not_found"):
        return "assist.no_message"
    return "assist.slack_failed"
