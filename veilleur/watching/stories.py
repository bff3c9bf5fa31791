"""One story, one message: mentions of the same story in a channel are grouped on the first card.

Two mentions tell the same story when they share a canonical link (`link_keys`) or have near-identical text
(`text_fingerprint`: a 64-bit SimHash of the folded text's word shingles, equal within `MAX_DISTANCE` bits).
A story lives for `STORY_WINDOW` from its first card; after that the same link or text starts a new story.
Many near-identical texts from different authors in a short while are flagged as a *possible* coordinated
campaign, once per story.

Grouping runs on the loop's write connection (it reads what it wrote for the previous card), PLACE_CHUNK cards per
transaction, and lets the loop serve Slack between chunks. A poll that needs more than one chunk has its cards held
back from the outbox until the last chunk is placed: none of them is posted before it is known to join a story.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from slack_sdk.web.async_client import AsyncWebClient

from veilleur.core.hostility import mention_mark
from veilleur.core.mentions import Mention, author_key
from veilleur.core.query import fold
from veilleur.core.reach import Outlets, reach_level
from veilleur.core.text import title_then_text
from veilleur.core.watcher_config import WatcherConfig
from veilleur.escalation import cards as escalation_cards
from veilleur.slack import cards
from veilleur.slack.cards import AlsoSeen, CampaignFlag
from veilleur.storage.claims import ClaimRecords
from veilleur.storage.escalations import Escalation, EscalationStore
from veilleur.storage.labels import MentionLabels
from veilleur.storage.store import Delivery, PollOutcome, Store, _chunks, iso, utcnow
from veilleur.storage.stories import Campaign, StoryMember, StoryRecords

log = logging.getLogger(__name__)

FINGERPRINT_BITS = 64
# Measured on 94 real posts (README, "One story, one message"): distinct posts, even on one topic, are 11+ bits
# apart; copies that differ by links, @handles, trailing hashtags, "RT", case, accents or emoji are 0 bits apart;
# one word changed stays within 3 bits for long texts only (18% of the corpus).
MAX_DISTANCE = 3
SHINGLE_WORDS = 2
# Below this many words, two texts are too alike by chance ("Le tram est en panne") to be called the same story.
MIN_FINGERPRINT_WORDS = 8
# Only the beginning of a long text is fingerprinted: copies share it, and a 100 KB article costs no more than a post.
FINGERPRINT_CHARS = 4000
# SimHash bands: two fingerprints within MAX_DISTANCE bits agree exactly on at least one of MAX_DISTANCE + 1
# bands (pigeonhole), so an indexed lookup on the bands finds every candidate.
BANDS = MAX_DISTANCE + 1
BAND_BITS = FINGERPRINT_BITS // BANDS
TEXT_LINKS_LIMIT = 5
# A story keeps lookup keys for its first members only: enough to be found by every variant of its link and text,
# while a story of thousands of copies (a campaign) costs no more to look up than a small one.
KEYED_MEMBERS = 20
# The campaign check reads at most this many of a story's latest members.
CAMPAIGN_SCAN = 1000
# A new card's lookup reads at most this many keys of live stories.
FIND_LIMIT = 500
# Cards placed per transaction before the loop serves others: 0.5 to 0.7 ms a card (bench_after_poll.py), so a chunk
# holds the loop 5 to 7 ms, and stays under 50 ms on a machine several times slower or busier.
PLACE_CHUNK = 10
# How long a large poll's cards are held back while they are grouped. Grouping lifts the hold as soon as it is
# done; this only matters if it never finishes (the bot stopped): then they are posted, ungrouped, after it.
GROUPING_HOLD = timedelta(minutes=2)
# A first card being posted when its story grows is updated once posted: wait at most this long for it.
REFRESH_WAIT_STEP = 0.2
REFRESH_WAIT_STEPS = 150

TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid", "mc_cid", "mc_eid", "_ga",
     "_gl", "mkt_tok", "ref_src", "ref_url", "si", "s_cid", "cmpid", "xtor", "at_medium", "at_campaign"}
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_", "oly_")
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
# A handle, with the "via" or "cc" that credits it.
_HANDLE = re.compile(r"(?:\b(?:via|cc):?\s+)?(?<![\w@])@[\w.-]+(?:@[\w-]+(?:\.[\w-]+)+)?", re.IGNORECASE)
_WORD = re.compile(r"\w+")
# What copies of one post vary: a retweet's "RT @x:" and the block of hashtags at the end.
_RETWEET = re.compile(r"^\s*RT\b:?", re.IGNORECASE)
_TRAILING_HASHTAGS = re.compile(r"(?:\s*#\w+)+\W*$")
_TRAILING_PUNCTUATION = ".,;:!?)]}»\"'…"


def link_key(url: str) -> str | None:
    """The canonical form of an http(s) link, or None when it names no particular page (a bare site).

    Scheme, `www.` and host case, default ports, fragments, trailing slashes and tracking parameters (utm_*,
    fbclid, gclid…) do not matter; the other query parameters are kept, sorted.
    """
    url = url.strip().rstrip(_TRAILING_PUNCTUATION)
    if url.lower().startswith("www."):
        url = "https://" + url
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().removeprefix("www.")
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    pairs = sorted(pair for pair in parts.query.split("&") if pair and not _is_tracking_param(pair))
    path = parts.path.rstrip("/")
    if not path and not pairs:
        return None
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    return urlunsplit(("", netloc, path, "&".join(pairs), "")).removeprefix("//")


def link_keys(mention: Mention) -> tuple[str, ...]:
    """The canonical links of a mention: its own, then the first few its text points to (a shared article)."""
    candidates = [mention.url, *_URL.findall(mention.text)[:TEXT_LINKS_LIMIT]]
    keys = (link_key(candidate) for candidate in candidates if candidate)
    return tuple(dict.fromkeys(key for key in keys if key is not None))


def folded_words(text: str) -> list[str]:
    """The words of `text` without links, @handles, a leading RT or trailing hashtags; case and accents folded.

    That is what the copies of one post keep in common.
    """
    text = _HANDLE.sub(" ", _URL.sub(" ", text))
    text = _TRAILING_HASHTAGS.sub("", _RETWEET.sub("", text))
    return _WORD.findall(fold(text))


def text_fingerprint(mention: Mention) -> int | None:
    """The SimHash of the mention's title and text; None when too short to tell a story apart by its text."""
    words = folded_words(mention.title) + folded_words(mention.text[:FINGERPRINT_CHARS])
    if len(words) < MIN_FINGERPRINT_WORDS:
        return None
    return simhash(shingles(words))


def shingles(words: list[str]) -> set[str]:
    return {" ".join(words[start : start + SHINGLE_WORDS]) for start in range(len(words) - SHINGLE_WORDS + 1)}


def simhash(features: set[str]) -> int:
    """Charikar's SimHash: each bit is the majority vote of that bit over the features' hashes."""
    digests = [
        format(int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "big"), "064b")
        for feature in features
    ]
    # Column by column in C (zip, count) rather than bit by bit in Python: about ten times faster on a long post.
    # The strings read most significant bit first.
    majority = [2 * column.count("1") > len(digests) for column in zip(*digests, strict=True)]
    return sum(1 << (FINGERPRINT_BITS - 1 - position) for position, wins in enumerate(majority) if wins)


def distance(a: int, b: int) -> int:
    """Hamming distance between two fingerprints."""
    return (a ^ b).bit_count()


def bands(fingerprint: int) -> tuple[str, ...]:
    """Lookup keys for a fingerprint: each of its bands, tagged with its position."""
    mask = (1 << BAND_BITS) - 1
    return tuple(f"t{band}:{fingerprint >> (band * BAND_BITS) & mask:04x}" for band in range(BANDS))


def _is_tracking_param(pair: str) -> bool:
    name = pair.partition("=")[0].lower()
    return name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES)


@dataclass(frozen=True, slots=True)
class StoryView:
    """What a story adds to its first card; empty for every other card."""

    also_seen: tuple[AlsoSeen, ...] = ()
    campaign: CampaignFlag | None = None


@dataclass(frozen=True, slots=True)
class _Match:
    story_id: int
    joined_by: str


class StoryService:
    """Groups each poll's new cards into stories (the `Poller.after_record` hook) and shows them on first cards."""

    def __init__(
        self,
        store: Store,
        *,
        window: timedelta,
        campaign_min_posts: int,
        campaign_window: timedelta,
        lang: str,
        tz: ZoneInfo,
        slack: AsyncWebClient | None = None,
        on_queued: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = utcnow,
        reach_tiers: bool = False,
        outlets: Outlets | None = None,
    ) -> None:
        self.store = store
        self.records = StoryRecords(store)
        self.labels = MentionLabels(store)
        self.window = window
        self.campaign_min_posts = campaign_min_posts
        self.campaign_window = campaign_window
        self.lang = lang
        self.tz = tz
        self.slack = slack
        self.on_queued = on_queued
        self.clock = clock
        self.reach_tiers = reach_tiers  # cards show reach tiers, not counts (PRIVACY_PROFILE=public-body)
        self.outlets: Outlets = outlets if outlets is not None else {}  # news sites' tiers, for `reach_level`
        self._tasks: set[asyncio.Task[None]] = set()
        # One card update at a time: each renders the story as it is then, so the last one sent is the newest.
        self._updating = asyncio.Lock()
        self._refresh_waiting: set[int] = set()

    # Grouping ---------------------------------------------------------------------------------------------

    async def after_record(self, config: WatcherConfig, outcome: PollOutcome) -> None:
        """Place each new card in a story: the first of its story is posted, the others are marked `grouped`."""
        if not outcome.cards:
            return
        now = self.clock()
        touched: set[int] = set()
        chunks = list(_chunks(list(outcome.cards), PLACE_CHUNK))
        held = self._hold(outcome) if len(chunks) > 1 else None
        for number, chunk in enumerate(chunks, start=1):
            if held is not None:
                await asyncio.sleep(0)  # Slack's acks and the other polls go first
            with self.store.transaction():
                for card_id, mention_id in chunk:
                    story_id = self._place(config, card_id, mention_id, now)
                    if story_id is not None:
                        touched.add(story_id)
                if number == len(chunks):
                    if outcome.rollup_id is not None and touched:
                        self.records.recount_rollup(outcome.rollup_id)
                    if held is not None:
                        self.records.release(outbox_rows(outcome), held)
        for story_id in sorted(touched):
            self._refresh_first_card(story_id)

    def _hold(self, outcome: PollOutcome) -> str:
        """Keep the poll's messages from the outbox (its own clock: real time) until released; the hold's mark."""
        until = iso(utcnow() + GROUPING_HOLD)
        self.records.hold(outbox_rows(outcome), until)
        return until

    def _place(self, config: WatcherConfig, card_id: int, mention_id: int, now: datetime) -> int | None:
        """Add one card to its story; the story's id when the card joined an existing one, else None."""
        mention = self.store.mention(mention_id)
        links = link_keys(mention)
        fingerprint = text_fingerprint(mention)
        keys = [f"l:{key}" for key in links] + (list(bands(fingerprint)) if fingerprint is not None else [])
        match = self._find_story(config.channel, keys, fingerprint, now)
        if match is None:
            story_id = self.records.start_story(config.channel, config.name, card_id, now)
        else:
            story_id = match.story_id
            self.records.mark_grouped(card_id)
        self.records.add_member(
            StoryMember(
                card_id=card_id,
                story_id=story_id,
                mention_id=mention_id,
                channel=config.channel,
                author=author_key(mention),
                fingerprint=_signed(fingerprint) if fingerprint is not None else None,
                link_key=links[0] if links else None,
                joined_by=match.joined_by if match else "first",
                at=now,
            )
        )
        if match is None or self.records.member_count(story_id) <= KEYED_MEMBERS:
            self.records.add_keys(config.channel, keys, now, story_id, card_id)
        if match is None:
            return None
        if fingerprint is not None:
            self._check_campaign(story_id, fingerprint, now)
        return story_id

    def _find_story(self, channel: str, keys: list[str], fingerprint: int | None, now: datetime) -> _Match | None:
        """The oldest live story in `channel` sharing a link, or holding a text within MAX_DISTANCE bits.

        A story whose first card Slack refused for good is not live: its next mention gets a card of its own.
        """
        if not keys:
            return None
        for found in self.records.stories_with_keys(channel, keys, now - self.window, FIND_LIMIT):
            if found.key.startswith("l:"):
                return _Match(found.story_id, "link")
            if fingerprint is not None and found.fingerprint is not None and _near(fingerprint, found.fingerprint):
                return _Match(found.story_id, "text")
        return None

    def _check_campaign(self, story_id: int, fingerprint: int, now: datetime) -> None:
        """Flag the story once when enough near-identical posts from as many accounts arrived within the window."""
        if self.records.is_flagged(story_id):
            return
        rows = self.records.recent_prints(story_id, now - self.campaign_window, CAMPAIGN_SCAN)
        near = [author for author, other in rows if _near(fingerprint, other)]
        authors = len(set(near))
        if authors < self.campaign_min_posts:
            return
        self.records.flag_campaign(story_id, now, Campaign(posts=len(near), authors=authors))
        first = self.store.delivery(self.records.first_card_id(story_id))
        assert first.mention_id is not None
        flag = CampaignFlag(posts=len(near), authors=authors, window=self.campaign_window)
        notice = cards.campaign_notice(self.store.mention(first.mention_id), flag, lang=self.lang)
        # In the first card's thread (a card inside a burst's thread: that thread), once the card is posted.
        self.store.queue_notice(first.watcher, first.channel, notice, now, reply_to=first.parent_id or first.id)
        self.on_queued()
        log.info("story %d in %s: possible coordinated campaign (%d posts, %d accounts)",
                 story_id, first.channel, len(near), authors)

    # Rendering --------------------------------------------------------------------------------------------

    def view(self, card_id: int) -> StoryView:
        """What the card's story adds to it: the other mentions and the campaign flag, if it is the first card."""
        story = self.records.first_card_story(card_id)
        if story is None:
            return StoryView()
        campaign = (
            CampaignFlag(posts=story.campaign.posts, authors=story.campaign.authors, window=self.campaign_window)
            if story.campaign is not None
            else None
        )
        also_seen = tuple(AlsoSeen(other.source, other.url or "", other.author or "") for other in story.others)
        return StoryView(also_seen, campaign)

    def current_card(self, card: Delivery, escalation: Escalation | None = None) -> dict[str, object]:
        """The card as it should look now: the mention, its story (also seen on…, campaign warning) and its
        status line (escalation or dismissal, the latest), and the hostile mark (the model's flag, else the word
        list's estimate). Every re-render of a card goes through here.

        `escalation`: the card's escalation in the state a change just gave it (the escalation service draws the
        card after each step); without it, the mention's latest escalation is read."""
        assert card.mention_id is not None
        story = self.view(card.id)
        status = self._status(card, escalation)
        mention = self.store.mention(card.mention_id)
        labels = self.labels.labels(card.mention_id)
        return cards.mention_card(
            mention,
            mention_id=card.mention_id,
            watcher=card.watcher,
            tz=self.tz,
            lang=self.lang,
            status=status,
            also_seen=story.also_seen,
            campaign=story.campaign,
            reach_tiers=self.reach_tiers,
            level=reach_level(mention, self.outlets),
            hostile=mention_mark(labels.hostile_model, mention),
            claim=self._open_claim(card.mention_id),
            stance=labels.stance(title_then_text(mention.title, mention.text)),
        )

    # Refreshing posted first cards ----------------------------------------------------------------------

    def refresh_stories(self, story_ids: Collection[int]) -> None:
        """Show these stories as they are now on their posted first cards (after an erasure took cards out)."""
        for story_id in story_ids:
            self._refresh_first_card(story_id)

    def refresh_cards(self, card_ids: Collection[int]) -> None:
        """Redraw these posted (or being posted) cards: what they show changed (the model labelled their mention)."""
        for card_id in card_ids:
            self._schedule_refresh(card_id)

    def _refresh_first_card(self, story_id: int) -> None:
        """A posted (or being posted) first card is updated in Slack; a pending one shows the story when posted."""
        first_card_id, state = self.records.first_card_state(story_id)
        if state in ("posted", "sending"):
            self._schedule_refresh(first_card_id)

    def _schedule_refresh(self, card_id: int) -> None:
        if self.slack is None or card_id in self._refresh_waiting:
            return  # a refresh not yet started will show this change too: one chat.update, not one per change
        self._refresh_waiting.add(card_id)
        task = asyncio.get_running_loop().create_task(self._refresh(card_id), name=f"story-card-{card_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _refresh(self, card_id: int) -> None:
        async with self._updating:
            self._refresh_waiting.discard(card_id)
            card = await self._posted(card_id)
            if card is None or card.slack_ts is None or self.slack is None:
                return
            message = self.current_card(card)
            try:
                await self.slack.chat_update(channel=card.channel, ts=card.slack_ts, **message)
            except Exception as error:
                log.warning("could not show its story on card %d (%s/%s): %s", card_id, card.channel, card.slack_ts,
                            error)

    async def _posted(self, card_id: int) -> Delivery | None:
        """The card once the outbox has posted it (it may be in flight right now); None if it never is."""
        for _ in range(REFRESH_WAIT_STEPS):
            card = self.store.delivery(card_id)
            if card.state != "sending":
                return card if card.state == "posted" else None
            await asyncio.sleep(REFRESH_WAIT_STEP)
        return None

    def _open_claim(self, mention_id: int) -> int | None:
        claim = ClaimRecords(self.store).claim_of_mention(mention_id)
        return claim.id if claim is not None and claim.state == "open" else None

    def redraw_mention_cards(self, mention_ids: Collection[int]) -> None:
        """Redraw the posted cards of mentions whose state changed outside their card (a false claim marked from
        one, or closed)."""
        self.refresh_cards(self.store.posted_cards(mention_ids))

    def _status(self, card: Delivery, escalation: Escalation | None) -> str | None:
        """The line the card shows under its buttons: its escalation's state or its dismissal, the latest."""
        assert card.mention_id is not None
        dismissal = self.store.dismissal(card.id)
        if escalation is None:
            escalation = EscalationStore(self.store).latest_for_mention(card.mention_id)
        if escalation is not None and escalation.card_id != card.id:
            escalation = None
        dismissed_by, dismissed_at = (dismissal.by, dismissal.at) if dismissal else (None, None)
        return escalation_cards.card_status(escalation, dismissed_by, dismissed_at, tz=self.tz, lang=self.lang)

    async def aclose(self) -> None:
        """Let the card updates under way finish (briefly), then stop them."""
        if self._tasks:
            _, late = await asyncio.wait(self._tasks, timeout=REFRESH_WAIT_STEP * 10)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    async def settled(self) -> None:
        """Wait for every card update under way (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def outbox_rows(outcome: PollOutcome) -> list[int]:
    """The poll's rows in the outbox: its cards, and the roll-up whose thread holds them."""
    rollup = [outcome.rollup_id] if outcome.rollup_id is not None else []
    return [*rollup, *(card_id for card_id, _ in outcome.cards)]


def _near(fingerprint: int, stored: int) -> bool:
    return distance(fingerprint, _unsigned(stored)) <= MAX_DISTANCE


def _signed(fingerprint: int) -> int:
    """SQLite integers are signed 64-bit."""
    return fingerprint - (1 << FINGERPRINT_BITS) if fingerprint >= 1 << (FINGERPRINT_BITS - 1) else fingerprint


def _unsigned(stored: int) -> int:
    return stored + (1 << FINGERPRINT_BITS) if stored < 0 else stored
