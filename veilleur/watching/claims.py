"""False claims, followed to their correction.

The team marks a claim (the card's "False claim" button or `/claim`): its text, key phrases and fingerprint, and
optionally the official correction. From then on every poll, of every watcher, checks its new cards against the open
claims (`set_aside`, run by the Poller right after it stores the poll, before any other step: nothing is posted
meanwhile; a large poll is checked in steps of CHECK_CHUNK mentions, its cards held back from the outbox until all
are checked, so that Slack's acks get through between steps). A card whose mention repeats a claim is not posted:
the mention is counted under the claim, and the claim's message (in the channel where it was marked) is updated
through the outbox, once per poll at most. When the claim spreads faster (this hour's mentions at least
ACCELERATION_MIN and ACCELERATION_FACTOR times the previous hour's), a reply in the message's thread lists the new
mentions, best reach first; then not again for ACCELERATION_COOLDOWN.

Everything posted goes through the outbox (the message, its updates, the replies): a 429 or a restart delays it and
loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from veilleur.core.errors import UserError
from veilleur.core.reach import Outlets, reach_level
from veilleur.core.watcher_config import WatcherConfig
from veilleur.storage.audit import AuditLog
from veilleur.storage.claims import CLAIMS_WATCHER, Claim, ClaimRecords, ClaimSpread, NewClaim
from veilleur.storage.store import Delivery, PollOutcome, Store, _chunks, iso, utcnow
from veilleur.storage.stories import StoryRecords
from veilleur.watching import claim_cards
from veilleur.watching.claim_matching import ClaimIndex, ClaimKeys, claim_fingerprint, parse_phrases
from veilleur.watching.stories import GROUPING_HOLD, outbox_rows

log = logging.getLogger(__name__)

# A claim "accelerates" when this hour brought at least ACCELERATION_MIN mentions and ACCELERATION_FACTOR times as
# many as the hour before: three copies in an hour is news for a team that marked the claim; one more an hour is not.
ACCELERATION_MIN = 3
ACCELERATION_FACTOR = 2
ACCELERATION_WINDOW = timedelta(hours=1)
# After a thread reply, the next one waits this long, however fast the claim goes: the message's count keeps up.
ACCELERATION_COOLDOWN = timedelta(hours=1)
# The new mentions a thread reply lists.
REPLY_MENTIONS = 10
# Mentions checked per step before the loop serves others: about 0.2 ms each with 100 open claims
# (bench_claims.py), so a step holds the loop about 10 ms, and a 10,000-mention poll never holds it for seconds.
CHECK_CHUNK = 50
LIST_LIMIT = 20


@dataclass(frozen=True, slots=True)
class ClaimDraft:
    """What the team typed in the modal."""

    text: str
    phrases: str
    correction: str
    channel: str


class ClaimService:
    def __init__(
        self,
        store: Store,
        *,
        lang: str,
        tz: ZoneInfo,
        audit: AuditLog,
        on_queued: Callable[[], None] = lambda: None,
        outlets: Outlets | None = None,
        reach_tiers: bool = False,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.records = ClaimRecords(store)
        self.lang = lang
        self.tz = tz
        self.audit = audit
        self.on_queued = on_queued
        self.outlets: Outlets = outlets if outlets is not None else {}
        self.reach_tiers = reach_tiers
        self.clock = clock
        self._index: ClaimIndex | None = None

    # Marking, correcting, closing ---------------------------------------------------------------------------

    def mark(self, draft: ClaimDraft, *, user: str, mention_id: int | None = None) -> Claim:
        """Store a claim and queue its message; UserError when it cannot be recognised."""
        text = draft.text.strip()
        if not text:
            raise UserError("claim.empty")
        phrases = parse_phrases(draft.phrases)
        fingerprint = claim_fingerprint(text)
        if not phrases and fingerprint is None:
            raise UserError("claim.no_phrases_short")
        correction_text, correction_url = split_correction(draft.correction)
        now = self.clock()
        level = reach_level(self.store.mention(mention_id), self.outlets) if mention_id is not None else None
        claim_id = self.records.create(
            NewClaim(text, phrases, fingerprint, correction_text, correction_url, user, draft.channel), now,
            mention_id=mention_id, level=level,
        )
        self.audit.record(user, "claim.create", f"claim {claim_id}", now)
        self._index = None
        self.on_queued()
        claim = self.records.get(claim_id)
        assert claim is not None
        return claim

    def close(self, claim_id: int, *, user: str, admin: bool) -> Claim:
        """Close a claim (its marker or an admin): it is no longer followed."""
        claim = self._claim_for(claim_id, user=user, admin=admin)
        if not self.records.close(claim.id, user, self.clock()):
            raise UserError("claim.already_closed", id=str(claim.id))
        self.audit.record(user, "claim.close", f"claim {claim.id}", self.clock())
        self._index = None
        return self._updated(claim.id)

    def correct(self, claim_id: int, correction: str, *, user: str, admin: bool) -> Claim:
        """Record the official correction, published now (its marker or an admin)."""
        claim = self._claim_for(claim_id, user=user, admin=admin)
        text, url = split_correction(correction)
        if text is None and url is None:
            raise UserError("claim.correct_usage")
        self.records.correct(claim.id, text, url, self.clock())
        self.audit.record(user, "claim.correct", f"claim {claim.id}", self.clock())
        return self._updated(claim.id)

    def _claim_for(self, claim_id: int, *, user: str, admin: bool) -> Claim:
        claim = self.records.get(claim_id)
        if claim is None:
            raise UserError("claim.unknown", id=str(claim_id))
        if not admin and claim.created_by != user:
            raise UserError("claim.not_yours", id=str(claim_id))
        return claim

    def _updated(self, claim_id: int) -> Claim:
        claim = self.records.get(claim_id)
        assert claim is not None
        if self.records.queue_update(claim, self.clock()):
            self.on_queued()
        return claim

    def listed(self) -> list[tuple[Claim, ClaimSpread]]:
        return [(claim, self.records.spread(claim)) for claim in self.records.listed(LIST_LIMIT)]

    # Following --------------------------------------------------------------------------------------------

    @property
    def index(self) -> ClaimIndex:
        """The open claims, indexed; rebuilt after a claim is marked or closed."""
        if self._index is None:
            self._index = ClaimIndex(
                ClaimKeys(claim.id, claim.phrases, claim.fingerprint) for claim in self.records.open_claims()
            )
        return self._index

    async def set_aside(self, config: WatcherConfig, outcome: PollOutcome) -> PollOutcome:
        """The poll's outcome without the cards whose mention repeats an open claim: those are counted under the
        claim and not posted. No card leaves before it is checked: a poll checked in one step is checked before
        any await, and a larger one has its cards held back from the outbox until the last step."""
        index = self.index
        if not index.size or not (outcome.cards or outcome.overflow):
            return outcome
        now = self.clock()
        found: list[tuple[int, int, str | None]] = []
        claimed: list[int] = []
        # Mentions past the poll's card limit get no card, but they spread the claim all the same.
        overflow = self.records.overflow_of(outcome.rollup_id) if outcome.overflow and outcome.rollup_id else []
        chunks = list(_chunks([*outcome.cards, *overflow], CHECK_CHUNK))
        stories = StoryRecords(self.store)
        held = iso(utcnow() + GROUPING_HOLD) if len(chunks) > 1 else None
        if held is not None:
            stories.hold(outbox_rows(outcome), held)
        for number, chunk in enumerate(chunks):
            if number:
                await asyncio.sleep(0)  # Slack's acks and the other polls go first
            for card_id, mention_id in chunk:
                mention = self.store.mention(mention_id)
                matches = index.match(mention)
                if matches:
                    level = reach_level(mention, self.outlets)
                    found.extend((claim_id, mention_id, level) for claim_id in matches)
                    claimed.append(card_id)
        if not claimed and held is None:
            return outcome
        with self.store.transaction():
            if claimed:
                touched = self.records.record_mentions(found, now)
                self.records.withhold(claimed)
                if outcome.rollup_id is not None:
                    stories.recount_rollup(outcome.rollup_id)
                for claim_id in sorted(touched):
                    self._follow(claim_id, now)
            if held is not None:
                stories.release(outbox_rows(outcome), held)
        if not claimed:
            return outcome
        self.on_queued()
        log.info("watcher %s: %d new mention(s) counted under %d false claim(s)", config.name, len(claimed),
                 len(touched))
        withheld = set(claimed)
        kept = tuple(pair for pair in outcome.cards if pair[0] not in withheld)
        return replace(outcome, cards=kept, queued=outcome.queued - (len(outcome.cards) - len(kept)))

    def _follow(self, claim_id: int, now: datetime) -> None:
        """After new mentions of a claim: update its message, and reply in its thread if it accelerates."""
        claim = self.records.get(claim_id)
        assert claim is not None
        self.records.queue_update(claim, now)
        this_hour = self.records.matched_between(claim_id, now - ACCELERATION_WINDOW, now + timedelta(seconds=1))
        previous = self.records.matched_between(claim_id, now - 2 * ACCELERATION_WINDOW, now - ACCELERATION_WINDOW)
        if not accelerates(this_hour, previous) or claim.message_id is None:
            return
        if not self.records.start_acceleration(claim_id, now, now - ACCELERATION_COOLDOWN):
            return
        newest = self.records.mentions_matched(claim_id, now - ACCELERATION_WINDOW, REPLY_MENTIONS)
        reply = claim_cards.acceleration_reply(
            claim, [self.store.mention(found.mention_id) for found in newest], this_hour=this_hour,
            previous_hour=previous, lang=self.lang, reach_tiers=self.reach_tiers,
        )
        self.store.queue_notice(CLAIMS_WATCHER, claim.channel, reply, now, reply_to=claim.message_id)
        log.info("false claim %d accelerates: %d mentions this hour, %d the hour before", claim_id, this_hour,
                 previous)

    # Rendering ----------------------------------------------------------------------------------------------

    def message(self, delivery: Delivery) -> dict[str, object]:
        """A claim's message (or its update) as the claim is now: the outbox's render of `claim` and `update`
        rows."""
        assert delivery.message is not None
        claim = self.records.get(int(delivery.message["claim_id"]))
        if claim is None:  # purged meanwhile: the update says nothing new
            return {"text": "…"}
        return claim_cards.claim_message(claim, self.records.spread(claim), lang=self.lang, tz=self.tz)


def accelerates(this_hour: int, previous_hour: int) -> bool:
    return this_hour >= ACCELERATION_MIN and this_hour >= ACCELERATION_FACTOR * previous_hour


def split_correction(correction: str) -> tuple[str | None, str | None]:
    """(text, link) of a correction typed as a link, a text, or a text then a link (Slack's <url|label> too)."""
    words = correction.strip().split()
    url = None
    kept = []
    for word in words:
        bare = word.strip("<>").split("|", 1)[0]
        if url is None and bare.lower().startswith(("http://", "https://")):
            url = bare
        else:
            kept.append(word)
    text = " ".join(kept) or None
    return text, url
